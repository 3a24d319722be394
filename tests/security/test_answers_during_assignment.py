"""Reviewers answer while the chair's automatic assignment runs (the last minutes before a
review deadline, and the chair runs the assignment again to fill the gaps): the solver
works for seconds to minutes on what it read when it started, and every answer a
reviewer sends meanwhile (a review submitted or saved, an invitation declined or
accepted) is acknowledged and committed before the run stores its result.

Before the fix a decline sent during the solve failed the whole run ("The solver chose a
forbidden pair; refusing the result": the run took the decline for its own mistake), and
an answer to an invitation the run had just dropped (the reviewer's page read it before
the run's commit) answered 500: a review broke the review's foreign key, an accept or a
decline updated a row that was gone. The run read the assignments it stores over without
a lock, so an answer committed between that read and the run's commit could also be
written over. Now the run reads the call's assignments again, locked until its commit,
before it writes anything (an invitation is dropped only if it is still unanswered, a
decline during the solve is kept), and a reviewer's answer locks its assignment first
(``reviews.services.common.lock_answer``): an answer and a run's store come one after
the other, and an answer to a dropped invitation is refused as a missing one (404).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session, sessionmaker

import opencall.optim.assignment as solver
from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.people.models import User
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.models import Review, ReviewAssignment
from opencall.reviews.services import assignment as assignment_service
from opencall.reviews.services import common, conflicts, reviewing
from tests import factories as F
from tests.review_cycle import Cycle
from tests.security.races import beside, waits_on_a_lock
from tests.web.conftest import Web, api_bearer, csrf

pytestmark = pytest.mark.filterwarnings("ignore")

Answer = Callable[[Session, ReviewAssignment, User], None]


def _submit(s: Session, a: ReviewAssignment, u: User) -> None:
    rv.submit_review(s, a, u, grade=2.0, confidence=4, comments_to_applicants="Sound.")


def _save(s: Session, a: ReviewAssignment, u: User) -> None:
    rv.submit_review(s, a, u, grade=3.0, confidence=2, final=False)


def _decline(s: Session, a: ReviewAssignment, u: User) -> None:
    rv.respond_to_assignment(s, a, u, accept=False)


def _accept(s: Session, a: ReviewAssignment, u: User) -> None:
    rv.respond_to_assignment(s, a, u, accept=True)


ANSWERS: dict[str, tuple[Answer, str]] = {
    "submitted": (_submit, "submitted"),
    "saved": (_save, "accepted"),
    "declined": (_decline, "declined"),
    "accepted": (_accept, "accepted"),
}


def _first_run(factory: sessionmaker[Session]) -> int:
    """A call in review whose first run invited two reviewers for each proposal; the chair
    then asks for one reviewer a proposal, so that the next run drops an invitation of each."""
    with factory() as s:
        call, _proposals, _reviewers = F.call_in_review(s, 4, 4, reviewers_per_proposal=2)
        rv.run_assignment(s, call)
        call.review_settings = {**call.review_settings, "reviewers_per_proposal": 1}
        s.commit()
        assert {a.status for a in rq.assignments_of_call(s, call)} == {"assigned"}
        return call.id


@pytest.mark.parametrize("answer", sorted(ANSWERS))
def test_answers_sent_during_the_solve_are_kept(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    act, status = ANSWERS[answer]
    call_id = _first_run(factory)
    solve = solver.solve_assignment
    answered: dict[int, str] = {}

    def answer_meanwhile(problem: Any) -> Any:
        # while the solver works, every invited reviewer answers in a request of their own
        with factory() as other:
            for a in other.scalars(
                select(ReviewAssignment).where(ReviewAssignment.call_id == call_id)
            ):
                reviewer = other.get(User, a.reviewer_id)
                assert reviewer is not None
                act(other, a, reviewer)
                answered[a.id] = status
            other.commit()
        return solve(problem)

    monkeypatch.setattr(solver, "solve_assignment", answer_meanwhile)
    with factory() as job:  # the 'review.assign' job's unit of work
        call = job.get(Call, call_id)
        assert call is not None
        rq.assignments_of_call(job, call)  # what the job reads first (the invited before)
        rv.run_assignment(job, call, seed=3)
        job.commit()
    with factory() as s:
        now = {a.id: a.status for a in s.scalars(select(ReviewAssignment))}
        reviews = {r.assignment_id for r in s.scalars(select(Review))}
    assert len(answered) == 8
    assert {i: now.get(i) for i in answered} == answered  # every answer is where it was left
    if answer in ("submitted", "saved"):
        assert reviews == set(answered)


def test_an_answer_to_an_invitation_the_run_dropped_is_refused(
    factory: sessionmaker[Session],
) -> None:
    """The run came first and dropped the invitation: the answer finds no assignment and
    is refused as a missing one (not a 500 on a deleted row), and nothing is written."""
    call_id = _first_run(factory)
    requests = [factory() for _ in ANSWERS]
    # each reviewer's request read its assignment...
    found = [
        s.scalars(
            select(ReviewAssignment)
            .where(ReviewAssignment.call_id == call_id)
            .order_by(ReviewAssignment.id)
            .offset(i)
        ).first()
        for i, s in enumerate(requests)
    ]
    ids = [a.id for a in found if a is not None]
    with factory() as job:  # ... and the run dropped it before the answer was written
        job.execute(ReviewAssignment.__table__.delete().where(ReviewAssignment.id.in_(ids)))
        job.commit()
    for s, a, (act, _status) in zip(requests, found, ANSWERS.values(), strict=True):
        assert a is not None
        reviewer = s.get(User, a.reviewer_id)
        assert reviewer is not None
        with pytest.raises(DomainError) as refused:
            act(s, a, reviewer)
        assert refused.value.code == "not_found"
        s.rollback()
        s.close()
    with factory() as s:
        assert not s.scalars(select(Review)).all()


def test_pages_and_api_answer_404_to_a_dropped_invitation(
    web: Web, cycle: Cycle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same through the reviewer's pages and the API: the request has read the
    assignment (its page's checks passed) when the run drops it; the answer is a 404 page
    or ``{"detail": ...}`` 404, not a 500 (the page was shown again around the deleted
    row), and the reviewer may answer nothing of it afterwards."""
    aid = cycle.ids["assignment"]
    path = f"/review/assignments/{aid}"
    lock = common.lock_answer
    with web.factory() as s:
        found = s.get(ReviewAssignment, aid)
        assert found is not None and found.status == "assigned"
        row = {c.key: getattr(found, c.key) for c in ReviewAssignment.__table__.columns}

    def dropped_first(session: Session, a: ReviewAssignment) -> Call:
        with web.factory() as job:  # the run's commit, between the page's read and the answer
            job.execute(ReviewAssignment.__table__.delete().where(ReviewAssignment.id == a.id))
            job.commit()
        return lock(session, a)

    monkeypatch.setattr(reviewing, "lock_answer", dropped_first)
    monkeypatch.setattr(conflicts, "lock_answer", dropped_first)
    rev = web.login(cycle.emails["assigned"])
    tok = csrf(rev, "/review")
    answers = {
        "respond": {"action": "accept"},
        "conflict": {"reason": "I co-author with them"},
        "": {"grade": "2", "confidence": "3", "comments_to_applicants": "Good"},
    }
    for route, form in answers.items():
        with web.factory() as s:  # the invitation as the run found it, each time
            if s.get(ReviewAssignment, aid) is None:
                s.execute(insert(ReviewAssignment), [row])
                s.commit()
        r = rev.post(f"{path}/{route}".rstrip("/"), data={"csrf_token": tok, **form})
        assert r.status_code == 404, (route, r.status_code, r.text[:300])
    api = web.client()
    bearer = api_bearer(web, cycle.emails["assigned"], ("review",))
    for route, body in (("respond", {"accept": False}), ("conflict", {"reason": "Co-author"})):
        with web.factory() as s:
            if s.get(ReviewAssignment, aid) is None:
                s.execute(insert(ReviewAssignment), [row])
                s.commit()
        r = api.post(f"/api/v1/assignments/{aid}/{route}", json=body, headers=bearer)
        assert r.status_code == 404, (route, r.status_code, r.text[:300])
    with web.factory() as s:
        assert s.get(ReviewAssignment, aid) is None
        assert s.scalar(select(Review).where(Review.assignment_id == aid)) is None


