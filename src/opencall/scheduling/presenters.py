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

#: The codes the logistics solvers (``optim.logistics``) show inside their sentences and
#: the entries' labels and notes (``scheduling.services``, ``slot_services``): catalogued in
#: ``locale/*/LC_MESSAGES/xlate.po``. The solvers' sentences themselves (FAST's,
#: ``optim.scheduling``; the logistics and slot solvers') are written with ``M_`` where
#: they are said and extracted from there, as the allocation's are.
SCHEDULE_MESSAGES = (
    N_("dive_slots_exhausted"),
    N_("feasible_only_on_another_leg"),
    N_("site_off_route"),
    N_("too_deep"),
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
