"""Explanations of the allocation on the edge instances of a real call: a request bigger
than the whole pool (or a pool of zero capacity), ties at the cut-off line, and a share
rule for a group nobody from which applied."""

from __future__ import annotations

import pytest

from opencall.optim.allocation import (
    NOT_AWARDED_POOL_EXHAUSTED,
    AllocationPolicy,
    AllocationProblem,
    Group,
    GroupShareRule,
    Pool,
    Request,
    solve_allocation,
)


def req(rid: str, merit: float, demand: dict[str, float]) -> Request:
    return Request(id=rid, merit=merit, demand=demand, pi_id="pi-" + rid, proposal_id="p-" + rid)


@pytest.mark.parametrize("capacity", [0.0, 5.0])
def test_a_request_bigger_than_the_whole_pool_is_not_blamed_on_higher_ranks(
    capacity: float,
) -> None:
    problem = AllocationProblem(
        pools=(Pool("h", capacity),), requests=(req("A", 1.0, {"h": 8}), req("B", 0.5, {"h": 3}))
    )
    res = solve_allocation(problem)
    assert res.check(problem) == []
    e = res.explanations["A"]
    assert res.fractions["A"] == 0.0 and e.code == NOT_AWARDED_POOL_EXHAUSTED
    assert e.detail == "the request asks for more than the whole capacity of h"
    assert e.pools == ("h",)


@pytest.mark.parametrize("seed", range(4))
def test_a_tie_at_the_line_is_deterministic_and_explained_as_a_tie(seed: int) -> None:
    problem = AllocationProblem(
        pools=(Pool("h", 10.0),),
        requests=(req("A", 4.0, {"h": 6}), req("B", 4.0, {"h": 6}), req("C", 1.0, {"h": 2})),
    )
    res = solve_allocation(problem, seed=seed)
    assert res.check(problem) == []
    again = solve_allocation(problem, seed=seed)
    assert dict(again.fractions) == dict(res.fractions)
    lost = [r for r in ("A", "B") if res.fractions[r] == 0.0]
    assert len(lost) == 1
    detail = res.explanations[lost[0]].detail
    # the winner is ahead in the seeded tie-break ("higher-ranked") or tied with it; it is
    # never "lower-ranked"
    assert "lower-ranked" not in detail
    assert detail.startswith("pool(s) exhausted by higher-ranked requests") or detail.endswith(
        "including requests whose merit equals this one's"
    )
    assert again.explanations[lost[0]].detail == detail


def test_a_share_rule_nobody_applied_for_is_not_named_as_the_reason() -> None:
    """No 'ldc' proposal: the rule can push nobody in, so no award was made under it."""
    problem = AllocationProblem(
        pools=(Pool("h", 10.0),),
        requests=(
            req("A", 1.0, {"h": 4}),
            req("B", 0.82, {"h": 6}),
            req("C", 0.8, {"h": 3}),
            req("D", 0.7, {"h": 3}),
        ),
        groups=(Group("ldc", frozenset()),),
        policy=AllocationPolicy(group_share_rules=(GroupShareRule("ldc", 0.3),)),
    )
    res = solve_allocation(problem)
    assert res.check(problem) == []
    (share,) = res.group_shares
    assert share.achieved == 0
    for rid, e in res.explanations.items():
        assert "minimum share rule" not in e.detail, (rid, e.detail)
