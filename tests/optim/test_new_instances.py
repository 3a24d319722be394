"""Instance families the benchmarks do not use, run through the public optimiser functions.

Each family is a shape the benchmarks never try (whole awards in many small or empty pools,
heavy-tailed requests, every grade tied, share rules that cannot all be met, reviewers with a
load of one, every proposal conflicted with all but k reviewers, every pair forced, ...). Each
result is held to an independent checker written here (not the optimiser's own ``check``),
to the optimum of a plain MIP on the same small instance where one is cheap, and to the same
answer for the same seed. The generators are in ``bench/instances.py``.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from tests.optim import instances

from opencall.optim.allocation import (
    AllocationProblem,
    Pool,
    Request,
    solve_allocation,
    solve_mip,
)
from opencall.optim.allocation.solve import _build
from opencall.optim.assignment import AssignmentProblem, InfeasibleAssignment, solve_assignment
from opencall.optim.logistics import (
    CourseProblem,
    CourseSession,
    CruiseProblem,
    CruiseRequest,
    Leg,
    SeatRequest,
    solve_courses,
    solve_cruise,
)
from opencall.optim.scheduling import (
    _prepare,
    _Seq,
    schedule_fast,
    sequence,
)
from opencall.optim.slots import check, solve_slots


def test_fair_assignment_with_every_pair_forced() -> None:
    # one proposal, one reviewer, the pair forced: no free edge is left for the fair MIPs
    pb = AssignmentProblem(
        1, 1, np.array([[0.375]]), k=1, forced=np.array([[0, 0]]), objective="fair"
    )
    res = solve_assignment(pb)
    assert res.check(pb) == []
    assert (res.proposals.tolist(), res.reviewers.tolist()) == ([0], [0])
    assert res.min_proposal_affinity == pytest.approx(0.375)
    assert res.certified


def test_allocation_merits_spanning_the_float_range() -> None:
    # finite merits whose difference overflows: the weights must still rank them
    pools = (Pool("a", 10.0),)
    reqs = (
        Request("r1", "P1", "x", 1e308, {"a": 6.0}),
        Request("r2", "P2", "y", -1e308, {"a": 6.0}),
    )
    pb = AllocationProblem(pools, reqs)
    res = solve_allocation(pb)
    assert res.check(pb) == []
    assert res.fractions == {"r1": 1.0, "r2": 0.0}
    assert math.isfinite(res.objective) and math.isfinite(res.bound)


# ----------------------------------------------------------------------------- scheduling


def test_oversubscribed_night_does_not_copy_the_sequence_for_every_hopeless_chunking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Before: every splittable candidate of every ruin-and-recreate step copied the sequence
    # and evaluated its gaps before finding no room (3,604 copies, 9,331 gap rows here; 41 s
    # of CPU for 400 blocks in 8 h with the default iterations).
    counts = {"copy": 0, "gap": 0}
    copy, gap_row = sequence._Seq.copy, sequence._gap_row

    def counted_copy(self: sequence._Seq) -> sequence._Seq:
        counts["copy"] += 1
        return copy(self)

    def counted_gap(*args: object) -> object:
        counts["gap"] += 1
        return gap_row(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(sequence._Seq, "copy", counted_copy)
    monkeypatch.setattr(sequence, "_gap_row", counted_gap)
    p = instances.oversubscribed_night(60, 8.0, 3)
    res = schedule_fast(p, seed=0, improve_iterations=100, exact=False)
    assert res.check(p) == []
    assert res.entries
    assert counts["copy"] < 600 and counts["gap"] < 2000, counts


@pytest.mark.parametrize("seed", range(6))
def test_chunk_screens_never_refuse_a_chunking_the_search_would_find(seed: int) -> None:
    # the screens answer False only where the chunk search itself fails
    p = instances.oversubscribed_night(25, float(4 + seed), seed)
    prep = _prepare(p)
    seq = _Seq(prep)
    rng = np.random.default_rng(seed)
    for b in rng.permutation(len(p.blocks))[:4]:
        seq.try_insert(int(b))
    for b, blk in enumerate(p.blocks):
        if not blk.splittable or b in seq.placed:
            continue
        screened = seq._room_for_chunks(b, float(prep.dur[b])) and seq._may_take_a_chunk(
            b, blk.min_chunk_s
        )
        trial = seq.copy()
        trial._room_for_chunks = lambda *a: True  # type: ignore[method-assign]
        trial._may_take_a_chunk = lambda *a: True  # type: ignore[method-assign]
        if trial.try_insert_chunks(b):
            assert screened, (seed, b)


# ----------------------------------------------------------------------------- logistics


def test_a_session_named_twice_in_the_preferences_counts_once() -> None:
    # a repeated preference gave a second pair of columns with no seat row: the objective
    # and bound counted the request twice, and its real column carried the later rank's
    # penalty
    sessions = (CourseSession("s1", date(2030, 1, 1), date(2030, 1, 2), "x", 5),)
    once = CourseProblem(sessions, (SeatRequest("r1", 1.0, 2, ("s1",)),))
    twice = CourseProblem(sessions, (SeatRequest("r1", 1.0, 2, ("s1", "s1")),))
    a, b = solve_courses(once), solve_courses(twice)
    assert b.check(twice) == []
    assert b.placements == a.placements
    assert b.objective == pytest.approx(a.objective)
    assert b.bound == pytest.approx(a.bound)


def test_logistics_merits_spanning_the_float_range() -> None:
    leg = Leg("L1", date(2030, 1, 1), date(2030, 1, 1), ("A",), ((0.0, 0.0),), 1, 0, 0.0)
    pb = CruiseProblem((leg,), (CruiseRequest("c1", 1e308, 1), CruiseRequest("c2", -1e308, 1)))
    res = solve_cruise(pb)
    assert res.check(pb) == []
    assert dict(res.leg_of) == {"c1": "L1", "c2": None}
    assert math.isfinite(res.objective)


# ----------------------------------------------------------------------------- families


def _whole_award_optimum(pb: AllocationProblem, weights: dict[str, float]) -> float:
    """Brute force over award sets of a whole-award problem, checked by the checker here."""
    ids = [r.id for r in pb.requests]
    best = 0.0
    for mask in range(1 << len(ids)):
        fr = {rid: float(mask >> j & 1) for j, rid in enumerate(ids)}
        value = sum(weights[rid] for rid in ids if fr[rid])
        if value <= best:
            continue
        fake = type("R", (), {"fractions": fr, "explanations": dict.fromkeys(ids)})()
        if not instances.allocation_violations(pb, fake):  # type: ignore[arg-type]
            best = value
    return best


@pytest.mark.parametrize("family", instances.ALLOCATION_FAMILIES)
def test_allocation_families(family: str) -> None:
    for seed in range(12):
        pb = instances.allocation_instance(np.random.default_rng(seed), family)
        res = solve_allocation(pb, seed=seed, time_limit_s=5.0)
        assert instances.allocation_violations(pb, res) == [], (family, seed)
        assert res.check(pb) == [], (family, seed)
        assert math.isfinite(res.objective) and res.bound >= res.objective - 1e-6
        assert solve_allocation(pb, seed=seed, time_limit_s=5.0).fractions == res.fractions
        if not pb.policy.allow_partial and not pb.policy.group_share_rules:
            # whole awards: the best award set for the model's weights, by brute force over
            # the sets this file's checker accepts
            model = _build(pb, seed)
            w = {r.id: 0.0 for r in pb.requests}
            sharing = Counter(model.f_col[i] for i in model.cand)  # a bundle: one column
            for i in model.cand:
                col = model.f_col[i]
                w[pb.requests[i].id] = float(model.weights[col]) / sharing[col]
            assert res.objective == pytest.approx(_whole_award_optimum(pb, w), rel=1e-4)


@pytest.mark.parametrize("family", instances.ASSIGNMENT_FAMILIES)
@pytest.mark.parametrize("objective", ["total", "fair"])
def test_assignment_families(family: str, objective: str) -> None:
    for seed in range(10):
        rng = np.random.default_rng(seed)
        try:
            pb = instances.assignment_instance(rng, family, objective)
        except ValueError:
            continue  # malformed draw (e.g. a forced pair beyond a load): refused at once
        best = instances.assignment_optimum(pb)
        try:
            res = solve_assignment(pb)
        except InfeasibleAssignment:
            assert best is None, (family, objective, seed)
            continue
        assert best is not None, (family, objective, seed)
        assert instances.assignment_violations(pb, res.proposals, res.reviewers) == []
        A = np.asarray(pb.affinity.toarray() if sp.issparse(pb.affinity) else pb.affinity)
        sums = np.bincount(res.proposals, A[res.proposals, res.reviewers], pb.n_proposals)
        got = float(sums.min()) if objective == "fair" else float(sums.sum())
        assert got == pytest.approx(best, abs=1e-5), (family, objective, seed)
        again = solve_assignment(pb)
        assert np.array_equal(again.proposals, res.proposals)
        assert np.array_equal(again.reviewers, res.reviewers)


@pytest.mark.parametrize("family", instances.SCHEDULING_FAMILIES)
def test_scheduling_families(family: str) -> None:
    for seed in range(3):
        p = instances.scheduling_instance(np.random.default_rng(seed), family)
        res = schedule_fast(p, seed=seed, exact_deterministic_time=0.2, improve_iterations=200)
        assert instances.scheduling_violations(p, res) == [], (family, seed)
        assert res.check(p) == [], (family, seed)
        again = schedule_fast(p, seed=seed, exact_deterministic_time=0.2, improve_iterations=200)
        assert (again.entries, again.unscheduled) == (res.entries, res.unscheduled)


@pytest.mark.parametrize("family", instances.SLOT_FAMILIES)
def test_slot_families(family: str) -> None:
    for seed in range(15):
        pb = instances.slot_instance(np.random.default_rng(seed), family)
        res = solve_slots(pb, time_limit_s=5.0)
        placed = [a for a in pb.awards if res.starts.get(a.id)]
        assert instances.slots_fit(pb, placed), (family, seed)
        assert check(pb, res.starts) == []
        assert all(a.id in res.starts or a.id in res.unplaced for a in pb.awards)
        assert res.value == pytest.approx(instances.slot_value_optimum(pb)), (family, seed)
        assert solve_slots(pb, time_limit_s=5.0).starts == res.starts


@pytest.mark.parametrize("family", instances.LOGISTICS_FAMILIES)
def test_logistics_families(family: str) -> None:
    for seed in range(15):
        rng = np.random.default_rng(seed)
        cruise = instances.cruise_instance(rng, family)
        res = solve_cruise(cruise, seed=seed)
        assert instances.cruise_violations(cruise, res) == [], (family, seed)
        assert res.check(cruise) == []
        again = solve_cruise(cruise, seed=seed)
        assert (again.leg_of, again.dives) == (res.leg_of, res.dives)
        courses = instances.course_instance(rng, family)
        placed = solve_courses(courses, seed=seed)
        assert instances.course_violations(courses, placed) == [], (family, seed)
        assert placed.check(courses) == []
        assert solve_courses(courses, seed=seed).placements == placed.placements


# ----------------------------------------------------------------------------- MIP bound


def _cyclic_knapsack() -> tuple[Any, ...]:
    """A 0-1 packing of 250 columns over 24 cyclic rows (the shape of a whole-award FAST
    call): the LP is quick, the proof slow."""
    rng = np.random.default_rng(0)
    n, m = 250, 24
    a = np.zeros((m, n))
    for j in range(n):
        s = int(rng.integers(0, m))
        for k in range(int(rng.integers(3, 9))):
            a[(s + k) % m, j] = rng.uniform(0.6, 6.0)
    c = rng.uniform(0.1, 1.1, n)
    return (
        c,
        sp.csr_matrix(a),
        np.full(m, -np.inf),
        np.full(m, 18.75),
        np.zeros(n),
        np.ones(n),
        np.ones(n, bool),
    )


@pytest.mark.parametrize("backend", ["highspy", "scipy"])
def test_a_solve_stopped_before_its_first_bound_reports_no_false_certificate(
    backend: str,
) -> None:
    # HiGHS stopped by the time limit before it had a dual bound: the objective was
    # reported as the bound, so the gap read 0 (even with an objective of 0) under a
    # solution a longer run beats
    model = _cyclic_knapsack()
    best = solve_mip(*model, time_limit_s=1.0, polish=True).objective
    for limit in (1e-4, 1e-3, 0.01, 0.05):
        sol = solve_mip(*model, time_limit_s=limit, polish=True, backend=backend)  # type: ignore[arg-type]
        if sol.status == "error":  # no solution at all (scipy at 0.1 ms): said so, no bound
            continue
        assert sol.bound >= best - 1e-6, (limit, sol)
        assert sol.bound >= sol.objective - 1e-6
