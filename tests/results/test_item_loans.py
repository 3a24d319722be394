"""Loans of items rather than samples (trialfac17): an instrument or an ocean glider is lent
by its name and serial number (``LoanData.item``), without a mass, and comes back good or
damaged, or is lost (``condition``). A lost item's loan is closed: never overdue, never
reminded, counted as lost in the award's figures."""

from __future__ import annotations

import datetime as dt

import pytest

from opencall.results import domain as d
from opencall.results.schemas import validate_record

TODAY = dt.date(2027, 9, 1)
GLIDER = {"sample": "Slocum G3 glider", "item": "SG-517", "shipped_on": "2027-02-15",
          "received_on": "2027-02-25", "due_on": "2027-04-20"}  # fmt: skip


def test_an_item_is_lent_without_a_mass_and_uses_no_milligrams() -> None:
    clean = validate_record("loan", GLIDER)
    assert clean["item"] == "SG-517" and clean.get("mass_mg") is None, clean
    assert d.used_amounts("loan", clean) == {}
    assert d.is_overdue("loan", clean, TODAY)  # out and past its due day


def test_a_lost_item_closes_its_loan_and_is_never_overdue() -> None:
    lost = validate_record("loan", {**GLIDER, "condition": "lost",
                                    "condition_note": "lost at sea"})  # fmt: skip
    assert d.is_complete("loan", lost)
    assert not d.is_overdue("loan", lost, TODAY)
    figures = d.use_figures([("loan", lost)], {}, TODAY)
    assert figures["loans_lost"] == 1 and "loans_overdue" not in figures, figures


def test_a_damaged_item_is_returned_and_counted() -> None:
    back = validate_record("loan", {**GLIDER, "returned_on": "2027-05-06",
                                    "condition": "damaged"})  # fmt: skip
    figures = d.use_figures([("loan", back)], {}, TODAY)
    assert figures["loans_damaged"] == 1 and figures["loans_returned_late"] == 1, figures


@pytest.mark.parametrize(
    "bad",
    [
        {"condition": "sunk"},
        {"condition": "lost", "returned_on": "2027-05-06"},
        {"condition": "damaged"},  # the state it came back in needs the day it came back
        {"condition": "lost", "consumed": True},
    ],
)
def test_a_condition_that_cannot_be_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(Exception, match="loan"):
        validate_record("loan", {**GLIDER, **bad})


def _fr(s: str, **k: object) -> str:
    from opencall.web.i18n import translations

    t = translations("fr").gettext(s)
    return t % k if k else t


def test_a_lost_item_s_remaining_weeks_count_as_lost_to_an_outage() -> None:
    """outcomes18: the weeks from the day an item was lost to its loan's due day are
    capacity lost (an outage) in the award's use figures, beside ``loans_lost``."""
    lost = validate_record("loan", {**GLIDER, "condition": "lost", "lost_on": "2027-04-06"})
    assert lost["lost_on"] == "2027-04-06"
    figures = d.use_figures([("loan", lost)], {"gliderweek": 8}, TODAY)
    assert figures["lost_weeks:outage"] == 2.0 and figures["loans_lost"] == 1, figures
    # lost on or after its due day: nothing of the loan's time was left to lose
    late = validate_record("loan", {**GLIDER, "condition": "lost", "lost_on": "2027-04-25"})
    assert "lost_weeks:outage" not in d.use_figures([("loan", late)], {}, TODAY)
    # lost without the day: the weeks are not known, none counted (a loan kept before)
    old = validate_record("loan", {**GLIDER, "condition": "lost"})
    assert "lost_on" not in old
    assert "lost_weeks:outage" not in d.use_figures([("loan", old)], {}, TODAY)
    # the office's report names the figure in the reader's language
    from opencall.outcomes.report import use_label

    assert use_label(lambda s, **k: s % k if k else s, "lost_weeks:outage") == (
        "Weeks lost: item lost (outage)"
    )
    assert use_label(_fr, "lost_weeks:outage") == "Semaines perdues : matériel perdu (panne)"


@pytest.mark.parametrize(
    "bad",
    [
        {"lost_on": "2027-04-06"},  # a day lost needs the item lost
        {"condition": "lost", "lost_on": "2027-02-20"},  # before the team received it
        {"condition": "lost", "lost_on": "2027-02-10"},  # before it was shipped
    ],
)
def test_a_day_lost_that_cannot_be_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(Exception, match="lost"):
        validate_record("loan", {**GLIDER, **bad})
