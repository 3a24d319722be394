"""The capacity a declined award frees goes to the next in line under the call's policy
(trialpolicy22): ``offer_blocker`` says whether a proposal's whole award, beside the awards
held now, keeps the quality threshold and each cap per country (of awards and of amount).
Checked against a count by hand over every set of awards held on a small instance."""

from __future__ import annotations

import itertools

import pytest
from tests.optim.test_allocation_group_caps import COUNTRY, FELLOWS, POOLS, countries, per_country

from opencall.optim.allocation import (
    BELOW_QUALITY_THRESHOLD,
    GROUP_CAP_REACHED,
    AllocationPolicy,
    AllocationProblem,
    offer_blocker,
    offer_blockers,
)

THRESHOLD = 1.8  # fellow 6 (1.5) is below it
COUNTRY_OF = {p: c for c, members in COUNTRY.items() for p in members}
DEMAND = {r.proposal_id: dict(r.demand) for r in FELLOWS}


def _expected(
    held: set[str], cand: str, max_awards: int | None, max_fund: float | None
) -> str | None:
    """The brute force: the threshold, then the country's proposals and fund counted by
    hand with the candidate added."""
    if next(r.merit for r in FELLOWS if r.proposal_id == cand) < THRESHOLD:
        return BELOW_QUALITY_THRESHOLD
    mates = {p for p in held if COUNTRY_OF[p] == COUNTRY_OF[cand]} | {cand}
    if max_awards is not None and len(mates) > max_awards:
        return GROUP_CAP_REACHED
    fund = sum(DEMAND[p]["fund"] for p in mates)
    if max_fund is not None and fund > max_fund:
        return GROUP_CAP_REACHED
    return None


@pytest.mark.parametrize(("max_awards", "max_fund"), [(2, None), (None, 15.0), (1, 25.0)])
def test_the_offer_keeps_the_threshold_and_the_caps_of_every_set_held(
    max_awards: int | None, max_fund: float | None
) -> None:
    cap = per_country(max_awards=max_awards, max_amount=max_fund, pools=("fund",))
    policy = AllocationPolicy(quality_threshold=THRESHOLD, group_caps=(cap,))
    problem = AllocationProblem(POOLS, FELLOWS, policy, countries())
    ids = sorted(DEMAND)
    seen = set()
    for k in range(len(ids) + 1):
        for held_ids in itertools.combinations(ids, k):
            held = {p: dict(DEMAND[p]) for p in held_ids}
            for cand in ids:
                if cand in held:
                    continue
                got = offer_blocker(problem, held, cand)
                assert got == _expected(set(held_ids), cand, max_awards, max_fund), (held_ids, cand)
                seen.add(got)
            # all candidates at once answer as each alone
            rest = [c for c in ids if c not in held]
            alone = {c: offer_blocker(problem, held, c) for c in rest}
            assert offer_blockers(problem, held, rest) == {
                c: why for c, why in alone.items() if why is not None
            }
    # every answer occurs: the check can fail each way
    assert seen == {None, BELOW_QUALITY_THRESHOLD, GROUP_CAP_REACHED}


def test_a_proposal_not_in_the_problem_and_its_own_award_held() -> None:
    policy = AllocationPolicy(group_caps=(per_country(max_awards=1),))
    problem = AllocationProblem(POOLS, FELLOWS, policy, countries())
    assert offer_blocker(problem, {}, "p99") is not None
    # a partial award of its own is replaced by the whole one, not counted beside it
    assert offer_blocker(problem, {"p1": {"places": 1.0, "fund": 5.0}}, "p1") is None
    assert offer_blocker(problem, {"p2": {"places": 1.0}}, "p1") == GROUP_CAP_REACHED
    # an award of nothing is no award
    assert offer_blocker(problem, {"p2": {"places": 0.0}}, "p1") is None
