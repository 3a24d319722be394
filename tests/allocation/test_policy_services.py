"""The allocation policy document (bundles, per-PI amount caps, per-share quality thresholds,
per-resource limits) through the services: validation with per-field errors, refusal of
inconsistent policies without any change, and the allocator honouring and explaining them."""

from __future__ import annotations

import copy
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall.allocation import services as al
from opencall.allocation.models import Award, Decision
from opencall.calls.queries import call_by_slug
from opencall.calls.schemas import allocation_policy
from opencall.calls.services import update_call
from opencall.cycle.services import transition_call
from opencall.demo.simulate import simulate_reviews
from opencall.errors import DomainError
from opencall.proposals.models import ProposalRevision
from opencall.proposals.services import close_call
from opencall.reviews import queries as rq
from opencall.reviews import services as rv

ANCHOR = dt.date(2026, 11, 29)


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"pi_cap_amount": -3}, "pi_cap_amount"),
        ({"pi_cap_amount": {"abc": 3}}, "pi_cap_amount"),
        ({"pi_cap_amount": {"4": 0}}, "pi_cap_amount.4"),
        ({"resource_limits": {"4": {"max_per_proposal": 5, "max_total": 2}}}, "max_total"),
        ({"resource_limits": {"4": {}}}, "resource_limits.4"),
        ({"resource_limits": {"4": {"max_total": -1}}}, "resource_limits.4.max_total"),
        ({"resource_limits": {"x": {"max_total": 1}}}, "resource_limits"),
        (
            {"group_shares": [{"group": "low_lmic", "min_share": 0.3, "min_quality": "a"}]},
            "min_quality",
        ),
        ({"resource_limits": {"4": {"max_totl": 3}}}, "max_totl"),
    ],
)
def test_policy_document_errors_name_the_field(doc: dict, needle: str) -> None:
    with pytest.raises(DomainError) as exc:
        allocation_policy(doc)
    assert needle in str(exc.value)
    assert exc.value.field == "allocation policy"


def test_valid_policy_round_trips() -> None:
    doc = {
        "pi_cap_amount": {"4": 3},
        "group_shares": [{"group": "low_lmic", "min_share": 0.3, "min_quality": 3.0}],
        "resource_limits": {"4": {"max_per_proposal": 2, "max_total": 10}},
    }
    ap = allocation_policy(doc)
    dumped = ap.model_dump(mode="json")
    assert dumped["pi_cap_amount"] == {"4": 3.0}
    assert dumped["resource_limits"]["4"] == {"max_per_proposal": 2.0, "max_total": 10.0}
    assert allocation_policy(dumped) == ap


@pytest.fixture
def small_world(demo: Callable[..., sessionmaker[Session]]) -> Iterator[Session]:
    """The demo world of seed 2 at scale 0.12, each test on its own copy (built once per
    session and backend by tests/conftest.py's ``demo``, which tests/test_pipeline.py and
    tests/reviews/test_batched_review_steps.py share) instead of built again for each."""
    with demo(2, 0.12, ANCHOR)() as s:
        yield s
        s.rollback()


def test_inconsistent_policy_is_refused_and_nothing_changes(small_world: Session) -> None:
    s = small_world
    call = call_by_slug(s, "fast-2027")
    assert call is not None
    call.status = "draft"  # a draft may change its policy
    s.flush()
    before = copy.deepcopy(call.allocation_policy)
    pool = call.pools[0]
    rs = call.review_settings
    cases = [
        ({"quality_threshold": rs["grade_max"] + 1}, "outside the grade scale"),
        (
            {"group_shares": [{"group": "low_lmic", "min_share": 0.2, "min_quality": -7}]},
            "group_shares.0.min_quality",
        ),
        (
            {"resource_limits": {str(pool.pool_id): {"max_total": pool.amount + 1}}},
            f"resource_limits.{pool.pool_id}.max_total",
        ),
        ({"resource_limits": {"999999": {"max_total": 1}}}, "not offered by this call"),
        ({"pi_cap_amount": {str(pool.pool_id): pool.amount * 2}}, "pi_cap_amount"),
    ]
    for doc, needle in cases:
        with pytest.raises(DomainError) as exc:
            update_call(s, call, {"allocation_policy": doc})
        assert needle in str(exc.value), (doc, str(exc.value))
        assert call.allocation_policy == before
    ok = {"resource_limits": {str(pool.pool_id): {"max_per_proposal": pool.amount / 2}}}
    update_call(s, call, {"allocation_policy": ok})
    assert call.allocation_policy["resource_limits"] == {
        str(pool.pool_id): {"max_per_proposal": pool.amount / 2, "max_total": None}
    }


