"""Names and titles inserted into a page's sentences are isolated for bidirectional text
(``<bdi>``): an Arabic PI's name or proposal title keeps the sentence's punctuation where
the sentence puts it ("... join the team of the proposal “<title>” to the call ...").
Before, the name was inserted bare and the Unicode bidi algorithm moved the neighbouring
punctuation and words into the right-to-left run. The name is still escaped."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from opencall.proposals import services as prop_services
from opencall.web.i18n import Translator
from tests import factories as F
from tests.web.conftest import Web, session_cookie

pytestmark = pytest.mark.filterwarnings("ignore")

PI = "محمد بن سلمان العتيبي"
TITLE = "خرائط الهيدروجين <في> المجرة"


def test_an_invitation_isolates_the_arabic_pi_name_and_title(web: Web) -> None:
    with web.factory() as s:
        call = F.fast_call(s)
        pi = F.user(s, name=PI, country="SAU", institution="جامعة الملك سعود")
        invitee = F.user(s, name="Ines Invited", email="ines@example.org")
        p = F.full_proposal(s, call, pi)
        p.title = TITLE
        m = prop_services.invite_member(
            s,
            p,
            {
                "email": invitee.email,
                "name": invitee.name,
                "institution": "X",
                "country_iso3": "FRA",
            },
            now=F.NOW,
        )
        s.commit()
        mid = m.id
    c = web.client()
    c.cookies.set("oc_session", session_cookie(web, "ines@example.org", "tok"))
    for lang in ("en", "fr"):
        html = c.get(f"/invitations/{mid}", headers={"Accept-Language": lang}).text
        assert f"<bdi>{PI}</bdi>" in html, lang
        assert "<bdi>خرائط الهيدروجين &lt;في&gt; المجرة</bdi>" in html, lang
        assert "<في>" not in html


def test_the_template_gettext_escapes_all_but_the_isolates() -> None:
    t = Translator("en")
    said = t.gettext("It is for the call %(title)s.", title=Markup("<bdi>%s</bdi>") % "<b>x</b>")
    assert isinstance(said, Markup)
    assert said == "It is for the call <bdi>&lt;b&gt;x&lt;/b&gt;</bdi>."
    # without an isolate the text is the plain string it was (escaped by the template)
    assert t.gettext("It is for the call %(title)s.", title="<b>") == "It is for the call <b>."
    assert not isinstance(t.gettext("It is for the call %(title)s.", title="<b>"), Markup)


FSI, PDI = "\u2068", "\u2069"


def test_titles_and_plain_text_mails_isolate_names_with_unicode_isolates(web: Web) -> None:
    """Where no <bdi> can go (a page's <title>, a plain-text mail and its subject), a name
    or title is put between FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE (U+2068,
    U+2069): the Arabic call title keeps " · OpenCall" and the sentence's punctuation
    where they belong (mend9b)."""
    import datetime as dt

    from sqlalchemy import select

    from opencall.jobs import Job
    from opencall.proposals.notify import queue_draft_reminders

    with web.factory() as s:
        call = F.fast_call(s)
        call.title = TITLE
        pi = F.user(s, name=PI, email="pi@example.org", country="SAU")
        F.full_proposal(s, call, pi)
        slug, closes = call.slug, call.closes_at
        s.commit()
    html = web.client().get(f"/calls/{slug}").text
    title = html[html.index("<title>") : html.index("</title>")]
    assert f"<title>{FSI}خرائط الهيدروجين &lt;في&gt; المجرة{PDI} · OpenCall" == title, title
    with web.factory() as s:
        assert queue_draft_reminders(
            s, "https://oc.example", [7], now=closes - dt.timedelta(days=2)
        )
        (job,) = s.scalars(select(Job).where(Job.kind == "mail")).all()
        m = dict(job.payload)
        s.commit()
    assert f"Dear {FSI}{PI}{PDI}," in m["body"], m["body"]
    assert f"to {FSI}{TITLE}{PDI} is not submitted" in m["body"], m["body"]
    assert f"and {FSI}{TITLE}{PDI} closes soon" in m["subject"], m["subject"]
