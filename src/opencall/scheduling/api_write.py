"""The JSON API of publishing a call's results (awards and timetable), and an
applicant's own outcome: decision, awards and schedule, once released. Same
services and policies as ``scheduling.views`` and the outcome page."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from opencall.allocation.presenters import explain
from opencall.calls.presenters import PhaseOut, move_call
from opencall.calls.queries import unit_words
from opencall.proposals import policies as proposal_policies
from opencall.proposals.models import Proposal
from opencall.reviews.presenters import chair_call
from opencall.reviews.queries import feedback_for, panel_comment_for, technical_notes_for
from opencall.scheduling import policies, services
from opencall.scheduling.queries import own_outcome
from opencall.web.api import MANAGE, SLUG, WRITE_ERRORS, Api, get_api, id_param
from opencall.web.i18n import Translator

# every route answers these refusals
router = APIRouter(prefix="/api/v1", tags=["scheduling"], responses=WRITE_ERRORS)


@router.post("/calls/{slug}/publish", response_model=PhaseOut, dependencies=[MANAGE])
def publish(slug: str = SLUG, api: Api = Depends(get_api)) -> PhaseOut:
    """Publish the awards and the timetable (after the decisions were released)."""
    call = chair_call(api, slug)
    if not policies.may_publish(api.db, api.user, call):
        raise api.not_found()
    return move_call(api, call, lambda: services.publish(api.db, call, actor_id=api.actor_id))


class OwnAward(BaseModel):
    pool: str
    unit: str
    amount: float
    fraction: float


class OwnEntry(BaseModel):
    kind: str
    label: str
    start: dt.datetime | None
    end: dt.datetime | None
    amount: float
    explanation: str = Field(
        "",
        description="why the entry is where it is, or not placed (a booking an urgent call "
        'took: moved, or not placed again); "" when nothing needs saying',
    )


class DeclinedOut(BaseModel):
    reason: str
    note: str
    declined_at: dt.datetime


class OutcomeOut(BaseModel):
    proposal_id: int
    code: str
    outcome: str | None
    explanation: str
    declined: DeclinedOut | None = None
    awards: list[OwnAward]
    schedule: list[OwnEntry]
    technical_notes: str = Field(
        "", description='the technical review\'s notes to the applicants ("" without any)'
    )
    feedback: list[str] = Field(
        default_factory=list,
        description="the reviewers' comments to the applicants, as the outcome page gives"
        " them (never the panel's remarks nor who wrote them)",
    )
    panel_comment: str = Field(
        "",
        description="the panel's consensus comment, recorded by the chair at its meeting"
        ' (no reviewer named; "" without one)',
    )


@router.get("/proposals/{proposal_id}/outcome", response_model=OutcomeOut)
def outcome(proposal_id: int = id_param(), api: Api = Depends(get_api)) -> OutcomeOut:
    """The decision on your proposal, its awards and its schedule (the team, once the
    decisions are released)."""
    user = api.require_user()
    p = api.get_visible(
        Proposal, proposal_id, lambda row: proposal_policies.may_see_outcome(user, row)
    )
    own = own_outcome(api.db, p.id)
    d, x = own.decision, own.declined
    return OutcomeOut(
        proposal_id=p.id,
        code=p.code,
        outcome=d.outcome if d else None,
        # in words, as the decisions list says it (the stored form names request kinds)
        explanation=explain(Translator("en"), d, unit_words(p.call)) if d else "",
        declined=DeclinedOut(reason=x.reason, note=x.note, declined_at=x.created_at) if x else None,
        awards=[
            OwnAward(pool=pl.name, unit=pl.unit, amount=a.amount, fraction=a.fraction)
            for a, pl in own.awards
        ],
        schedule=[
            OwnEntry(
                kind=e.kind,
                label=e.label,
                start=e.start,
                end=e.end,
                amount=e.amount,
                explanation=str((e.details or {}).get("explanation") or ""),
            )
            for e in own.schedule
        ],
        technical_notes=technical_notes_for(api.db, p.id),
        feedback=feedback_for(api.db, p.id),
        panel_comment=panel_comment_for(api.db, p.id),
    )
