"""The review engine's batched paths give what the row-at-a-time ones gave: the conflict
index finds the pairs that testing every pair finds, ``submit_reviews`` writes the rows and
audit events that one ``submit_review`` per assignment writes, and the streamed inputs hash
is the hash of the whole inputs."""

from __future__ import annotations

import random

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.calls.queries import call_by_slug
from opencall.cycle.services import transition_call
from opencall.errors import DomainError
from opencall.people.models import User
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.domain import (
    ConflictIndex,
    PersonFacts,
    Relation,
    TeamFacts,
    conflict_sources,
)
from opencall.reviews.models import Conflict, Review, ReviewAssignment
from opencall.runs import inputs_hash, inputs_hash_with_rows


def _facts(rng: random.Random) -> tuple[list[PersonFacts], list[TeamFacts], list[Relation]]:
    names = [(f"n{i}", "a") for i in range(12)]
    emails = [f"p{i}@x.org" for i in range(40)]
    people = [
        PersonFacts(
            user_id=i,
            email=emails[i],
            institution_key=rng.choice([None, "k1", "k2", "k3", "k4"]),
            ror=rng.choice([None, "r1", "r2", "r3"]),
            coauthors=tuple(
                (rng.choice(names), rng.choice([None, 2010, 2022, 2025]))
                for _ in range(rng.randint(0, 3))
            ),
        )
        for i in range(25)
    ]
    teams = []
    for _ in range(30):
        members = rng.sample(range(40), rng.randint(1, 4))
        teams.append(
            TeamFacts(
                user_ids=frozenset(m for m in members if m < 30 and rng.random() < 0.7),
                emails=frozenset(emails[m] for m in members),
                institution_keys=frozenset(rng.sample(["k1", "k2", "k3", "k5"], rng.randint(0, 2))),
                rors=frozenset(rng.sample(["r1", "r2", "r4"], rng.randint(0, 1))),
                name_keys=frozenset(rng.sample(names, rng.randint(0, 2))),
            )
        )
    relations = [
        Relation(
            user_id=rng.randrange(40),
            other_email=rng.choice(emails),
            kind=rng.choice(["coauthor", "advisor", "personal"]),
            year=rng.choice([None, 2005, 2021, 2025]),
            note=rng.choice(["", f"note {k}"]),
        )
        for k in range(30)
    ]
    return people, teams, relations


@pytest.mark.parametrize("seed", range(20))
def test_the_conflict_index_finds_what_every_pair_finds(seed: int) -> None:
    rng = random.Random(seed)
    people, teams, relations = _facts(rng)
    index = ConflictIndex(people, relations)
    found = 0
    for team in teams:
        every = [
            (p, s)
            for p in people
            if (s := conflict_sources(p, team, relations, coauthor_years=5, year=2026))
        ]
        assert index.sources(team, coauthor_years=5, year=2026) == every
        found += len(every)
    assert found > 0  # the draw has conflicts of each kind to compare


def test_streamed_inputs_hash_is_the_hash_of_the_whole_inputs() -> None:
    a = np.random.default_rng(0).random((7, 5))
    rest = {"params": {"k": 3, "objective": "total"}, "conflicts": [[0, 1], [2, 3]]}
    whole = inputs_hash({"A": a.round(6).tolist(), **rest})
    assert inputs_hash_with_rows(rest, "A", (r.round(6).tolist() for r in a)) == whole
    assert inputs_hash_with_rows(rest, "zz", (r.round(6).tolist() for r in a)) == inputs_hash(
        {"zz": a.round(6).tolist(), **rest}
    )
    assert inputs_hash_with_rows({}, "A", iter([])) == inputs_hash({"A": []})
    assert inputs_hash_with_rows(rest, "A", (r.tolist() for r in a)) != whole


def _in_review(s: Session) -> list[ReviewAssignment]:
    call = call_by_slug(s, "lunar-2027")
    assert call is not None
    transition_call(s, call, "review")
    rv.compute_conflicts(s, call)
    rv.run_affinity(s, call)
    rv.run_assignment(s, call)
    return rq.assignments_of_call(s, call)


def _inputs(s: Session, assignments: list[ReviewAssignment]) -> list[rv.ReviewInput]:
    return [
        rv.ReviewInput(
            a,
            s.get(User, a.reviewer_id),  # type: ignore[arg-type]
            grade=1 + i % 5,
            confidence=2 + i % 4,
            comments_to_applicants=f"Comments {i}.",
            comments_to_panel="panel",
        )
        for i, a in enumerate(assignments)
    ]


def _written(s: Session, since: int) -> tuple[list[tuple], list[tuple], list[tuple]]:
    reviews = [
        (r.assignment_id, r.grade, r.confidence, r.comments_to_applicants, r.comments_to_panel)
        for r in s.scalars(select(Review).order_by(Review.id))
    ]
    statuses = [(a.id, a.status) for a in s.scalars(select(ReviewAssignment))]
    events = [
        (e.action, e.entity, e.entity_id, e.actor_id, e.call_id, e.reason, e.data)
        for e in s.scalars(
            select(auditlog.AuditEvent)
            .where(auditlog.AuditEvent.id > since)
            .order_by(auditlog.AuditEvent.id)
        )
    ]
    return reviews, sorted(statuses), events


def test_submit_reviews_writes_what_submit_review_writes(demo) -> None:  # type: ignore[no-untyped-def]
    results = []
    for batched in (False, True):
        with demo(2, 0.12)() as s:
            assignments = _in_review(s)
            assert len(assignments) >= 6
            s.commit()
            since = s.scalar(select(auditlog.AuditEvent.id).order_by(auditlog.AuditEvent.id.desc()))
            items = _inputs(s, assignments)
            if batched:
                rv.submit_reviews(s, items)
            else:
                for it in items:
                    rv.submit_review(
                        s,
                        it.assignment,
                        it.reviewer,
                        grade=it.grade,
                        confidence=it.confidence,
                        comments_to_applicants=it.comments_to_applicants,
                        comments_to_panel=it.comments_to_panel,
                    )
            s.commit()
            results.append(_written(s, since or 0))
            assert auditlog.verify(s).ok
    assert results[0] == results[1]
    assert len(results[1][2]) == len(results[1][0]) > 0


def test_submit_reviews_refuses_the_whole_batch_on_one_bad_review(demo) -> None:  # type: ignore[no-untyped-def]
    with demo(2, 0.12)() as s:
        assignments = _in_review(s)
        s.commit()
        items = _inputs(s, assignments)
        before = _written(s, 0)
        bad = rv.ReviewInput(
            items[3].assignment, items[3].reviewer, grade=99, comments_to_applicants="x"
        )
        with pytest.raises(DomainError) as err:
            rv.submit_reviews(s, [*items[:3], bad, *items[4:]])
        assert err.value.field == "grade"
        # a conflicted pair is not found, as in submit_review
        a = items[1].assignment
        s.add(
            Conflict(
                call_id=a.call_id,
                proposal_id=a.proposal_id,
                reviewer_id=a.reviewer_id,
                source="personal",
            )
        )
        s.flush()
        with pytest.raises(DomainError) as err:
            rv.submit_reviews(s, items)
        assert err.value.code == "not_found"
        with pytest.raises(ValueError):
            rv.submit_reviews(s, [items[0], items[0]])
        s.rollback()
        assert _written(s, 0) == before
