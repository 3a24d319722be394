"""A request form's number field bounded by another field of the same request
(trialfac24b): an Earth observation request's area of interest, a latitude/longitude box
whose north edge may not lie south of its south edge. Before, the form could say only a
constant minimum and maximum per field, and a box upside down (south -18, north -19.5)
was accepted and scheduled as asked."""

from __future__ import annotations

from typing import Any

import pytest

from opencall.errors import DomainError
from opencall.facilities import domain as d

BOX: list[dict[str, Any]] = [
    {"key": "south", "type": "number", "required": True, "min": -90, "max": 90,
     "labels": {"en": "South edge", "fr": "Bord sud"}},
    {"key": "north", "type": "number", "required": True, "min": -90, "max": 90,
     "at_least": "south", "labels": {"en": "North edge", "fr": "Bord nord"}},
]  # fmt: skip


def test_a_box_upside_down_is_refused_naming_both_edges() -> None:
    with pytest.raises(d.FieldProblem) as err:
        d.validate_details(BOX, {"amount": 1, "south": -18, "north": -19.5}, slot_based=False)
    assert err.value.field == "north"
    assert str(err.value) == "North edge: must not be below South edge (-18)."
    # as the reader reads it: the labels in their language
    with pytest.raises(d.FieldProblem) as err:
        d.validate_details(
            BOX, {"amount": 1, "south": -18, "north": -19.5}, slot_based=False, lang="fr"
        )
    assert "Bord nord" in str(err.value) and "Bord sud" in str(err.value)


def test_a_box_the_right_way_up_or_a_line_is_taken() -> None:
    _amount, clean = d.validate_details(
        BOX, {"amount": 1, "south": -19.5, "north": -18}, slot_based=False
    )
    assert (clean["south"], clean["north"]) == (-19.5, -18)
    _amount, clean = d.validate_details(
        BOX, {"amount": 1, "south": 5, "north": 5}, slot_based=False
    )
    assert clean["north"] == 5


def test_the_bound_must_name_another_number_field_of_the_form() -> None:
    with pytest.raises(DomainError, match="at_least"):
        d.check_request_fields([{**BOX[1], "at_least": "east"}])
    text = {"key": "site", "type": "text", "labels": {"en": "Site"}}
    with pytest.raises(DomainError, match="at_least"):
        d.check_request_fields([text, {**BOX[1], "at_least": "site"}])
    with pytest.raises(DomainError, match="at_least"):
        d.check_request_fields([{**BOX[1], "key": "north", "at_least": "north"}])
    assert d.check_request_fields(BOX)[1]["at_least"] == "south"