def test_an_answer_waiting_on_the_run_neither_deadlocks_nor_is_lost(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL, two connections: the run has recorded its solver run (it holds the
    audit chain's lock until its commit) when a reviewer submits a review of one of the
    call's invitations. The answer's new lock on its assignment must not deadlock with the
    run: the run locks the call's assignments before it records anything, so the answer
    waits for the run's commit holding nothing, then the review is saved (the invitation
    kept) or refused as missing (the invitation dropped). A run that took those locks
    after recording its solver run deadlocks here (PostgreSQL aborts the answer). Before
    the fix this interleaving did not deadlock either (the answer took no lock before the
    audit chain's), but a dropped invitation then broke the review's foreign key."""
    with factory() as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("row locks and lock waits: PostgreSQL")
    call_id = _first_run(factory)
    recorded = threading.Event()
    pid: list[int] = []
    outcome: dict[str, str] = {}
    real_record = assignment_service.record_run

    def record_then_let_the_reviewer_in(*args: Any, **kw: Any) -> Any:
        run = real_record(*args, **kw)  # the audit chain's lock is held from here
        recorded.set()
        assert waits_on_a_lock(factory, pid[0]), "the reviewer's answer never waited"
        return run

    def reviewer() -> None:
        with factory() as s:
            pid.append(int(s.scalar(text("SELECT pg_backend_pid()")) or 0))
            a = s.scalars(
                select(ReviewAssignment)
                .where(ReviewAssignment.call_id == call_id)
                .order_by(ReviewAssignment.id)
            ).first()
            assert a is not None
            outcome["assignment"] = str(a.id)
            u = s.get(User, a.reviewer_id)
            assert u is not None
            recorded.wait(60)  # (the same connection: no commit before the answer)
            try:
                _submit(s, a, u)
                s.commit()
                outcome["reviewer"] = "saved"
            except DomainError as refused:
                outcome["reviewer"] = refused.code or refused.message
            except Exception as exc:  # noqa: BLE001 - the outcome is what is checked
                outcome["reviewer"] = repr(exc)[:300]

    monkeypatch.setattr(assignment_service, "record_run", record_then_let_the_reviewer_in)
    with beside(reviewer), factory() as job:
        call = job.get(Call, call_id)
        assert call is not None
        try:
            rv.run_assignment(job, call, seed=3)
            job.commit()
            outcome["run"] = "stored"
        except Exception as exc:  # noqa: BLE001
            outcome["run"] = repr(exc)[:300]
    aid = int(outcome["assignment"])
    with factory() as s:
        now = s.get(ReviewAssignment, aid)
        review = s.scalar(select(Review).where(Review.assignment_id == aid))
    assert outcome["run"] == "stored", outcome
    assert outcome["reviewer"] in ("saved", "not_found"), outcome
    if outcome["reviewer"] == "saved":
        assert now is not None and now.status == "submitted" and review is not None
    else:
        assert now is None and review is None


def test_a_chair_cannot_unassign_a_review_submitted_meanwhile(
    factory: sessionmaker[Session],
) -> None:
    """The chair's page read the invitation unanswered; the reviewer submits the review
    before the chair's removal is written. Before the fix the removal checked the status
    it had read and set "removed" over "submitted": the acknowledged review stayed in the
    database under a removed assignment, out of the ranking. The removal now reads the
    assignment again under its lock and is refused ("A submitted review cannot be
    unassigned"); the review stands."""
    call_id = _first_run(factory)
    with factory() as chair:
        a = chair.scalars(
            select(ReviewAssignment)
            .where(ReviewAssignment.call_id == call_id)
            .order_by(ReviewAssignment.id)
        ).first()
        assert a is not None and a.status == "assigned"
        aid = a.id
        with factory() as other:  # the reviewer's submission commits meanwhile
            mine = other.get(ReviewAssignment, a.id)
            reviewer = other.get(User, a.reviewer_id)
            assert mine is not None and reviewer is not None
            _submit(other, mine, reviewer)
            other.commit()
        with pytest.raises(DomainError) as refused:
            rv.remove_assignment(chair, a, reason="too slow")
        assert "submitted" in refused.value.message
        chair.rollback()
    with factory() as s:
        now = s.get(ReviewAssignment, aid)
        assert now is not None and now.status == "submitted"
        assert s.scalar(select(Review).where(Review.assignment_id == aid)) is not None
