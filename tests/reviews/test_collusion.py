"""Reviewer collusion (trialcrowd10): two applicants who review each other's proposals in
the same call (reciprocal reviewing), or three who review round a ring (A reviews B's,
B reviews C's, C reviews A's), can trade good grades. In distributed review, where the
applicants review each other, and in a panel whose reviewers also apply, the automatic
assignment paired them whenever their affinities were highest (same field: the usual
case), and the chair's hand assignment let them be paired too. Now the assignment never
closes such a cycle of two or three people, and a hand assignment that would is refused."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.proposals import services as prop_services
from opencall.proposals.models import Proposal
from opencall.reviews.domain import collusion_cycles
from opencall.reviews.models import AffinityScore, ReviewAssignment
from opencall.reviews.services.assignment import add_assignment, run_assignment
from tests import factories as F

pytestmark = pytest.mark.filterwarnings("ignore")


def _call(s: Session, *, mode: str, k: int, max_load: int) -> Call:
    call = F.fast_call(s, requires_pdf=False)
    call.review_settings = {
        **(call.review_settings or {}),
        "mode": mode,
        "reviewers_per_proposal": k,
        "min_load": 0,
        "max_load": max_load,
        "max_same_institution": 5,
        "max_same_region": 5,
    }
    return call


def _applicants(s: Session, call: Call, n: int) -> tuple[list[User], list[Proposal]]:
    people = [F.user(s, institution=f"Institute {i}", country="BRA") for i in range(n)]
    props = [F.full_proposal(s, call, u) for u in people]
    for p in props:
        prop_services.submit(s, p, now=F.NOW)
    return people, props


def _review(s: Session, call: Call) -> None:
    cycle.transition_call(s, call, "closed", now=call.closes_at, reason="t")
    cycle.transition_call(s, call, "review")


def _affinity(s: Session, call: Call, scores: dict[tuple[int, int], float]) -> None:
    for (pid, rid), v in scores.items():
        s.add(AffinityScore(call_id=call.id, proposal_id=pid, reviewer_id=rid, score=v))
    s.flush()


def _active(s: Session, call: Call) -> list[tuple[int, int]]:
    return [
        (a.proposal_id, a.reviewer_id)
        for a in s.scalars(
            select(ReviewAssignment).where(
                ReviewAssignment.call_id == call.id,
                ReviewAssignment.status.in_(("assigned", "accepted", "submitted")),
            )
        )
    ]


def _teams(props: list[Proposal]) -> dict[int, frozenset[int]]:
    return {p.id: frozenset({p.pi_user_id}) for p in props}


def test_distributed_review_never_pairs_two_applicants_both_ways(db: Session) -> None:
    """Four applicants in two fields: Alice and Bob each other's best match, Carol and
    Dave too (and two more applicants: since trialcrowd11 no ring of up to five people is
    paired, and one review each needs six for a ring of six). The best total pairs each
    with the other (two reciprocal pairs); the assignment now gives each proposal a
    reviewer who is not reviewed by its PI.
    Before the fix: Alice reviewed Bob's proposal and Bob Alice's (and Carol, Dave)."""
    call = _call(db, mode="distributed", k=1, max_load=1)
    people, props = _applicants(db, call, 6)
    (alice, bob, carol, dave, *_more), (a, b, c, d, *_rest) = people, props
    _review(db, call)
    scores = {(b.id, alice.id): 0.9, (a.id, bob.id): 0.9, (d.id, carol.id): 0.9}
    scores |= {(c.id, dave.id): 0.9}
    for p, u in itertools.product(props, people):
        if p.pi_user_id != u.id:
            scores.setdefault((p.id, u.id), 0.1)
    _affinity(db, call, scores)
    run = run_assignment(db, call)
    pairs = _active(db, call)
    assert len(pairs) == 6  # every proposal has its reviewer
    assert collusion_cycles(pairs, _teams(props)) == []
    assert (b.id, alice.id) not in pairs or (a.id, bob.id) not in pairs
    assert run.summary["collusion_avoided"] >= 1


def test_distributed_review_breaks_rings_of_three(db: Session) -> None:
    """Sixteen applicants, two reviews a proposal, each reviews two: three are one field,
    three another, two a third, four a fourth and four a fifth, and each is the best
    reviewer of the others of their field. The best total has each of a field review the
    others (reciprocal pairs and rings of three); the assignment now leaves no cycle of two
    to five people (trialcrowd11; eight applicants before, who cannot avoid a ring of
    four), and every proposal covered (the sixteen in a circle, each reviewing the next
    two, is one such
    assignment). Before the fix: 3 reciprocal pairs a field of three, and its rings."""
    call = _call(db, mode="distributed", k=2, max_load=2)
    people, props = _applicants(db, call, 16)
    _review(db, call)
    field = [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4]
    scores = {}
    for i, p in enumerate(props):
        for j, u in enumerate(people):
            if i != j:
                scores[(p.id, u.id)] = 0.9 if field[i] == field[j] else 0.1
    _affinity(db, call, scores)
    run_assignment(db, call)
    pairs = _active(db, call)
    assert len(pairs) == 32
    assert collusion_cycles(pairs, _teams(props)) == []


def test_a_small_call_is_left_short_rather_than_review_round_a_ring(db: Session) -> None:
    """Six applicants, each to review two and be reviewed by two: every such assignment
    has a cycle of at most three people (a directed graph on n people where each reviews
    k has a cycle of at most n/k: Caccetta and Haggkvist, proven for k = 2). The run then
    leaves proposals short (reported, as any shortfall) rather than pair a cycle."""
    call = _call(db, mode="distributed", k=2, max_load=2)
    people, props = _applicants(db, call, 6)
    _review(db, call)
    _affinity(db, call, {(p.id, u.id): 0.5 for p in props for u in people if p.pi_user_id != u.id})
    run = run_assignment(db, call)
    pairs = _active(db, call)
    assert collusion_cycles(pairs, _teams(props)) == []
    assert len(pairs) < 12 and run.summary["short_reviews"] == 12 - len(pairs)


def test_a_panel_whose_reviewers_apply_is_kept_apart_too(db: Session) -> None:
    """Panel review: two of the panel apply to the call themselves. They are each
    other's best reviewers; the assignment gives them to other panel members."""
    call = _call(db, mode="panel", k=1, max_load=2)
    (alice, bob), (a, b) = _applicants(db, call, 2)
    outsider = F.user(db, institution="Observatory X", country="CHL")
    for u in (alice, bob, outsider):
        people_services.grant_role(db, u.id, "reviewer", call_id=call.id)
    _review(db, call)
    _affinity(
        db,
        call,
        {(b.id, alice.id): 0.9, (a.id, bob.id): 0.9, (a.id, outsider.id): 0.2},
    )
    run_assignment(db, call)
    pairs = _active(db, call)
    assert len(pairs) == 2
    assert collusion_cycles(pairs, _teams([a, b])) == []


