"""The chair's pipeline on a small demo world: conflicts, affinity, assignment,
simulated reviews, calibration, allocation, scheduling, release, publish."""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall.allocation import services as al
from opencall.allocation.models import Award, Decision
from opencall.calls.queries import call_by_slug
from opencall.cycle.services import transition_call
from opencall.db import utcnow
from opencall.demo.simulate import simulate_reviews
from opencall.errors import DomainError
from opencall.facilities.models import CapacityPool
from opencall.people.models import User
from opencall.proposals.services import close_call
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.models import Conflict, RankedProposal, ReviewAssignment, SolverRun
from opencall.scheduling import services as sc
from opencall.scheduling.models import ScheduleEntry

ANCHOR = dt.date(2026, 11, 29)


def _cycle(s: Session, slug: str, seed: int = 0):
    call = call_by_slug(s, slug)
    assert call is not None
    if call.status == "open":
        close_call(s, call, reason="test")
    transition_call(s, call, "review")
    rv.compute_conflicts(s, call)
    rv.run_affinity(s, call)
    rv.run_assignment(s, call, seed=seed)
    simulate_reviews(s, call, seed=seed)
    rv.run_calibration(s, call, seed=seed, n_bootstrap=50)
    transition_call(s, call, "ranking")
    rv.freeze_ranking(s, call)
    transition_call(s, call, "allocation")
    al.run_allocation(s, call, seed=seed)
    transition_call(s, call, "scheduling")
    sc.run_schedule(s, call, seed=seed, days=60)
    return call


@pytest.fixture
def small_world(demo) -> Iterator[Session]:
    """The demo world of seed 2 at scale 0.12, built once per session and copied here."""
    with demo(2, 0.12)() as s:
        yield s


def _pool_usage_ok(s: Session, call) -> None:
    used: dict[int, float] = defaultdict(float)
    for a in s.scalars(select(Award).where(Award.call_id == call.id)):
        used[a.pool_id] += a.amount
    cap = {cp.pool_id: cp.amount for cp in call.pools}
    for pid, amount in used.items():
        assert amount <= cap[pid] + 1e-6, f"pool {pid} overdrawn"


@pytest.mark.parametrize("slug", ["fast-2027", "trench-2027", "lunar-2027", "livelihood-2027"])
def test_whole_cycle_for_every_facility_kind(small_world: Session, slug: str) -> None:
    s = small_world
    call = _cycle(s, slug)
    proposals = rq.proposals_for_review(s, call)
    # conflicts are never assigned
    conflicts = rq.conflict_pairs(s, call)
    for a in rq.assignments_of_call(s, call):
        assert (a.proposal_id, a.reviewer_id) not in conflicts
    # every proposal has a decision with an explanation, pools never overdrawn
    decisions = {
        d.proposal_id: d for d in s.scalars(select(Decision).where(Decision.call_id == call.id))
    }
    assert set(decisions) == {p.id for p in proposals}
    assert all(d.explanation for d in decisions.values())
    _pool_usage_ok(s, call)
    # ranking carries intervals that contain the estimate
    for r in rq.ranking(s, call):
        assert r.score_lo - 1e-9 <= r.score <= r.score_hi + 1e-9
        assert r.rank_lo <= r.rank <= r.rank_hi
    # every step is a recorded solver run with an inputs hash
    kinds = set(s.scalars(select(SolverRun.kind).where(SolverRun.call_id == call.id)))
    assert {"conflicts", "affinity", "assignment", "calibration", "allocation", "schedule"} <= kinds
    assert all(len(h) == 64 for h in s.scalars(select(SolverRun.inputs_hash)))
    entries = sc.entries(s, call)
    assert entries
    if slug == "trench-2027":
        # a diver needs a berth: dives are never awarded without the proposal's berths
        kinds: dict[int, set[str]] = defaultdict(set)
        for a in s.scalars(select(Award).where(Award.call_id == call.id)):
            kinds[a.proposal_id].add(s.get(CapacityPool, a.pool_id).pool_type)
        for p in proposals:
            asked = {r.kind for r in p.requests}
            if "berth" in asked and "dives" in kinds.get(p.id, set()):
                assert "berths" in kinds[p.id]
    al.release_decisions(s, call)
    sc.publish(s, call)
    assert call.status == "published"
    assert {p.status for p in proposals} <= {"accepted", "rejected"}


def test_fast_schedule_blocks_inside_window_and_week_view(small_world: Session) -> None:
    s = small_world
    call = _cycle(s, "fast-2027")
    placed = sc.entries(s, call, placed_only=True)
    assert placed
    first = min(e.start for e in placed)
    monday = (first - dt.timedelta(days=first.weekday())).date()
    wk = sc.week(s, call, monday)
    assert wk and all(e.start < e.end for e in wk)
    # no two telescope blocks overlap
    spans = sorted((e.start, e.end) for e in placed)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    unscheduled = s.scalars(
        select(ScheduleEntry).where(ScheduleEntry.call_id == call.id, ScheduleEntry.start.is_(None))
    ).all()
    assert all(u.details.get("unscheduled") for u in unscheduled)


