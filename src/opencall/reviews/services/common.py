"""What several steps of the review read: the current revisions of the proposals
under review (in a few queries), the latest solver run of a kind, and a reviewer's
assignment and its call read again under their locks before an answer changes it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.people.models import User
from opencall.proposals.anonymity import TeamIdentity, scan_text
from opencall.proposals.models import Proposal, ProposalRevision
from opencall.proposals.services import begin_write
from opencall.reviews import queries as q
from opencall.reviews.models import ReviewAssignment
from opencall.runs import SolverRun

#: the longest reason a chair or reviewer gives that is kept (what its reader sees; the
#: message says 2000)
MAX_REASON = 2000


def require_reason_fits(text: str) -> None:
    """Refuse a reason longer than :data:`MAX_REASON` with the reason fields' error
    (triage, removal), rather than keep a cut one: nothing is changed."""
    if len(text) > MAX_REASON:
        raise DomainError("The reason is too long (2000 characters at most).", field="reason")


def load_revisions(session: Session, proposals: list[Proposal]) -> list[ProposalRevision]:
    """Load the current revisions of many proposals in a few queries. While the
    caller holds the returned list, :func:`revision_content` finds each one in the
    session (no query per row)."""
    ids = [p.current_revision_id for p in proposals if p.current_revision_id is not None]
    out: list[ProposalRevision] = []
    for i in range(0, len(ids), 5000):
        chunk = ids[i : i + 5000]
        out += session.scalars(select(ProposalRevision).where(ProposalRevision.id.in_(chunk)))
    return out


def revision_content(session: Session, proposal: Proposal) -> dict[str, Any]:
    """The frozen revision under review (:func:`queries.revision`); a proposal never
    submitted has none and is refused."""
    if proposal.current_revision_id is None:
        raise DomainError(
            "Proposal %(code_value)s has no submitted revision.", code_value=proposal.code
        )
    return q.revision(session, proposal)


def latest_run_or_fail(session: Session, call: Call, kind: str) -> SolverRun:
    run = q.latest_run(session, call, kind)
    if run is None:
        raise DomainError("No %(kind)s run for this call yet.", kind=kind)
    return run


#: what a reviewer's answer checks of its call (in review, ranking not frozen)
REVIEW_STATE = ["status", "ranking_frozen_at"]


def lock_assignment(session: Session, assignment: ReviewAssignment) -> None:
    """Read ``assignment`` again with its row locked until the commit (PostgreSQL
    ``FOR UPDATE``; SQLite: the write lock now, ``BEGIN IMMEDIATE``) before it is
    changed, so that what the change checks (its status) stays true until it is written:
    two writers of one assignment (a reviewer's answer, the chair's removal, the automatic
    assignment's store) come one after the other. An assignment gone meanwhile is refused
    as a missing one (404), never a write against a deleted row (a 500)."""
    begin_write(session)
    try:
        session.refresh(assignment, with_for_update=True)
    except InvalidRequestError as gone:  # the row is no longer there
        raise DomainError("Not found", code="not_found") from gone


def lock_answer(session: Session, assignment: ReviewAssignment) -> Call:
    """Before a reviewer's answer changes ``assignment``: :func:`lock_assignment` (the
    automatic assignment locks the call's assignments in the same way before it stores
    its result, ``run_assignment``, so an answer and a run's store come one after the
    other), and its call's status and freeze read again; returns the call. The call's row
    is not locked: an answer that writes a grade checks the freeze again once it holds
    the audit chain's lock (``submit_review``), as the freeze checks the grades
    (``freeze_ranking``), so that neither decides on what the other is changing."""
    lock_assignment(session, assignment)
    call = session.get(Call, assignment.call_id)
    assert call is not None
    session.refresh(call, REVIEW_STATE)
    return call


def named_in(text: str, people: list[User]) -> str:
    """The first name or e-mail address of ``people`` that ``text`` gives ("" when none),
    found as the anonymity check of a proposal finds a team's (``proposals.anonymity``:
    "Dr Okafor", another letter case, accents dropped): what the applicants read may not
    say who reviewed their proposal (trialchair23)."""
    who = [TeamIdentity(name=u.name, email=u.email or "") for u in people if u.name]
    found = [f for f in scan_text(text, who) if f.kind in ("name", "email")]
    return found[0].matched_text if found else ""
