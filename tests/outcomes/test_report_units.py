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
    assert_amounts(data(), want)


def assert_amounts(d: dict[str, Any], want: dict[str, str]) -> None:
    """The awarded cell of the report's funnel row ends with ``want[lang]`` in each language."""
    for lang, text in want.items():
        cells = funnel_table(Translator(lang), d, "ldc")["rows"][0]
        assert cells[-1].endswith(text), (lang, cells)


def test_csv_gives_each_unit_its_own_column() -> None:
    """Each unit of a call with several has a column of its own, so the figures can be
    read (the amount_* columns are empty there: the report never adds berths to dives)."""
    from opencall.outcomes.queries import report_csv

    d = data()
    row = d["funnels"]["ldc"][0]
    row.update(mean_grade=4.0, mean_rank=1.0, rate_low=0.1, rate_high=0.9,
               amount_requested=20.0, amount_awarded=13.0, amount_scheduled=13.0)  # fmt: skip
    head, line = report_csv(d).splitlines()
    assert head.endswith("amount_scheduled,amount:berth,amount:shot")
    assert line.endswith(",13.0,13.0,12.0,1.0")
    d["call"]["units"] = ["shot"]
    assert report_csv(d).splitlines()[0].endswith(",amount_scheduled")


def test_amounts_of_thousands_as_the_reader_writes_numbers() -> None:
    """A fellowship fund's 56,500 euros on a French page is "56 500 euros": "56,500" is
    fifty-six and a half there. Each language's group and decimal signs (Babel), at most
    two decimals (trialfac22: before, whole above 10 and one decimal below, "56,500")."""
    eur = {"en": {"one": "euro", "other": "euros"}, "fr": {"one": "euro", "other": "euros"},
           "es": {"one": "euro", "other": "euros"}, "zh": {"one": "欧元", "other": "欧元"}}  # fmt: skip
    d = data()
    d["call"] = {"units": ["eur", "shot"], "unit_labels": {"eur": eur, "shot": SHOTS}}
    d["funnels"]["ldc"][0]["amounts"] = {"eur": 56_500.4, "shot": 2.5}
    want = {
        "en": "56,500.4 euros, 2.5 shots",
        "zh": "56,500.4 欧元, 2.5 炮次",
        "fr": "56\u202f500,4 euros, 2,5 tirs",
        "es": "56.500,4 euros, 2,5 disparos",
    }
    assert_amounts(d, want)


def test_amounts_keep_the_decimals_the_awards_have() -> None:
    """A chip shuttle's die area awarded in quarter square millimetres (trialfac22): the
    report says the 6.25 and 15.25 mm² the awards list says, not "6.2" (rounded to one
    decimal, half to even) and "15" (whole from 10 up), which no award or sum of them was."""
    area = {"en": {"one": "mm²", "other": "mm²"}, "fr": {"one": "mm²", "other": "mm²"},
            "es": {"one": "mm²", "other": "mm²"}, "zh": {"one": "平方毫米", "other": "平方毫米"}}  # fmt: skip
    d = data()
    d["call"] = {"units": ["mm2", "shot"], "unit_labels": {"mm2": area, "shot": SHOTS}}
    for mm2, en, fr in (
        (6.25, "6.25", "6,25"),
        (15.25, "15.25", "15,25"),
        (1_250.5, "1,250.5", "1\u202f250,5"),
    ):
        d["funnels"]["ldc"][0]["amounts"] = {"mm2": mm2, "shot": 2.0}
        want = {"en": f"{en} mm², 2 shots", "fr": f"{fr} mm², 2 tirs"}
        assert_amounts(d, want)
