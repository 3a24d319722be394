"""A session's observed hours count as slots of its award's unit when that unit is counted in
slots of a known length (branch trialfac18): a beamline's 8-hour shifts, a clean room's
4-hour sessions. Before, an award in shifts followed by sessions read "0 shifts used"."""

from __future__ import annotations

import datetime as dt

from opencall.results import domain as d

TODAY = dt.date(2027, 6, 1)


def test_observed_hours_count_as_shifts_of_the_award() -> None:
    records = [("session", {"observed_on": "2027-04-05", "observed_hours": 16.0}),
               ("session", {"observed_on": "2027-04-06", "observed_hours": 12.0})]  # fmt: skip
    got = d.use_figures(records, {"shift": 4}, TODAY, "shift", {"shift": 8.0})
    assert got["used:h"] == 28.0 and got["used:shift"] == 3.5 and got["awarded:shift"] == 4


def test_hours_stay_hours_and_an_unknown_length_counts_no_slots() -> None:
    records = [("session", {"observed_on": "2027-04-05", "observed_hours": 6.0})]
    assert d.use_figures(records, {"h": 10}, TODAY, "h", {"h": 1.0})["used:h"] == 6.0
    got = d.use_figures(records, {"shift": 2}, TODAY, "shift")
    assert got["used:h"] == 6.0 and got["used:shift"] == 0.0  # no slot length: not guessed
    kept = {**records[0][1], d.AWARD_UNIT: "session"}  # kept against a 4-hour-session award
    got = d.use_figures([("session", kept)], {"session": 3, "h": 2}, TODAY, "", {"session": 4.0})
    assert got["used:session"] == 1.5


def test_a_tools_hours_are_not_counted_as_the_engineers_hours() -> None:
    """A team awarded 4-hour tool sessions and engineer hours (a clean room): the hours
    observed on the tool are its sessions, not engineer hours used."""
    kept = {"observed_on": "2027-03-02", "observed_hours": 8.0, d.AWARD_UNIT: "session"}
    got = d.use_figures([("session", kept)], {"session": 3, "h": 6}, TODAY, "", {"session": 4.0})
    assert got["used:session"] == 2.0 and got["used:h"] == 0.0, got