def test_a_hand_assignment_that_closes_a_ring_is_refused(db: Session) -> None:
    """A chair (or a chair persuaded by them) pairs Alice and Bob both ways by hand: the
    second assignment is refused with nothing written; a ring of three likewise."""
    call = _call(db, mode="distributed", k=1, max_load=3)
    (alice, bob, carol, dave), (a, b, c, _d) = _applicants(db, call, 4)
    _review(db, call)
    add_assignment(db, call, b, alice)
    with pytest.raises(DomainError, match="review each other"):
        add_assignment(db, call, a, bob)
    add_assignment(db, call, c, bob)  # Alice -> Bob -> Carol
    with pytest.raises(DomainError, match="review each other"):
        add_assignment(db, call, a, carol)  # Carol -> Alice closes the ring
    add_assignment(db, call, a, dave)  # no ring: allowed
    assert sorted(_active(db, call)) == sorted([(b.id, alice.id), (c.id, bob.id), (a.id, dave.id)])


def test_collusion_cycles_finds_pairs_and_rings_only() -> None:
    teams = {10: frozenset({1}), 20: frozenset({2}), 30: frozenset({3}), 40: frozenset({4})}
    # 1 reviews 20 (2's), 2 reviews 10: reciprocal
    assert collusion_cycles([(20, 1), (10, 2)], teams) == [((20, 1), (10, 2))]
    # a ring of three
    ring = collusion_cycles([(20, 1), (30, 2), (10, 3)], teams)
    assert len(ring) == 1 and sorted(ring[0]) == [(10, 3), (20, 1), (30, 2)]
    # people who review round no ring: no collusion cycle (rings of four and more:
    # test_collusion_rings.py)
    assert collusion_cycles([(20, 1), (30, 2), (40, 3)], teams) == []


def _join(s: Session, p: Proposal, u: User) -> None:
    m = prop_services.invite_member(
        s,
        p,
        {"email": u.email, "name": u.name, "institution": "Shared lab", "country_iso3": "BRA"},
        now=F.NOW,
    )
    prop_services.respond_to_invitation(s, m, u, accept=True)


