"""Slot placement at scale: many more awards than slots (hundreds of one-slot awards for a
few dozen sessions). Each family has an optimum known independently of the module:

* one-slot awards (any calendar, impossible dates): the lexicographic optimum (value, then
  fewest runs; no bundles, so no span) is a maximum-weight bipartite matching between awards
  and slots with the weights ``4 w * BIG - 1`` (weights on a quarter grid, so exact in
  floating point): every placed one-slot award is exactly one run;
* equal-size awards of ``k`` slots on one free calendar of ``S`` slots: the ``S // k``
  heaviest awards, each one contiguous block.

The solver must return that optimum *proved* (``method == "milp"``), not stop at its time
limit with it: before, the runs level's bound held only when every award was placed, and its
LP relaxation (run starts spread over fractional slots) was near zero, so HiGHS spent the
whole limit on a level the greedy had already solved."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from opencall.optim import slots as sl

T0 = dt.datetime(2027, 9, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
BIG = 100_000.0


def one_slot_instance(seed: int, n_res: int, n_slots: int, n_awards: int) -> sl.SlotProblem:
    rng = np.random.default_rng(seed)
    resources = []
    for r in range(n_res):
        unavailable: tuple[tuple[dt.datetime, dt.datetime, str], ...] = ()
        if rng.random() < 0.5:
            d0 = int(rng.integers(0, n_slots - 2))
            unavailable = ((T0 + d0 * DAY, T0 + (d0 + int(rng.integers(1, 3))) * DAY, "maint"),)
        resources.append(sl.Resource(f"m{r}", T0, T0 + n_slots * DAY, 24.0, unavailable))
    awards = []
    for i in range(n_awards):
        impossible: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
        if rng.random() < 0.3:
            d0 = int(rng.integers(0, n_slots))
            impossible = ((T0 + d0 * DAY, T0 + (d0 + int(rng.integers(1, 8))) * DAY),)
        awards.append(
            sl.SlotAward(
                f"a{i}",
                f"m{int(rng.integers(0, n_res))}",
                1,
                f"p{i}",
                impossible,
                weight=1.0 + 0.25 * int(rng.integers(0, 5)),
            )
        )
    return sl.SlotProblem(tuple(resources), tuple(awards))


def one_slot_optimum(problem: sl.SlotProblem) -> tuple[float, int]:
    """(value, runs) of the lexicographic optimum, by a maximum-weight bipartite matching."""
    cells = [(r.id, s) for r in problem.resources for s in sl.slot_grid(r)]
    score = np.zeros((len(problem.awards), len(cells)))
    for i, a in enumerate(problem.awards):
        for j, (rid, s) in enumerate(cells):
            if rid != a.resource or s.reason:
                continue
            if any(i0 < s.end and s.start < i1 for i0, i1 in a.impossible):
                continue
            score[i, j] = 4 * a.weight * BIG - 1.0
    rows, cols = linear_sum_assignment(score, maximize=True)
    picked = [(i, j) for i, j in zip(rows, cols, strict=True) if score[i, j] > 0]
    value = sum(problem.awards[i].weight for i, _ in picked)
    return value, len(picked)


@pytest.mark.parametrize("n_awards", [250, 600])
def test_hundreds_of_one_slot_awards_for_thirty_slots_are_proved_optimal(n_awards: int) -> None:
    rng = np.random.default_rng(n_awards)
    resources = (sl.Resource("m1", T0, T0 + 30 * DAY, 24.0),)
    awards = tuple(
        sl.SlotAward(f"a{i}", "m1", 1, f"p{i}", weight=1.0 + 0.25 * int(rng.integers(0, 5)))
        for i in range(n_awards)
    )
    problem = sl.SlotProblem(resources, awards)
    res = sl.solve_slots(problem, time_limit_s=20.0)
    assert res.check(problem) == []
    top = sorted((a.weight for a in awards), reverse=True)[:30]
    assert res.value == pytest.approx(sum(top))
    assert res.runs == 30
    assert res.method == "milp", res.stages


@pytest.mark.parametrize("seed", range(4))
def test_one_slot_family_meets_the_matching_optimum_proved(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    n_res = int(rng.integers(1, 4))
    n_slots = int(rng.integers(10, 31))
    problem = one_slot_instance(seed, n_res, n_slots, int(rng.integers(3, 9)) * n_res * n_slots)
    res = sl.solve_slots(problem, time_limit_s=20.0)
    assert res.check(problem) == []
    value, runs = one_slot_optimum(problem)
    assert res.value == pytest.approx(value)
    assert res.runs == runs
    assert res.method == "milp", res.stages


@pytest.mark.parametrize(("k", "n_awards"), [(2, 120), (3, 90)])
def test_equal_size_awards_fill_a_free_calendar_proved(k: int, n_awards: int) -> None:
    rng = np.random.default_rng(k)
    n_slots = 31
    resources = (sl.Resource("m1", T0, T0 + n_slots * DAY, 24.0),)
    awards = tuple(
        sl.SlotAward(f"a{i}", "m1", k, f"p{i}", weight=1.0 + 0.25 * int(rng.integers(0, 5)))
        for i in range(n_awards)
    )
    problem = sl.SlotProblem(resources, awards)
    res = sl.solve_slots(problem, time_limit_s=20.0)
    assert res.check(problem) == []
    fit = n_slots // k
    top = sorted((a.weight for a in awards), reverse=True)[:fit]
    assert res.value == pytest.approx(k * sum(top))
    assert res.runs == fit
    assert res.method == "milp", res.stages


@pytest.mark.parametrize("seed", range(3))
def test_heavy_awards_squeezed_by_impossible_dates_are_solved_and_proved(seed: int) -> None:
    """The heavy awards can use only the first days (impossible dates cover the rest), so the
    knapsack bound is not met and the levels are solved by HiGHS: the value is a matching,
    and the runs (each placed one-slot award one run) must be proved at once too."""
    rng = np.random.default_rng(2000 + seed)
    n_slots = int(rng.integers(10, 31))
    open_days = int(rng.integers(2, n_slots // 2))
    resources = (sl.Resource("m1", T0, T0 + n_slots * DAY, 24.0),)
    late = ((T0 + open_days * DAY, T0 + n_slots * DAY),)
    awards = [sl.SlotAward(f"h{i}", "m1", 1, f"h{i}", late, weight=2.0) for i in range(2 * n_slots)]
    awards += [
        sl.SlotAward(f"l{i}", "m1", 1, f"l{i}", weight=1.0 + 0.25 * int(rng.integers(0, 3)))
        for i in range(8 * n_slots)
    ]
    problem = sl.SlotProblem(resources, tuple(awards))
    res = sl.solve_slots(problem, time_limit_s=20.0)
    assert res.check(problem) == []
    value, runs = one_slot_optimum(problem)
    assert res.value == pytest.approx(value)
    assert res.runs == runs
    assert res.method == "milp", res.stages
    assert any(": optimal" in s for s in res.stages), res.stages
