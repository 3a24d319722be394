"""One workflow for a call's status: every entry point closes and publishes the
same way, and no lower-level call skips what closing does."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.auditlog import AuditEvent
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.proposals import services as ps
from tests import factories as f


def test_closing_through_the_workflow_freezes_and_restores_proposals(db: Session) -> None:
    call = f.fast_call(db)
    p = f.full_proposal(db, call)
    rev = ps.submit(db, p, now=f.NOW)
    ps.update_proposal(db, p, {"title": "Changed after submission"}, now=f.NOW)
    cycle.transition_call(db, call, "closed", now=f.NOW, reason="test")
    assert call.status == "closed"
    assert p.status == "under_review"
    assert p.title == rev.content["title"]  # the unsubmitted edit is not what is reviewed
    actions = list(db.scalars(select(AuditEvent.action).where(AuditEvent.call_id == call.id)))
    assert "call.proposals_frozen" in actions


def test_publishing_needs_released_decisions_and_is_audited(db: Session) -> None:
    call = f.fast_call(db)
    cycle.transition_call(db, call, "closed", now=f.NOW, reason="test")
    for target in ("review", "ranking", "allocation", "scheduling"):
        cycle.transition_call(db, call, target, now=f.NOW)
    with pytest.raises(DomainError, match="Release the decisions"):
        cycle.transition_call(db, call, "published", now=f.NOW)
    assert call.status == "scheduling"
    call.decisions_released_at = f.NOW
    cycle.transition_call(db, call, "published", now=f.NOW)
    assert call.status == "published" and call.published_at is not None
    actions = list(db.scalars(select(AuditEvent.action).where(AuditEvent.call_id == call.id)))
    assert actions.count("call.published") == 1


def test_every_entry_point_uses_the_workflow() -> None:
    """The web, the CLI, the demo and scheduling move a call only through the workflow
    (no entry point special-cases the close any more)."""
    from pathlib import Path

    src = Path(cycle.__file__).resolve().parents[1]
    for rel in (
        "reviews/views/chair.py",
        "reviews/api_write/phases.py",
        "cli.py",
        "demo/cycle.py",
        "demo/past.py",
    ):
        text = (src / rel).read_text()
        assert "close_call(" not in text, rel
        assert "cycle" in text, rel


def test_publishing_an_open_call_is_refused_as_a_move(db: Session) -> None:
    call = f.fast_call(db)
    before = f.table_counts(db)
    with pytest.raises(DomainError, match="cannot move"):
        cycle.transition_call(db, call, "published", now=f.NOW)
    assert call.status == "open" and f.table_counts(db) == before