def _to_allocation(s: Session, slug: str):
    call = call_by_slug(s, slug)
    assert call is not None
    if call.status == "open":
        close_call(s, call, reason="test")
    transition_call(s, call, "review")
    rv.compute_conflicts(s, call)
    rv.run_affinity(s, call)
    rv.run_assignment(s, call, seed=0)
    simulate_reviews(s, call, seed=0)
    rv.run_calibration(s, call, seed=0, n_bootstrap=30)
    transition_call(s, call, "ranking")
    rv.freeze_ranking(s, call)
    transition_call(s, call, "allocation")
    return call


def _set_bundle(s: Session, proposal, key: str) -> None:
    for r in proposal.requests:
        r.bundle = key
    rev = s.get(ProposalRevision, proposal.current_revision_id)
    content = copy.deepcopy(rev.content)
    for r in content["requests"]:
        r["bundle"] = key
    rev.content = content
    s.flush()


def test_allocator_honours_bundles_caps_limits_and_explains(small_world: Session) -> None:
    s = small_world
    call = _to_allocation(s, "livelihood-2027")
    proposals = rq.proposals_for_review(s, call)
    multi = [p for p in proposals if len(p.requests) >= 2]
    assert multi, "the demo call has proposals asking for several resources"
    for p in multi:
        _set_bundle(s, p, "together")
    pool = call.pools[0]
    policy = dict(call.allocation_policy)
    policy["resource_limits"] = {str(pool.pool_id): {"max_total": pool.amount * 0.5}}
    policy["pi_cap_amount"] = {str(cp.pool_id): cp.amount * 0.4 for cp in call.pools}
    call.allocation_policy = allocation_policy(policy).model_dump(mode="json")
    s.flush()
    al.run_allocation(s, call, seed=0)
    awards = list(s.scalars(select(Award).where(Award.call_id == call.id)))
    by_proposal: dict[int, set[int]] = defaultdict(set)
    per_pool: dict[int, float] = defaultdict(float)
    per_pi_pool: dict[tuple[int, int], float] = defaultdict(float)
    pi_of = {p.id: p.pi_user_id for p in proposals}
    for a in awards:
        by_proposal[a.proposal_id].add(a.request_id)
        per_pool[a.pool_id] += a.amount
        per_pi_pool[(pi_of[a.proposal_id], a.pool_id)] += a.amount
        assert a.fraction == pytest.approx(1.0) or a.proposal_id not in {p.id for p in multi}
    # bundles: every request of the proposal or none
    for p in multi:
        got = by_proposal.get(p.id, set())
        assert got in (set(), {r.id for r in p.requests}), p.code
    assert per_pool[pool.pool_id] <= pool.amount * 0.5 + 1e-6
    for (_, pid), amount in per_pi_pool.items():
        cap = next(cp.amount for cp in call.pools if cp.pool_id == pid) * 0.4
        assert amount <= cap + 1e-6
    decisions = {
        d.proposal_id: d for d in s.scalars(select(Decision).where(Decision.call_id == call.id))
    }
    # (a bundle whose every request failed its own check is explained request by request)
    texts = [
        decisions[p.id].explanation
        for p in multi
        if decisions[p.id].explanation.count("not feasible") < len(p.requests)
    ]
    assert texts
    missing = [t for t in texts if "all-or-nothing bundle 'together'" not in t]
    assert not missing, missing[:3]


def test_policy_invalid_at_allocation_time_is_a_clear_error(small_world: Session) -> None:
    s = small_world
    call = _to_allocation(s, "lunar-2027")
    pool = call.pools[0]
    policy = dict(call.allocation_policy)
    # the resource's offered amount went down after the policy was written
    policy["resource_limits"] = {str(pool.pool_id): {"max_per_proposal": pool.amount * 3}}
    call.allocation_policy = allocation_policy(policy).model_dump(mode="json")
    s.flush()
    with pytest.raises(DomainError, match="max_per_proposal"):
        al.run_allocation(s, call, seed=0)
    assert s.scalars(select(Decision).where(Decision.call_id == call.id)).first() is None
