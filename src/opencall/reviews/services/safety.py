"""Safety reviews (trialfac24): the safety officer's hazard class of a proposal's samples
and decision (pending, approved, refused), in a call whose review settings name hazard
classes; refused where the officer is conflicted or on the team."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.calls.schemas import review_settings
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.reviews import policies, queries
from opencall.reviews.domain import SAFETY_DECISIONS, conflicted_pair
from opencall.reviews.models import SafetyReview


def submit_safety_review(
    session: Session,
    proposal: Proposal,
    reviewer: User,
    *,
    hazard_class: str,
    decision: str,
    notes_to_panel: str = "",
    notes_to_applicants: str = "",
) -> SafetyReview:
    """Record (or replace) the safety review of ``proposal``: every input checked before
    anything is written, so a refusal changes nothing."""
    classes = review_settings(proposal.call.review_settings).hazard_classes
    if not classes:
        raise DomainError("This call has no safety review.", code="no_safety_review")
    if hazard_class not in classes:
        raise DomainError(
            "%(given)s is not a hazard class of this call: %(classes)s.",
            field="hazard_class",
            given=hazard_class[:40] or "-",
            classes=", ".join(classes),
        )
    if decision not in SAFETY_DECISIONS:
        raise DomainError("The safety decision is pending, approved or refused.", field="decision")
    conflicted = proposal.id in policies.conflicted_proposal_ids(session, reviewer, [proposal])
    if conflicted or policies.on_team(reviewer, proposal):
        raise conflicted_pair()
    sr = queries.safety_reviews_of(session, [proposal.id]).get(proposal.id)
    if sr is None:
        sr = SafetyReview(call_id=proposal.call_id, proposal_id=proposal.id)
        session.add(sr)
    sr.reviewer_id = reviewer.id
    sr.hazard_class = hazard_class
    sr.decision = decision
    sr.notes_to_panel = notes_to_panel
    sr.notes_to_applicants = notes_to_applicants
    sr.updated_at = utcnow()
    session.flush()
    auditlog.record(
        session,
        "safety_review.saved",
        "proposal",
        proposal.id,
        actor_id=reviewer.id,
        call_id=proposal.call_id,
        data={"hazard_class": hazard_class, "decision": decision},
    )
    return sr
