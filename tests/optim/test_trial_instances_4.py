"""Instance families nobody tried before the tenth round, run through the public optimiser
functions and held to answers computed here (brute force or SciPy's MILP on small
instances, invariants on larger ones; big instances go in ``bench/``). Each test that
found a defect names the instance that showed it; the others pin down behaviour that was
right and had no test."""

from __future__ import annotations

import math
import re
from typing import Literal

import numpy as np
import pytest
import scipy.sparse as sp

from opencall.optim.assignment import (
    AssignmentProblem,
    Grouping,
    InfeasibleAssignment,
    TopicAffinity,
    solve_assignment,
)
from opencall.optim.scheduling import (
    FastBlock,
    FastScheduleProblem,
    MaintenanceWindow,
    schedule_fast,
)
from opencall.optim.scheduling.prepare import _prepare

# --- reviewer assignment ---------------------------------------------------------------


@pytest.mark.parametrize("objective", ["total", "fair"])
@pytest.mark.parametrize("kind", ["dense", "sparse", "topics"])
def test_no_reviewers_at_all_leaves_every_proposal_short(
    objective: Literal["total", "fair"], kind: str
) -> None:
    # found: a call whose reviewers have all left (or none accepted yet) was refused as
    # malformed ("need n_reviewers >= 1") even with missing reviews allowed
    P = 4
    affinity: object = {
        "dense": np.zeros((P, 0)),
        "sparse": sp.csr_matrix((P, 0)),
        "topics": TopicAffinity(np.ones((P, 3)), np.zeros((0, 3))),
    }[kind]
    problem = AssignmentProblem(
        P,
        0,
        affinity,
        k=np.array([3, 0, 1, 2]),
        min_load=1,
        groupings=(Grouping(np.zeros(0, np.int64), 1, "institution"),),
        objective=objective,
        allow_short=True,
    )
    res = solve_assignment(problem)
    assert res.check(problem) == []
    assert (len(res.proposals), len(res.reviewers)) == (0, 0)
    assert res.short.tolist() == [3, 0, 1, 2]
    assert res.short_load.tolist() == []
    assert res.proposal_affinity.tolist() == [0.0] * P
    assert (res.total_affinity, res.upper_bound, res.gap, res.certified) == (0.0, 0.0, 0.0, True)


def test_no_reviewers_without_missing_reviews_allowed_is_infeasible_and_says_why() -> None:
    problem = AssignmentProblem(2, 0, np.zeros((2, 0)), k=2)
    with pytest.raises(InfeasibleAssignment, match="no reviewers.*4 reviews needed"):
        solve_assignment(problem)
    # nothing to assign: the empty assignment, as with reviewers
    empty = AssignmentProblem(2, 0, np.zeros((2, 0)), k=0)
    res = solve_assignment(empty)
    assert res.check(empty) == [] and len(res.proposals) == 0 and res.certified
    nothing = solve_assignment(AssignmentProblem(0, 0, np.zeros((0, 0))))
    assert len(nothing.proposals) == 0 and nothing.certified


# --- FAST scheduling ---------------------------------------------------------------------

T0 = 1_829_347_200.0  # 2027-12-21 00:00 UTC


@pytest.mark.parametrize("sources", [1, 2])
def test_many_identical_blocks_are_proven_optimal(sources: int) -> None:
    # found: 12 identical 30-minute blocks of one source (a drift scan cut in blocks; 11
    # fit in its 5.3 h above the zenith limit) left CP-SAT at FEASIBLE when its time limit
    # ran out: the search visited the blocks' permutations (bench/bench_symmetry.py)
    blocks = tuple(
        FastBlock(f"s{s}-{i}", 90.0 * s, 25.6, 1800.0, priority=1 + s)
        for s in range(sources)
        for i in range(12)
    )
    problem = FastScheduleProblem(T0, T0 + 86_400.0, blocks)
    res = schedule_fast(problem)
    assert res.check(problem) == []
    assert res.stats.exact_status == "OPTIMAL"
    # the independent count: a source's blocks fit one after the other, each after the
    # setup, within its one range of allowed starts (the sources' ranges do not overlap)
    prep = _prepare(problem)
    placed = {s: 0 for s in range(sources)}
    for e in res.entries:
        placed[int(e.block_id[1 : e.block_id.index("-")])] += 1
    for s in range(sources):
        b = 12 * s
        (lo,), (hi,) = prep.win_lo[b], prep.win_hi[b]
        fit = 1 + math.floor((hi - lo) / (1800.0 + problem.setup_s))
        assert placed[s] == min(12, fit)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("full_gain_zenith_deg", "full_gain_zenith_deg must be finite"),
        ("slew_deg_per_s", "slew_deg_per_s finite and > 0"),
        ("min_chunk_s", "min_chunk_s must be finite"),
        ("maintenance_end", "maintenance 'm': start and end must be finite, end after start"),
    ],
)
def test_nan_and_infinity_in_every_schedule_parameter_are_refused(
    where: str, message: str, bad: float
) -> None:
    # found: a NaN or infinite full-gain zenith angle gave a full-gain fraction of 0 or 1
    # whatever the schedule, an infinite slew speed or a maintenance window without end
    # was taken as given, and a splittable block with an infinite smallest chunk passed
    block = FastBlock("a", 120.0, 25.6, 3600.0, splittable=where == "min_chunk_s")
    if where == "min_chunk_s":
        block = FastBlock("a", 120.0, 25.6, 3600.0, splittable=True, min_chunk_s=bad)
    kw: dict[str, object] = {}
    if where in ("full_gain_zenith_deg", "slew_deg_per_s"):
        kw[where] = bad
    if where == "maintenance_end":
        kw["maintenance"] = (MaintenanceWindow(T0 + 3600.0, bad, "m"),)
    problem = FastScheduleProblem(T0, T0 + 86_400.0, (block,), **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=re.escape(message)):
        schedule_fast(problem)
