"""The eighteenth round of instances nobody showed us (trialopt18): slot placement with
unbroken awards beside changeovers, booked slots, same-time bundles, closures, impossible
dates, awards that all want the same slots, awards longer than their resource, one-slot
resources and tied weights (``tests/optim/trial18.py``), each placement held to a checker
written from the problem statement and to the optimum of OR-Tools CP-SAT."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.optim import trial18 as t18

from opencall.optim import slots as sl

T0 = t18.T0
D = dt.timedelta(days=1)


@pytest.mark.parametrize("exact", [True, False])
def test_a_same_time_bundle_with_two_awards_on_one_resource_is_left_out(exact: bool) -> None:
    # two awards of one bundle "at the same times" on the same chamber: each slot of one
    # would be the other's too; main gave both the same day (its own check: "also given to")
    r = sl.Resource("c", T0, T0 + 3 * D, 24.0)
    pair = tuple(
        sl.SlotAward(i, "c", 1, proposal="p", bundle="b", same_time=True) for i in ("x", "y")
    )
    alone = sl.SlotAward("z", "c", 1, proposal="q", weight=0.5)
    problem = sl.SlotProblem((r,), (*pair, alone))
    res = sl.solve_slots(problem, exact=exact)
    assert t18.violations(problem, res.starts) == [], res.starts
    assert res.check(problem) == []
    assert sorted(res.starts) == ["z"], res.starts
    for i in ("x", "y"):
        assert res.unplaced[i].reason == "same_time_one_resource"
        assert "c" in res.unplaced[i].detail


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=10**6))
def test_random_slot_instances_against_cp_sat(seed: int) -> None:
    problem = t18.instance(seed)
    best = t18.peer_value(problem)
    exact = sl.solve_slots(problem, time_limit_s=20)
    greedy = sl.solve_slots(problem, exact=False)
    for res in (exact, greedy):
        assert t18.violations(problem, res.starts) == [], (seed, res.starts)
        assert res.check(problem) == []
        assert res.value == pytest.approx(t18.value(problem, res.starts))
        assert res.runs == t18.runs(problem, res.starts)
        assert set(res.starts) | set(res.unplaced) == {a.id for a in problem.awards}
    assert exact.method == "milp"
    assert exact.value == pytest.approx(best), seed
    assert greedy.value <= best + 1e-9
    again = sl.solve_slots(problem, time_limit_s=20)
    assert again.starts == exact.starts and again.unplaced == exact.unplaced
