"""Freed capacity is offered under every rule of the stated policy (trialpolicy23):
besides the threshold and the caps per group (trialpolicy22), ``offer_blocker`` keeps the
caps per PI (awards, amount, amount per resource, the earlier batches' holdings counted),
the limits per resource (``max_per_proposal``, ``max_total``) and the share a group rule
reserves (capacity the group's share needs is not given outside the group while a member
of the group graded at its ``min_quality`` could take it)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from tests.optim.test_allocation_group_caps import FELLOWS, POOLS, countries

from opencall.optim.allocation import (
    GROUP_SHARE_RESERVED,
    NOT_AWARDED_RESOURCE_LIMIT,
    PI_CAP_REACHED,
    AllocationPolicy,
    AllocationProblem,
    Group,
    GroupShareRule,
    Pool,
    ResourceLimit,
    offer_blocker,
    offer_blockers,
)

DEMAND = {r.proposal_id: dict(r.demand) for r in FELLOWS}  # 1 place and 10 eur each


def _same_pi(*proposals: str) -> tuple:
    """FELLOWS with the given proposals under one PI ("pi0")."""
    return tuple(replace(r, pi_id="pi0") if r.proposal_id in proposals else r for r in FELLOWS)


def _held(*proposals: str) -> dict[str, dict[str, float]]:
    return {p: dict(DEMAND[p]) for p in proposals}


def test_the_cap_of_awards_per_pi_is_kept() -> None:
    problem = AllocationProblem(
        POOLS, _same_pi("p1", "p2"), AllocationPolicy(max_awards_per_pi=1), countries()
    )
    assert offer_blocker(problem, _held("p1"), "p2") == PI_CAP_REACHED
    assert offer_blocker(problem, _held("p3"), "p2") is None
    # its own partial award is replaced by the whole one, not counted beside it
    assert offer_blocker(problem, {"p2": {"fund": 5.0}}, "p2") is None
    # an award of nothing is no award
    assert offer_blocker(problem, {"p1": {"places": 0.0, "fund": 0.0}}, "p2") is None
    # the awards held in the call's earlier batches count as the allocation counts them
    batch = AllocationPolicy(max_awards_per_pi=1, awards_held_by_pi={"pi4": 1})
    problem = AllocationProblem(POOLS, FELLOWS, batch, countries())
    assert offer_blocker(problem, {}, "p4") == PI_CAP_REACHED
    assert offer_blocker(problem, {}, "p5") is None


def test_the_caps_of_amount_per_pi_are_kept() -> None:
    one_unit = AllocationPolicy(max_amount_per_pi=15.0)
    problem = AllocationProblem(
        (Pool("places", 5, "eur"), Pool("fund", 100, "eur")),
        _same_pi("p1", "p2"),
        one_unit,
        countries(),
    )
    assert offer_blocker(problem, _held("p1"), "p2") == PI_CAP_REACHED  # 11 + 11 > 15
    assert offer_blocker(problem, _held("p3"), "p2") is None
    per_pool = AllocationPolicy(max_amount_per_pi_by_pool={"fund": 15.0})
    problem = AllocationProblem(POOLS, _same_pi("p1", "p2"), per_pool, countries())
    assert offer_blocker(problem, _held("p1"), "p2") == PI_CAP_REACHED  # 10 + 10 > 15
    assert offer_blocker(problem, {"p1": {"places": 1.0, "fund": 5.0}}, "p2") is None
    # what the PI holds in the call's earlier batches counts
    batch = replace(per_pool, amount_held_by_pi={"pi4": {"fund": 6.0}})
    problem = AllocationProblem(POOLS, FELLOWS, batch, countries())
    assert offer_blocker(problem, {}, "p4") == PI_CAP_REACHED
    assert offer_blocker(problem, {}, "p5") is None


def test_the_limits_per_resource_are_kept() -> None:
    per_proposal = AllocationPolicy(
        allow_partial=True,
        min_fraction=0.5,
        resource_limits={"fund": ResourceLimit(max_per_proposal=8.0)},
    )
    requests = tuple(replace(r, bundle=None, min_fraction=0.5) for r in FELLOWS)
    problem = AllocationProblem(POOLS, requests, per_proposal, countries())
    # the allocation may give it 8 of its 10; the offer is of its whole award
    assert offer_blocker(problem, {}, "p1") == NOT_AWARDED_RESOURCE_LIMIT
    total = AllocationPolicy(resource_limits={"fund": ResourceLimit(max_total=25.0)})
    problem = AllocationProblem(POOLS, FELLOWS, total, countries())
    assert offer_blocker(problem, _held("p1", "p2"), "p3") == NOT_AWARDED_RESOURCE_LIMIT
    assert offer_blocker(problem, _held("p1"), "p3") is None
    # its own award is replaced
    assert offer_blocker(problem, {**_held("p1"), "p3": {"fund": 10.0}}, "p3") is None


LOW = Group("low_lmic", frozenset({"p4", "p5", "p6"}))


def _share_problem(min_quality: float | None = None) -> AllocationProblem:
    """Four places, half of them for p4-p6 (graded 3.0, 2.0, 1.5)."""
    rule = GroupShareRule("low_lmic", 0.5, pools=("places",), min_quality=min_quality)
    pools = (Pool("places", 4, "place", whole=True), Pool("fund", 100, "eur"))
    return AllocationProblem(
        pools, FELLOWS, AllocationPolicy(group_share_rules=(rule,)), (*countries(), LOW)
    )


def test_the_share_a_group_rule_reserves_is_kept() -> None:
    """p1, p2, p4 and p5 were awarded (two places to the group); p5 declined: its place is
    the group's while p6 could take it."""
    problem = _share_problem()
    held = _held("p1", "p2", "p4")
    assert offer_blocker(problem, held, "p3") == GROUP_SHARE_RESERVED
    assert offer_blocker(problem, held, "p6") is None
    assert offer_blockers(problem, held, ["p3", "p6"]) == {"p3": GROUP_SHARE_RESERVED}
    # the group at its share: the place is anyone's
    assert offer_blocker(problem, _held("p1", "p4", "p5"), "p3") is None
    # no member of the group left to take it: the place is anyone's
    alone = replace(problem, groups=(*countries(), Group("low_lmic", frozenset({"p4"}))))
    assert offer_blocker(alone, held, "p3") is None
    # nor where the members left are graded below the rule's min_quality
    assert offer_blocker(_share_problem(min_quality=2.5), held, "p3") is None


@pytest.mark.parametrize("free", [1, 2])
def test_the_share_leaves_the_rest_to_anyone(free: int) -> None:
    """With two places free and the group one short, one may go outside the group."""
    problem = _share_problem()
    held = _held("p1", "p4") if free == 2 else _held("p1", "p2", "p4")
    want = None if free == 2 else GROUP_SHARE_RESERVED
    assert offer_blocker(problem, held, "p3") == want
