"""A resource's unit, and a post-award record's kind, as a person reads them, for the
pages of every feature.

Below the features' views (they all import it) and above the pure
``facilities.domain.unit_label``: the resource's own labels when it has them, the
built-in unit's words (``facilities.domain.BUILTIN_UNITS``, the presets' keys
included) otherwise, singular for exactly one, so that every page names a unit alike.
"""

from __future__ import annotations

from typing import Any

from opencall.facilities.domain import unit_label
from opencall.web.i18n import N_

#: The post-award record kinds (``facilities.domain.RECORD_KINDS``) as people read them:
#: on a pool's page, where they are chosen, and on an award's page (``results.views``).
RECORD_KIND_LABELS = {
    "loan": N_("Sample loan"),
    "shipment": N_("Shipment"),
    "berth": N_("Visit or berth"),
    "session": N_("Observing session"),
    "course": N_("Course participant"),
    "followup": N_("Course follow-up"),
    "package": N_("Demonstration package"),
    "other": N_("Other use"),
}


def unit_text(page: Any, unit: str, labels: Any = None, amount: float | None = None) -> str:
    """``unit`` in the visitor's language (``page.lang``) for ``amount`` (the plural
    when no amount is given)."""
    return unit_label(unit, labels, amount, page.lang)


def unit_labels(page: Any) -> dict[str, Any]:
    """``unit_label(unit, labels=None, amount=None)`` for templates."""
    return {
        "unit_label": lambda u, labels=None, amount=None: unit_text(page, u, labels, amount),
    }


#: the reason of a period a lost item closed (trialop19b): the item is data, the sentence
#: is said in the reader's language
LOST_ITEM = N_("%(item)s lost")


#: an item of several out of service (trialop20b): its share of the places closed only
ITEM_OUT = N_("%(item)s lost: one of %(items)s items out of service")


def item_out_reason(outage: Any, items: int, gettext: Any) -> str:
    """An item out of service (``PoolItemOutage``) said in the reader's language."""
    return str(gettext(ITEM_OUT, item=outage.item, items=items))


def unavailable_reason(period: Any, gettext: Any) -> str:
    """The reason of an unavailable period ``period`` as the reader reads it (``gettext``:
    the page's or the request's ``_``): a lost item's in their language, else the reason
    its author typed."""
    item = getattr(period, "lost_item", "") or ""
    return str(gettext(LOST_ITEM, item=item)) if item else str(period.reason or "")
