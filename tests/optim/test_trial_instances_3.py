"""Instance families nobody tried before the ninth round, run through the public optimiser
functions and held to answers computed here: a MILP of SciPy or brute force on small
instances, invariants on larger ones. Each test that found a defect names the instance that
showed it; the others pin down behaviour that was right and had no test."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from opencall.optim.allocation import AllocationProblem, Pool, Request, solve_allocation
from opencall.optim.assignment import AssignmentProblem, Grouping, solve_assignment

# --- reviewer assignment ---------------------------------------------------------------


def milp_max_min(
    a: np.ndarray, k: int, max_load: int, banned: set[tuple[int, int]], labels: np.ndarray | None
) -> float:
    """The best lowest proposal affinity by SciPy's MILP over every pair (one reviewer of a
    proposal per label when ``labels`` is given)."""
    P, R = a.shape
    n = P * R
    upper = np.ones(n + 1)
    upper[n] = np.inf
    lower = np.zeros(n + 1)
    lower[n] = -np.inf
    for p, r in banned:
        upper[p * R + r] = 0.0
    rows, lo, hi = [], [], []
    for p in range(P):
        count = np.zeros(n + 1)
        count[p * R : (p + 1) * R] = 1.0
        fair = np.zeros(n + 1)
        fair[p * R : (p + 1) * R] = a[p]
        fair[n] = -1.0
        rows += [count, fair]
        lo += [k, 0.0]
        hi += [k, np.inf]
        for g in set(labels.tolist()) if labels is not None else ():
            cap = np.zeros(n + 1)
            cap[p * R : (p + 1) * R] = labels == g
            rows.append(cap)
            lo.append(0.0)
            hi.append(1.0)
    for r in range(R):
        load = np.zeros(n + 1)
        load[r:n:R] = 1.0
        rows.append(load)
        lo.append(0.0)
        hi.append(max_load)
    c = np.zeros(n + 1)
    c[n] = -1.0
    integrality = np.ones(n + 1)
    integrality[n] = 0.0
    res = milp(
        c,
        constraints=LinearConstraint(np.array(rows), lo, hi),
        integrality=integrality,
        bounds=Bounds(lower, upper),
    )
    assert res.status == 0, res.message
    return float(-res.fun)


def test_fair_mode_where_fairness_cannot_bind_is_settled_without_its_lp() -> None:
    # defect: one proposal among 10,000 reviewers in fair mode took 12 s (9 s of HiGHS
    # presolve on the max-min LP, quadratic in the reviewers when every load row holds one
    # pair; 3 s at 5,000, 0.7 s at 2,000) against 0.05 s in total mode, although the
    # total-mode optimum gives the lowest proposal its best reviewers, which no assignment
    # can beat; every reviewer allowed to one proposal only is the same instance
    a = np.random.default_rng(0).random((1, 10_000))
    for objective in ("total", "fair"):
        pb = AssignmentProblem(1, 10_000, a, k=3, objective=objective)  # type: ignore[arg-type]
        res = solve_assignment(pb)
        assert res.check(pb) == [] and res.certified and res.total_certified
        assert res.total_affinity == pytest.approx(np.sort(a[0])[-3:].sum())
    assert res.timings["fair_settled_by_total"] == 1.0 and "fair_lp" not in res.timings
    P, R = 4, 12
    a = np.random.default_rng(1).random((P, R))
    conflicts = np.array([(p, r) for p in range(P) for r in range(R) if r % P != p])
    pb = AssignmentProblem(P, R, a, k=2, conflicts=conflicts, objective="fair")
    res = solve_assignment(pb)
    best = [np.sort(a[p, p::P])[-2:].sum() for p in range(P)]
    assert res.check(pb) == [] and res.certified and res.total_certified
    assert res.proposal_affinity == pytest.approx(best)
    assert res.timings["fair_settled_by_total"] == 1.0


@pytest.mark.parametrize("seed", range(4))
def test_fair_mode_against_a_milp_when_fairness_binds_or_not(seed: int) -> None:
    # the shortcut above must not settle an instance where the total-mode optimum leaves
    # its lowest proposal below that proposal's best: few reviewers, tight loads, ties,
    # conflicts and a diversity rule
    rng = np.random.default_rng(seed)
    for _ in range(6):
        P, R = int(rng.integers(1, 5)), int(rng.integers(2, 6))
        a = rng.random((P, R))
        if rng.random() < 0.4:
            a = np.round(a * 2) / 2  # ties
        k, max_load = 1 + int(rng.random() < 0.4), int(rng.integers(1, 4))
        banned = {(p, r) for p in range(P) for r in range(R) if rng.random() < 0.25}
        labels = rng.integers(0, 2, R) if rng.random() < 0.3 else None
        conflicts = np.array(sorted(banned), np.int64).reshape(-1, 2)
        groupings = (Grouping(labels, 1),) if labels is not None else ()
        objective: Literal["fair"] = "fair"
        try:
            pb = AssignmentProblem(
                P,
                R,
                a,
                k=k,
                max_load=max_load,
                conflicts=conflicts,
                groupings=groupings,
                objective=objective,
            )
            res = solve_assignment(pb)
        except ValueError:  # infeasible: the MILP agrees below
            with pytest.raises(AssertionError):
                milp_max_min(a, k, max_load, banned, labels)
            continue
        assert res.check(pb) == [] and res.certified
        want = milp_max_min(a, k, max_load, banned, labels)
        assert res.min_proposal_affinity == pytest.approx(want, abs=1e-5)


# --- allocation ------------------------------------------------------------------------


def test_thousands_of_tiny_requests_fill_the_pool_in_merit_order() -> None:
    # 3,000 requests of 1e-3 h each on one pool of 1 h, merits 0..6 in turn: exactly the
    # thousand best fit (the packing's local search used to sort every free request once
    # per awarded one: 2.8 CPU s at 5,000 requests, now 1.1 s; see bench/README.md)
    n = 3000
    reqs = tuple(Request(f"r{i}", f"P{i}", f"pi{i}", float(i % 7), {"a": 1e-3}) for i in range(n))
    problem = AllocationProblem((Pool("a", 1.0),), reqs)
    res = solve_allocation(problem)
    assert res.check(problem) == [] and res.status == "optimal"
    got = [r for r in reqs if res.fractions[r.id] > 0]
    assert len(got) == 1000 and all(res.fractions[r.id] == 1.0 for r in got)
    left = [r for r in reqs if res.fractions[r.id] == 0]
    assert min(r.merit for r in got) >= max(r.merit for r in left)
    used = sum(r.demand["a"] for r in got)
    assert used <= 1.0 + 1e-9 and used + 1e-3 > 1.0 + 1e-9