def test_a_reviewer_who_proposed_with_a_pi_is_conflicted_without_declaring_it(
    db: Session,
) -> None:
    """Rita reviews for the panel; she and Xavier were on one team, of a proposal
    submitted this year to another call, and another of this call. Neither declared the
    tie, neither lists publications: the platform has their joint proposals and now
    counts them as co-authorship (``coauthor``), so the assignment never gives her
    Xavier's proposal. Before the fix no conflict was recorded (only publications and
    declared relations counted) and she was his proposal's best-matched reviewer."""
    from opencall.reviews import services as rv
    from opencall.reviews.models import Conflict

    other = _call(db, mode="panel", k=1, max_load=2)
    call = _call(db, mode="panel", k=1, max_load=2)
    xavier = F.user(db, institution="Institute X", country="BRA")
    rita = F.user(db, institution="Institute R", country="CHL")
    quinn = F.user(db, institution="Institute Q", country="KEN")
    outsider = F.user(db, institution="Observatory O", country="IND")
    earlier = F.full_proposal(db, other, xavier)
    _join(db, earlier, rita)
    prop_services.submit(db, earlier, now=F.NOW)
    x = F.full_proposal(db, call, xavier)
    q_ = F.full_proposal(db, call, quinn)
    for p in (x, q_):
        prop_services.submit(db, p, now=F.NOW)
    for u in (rita, outsider):
        people_services.grant_role(db, u.id, "reviewer", call_id=call.id)
    _review(db, call)
    rv.compute_conflicts(db, call)
    found = {
        (c.proposal_id, c.reviewer_id, c.source)
        for c in db.scalars(select(Conflict).where(Conflict.call_id == call.id))
    }
    assert (x.id, rita.id, "coauthor") in found
    assert (q_.id, rita.id, "coauthor") not in found
    _affinity(db, call, {(x.id, rita.id): 0.9, (x.id, outsider.id): 0.1})
    run_assignment(db, call)
    assert (x.id, rita.id) not in _active(db, call)


def test_a_team_of_this_call_counts_too(db: Session) -> None:
    """In a panel call Rita is a co-investigator of Quinn's proposal, and so is Xavier,
    PI of another: she is conflicted with Xavier's proposal (they share a team here)."""
    from opencall.reviews import services as rv
    from opencall.reviews.models import Conflict

    call = _call(db, mode="panel", k=1, max_load=2)
    xavier, rita, quinn = (F.user(db, institution=f"Inst {i}") for i in range(3))
    x = F.full_proposal(db, call, xavier)
    q_ = F.full_proposal(db, call, quinn)
    _join(db, q_, rita)
    _join(db, q_, xavier)
    for p in (x, q_):
        prop_services.submit(db, p, now=F.NOW)
    people_services.grant_role(db, rita.id, "reviewer", call_id=call.id)
    _review(db, call)
    rv.compute_conflicts(db, call)
    found = {
        (c.proposal_id, c.source)
        for c in db.scalars(select(Conflict).where(Conflict.reviewer_id == rita.id))
    }
    assert found == {(q_.id, "team"), (x.id, "coauthor")}


def test_the_refusal_tells_a_conflicted_chair_nothing_of_a_withheld_proposal(
    db: Session,
) -> None:
    """A chair conflicted with Bob's proposal may not know who reviews it. Alice reviews
    it; the chair's pair (Alice's proposal, Bob) would close a reciprocal pair through it,
    and is not refused for it (a refusal would say that Alice reviews Bob's proposal).
    Another chair, who may see both, is refused the same pair."""
    from opencall.reviews.models import Conflict

    call = _call(db, mode="distributed", k=1, max_load=3)
    (alice, bob, _carol), (a, b, _c) = _applicants(db, call, 3)
    conflicted, clear = F.user(db, institution="Office 1"), F.user(db, institution="Office 2")
    for u in (conflicted, clear):
        people_services.grant_role(db, u.id, "chair", call_id=call.id)
    _review(db, call)
    db.add(
        Conflict(call_id=call.id, proposal_id=b.id, reviewer_id=conflicted.id, source="personal")
    )
    db.flush()
    add_assignment(db, call, b, alice, actor_id=clear.id)
    with pytest.raises(DomainError, match="review each other"):
        add_assignment(db, call, a, bob, actor_id=clear.id)
    add_assignment(db, call, a, bob, actor_id=conflicted.id)
