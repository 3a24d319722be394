"""Every refusal of a custom request's details speaks the applicant's language:
each message ``facilities.domain.validate_details`` composes matches a catalogued
template in Chinese, French and Spanish (not only the number and choice ones)."""

from __future__ import annotations

from typing import Any

import pytest

from opencall.facilities.domain import FieldProblem, validate_details
from opencall.web.i18n import Translator

FIELDS: list[dict[str, Any]] = [
    {"key": "sample", "type": "text", "labels": {"en": "Sample"}, "max_length": 5},
    {"key": "dates", "type": "date_range", "labels": {"en": "Preferred dates"}},
    {"key": "site", "type": "coordinates", "labels": {"en": "Site"}},
    {"key": "grid", "type": "target_list", "labels": {"en": "Positions"}, "max_items": 2,
     "required": True},
    {"key": "sheet", "type": "file", "labels": {"en": "Safety sheet"}},
]  # fmt: skip
OK = {"amount": 2, "grid": ["a"]}
BAD: list[tuple[dict[str, Any], bool]] = [
    ({"amount": 0}, False),
    ({"amount": 0}, True),
    ({**OK, "sample": 7}, False),
    ({**OK, "sample": "too long"}, False),
    ({**OK, "dates": ["2028-01-02"]}, False),
    ({**OK, "dates": ["2028-01-02", "tomorrow"]}, False),
    ({**OK, "dates": ["2028-01-05", "2028-01-02"]}, False),
    ({**OK, "site": "here"}, False),
    ({**OK, "site": {"lat": "x", "lon": 1}}, False),
    ({**OK, "site": {"lat": 91, "lon": 1}}, False),
    ({**OK, "site": {"lat": 1, "lon": 181}}, False),
    ({**OK, "grid": "a, b"}, False),
    ({**OK, "grid": ["a", "b", "c"]}, False),
    ({**OK, "grid": [{"name": ""}]}, False),
    ({**OK, "sheet": "../secret.pdf"}, False),
    ({**OK, "colour": "red"}, False),
    ({**OK, "impossible_dates": [["2028-01-01", "2028-01-02"]]}, False),
    ({**OK, "impossible_dates": "2028-01-01"}, True),
    ({**OK, "impossible_dates": [["2028-01-05", "2028-01-02"]]}, True),
    ({**OK, "bundle_together": "yes"}, True),
]


@pytest.mark.parametrize(("details", "slots"), BAD)
def test_every_field_problem_is_translated(details: dict[str, Any], slots: bool) -> None:
    with pytest.raises(FieldProblem) as err:
        validate_details(FIELDS, details, slot_based=slots)
    text = err.value.message
    assert "of amount" not in text
    for lang in ("zh", "fr", "es"):
        assert Translator(lang).message(text) != text, (lang, text)


def test_a_problem_names_its_field_and_keeps_its_figures() -> None:
    with pytest.raises(FieldProblem) as err:
        validate_details(FIELDS, {**OK, "grid": ["a", "b", "c"]}, slot_based=False)
    assert err.value.message == "Positions: at most 2 targets."
    assert Translator("fr").message(err.value.message) == "Positions : au plus 2 cibles."
