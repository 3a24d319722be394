"""Technical reviews: a technical reviewer's verdict on a proposal's feasibility
(refused where the reviewer is conflicted or on the team)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.errors import DomainError
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.reviews import policies, queries
from opencall.reviews.domain import conflicted_pair
from opencall.reviews.models import TechnicalReview


def submit_technical_review(
    session: Session,
    proposal: Proposal,
    reviewer: User,
    *,
    verdict: str,
    amount_needed: float | None = None,
    notes_to_panel: str = "",
    notes_to_applicants: str = "",
) -> TechnicalReview:
    if verdict not in ("feasible", "feasible_with_changes", "not_feasible"):
        raise DomainError(
            "Verdict is feasible, feasible with changes or not feasible.", field="verdict"
        )
    if amount_needed is not None and not amount_needed >= 0:
        raise DomainError("The amount judged necessary cannot be negative.", field="amount_needed")
    conflicted = proposal.id in policies.conflicted_proposal_ids(session, reviewer, [proposal])
    if conflicted or policies.on_team(reviewer, proposal):
        raise conflicted_pair()
    tr = queries.technical_review_of(session, proposal.id)
    if tr is None:
        tr = TechnicalReview(proposal_id=proposal.id, reviewer_id=reviewer.id, verdict=verdict)
        session.add(tr)
    tr.reviewer_id = reviewer.id
    tr.verdict = verdict
    tr.amount_needed = amount_needed
    tr.notes_to_panel = notes_to_panel
    tr.notes_to_applicants = notes_to_applicants
    session.flush()
    auditlog.record(
        session,
        "technical_review.saved",
        "proposal",
        proposal.id,
        actor_id=reviewer.id,
        call_id=proposal.call_id,
        data={"verdict": verdict},
    )
    return tr
