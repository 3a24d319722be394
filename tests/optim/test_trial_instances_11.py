"""Instance families of the seventeenth round (trialopt17): random small assignment
instances mixing every rule at once (missing reviews allowed or not, both objectives, one or
two crossing groupings, forced, conflicted and forbidden pairs, tied, negative, tiny or
huge affinities, zero proposals or reviewers), held to a checker and a MILP of SciPy written
here, apart from the solver's own ``check``. Each test that found a defect names the
instance that showed it (bench/bench_trial17.py runs the search with more seeds)."""

from __future__ import annotations

import numpy as np
import pytest

from opencall.optim.assignment import (
    AssignmentProblem,
    Grouping,
    InfeasibleAssignment,
    solve_assignment,
)


def test_fair_mode_under_crossing_groupings_no_assignment_meets_says_infeasible() -> None:
    """Five proposals, six reviewers, every affinity 1e-9, k = 3 for some proposals, two
    crossing groupings (cap 1 each): no reviewer triple has three labels in both, so no
    assignment exists (SciPy's MILP over every pair agrees). Found: total mode said
    ``InfeasibleAssignment``, fair mode ``RuntimeError("fair stage 1 MIP found no solution
    within the time limit")`` in 0.07 s: its MIP proved infeasibility, read as a timeout."""
    problem = AssignmentProblem(
        5,
        6,
        np.full((5, 6), 1e-9),
        k=[0, 3, 1, 3, 3],
        min_load=[1, 0, 1, 0, 2, 1],
        groupings=(Grouping([2, 0, 0, 2, 1, 1], 1), Grouping([2, 2, 0, 0, 0, 1], 1)),
        objective="fair",
    )
    with pytest.raises(InfeasibleAssignment, match="diversity grouping"):
        solve_assignment(problem)


@pytest.mark.parametrize("objective", ["total", "fair"])
@pytest.mark.parametrize("n_proposals", [0, 1])
def test_minimum_loads_above_the_proposals_are_missing_reviews(
    objective: str, n_proposals: int
) -> None:
    """A call's usual minimum load (2 reviews a reviewer) in a call of none or one proposal,
    missing reviews allowed: each reviewer can review at most the proposals there are, the
    rest of its minimum is a missing review (``allow_short``). Found: ``InfeasibleAssignment``
    ("reviewer 0 has min_load 2 > max_load 1"), the load counted up to the proposals read as
    the chair's own maximum; a minimum load of 1 with no proposal was solved."""
    a = np.array([[0.3, 0.8, 0.5]])[:n_proposals]
    res = solve_assignment(
        AssignmentProblem(
            n_proposals,
            3,
            a,
            k=1,
            min_load=2,
            objective=objective,  # type: ignore[arg-type]
            allow_short=True,
        )
    )
    assert res.check(AssignmentProblem(n_proposals, 3, a, k=1)) == []
    pairs = list(zip(res.proposals.tolist(), res.reviewers.tolist(), strict=True))
    assert pairs == [(0, 1)][:n_proposals]
    # 2 owed a reviewer, one review given (to the best reviewer)
    assert int(res.short_load.sum()) == 6 - n_proposals
    assert res.short.tolist() == [0] * n_proposals
    assert res.certified


def test_a_minimum_load_above_the_chairs_own_maximum_is_still_refused() -> None:
    """The contradiction the chair wrote (min 3, max 1) is refused with missing reviews
    allowed or not: only a load counted up to the proposals gives way."""
    for allow_short in (False, True):
        with pytest.raises(InfeasibleAssignment, match="min_load 3 > max_load 1"):
            solve_assignment(
                AssignmentProblem(
                    4, 2, np.ones((4, 2)), k=1, min_load=3, max_load=1, allow_short=allow_short
                )
            )
