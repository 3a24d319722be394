"""trialop20: money (a travel-grant budget, stipends) is paid, not scheduled. A money
resource is one counted in an ISO 4217 currency code without a period (operators.md
"Money"); the outcomes report never counts its dollars as "Scheduled", and a call that
awards money alone drops the stage (it would read 0 for everyone). The mixed call (seats
and travel grants) is ``tests/api/test_training_cohorts_journey.py``."""

from __future__ import annotations

import datetime as dt

import pytest

from opencall.facilities.domain import money_unit
from opencall.outcomes.domain import ApplicantRecord, nothing_to_schedule


@pytest.mark.parametrize(
    ("unit", "period_start", "money"),
    [
        ("usd", None, True),
        ("EUR", None, True),
        ("usd", dt.date(2028, 1, 1), False),  # a period: a calendar, not a budget
        ("cup", dt.date(2028, 1, 1), False),  # a currency code that is also a word
        ("seat", None, False),
        ("dollars", None, False),
    ],
)
def test_what_is_money(unit: str, period_start: dt.date | None, money: bool) -> None:
    assert money_unit(unit, period_start) is money


def _rec(pid: str, amounts: dict[str, tuple[float, float, float]]) -> ApplicantRecord:
    return ApplicantRecord(pid, "KEN", "LMC", "Africa", False, False, amounts=amounts)


def test_a_call_of_money_alone_has_nothing_to_schedule() -> None:
    grants = [_rec("1", {"usd": (500, 500, 500)}), _rec("2", {"usd": (800, 0, 0)})]
    assert nothing_to_schedule(grants, {"usd"})
    # a seat awarded beside the grants: the stage says something
    mixed = [*grants, _rec("3", {"usd": (100, 100, 0), "seat": (1, 1, 1)})]
    assert not nothing_to_schedule(mixed, {"usd"})
    # no money at all: the stage is judged as before
    assert not nothing_to_schedule([_rec("4", {"seat": (1, 0, 0)})], {"usd"})
    assert not nothing_to_schedule(grants, set())
