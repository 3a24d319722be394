"""The API's list of clashes (an outage's, a changeover's): the slots the caller may see,
each with its call and proposal, and only a count of the others (no call, no code)."""

from __future__ import annotations

import datetime as dt

from opencall.facilities.api import _clash_outs
from opencall.facilities.services import ScheduleClash

START = dt.datetime(2027, 3, 1, 8, tzinfo=dt.UTC)


def clash(visible: bool, n: int) -> ScheduleClash:
    at = START + dt.timedelta(hours=n)
    if not visible:
        return ScheduleClash(0, "", "", 0, "", None, 0, at, at + dt.timedelta(hours=1), False)
    return ScheduleClash(7, "fast-27", "FAST", 40 + n, f"F27-{n:04d}", 9, 70 + n, at,
                         at + dt.timedelta(hours=1))  # fmt: skip


def test_the_visible_clashes_and_a_count_of_the_others() -> None:
    shown, hidden = _clash_outs([clash(True, 1), clash(False, 2), clash(False, 3), clash(True, 4)])
    assert [(c.call, c.proposal_code, c.award_id, c.starts_at) for c in shown] == [
        ("fast-27", "F27-0001", 9, START + dt.timedelta(hours=1)),
        ("fast-27", "F27-0004", 9, START + dt.timedelta(hours=4)),
    ]
    assert hidden == 2
    assert _clash_outs([]) == ([], 0)
