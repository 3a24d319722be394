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


# --------------------------------------------------------------------------------------------
# mend11: the amounts a PI holds count towards the cap on the amount per PI
# --------------------------------------------------------------------------------------------


def _amount_problem(held: dict[str, dict[str, float]], *, by_pool: bool) -> AllocationProblem:
    pools = (Pool("h", 100.0), Pool("g", 100.0))
    reqs = (
        Request(id="x1", merit=5.0, demand={"h": 6.0}, pi_id="x", proposal_id="X1"),
        Request(id="x2", merit=4.0, demand={"h": 4.0}, pi_id="x", proposal_id="X2"),
        Request(id="y1", merit=1.0, demand={"h": 9.0}, pi_id="y", proposal_id="Y1"),
    )
    cap = (
        AllocationPolicy(max_amount_per_pi_by_pool={"h": 10.0}, amount_held_by_pi=held)
        if by_pool
        else AllocationPolicy(max_amount_per_pi=10.0, amount_held_by_pi=held)
    )
    return AllocationProblem(pools, reqs, cap)


@pytest.mark.parametrize("by_pool", [False, True])
@pytest.mark.parametrize(
    ("held", "expected"),
    [
        ({}, {"x1", "x2", "y1"}),
        ({"x": {"h": 4.0}}, {"x1", "y1"}),  # 4 held: 6 more fit, 10 do not
        ({"x": {"h": 5.0}}, {"x2", "y1"}),
        ({"x": {"h": 10.0}}, {"y1"}),
        ({"y": {"h": 2.0}}, {"x1", "x2"}),
    ],
)
def test_the_amount_held_lowers_the_pis_amount_cap(
    held: dict[str, dict[str, float]], expected: set[str], by_pool: bool
) -> None:
    problem = _amount_problem(held, by_pool=by_pool)
    res = solve_allocation(problem)
    assert res.check(problem) == []
    assert {rid for rid, f in res.fractions.items() if f > 0} == expected
    for rid in {"x1", "x2", "y1"} - expected:
        assert res.explanations[rid].code == PI_CAP_REACHED


def test_an_amount_held_on_another_pool_counts_for_the_single_cap_only() -> None:
    held = {"x": {"g": 5.0}}
    single = _amount_problem(held, by_pool=False)
    assert {r for r, f in solve_allocation(single).fractions.items() if f > 0} == {"x2", "y1"}
    per_pool = _amount_problem(held, by_pool=True)  # the cap on "h" ignores "g"
    res = solve_allocation(per_pool)
    assert {r for r, f in res.fractions.items() if f > 0} == {"x1", "x2", "y1"}


def test_the_check_and_the_explanation_count_the_amount_held() -> None:
    free = _amount_problem({}, by_pool=False)
    res = solve_allocation(free)  # x1 and x2: 10 of the cap of 10
    assert res.check(free) == []
    assert any("cap 10" in e for e in res.check(_amount_problem({"x": {"h": 1.0}}, by_pool=False)))
    held = _amount_problem({"x": {"h": 7.0}}, by_pool=False)
    out = solve_allocation(held)
    assert "the PI already holds 7 of the 10 cap" in out.explanations["x1"].detail


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), True, "2"])
def test_a_bad_amount_held_is_refused(bad: object) -> None:
    with pytest.raises(PolicyError, match="amount_held_by_pi"):
        AllocationPolicy(max_amount_per_pi=2.0, amount_held_by_pi={"x": {"h": bad}})  # type: ignore[dict-item]
