"""The allocation at extreme scales: capacities of 10^12 and more (core-hours, bytes)
beside requests of a thousandth, a pool of one unit, a pool a thousand times the demand.
The solver's coefficients are kept near 1 (each limit row divided by its limit), so
HiGHS neither rejects the model nor reads the best request as infeasible."""

from __future__ import annotations

import pytest

from opencall.optim.allocation import (
    AllocationPolicy,
    AllocationProblem,
    Group,
    GroupShareRule,
    Pool,
    Request,
    solve_allocation,
)


def req(rid: str, merit: float, amount: float) -> Request:
    return Request(id=rid, merit=merit, demand={"x": amount}, pi_id="pi-" + rid,
                   proposal_id="p-" + rid)  # fmt: skip


@pytest.mark.parametrize("partial", [False, True])
@pytest.mark.parametrize(
    ("capacity", "amounts", "awarded"),
    [
        (1e12, [1e12, 1e-3], {"A"}),  # the best fills the pool; the tiny one may ride along
        (1e15, [1e15, 1.0], {"A"}),  # bytes of a petabyte store
        (1e9, [6e8, 5e8, 4e8], {"A", "C"}),
        (1.0, [1.0, 1.0], {"A"}),  # one unit
        (1000.0, [1.0], {"A"}),  # a thousand times the demand
    ],
)
def test_extreme_scales_award_the_best_within_the_capacity(
    capacity: float, amounts: list[float], awarded: set[str], partial: bool
) -> None:
    policy = AllocationPolicy(allow_partial=partial, min_fraction=0.5 if partial else 1.0)
    requests = tuple(req("ABCD"[i], 4.0 - i * 0.1, a) for i, a in enumerate(amounts))
    problem = AllocationProblem(pools=(Pool("x", capacity),), requests=requests, policy=policy)
    res = solve_allocation(problem)
    assert res.check(problem) == []
    full = {rid for rid, f in res.fractions.items() if f > 1 - 1e-9}
    assert awarded <= full, res.fractions
    used = sum(res.fractions[r.id] * r.demand["x"] for r in requests)
    assert used <= capacity * (1 + 1e-7)


def test_partial_awards_of_a_whole_unit_pool_are_whole() -> None:
    """Plot-seasons, packets, sessions are counted whole: a partial award gives a whole
    number of them. Here a share for group g of 40 % of 3 plot-seasons, both requests of
    3 at a fraction of at least a half: 1.5 each met it; now one team gets 2 and the other
    1 (or the group all 3), never half a plot."""
    policy = AllocationPolicy(allow_partial=True, min_fraction=0.5,
                              group_share_rules=(GroupShareRule(group="g", min_share=0.4),))  # fmt: skip
    requests = (
        Request(id="A", proposal_id="pA", pi_id="a", merit=4.5, demand={"x": 3}, min_fraction=0.5),
        Request(id="B", proposal_id="pB", pi_id="b", merit=3.0, demand={"x": 3}, min_fraction=0.5),
    )
    group = (Group(name="g", proposal_ids=frozenset({"pB"})),)
    for whole in (True, False):
        problem = AllocationProblem(pools=(Pool("x", 3, unit="plot-season", whole=whole),),
                                    requests=requests, policy=policy, groups=group)  # fmt: skip
        res = solve_allocation(problem)
        assert res.check(problem) == []
        got = {rid: a.get("x", 0.0) for rid, a in res.amounts.items()}
        assert sum(got.values()) <= 3 + 1e-9 and got["B"] >= 1.2 - 1e-9
        if whole:
            assert all(v == int(v) for v in got.values()), got
        else:
            assert got == {"A": 1.5, "B": 1.5}  # a divisible unit may be split
