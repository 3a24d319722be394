"""The schedule's words for people: each entry's label and explanation in the reader's
language.

The optimisers keep their sentences as a message id and parameters
(``opencall.optim.messages``), stored in an entry's ``details`` next to the English
sentence (``detail_msg``/``detail_params``, ``label_msg``/``label_params``). Entries stored
before that (only the English ``explanation``, or FAST's ``why``) are translated through the
catalogued templates (:meth:`Translator.message`), so old schedules still render."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opencall.allocation.presenters import say
from opencall.web.i18n import N_, Translator

#: The sentences the optimisers compose for schedule entries (``optim.logistics``,
#: ``optim.slots``), their codes shown inside other sentences, and the entries' labels:
#: catalogued in ``locale/*/LC_MESSAGES/xlate.po``. (FAST's reasons, ``optim.scheduling``,
#: are written with ``M_`` and extracted from there.)
SCHEDULE_MESSAGES = (
    N_("berths on leg %(leg)s, all dives"),
    N_("dive %(k)s at %(site)s: %(why)s"),
    N_("berths on leg %(leg)s, %(done)s of %(n)s dives; %(missing)s"),
    N_("no leg is open to this request"),
    N_("site %(site)s lies %(km)s km from the nearest route (limit %(limit)s km)"),
    N_("site %(site)s at %(depth)s m is deeper than the %(limit)s m limit"),
    N_("fewer than %(n)s feasible dive(s) on any leg: %(parts)s"),
    N_("needs %(n)s berths; the largest leg has %(biggest)s"),
    N_("berths on leg(s) %(legs)s taken by higher-valued requests"),
    N_("dive slots on leg(s) %(legs)s exhausted; berths full on %(full)s"),
    N_("dive slots on leg(s) %(legs)s exhausted"),
    N_("room remained; the solver stopped within its gap"),
    N_("dive_slots_exhausted"),
    N_("feasible_only_on_another_leg"),
    N_("site_off_route"),
    N_("too_deep"),
    N_("%(n)s of %(count)s seat(s) in %(bin)s (%(where)s)"),
    N_("%(n)s of %(count)s package(s) in %(bin)s (%(where)s)"),
    N_("first choice"),
    N_("choice %(n)s"),
    N_("site not suitable: %(reason)s"),
    N_("site not suitable"),
    N_("no session matches the request"),
    N_("no season of this technology matches the request"),
    N_("fewer than %(n)s seat(s) left in %(bins)s"),
    N_("fewer than %(n)s package(s) left in %(bins)s"),
    N_("resource %(resource)s is not known"),
    N_(
        "%(slots)s slots awarded but only %(ok)s of the resource's %(grid)s slots are usable (%(off)s in unavailable periods, %(impossible)s on dates the applicant declared impossible)"
    ),
    N_(
        "%(slots)s slots awarded but only %(ok)s of the resource's %(grid)s slots are usable (%(begun)s already begun, %(off)s in unavailable periods, %(impossible)s on dates the applicant declared impossible)"
    ),
    N_("all-or-nothing with %(others)s, which cannot be placed"),
    N_(
        "the usable slots it could take are given to awards of higher value or its bundle could not be placed whole"
    ),
    N_("the usable slots it could take are given to awards of higher value"),
    N_("the whole period"),
    N_("no dates: the resource has no calendar"),
    N_("dives only on %(leg)s"),
    N_("%(n)s berth(s) on %(leg)s"),
    N_("no berth"),
    N_("dive at %(site)s (%(leg)s)"),
    N_("not placed"),
    N_("%(mg)s mg of %(name)s"),
)


def explanation(t: Translator, details: Mapping[str, Any]) -> str:
    """Why an entry is where it is (or nowhere), in the reader's language."""
    if details.get("detail_msg"):
        return say(t, {"msg": details["detail_msg"], "params": details.get("detail_params")})
    # an entry stored before its messages were kept: its English sentence only
    return t.message(str(details.get("explanation") or details.get("why") or ""))


def label(t: Translator, entry: Any) -> str:
    """What an entry is ("2 berth(s) on Leg 1", "not placed"), in the reader's language;
    labels made of what people typed (codes, names) are shown as they are."""
    details = entry.details or {}
    if details.get("label_msg"):
        return say(t, {"msg": details["label_msg"], "params": details.get("label_params")})
    return str(entry.label)
