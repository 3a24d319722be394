"""Messages the proposal and call services compose in English, catalogued so
that Translator.message shows them in the visitor's language."""

from __future__ import annotations

from opencall.web.i18n import N_

SERVICE_MESSAGES = (
    N_("A title is required."),
    N_("The title is too long (%(n)s characters; at most %(max)s)."),
    N_("Add your institution and country to your account before creating a proposal."),
    N_("This proposal is %(status)s and can no longer be edited."),
    N_("This call opens at %(when)s UTC; it is not open yet."),
    N_(
        "The deadline passed at %(when)s UTC; the call is closed. "
        "Your request reached the server at %(received)s UTC."
    ),
    N_("This call is not open (status: %(status)s)."),
    N_("This person is already on the team."),
    N_("Receiver %(receiver)s is not offered in this call (offered: %(offered)s)."),
    N_("Mode %(mode)s is not offered in this call (offered: %(offered)s)."),
    N_("Too many targets (%(n)s; at most %(max)s)."),
    N_(
        "Target %(name)s at declination %(dec)s° is outside the sky this telescope can reach "
        "(%(lo)s° to %(hi)s°)."
    ),
    N_("Choose one of the capacity pools this call offers."),
    N_("Pool %(pool)s offers %(unit)s, which a %(kind)s request cannot use."),
    N_("Dive site %(name)s at %(depth)s m is deeper than the submersible's limit of %(max)s m."),
    N_("Pool %(pool)s holds %(held)s, not %(asked)s."),
    N_("Session %(pool)s teaches %(technology)s."),
    N_("Pool %(pool)s offers %(technology)s packages."),
    N_(
        "The request (%(amount)s %(unit)s) exceeds what the call offers in %(pool)s "
        "(%(offered)s %(unit2)s)."
    ),
    N_(
        "The request (%(amount)s %(unit)s) exceeds the limit per request of %(limit)s "
        "%(unit2)s in %(pool)s."
    ),
    N_("The proposal asks for %(total)s in total; this call allows at most %(max)s per proposal."),
    N_("An abstract is required."),
    N_("The abstract has %(n)s words; at most %(max)s."),
    N_("A science case is required."),
    N_("The science case has %(n)s words; at most %(max)s."),
    N_("Add at least one request."),
    N_("This call requires a PDF of the scientific justification."),
    N_("The PI needs an institution and a country."),
    N_("A proposal cannot move from '%(a)s' to '%(b)s'; from '%(c)s' it can go to: %(next)s."),
    N_("The principal investigator cannot be removed."),
    N_("This invitation was already %(status)s."),
    N_("The file is empty."),
    N_("The file is too large (%(size)s MB; at most %(max)s MB)."),
    N_("This file is not a PDF."),
    N_("Password-protected PDFs cannot be accepted."),
    N_("This PDF cannot be read; it may be damaged."),
    N_("The PDF has %(n)s pages; this call allows at most %(max)s."),
    N_("right ascension must be degrees (83.63) or hours h:m:s (05:34:31.9)"),
    N_("right ascension cannot be negative"),
    N_("right ascension hours must be below 24"),
    N_("right ascension must be between 0 and 360 degrees"),
    N_("right ascension is required"),
    N_("minutes and seconds must be below 60"),
    N_("declination must be degrees (22.01) or d:m:s (+22:00:52)"),
    N_("declination is required"),
    N_("declination must be between -90 and +90 degrees"),
)
