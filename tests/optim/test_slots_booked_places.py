"""Places of a shared slot booked outside the problem (``optim.slots.Resource.booked`` on a
resource with ``groups_per_slot`` above 1: another call's bookings, this call's kept
ones): each takes one place of the slot it overlaps, so a slot of ``k`` places with ``j``
booked offers ``k - j``, and one with none left is not usable. Before, the service made
such a slot wholly unavailable and the optimiser ignored ``booked`` on a shared resource.
Checked on the greedy, the HiGHS path and the CP-SAT value level, and by brute force
(``tests/optim/test_slots_groups.py`` draws booked places too)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from tests.optim.test_slots_groups import brute_force, changer, shift

from opencall.optim import slots as sl

T0 = shift(0)


def other_call(*ks: int) -> tuple[tuple[dt.datetime, dt.datetime, str], ...]:
    """One place booked by another call in each shift ``ks`` (a shift twice: two)."""
    return tuple((shift(k), shift(k + 1), "another call") for k in ks)


def ones(n: int) -> tuple[sl.SlotAward, ...]:
    return tuple(sl.SlotAward(f"g{i}", "changer", 1, proposal=f"p{i}") for i in range(n))


def test_a_shared_slot_with_a_place_booked_elsewhere_offers_the_rest() -> None:
    # 2 groups a shift over 3 shifts, one place of the first booked by another call: 5 left
    problem = sl.SlotProblem((changer(2, shifts=3, booked=other_call(0)),), ones(6))
    for res in (sl.solve_slots(problem), sl.solve_slots(problem, exact=False)):
        used = Counter(t for ts in res.starts.values() for t in ts)
        assert used == {shift(0): 1, shift(1): 2, shift(2): 2}, res.stages
        assert len(res.unplaced) == 1 and res.check(problem) == []


def test_the_check_counts_the_places_booked_elsewhere() -> None:
    problem = sl.SlotProblem((changer(3, booked=other_call(0, 0)),), ones(2))
    assert sl.check(problem, {"g0": (T0,), "g1": (T0,)}) == [
        f"g1: {T0.isoformat()} is also given to g0"  # 1 place left of 3
    ]
    assert sl.check(problem, {"g0": (T0,)}) == []
    problem = sl.SlotProblem((changer(4, booked=other_call(0)),), ones(4))
    assert sl.check(problem, {f"g{i}": (T0,) for i in range(4)}) == [
        f"g3: {T0.isoformat()} is given to 4 groups, more than the 3 a slot holds"
    ]


def test_a_shared_slot_whose_places_are_all_booked_is_not_usable() -> None:
    problem = sl.SlotProblem((changer(2, shifts=2, booked=other_call(0, 0)),), ones(3))
    grid = sl.slot_grid(problem.resources[0])
    assert [(s.reason, s.places) for s in grid] == [(sl.FULLY_BOOKED, 0), ("", 2)]
    res = sl.solve_slots(problem)
    assert Counter(t for ts in res.starts.values() for t in ts) == {shift(1): 2}
    assert sl.check(problem, {"g0": (T0,)}) == [f"g0: {T0.isoformat()} is in an unavailable period"]


def test_booked_places_on_the_cp_sat_value_level() -> None:
    # 3 groups a shift over 4 shifts, 2 places booked elsewhere (10 left); awards of 2 and
    # 3 shifts: the greedy cannot prove its value, CP-SAT places exactly 10
    awards = tuple(
        sl.SlotAward(f"a{i}", "changer", 3 if i % 2 else 2, proposal=f"p{i}") for i in range(7)
    )
    problem = sl.SlotProblem((changer(3, shifts=4, booked=other_call(1, 3)),), awards)
    res = sl.solve_slots(problem)
    assert res.check(problem) == [] and res.value == 10.0, res.stages
    used = Counter(t for ts in res.starts.values() for t in ts)
    assert used[shift(1)] <= 2 and used[shift(3)] <= 2


def test_booked_slots_of_a_resource_of_one_group_still_only_keep_the_changeover() -> None:
    # today's rule: on a resource of 1 group a slot ``booked`` is for the changeover; the
    # caller marks it unavailable itself
    r = sl.Resource("x", T0, shift(2), 8.0, booked=other_call(0))
    assert [(s.reason, s.places) for s in sl.slot_grid(r)] == [("", 1), ("", 1)]


def test_the_span_level_of_a_shared_resource_goes_to_cp_sat() -> None:
    # a together-bundle of two awards of 2 shifts beside 4 others on a changer of 2 groups
    # over 4 shifts: the span level (whole hours, 8-hour shifts) goes to CP-SAT and keeps
    # the bundle in the least span the value leaves
    awards = (
        *(sl.SlotAward(f"b{i}", "changer", 2, proposal="pb", bundle="b", together=True) for i in range(2)),
        *(sl.SlotAward(f"g{i}", "changer", 1, proposal=f"p{i}") for i in range(4)),
    )  # fmt: skip
    problem = sl.SlotProblem((changer(2, shifts=4, booked=other_call(0)),), awards)
    res = sl.solve_slots(problem)
    assert res.check(problem) == [] and res.value == 7.0  # 7 places left of 8
    assert any(s.startswith("span: optimal") and "(cp-sat)" in s for s in res.stages), res.stages
    assert res.span_hours == 16.0  # the bundle in 2 shifts (its 4 places)
    assert res.objective == pytest.approx(brute_force(problem), abs=1e-6)
