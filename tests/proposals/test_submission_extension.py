"""A deadline extension for one applicant (trialop21b): the user office gives one
proposal its own, later submission deadline, with a reason, audited; that applicant
may still submit until then, everyone else is refused as before, and the close
pipeline neither leaves the proposal out nor lets it change after its own deadline."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.auditlog import AuditEvent
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.proposals import services as ps
from opencall.proposals.models import SubmissionExtension
from opencall.proposals.queries import submission_due
from tests import factories as f


def _two(db: Session):
    call = f.fast_call(db)
    office = f.user(db)
    late = f.full_proposal(db, call)
    other = f.full_proposal(db, call)
    return call, office, late, other


def test_the_extended_applicant_submits_after_the_deadline_and_no_one_else(db: Session) -> None:
    call, office, late, other = _two(db)
    until = call.closes_at + dt.timedelta(days=3)
    ps.grant_submission_extension(
        db, late, until, reason="Power cut in the PI's city", actor_id=office.id, now=f.NOW
    )
    assert submission_due(db, late) == until
    assert submission_due(db, other) == call.closes_at
    after = call.closes_at + dt.timedelta(days=1)
    before = f.table_counts(db)
    with pytest.raises(DomainError, match="deadline passed"):
        ps.submit(db, other, now=after)
    assert f.table_counts(db) == before and other.status == "draft"
    rev = ps.submit(db, late, now=after)
    assert late.status == "submitted" and late.current_revision_id == rev.id
    # its own deadline is to the second, as the call's
    ps.update_proposal(
        db, late, {"abstract": "edited in time"}, now=until - dt.timedelta(seconds=1)
    )
    with pytest.raises(DomainError, match="deadline passed"):
        ps.update_proposal(db, late, {"abstract": "too late"}, now=until)
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "proposal.deadline_extended"))
    assert event is not None
    assert event.actor_id == office.id and event.reason == "Power cut in the PI's city"
    assert event.data["until"] == until.isoformat()


@pytest.mark.parametrize(
    ("shift", "reason", "field"),
    [
        (dt.timedelta(days=2), "   ", "reason"),
        (dt.timedelta(0), "Visa office closed", "until"),
        (-dt.timedelta(days=1), "Visa office closed", "until"),
    ],
)
def test_a_bad_extension_is_refused_and_changes_nothing(
    db: Session, shift: dt.timedelta, reason: str, field: str
) -> None:
    call, office, late, _other = _two(db)
    before = f.table_counts(db)
    with pytest.raises(DomainError) as err:
        ps.grant_submission_extension(
            db, late, call.closes_at + shift, reason=reason, actor_id=office.id, now=f.NOW
        )
    assert err.value.field == field
    assert f.table_counts(db) == before


def test_the_close_keeps_the_extended_proposal_out_of_nothing(db: Session) -> None:
    """Closed at the call's deadline: the others freeze; the extended one stays open
    to its PI; review (and the steps that read the proposals) wait for its deadline, and
    then it is frozen at its last submitted revision with the others."""
    call, office, late, other = _two(db)
    until = call.closes_at + dt.timedelta(days=3)
    ps.grant_submission_extension(db, late, until, reason="Visa office closed", actor_id=office.id)
    ps.submit(db, other, now=f.NOW)
    cycle.transition_call(db, call, "closed", now=call.closes_at)
    assert other.status == "under_review" and late.status == "draft"
    rev = ps.submit(db, late, now=call.closes_at + dt.timedelta(days=1))
    ps.update_proposal(
        db, late, {"title": "Edited, never submitted"}, now=call.closes_at + dt.timedelta(days=2)
    )
    early = until - dt.timedelta(seconds=1)
    with pytest.raises(DomainError, match="extension"):
        ps.require_submissions_in(db, call, early)
    before = f.table_counts(db)
    with pytest.raises(DomainError, match="extension"):
        cycle.transition_call(db, call, "review", now=early)
    assert f.table_counts(db) == before and call.status == "closed"
    cycle.transition_call(db, call, "review", now=until)
    assert call.status == "review" and late.status == "under_review"
    assert late.title == rev.content["title"] == "Pulsar timing with FAST"


def test_an_extension_ends_with_the_call_in_review(db: Session) -> None:
    """Once the call has moved on to review, no extension is granted (its proposals are
    being reviewed); a withdrawn proposal has nothing to extend."""
    call, office, late, other = _two(db)
    ps.withdraw(db, other, actor_id=other.pi_user_id, now=f.NOW)
    with pytest.raises(DomainError):
        ps.grant_submission_extension(
            db, other, call.closes_at + dt.timedelta(days=1), reason="x", actor_id=office.id
        )
    ps.submit(db, late, now=f.NOW)
    cycle.transition_call(db, call, "closed", now=call.closes_at)
    cycle.transition_call(db, call, "review", now=call.closes_at)
    before = f.table_counts(db)
    with pytest.raises(DomainError):
        ps.grant_submission_extension(
            db, late, call.closes_at + dt.timedelta(days=1), reason="x", actor_id=office.id
        )
    assert f.table_counts(db) == before
    assert db.scalar(select(SubmissionExtension)) is None


def test_a_proposal_submitted_before_the_close_may_be_improved_under_its_extension(
    db: Session,
) -> None:
    """Submitted in time, then the PI's city lost power: the close does not freeze it, its
    PI submits a better version before their own deadline, and that version is reviewed."""
    call, office, late, other = _two(db)
    until = call.closes_at + dt.timedelta(days=3)
    ps.submit(db, late, now=f.NOW)
    ps.submit(db, other, now=f.NOW)
    ps.grant_submission_extension(db, late, until, reason="Power cut", actor_id=office.id)
    cycle.transition_call(db, call, "closed", now=call.closes_at)
    assert other.status == "under_review" and late.status == "submitted"
    after = call.closes_at + dt.timedelta(days=1)
    ps.update_proposal(db, late, {"title": "The better version"}, now=after)
    rev = ps.submit(db, late, now=after)
    assert rev.number == 2
    cycle.transition_call(db, call, "review", now=until)
    assert late.status == "under_review" and late.title == "The better version"
