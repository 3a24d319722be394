"""An item of several lost (``optim.slots.Resource.fewer``, trialop20b): five identical
ROVs, one lost from the third day, leave four places in each slot from then on; the
schedule (HiGHS and the greedy) never puts a fifth group there, the checker refuses it,
and a resource with nothing lost is placed as before."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from opencall.optim import slots as sl

T0 = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
D = dt.timedelta(days=1)


def rovs(fewer: tuple[tuple[dt.datetime, dt.datetime, int], ...]) -> sl.SlotProblem:
    r = sl.Resource("rov", T0, T0 + 4 * D, 24.0, groups_per_slot=5, fewer=fewer)
    awards = [sl.SlotAward(f"a{i}", "rov", 4, proposal=f"p{i}", weight=1.0) for i in range(5)]
    return sl.SlotProblem((r,), tuple(awards))


@pytest.mark.parametrize("solve", [sl.solve_slots, sl.greedy])
def test_a_lost_rov_leaves_four_places_from_the_day_it_was_lost(solve) -> None:  # type: ignore[no-untyped-def]
    p = rovs(((T0 + 2 * D, T0 + 4 * D, 1),))
    out = solve(p)
    per_slot = Counter(t for ts in out.starts.values() for t in ts)
    assert per_slot[T0 + 2 * D] <= 4 and per_slot[T0 + 3 * D] <= 4, per_slot
    assert sl.check(p, out.starts) == []
    # four of five awards of four days fit; the fifth does not
    assert len(out.starts) == 4, out.starts
    # nothing lost: all five, five a slot
    whole = solve(rovs(()))
    assert len(whole.starts) == 5 and sl.check(rovs(()), whole.starts) == []


def test_the_checker_refuses_a_fifth_group_in_a_slot_with_an_item_out() -> None:
    p = rovs(((T0 + 2 * D, T0 + 4 * D, 1),))
    starts = {f"a{i}": [T0 + k * D for k in range(4)] for i in range(5)}
    errors = sl.check(p, starts)
    assert any("more than the 4 a slot holds" in e for e in errors), errors
    assert sl.check(rovs(()), starts) == []
