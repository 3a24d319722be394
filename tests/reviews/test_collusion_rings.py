"""Rings of four or five reviewers (trialcrowd11). trialcrowd10 kept two people who review
each other, and three round a ring, out of the assignment; four colluders who each bid on
the next one's proposal (A reviews B's, B reviews C's, C reviews D's, D reviews A's) were
paired as they asked by the automatic assignment and by hand. Now every ring of up to
``reviews.domain.MAX_RING`` (5) people is kept out; a longer one is allowed (the bound's
reason is at ``MAX_RING``)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from opencall.errors import DomainError
from opencall.reviews.domain import MAX_RING, JudgeGraph, collusion_cycles
from opencall.reviews.services.assignment import add_assignment, run_assignment
from tests.reviews.test_collusion import _active, _affinity, _applicants, _call, _review, _teams

pytestmark = pytest.mark.filterwarnings("ignore")


def _ring(n: int) -> tuple[list[tuple[int, int]], dict[int, frozenset[int]]]:
    """People 1..n, person i's proposal 10 i, each reviewing the next one's."""
    teams = {10 * i: frozenset({i}) for i in range(1, n + 1)}
    return [(10 * (i % n + 1), i) for i in range(1, n + 1)], teams


def test_rings_of_four_and_five_are_cycles_and_six_is_not() -> None:
    assert MAX_RING == 5
    for n in (4, 5):
        pairs, teams = _ring(n)
        found = collusion_cycles(pairs, teams)
        assert len(found) == 1 and sorted(found[0]) == sorted(pairs), (n, found)
        assert found[0][0] == (20, 1)  # from the smallest person, in the ring's order
        graph = JudgeGraph(pairs, teams)
        assert graph.cycles_through([3]) == {tuple(range(1, n + 1))}
    pairs, teams = _ring(6)
    assert collusion_cycles(pairs, teams) == []
    assert JudgeGraph(pairs, teams).cycles_through(range(1, 7)) == set()


def test_a_ring_through_a_team_member_counts() -> None:
    """Person 5 is on 4's team: 1 -> 2 -> 3 -> 5 -> 1 is a ring of four."""
    teams = {20: frozenset({2}), 30: frozenset({3}), 40: frozenset({4, 5}), 10: frozenset({1})}
    pairs = [(20, 1), (30, 2), (40, 3), (10, 5)]
    assert [sorted(c) for c in collusion_cycles(pairs, teams)] == [sorted(pairs)]


def test_distributed_review_does_not_pair_a_ring_of_four_colluders(db: Session) -> None:
    """Eight applicants, one review each: two rings of four colluders, each bidding on the
    next one's proposal (0.9; the rest 0.1). The best total is the two rings; the
    assignment now covers every proposal with no ring of up to five (one ring of eight
    is one such assignment). Before the fix: both rings of four, as bid."""
    call = _call(db, mode="distributed", k=1, max_load=1)
    people, props = _applicants(db, call, 8)
    _review(db, call)
    scores = {(p.id, u.id): 0.1 for p in props for u in people if p.pi_user_id != u.id}
    for ring in (range(0, 4), range(4, 8)):
        idx = list(ring)
        for a, b in zip(idx, idx[1:] + idx[:1], strict=True):
            scores[(props[b].id, people[a].id)] = 0.9  # a reviews b's proposal
    _affinity(db, call, scores)
    run = run_assignment(db, call)
    pairs = _active(db, call)
    assert len(pairs) == 8
    assert collusion_cycles(pairs, _teams(props)) == []
    assert run.summary["collusion_avoided"] >= 1


def test_a_hand_assignment_closing_a_ring_of_four_or_five_is_refused(db: Session) -> None:
    call = _call(db, mode="distributed", k=1, max_load=3)
    people, props = _applicants(db, call, 7)
    _review(db, call)
    for i in range(3):  # 0 -> 1 -> 2 -> 3
        add_assignment(db, call, props[i + 1], people[i])
    before = sorted(_active(db, call))
    with pytest.raises(DomainError, match="review each other"):
        add_assignment(db, call, props[0], people[3])  # 3 -> 0 closes a ring of four
    assert sorted(_active(db, call)) == before
    add_assignment(db, call, props[4], people[3])  # 3 -> 4
    with pytest.raises(DomainError, match="review each other"):
        add_assignment(db, call, props[0], people[4])  # 4 -> 0: a ring of five
    add_assignment(db, call, props[5], people[4])  # 4 -> 5
    add_assignment(db, call, props[0], people[5])  # 5 -> 0: a ring of six, allowed
    assert len(_active(db, call)) == 6
