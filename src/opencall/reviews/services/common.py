"""What several steps of the review read: the current revisions of the proposals
under review (in a few queries), and the latest solver run of a kind."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.proposals.models import Proposal, ProposalRevision
from opencall.reviews import queries as q
from opencall.runs import SolverRun


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