def test_conflicts_are_computed_and_enforced(small_world: Session) -> None:
    s = small_world
    call = call_by_slug(s, "trench-2027")
    transition_call(s, call, "review")
    proposals = rq.proposals_for_review(s, call)
    reviewers = rq.reviewers_of_call(s, call)
    p0, r0, r1 = proposals[0], reviewers[0], reviewers[1]
    # declared co-authorship between a reviewer and the PI, recent: a conflict
    pi_email = next(m.email for m in p0.members if m.role == "pi")
    rv.declare_relation(s, r0, pi_email, "coauthor", year=utcnow().year)  # a recent one
    rv.declare_relation(s, r1, pi_email, "coauthor", year=2010)  # too old to count
    rv.compute_conflicts(s, call)
    pairs = rq.conflict_pairs(s, call)
    assert (p0.id, r0.id) in pairs and (p0.id, r1.id) not in pairs
    # the chair cannot force a conflicted pair
    with pytest.raises(DomainError) as err:
        rv.add_assignment(s, call, p0, r0)
    assert err.value.code == "conflict"
    # the solver never assigns it
    rv.run_affinity(s, call)
    rv.run_assignment(s, call)
    assert not s.scalar(
        select(ReviewAssignment).where(
            ReviewAssignment.proposal_id == p0.id,
            ReviewAssignment.reviewer_id == r0.id,
            ReviewAssignment.status != "removed",
        )
    )
    # a reviewer declaring a conflict loses the assignment; it is recorded and cannot return
    a = rq.assignments_of_call(s, call)[0]
    reviewer = s.get(User, a.reviewer_id)
    with pytest.raises(DomainError):
        rv.declare_conflict(s, a, reviewer, "   ")
    rv.declare_conflict(s, a, reviewer, "I co-supervise a student of the PI")
    assert a.status == "removed"
    assert (
        s.scalar(select(func.count(Conflict.id)).where(Conflict.source == "declared_reviewer")) == 1
    )
    with pytest.raises(DomainError):
        rv.submit_review(s, a, reviewer, grade=3, comments_to_applicants="x")
    rv.run_assignment(s, call)
    assert s.get(ReviewAssignment, a.id).status == "removed"


def test_review_validation_and_override_needs_reason(small_world: Session) -> None:
    s = small_world
    call = call_by_slug(s, "lunar-2027")
    transition_call(s, call, "review")
    rv.compute_conflicts(s, call)
    rv.run_affinity(s, call)
    rv.run_assignment(s, call)
    a = rq.assignments_of_call(s, call)[0]
    reviewer = s.get(User, a.reviewer_id)
    for bad in (0, 6, "abc", float("nan")):
        with pytest.raises(DomainError) as err:
            rv.submit_review(s, a, reviewer, grade=bad, comments_to_applicants="Fine.")
        assert err.value.field == "grade"
    with pytest.raises(DomainError):
        rv.submit_review(s, a, reviewer, grade=3, comments_to_applicants="")
    other = s.scalar(select(User).where(User.id != reviewer.id))
    with pytest.raises(DomainError):
        rv.submit_review(s, a, other, grade=3, comments_to_applicants="Fine.")
    simulate_reviews(s, call)
    rv.run_calibration(s, call, n_bootstrap=30)
    assert s.scalar(select(func.count(RankedProposal.id))) > 0
    transition_call(s, call, "ranking")
    transition_call(s, call, "allocation")
    with pytest.raises(DomainError, match="Freeze the ranking"):
        al.run_allocation(s, call)  # dual-anonymous: identities only after the freeze
    rv.freeze_ranking(s, call)
    al.run_allocation(s, call)
    d = s.scalars(
        select(Decision).where(Decision.call_id == call.id, Decision.outcome != "not_awarded")
    ).first()
    assert d is not None
    p = next(p for p in rq.proposals_for_review(s, call) if p.id == d.proposal_id)
    # an override without a reason is refused and changes nothing
    awards_before = len(s.scalars(select(Award).where(Award.proposal_id == p.id)).all())
    for blank in ("", "   "):
        with pytest.raises(DomainError, match="reason"):
            al.override_decision(s, call, p, outcome="not_awarded", reason=blank)
    assert d.outcome != "not_awarded" and awards_before > 0
    assert len(s.scalars(select(Award).where(Award.proposal_id == p.id)).all()) == awards_before
    # an override that would overdraw capacity is refused before anything is written
    rest = [
        x
        for x in s.scalars(select(Decision).where(Decision.call_id == call.id))
        if x.outcome == "not_awarded"
    ]
    for other in rest:
        q = next(x for x in rq.proposals_for_review(s, call) if x.id == other.proposal_id)
        n_awards = s.scalar(select(func.count(Award.id)).where(Award.call_id == call.id))
        try:
            al.override_decision(s, call, q, outcome="awarded", reason="strong science")
        except DomainError as exc:
            assert "overdraw" in exc.message
            assert other.outcome == "not_awarded"
            assert (
                s.scalar(select(func.count(Award.id)).where(Award.call_id == call.id)) == n_awards
            )
        _pool_usage_ok(s, call)
    al.override_decision(
        s, call, p, outcome="not_awarded", reason="sample already loaned to this team"
    )
    assert d.outcome == "not_awarded" and "sample already loaned" in d.explanation
    assert not s.scalars(select(Award).where(Award.proposal_id == p.id)).all()
    _pool_usage_ok(s, call)


def test_assignment_short_of_capacity_covers_what_it_can(small_world: Session) -> None:
    s = small_world
    call = call_by_slug(s, "trench-2027")
    transition_call(s, call, "review")
    settings = dict(call.review_settings)
    settings["max_load"] = 1
    call.review_settings = settings
    rv.run_affinity(s, call)
    # too little capacity no longer refuses the call: what can be covered is, the rest
    # is listed short for want of capacity
    run = rv.run_assignment(s, call)
    assert run.summary["short_reviews"] > 0
    assert {r.reason for r in rv.uncovered_proposals(s, call)} <= {"capacity", "diversity"}
    # every reviewer is at their maximum load of 1
    loads = defaultdict(int)
    for a in rq.assignments_of_call(s, call):
        loads[a.reviewer_id] += 1
    assert set(loads.values()) == {1}
