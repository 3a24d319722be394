"""A resource's unit as a person reads it, for the pages of every feature.

Below the features' views (they all import it) and above the pure
``facilities.domain.unit_label``: the resource's own labels when it has them,
the presets' catalogued words (``web.labels.UNITS``) otherwise.
"""

from __future__ import annotations

from typing import Any

from opencall.facilities.domain import unit_label
from opencall.web.labels import UNITS


def unit_text(page: Any, unit: str, labels: Any = None, amount: float | None = None) -> str:
    """``unit`` in the visitor's language (``page.lang``, ``page._``)."""
    if labels or unit not in UNITS:
        return unit_label(unit, labels, amount, page.lang)
    return str(page._(UNITS[unit]))


def unit_labels(page: Any) -> dict[str, Any]:
    """``unit_label(unit, labels=None, amount=None)`` for templates."""
    return {
        "unit_label": lambda u, labels=None, amount=None: unit_text(page, u, labels, amount),
    }
