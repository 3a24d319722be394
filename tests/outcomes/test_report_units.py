"""The report's amounts in the reader's language: a built-in unit of a custom resource
(``berth``) by its built-in words, a unit the operator names (``shot``) by the words
it gave, never the unit's key or the English word on a zh, fr or es page."""

from __future__ import annotations

from typing import Any

from opencall.outcomes.report import funnel_table
from opencall.web.i18n import Translator

SHOTS = {
    "en": {"one": "shot", "other": "shots"},
    "zh": {"one": "炮次", "other": "炮次"},
    "fr": {"one": "tir", "other": "tirs"},
    "es": {"one": "disparo", "other": "disparos"},
}


def data() -> dict[str, Any]:
    row = {"group": "LDC", "stage": "awarded", "count": 2, "applied": 4, "rate": 0.5}
    return {
        "call": {"units": ["berth", "shot"], "unit_labels": {"shot": SHOTS}},
        "stages": [
            {"key": "awarded", "label": "Awarded", "dropped": None, "amount_kind": "awarded"}
        ],
        "funnels": {"ldc": [{**row, "amounts": {"berth": 12.0, "shot": 1.0}}]},
    }


def test_amounts_in_the_readers_words() -> None:
    want = {
        "en": "12 berths, 1 shot",
        "zh": "12 铺位, 1 炮次",
        "fr": "12 couchettes, 1 tir",
        "es": "12 literas, 1 disparo",
    }
    for lang, text in want.items():
        cells = funnel_table(Translator(lang), data(), "ldc")["rows"][0]
        assert cells[-1].endswith(text), (lang, cells)
