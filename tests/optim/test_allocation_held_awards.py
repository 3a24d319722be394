"""Awards a PI already holds from earlier rounds of the same call (a continuous call's
earlier batches) count towards the cap on awards per PI (mend10b item 3): the solver,
the explanation and the result's check all read them; a bad count is refused."""

from __future__ import annotations

import itertools

import pytest

from opencall.optim.allocation import (
    PI_CAP_REACHED,
    AllocationPolicy,
    AllocationProblem,
    PolicyError,
    Pool,
    Request,
    solve_allocation,
)


def _problem(held: dict[str, int], cap: int = 2) -> AllocationProblem:
    pools = (Pool("h", 100.0),)
    reqs = (
        Request(id="x1", merit=5.0, demand={"h": 10.0}, pi_id="x", proposal_id="X1"),
        Request(id="x2", merit=4.0, demand={"h": 10.0}, pi_id="x", proposal_id="X2"),
        Request(id="x3", merit=3.0, demand={"h": 10.0}, pi_id="x", proposal_id="X3"),
        Request(id="y1", merit=1.0, demand={"h": 10.0}, pi_id="y", proposal_id="Y1"),
    )
    return AllocationProblem(
        pools, reqs, AllocationPolicy(max_awards_per_pi=cap, awards_held_by_pi=held)
    )


def _best_by_enumeration(problem: AllocationProblem) -> set[str]:
    """The independent answer: the most merit among the subsets within the caps (room
    for all in the pool), each PI's count with the awards they hold."""
    cap = problem.policy.max_awards_per_pi
    assert cap is not None
    best: tuple[float, set[str]] = (-1.0, set())
    ids = [r.id for r in problem.requests]
    by_id = {r.id: r for r in problem.requests}
    for n in range(len(ids) + 1):
        for chosen in itertools.combinations(ids, n):
            count: dict[str, int] = dict(problem.policy.awards_held_by_pi)
            for rid in chosen:
                count[by_id[rid].pi_id] = count.get(by_id[rid].pi_id, 0) + 1
            if any(c > cap for pi, c in count.items() if any(by_id[r].pi_id == pi for r in chosen)):
                continue
            merit = sum(by_id[r].merit for r in chosen)
            if merit > best[0]:
                best = (merit, set(chosen))
    return best[1]


@pytest.mark.parametrize("held", [0, 1, 2, 3])
def test_the_awards_held_lower_the_pis_cap(held: int) -> None:
    problem = _problem({"x": held} if held else {})
    res = solve_allocation(problem)
    assert res.check(problem) == []
    awarded = {rid for rid, f in res.fractions.items() if f > 0}
    assert awarded == _best_by_enumeration(problem)
    assert len(awarded & {"x1", "x2", "x3"}) == max(0, 2 - held)
    assert "y1" in awarded  # the other PI's cap is whole
    for rid in {"x1", "x2", "x3"} - awarded:
        assert res.explanations[rid].code == PI_CAP_REACHED


def test_the_check_counts_the_awards_held() -> None:
    free = _problem({})
    res = solve_allocation(free)  # x1 and x2 awarded: the cap of 2, with none held
    assert res.check(free) == []
    assert any("cap 2" in e for e in res.check(_problem({"x": 1})))


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_a_bad_count_of_awards_held_is_refused(bad: object) -> None:
    with pytest.raises(PolicyError, match="awards_held_by_pi"):
        AllocationPolicy(max_awards_per_pi=2, awards_held_by_pi={"x": bad})  # type: ignore[dict-item]
