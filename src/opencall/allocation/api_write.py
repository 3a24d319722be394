"""The JSON API of a call's decisions: a chair's override (with a reason) and the
release of the decisions to the applicants (each accepted team member is e-mailed,
as from the decisions page). Same services and policies as ``allocation.views``."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from opencall.allocation import policies, services, tac
from opencall.allocation.api import DecisionOut, UnreviewedList
from opencall.allocation.notify import queue_decision_mails
from opencall.allocation.presenters import offer_schedule_note
from opencall.calls.models import Call
from opencall.calls.presenters import PhaseOut, move_call
from opencall.calls.queries import unit_words
from opencall.proposals.models import Proposal
from opencall.reviews import policies as review_policies
from opencall.reviews.presenters import chair_call, proposal_dicts
from opencall.web.api import MANAGE, SLUG, WRITE_ERRORS, Api, get_api, id_param

# every route is the chair's: the manage scope, and the refusals documented
router = APIRouter(
    prefix="/api/v1", tags=["allocation"], responses=WRITE_ERRORS, dependencies=[MANAGE]
)


def _overridable(api: Api, slug: str, proposal_id: int) -> tuple[Call, Proposal]:
    """The call and its proposal whose decision the chair may still change (else 404)."""
    call = chair_call(api, slug)
    if not policies.may_override(api.db, api.user, call):
        raise api.not_found()
    return call, api.get_visible(Proposal, proposal_id, lambda row: row.call_id == call.id)


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["awarded", "not_awarded"]
    reason: str = Field(max_length=2000, description="required; kept in the audit log")


@router.post("/calls/{slug}/decisions/{proposal_id}/override", response_model=DecisionOut)
def override(
    body: OverrideIn,
    slug: str = SLUG,
    proposal_id: int = id_param(),
    api: Api = Depends(get_api),
) -> DecisionOut:
    """Override the allocation's decision on one proposal (never overdraws a pool)."""
    call, p = _overridable(api, slug, proposal_id)
    with api.refusing(commit=True):
        d = services.override_decision(
            api.db,
            call,
            p,
            outcome=body.outcome,
            reason=body.reason,
            actor_id=api.actor_id,
        )
        out = DecisionOut.of(d, proposal_dicts(api, call, [p])[p.id], unit_words(call))
    return out


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["reject", "carry"]
    reason: str = Field(
        max_length=2000,
        description="required; a rejection's reason is the explanation the applicant reads",
    )


@router.post("/calls/{slug}/unreviewed/{proposal_id}", response_model=UnreviewedList)
def resolve_unreviewed(
    body: ResolveIn,
    slug: str = SLUG,
    proposal_id: int = id_param(),
    api: Api = Depends(get_api),
) -> UnreviewedList:
    """Resolve a proposal short of reviews before the release: reject it as not reviewed
    or carry it to the allocation (below every reviewed proposal; allocate again)."""
    call, p = _overridable(api, slug, proposal_id)
    with api.refusing(commit=True):
        services.resolve_unreviewed(
            api.db, call, p, action=body.action, reason=body.reason, actor_id=api.actor_id
        )
    return UnreviewedList.of(api, call)


def notify_decisions(api: Api, call: Call) -> int:
    """One e-mail per accepted team member: the decision is ready (read it on the site)."""
    n = 0
    base = api.request.app.state.settings.base_url
    for d in services.decisions(api.db, call):
        p = api.db.get(Proposal, d.proposal_id)
        if p is not None:
            n += len(queue_decision_mails(api.db, call, p, base))
    return n


class ReleaseOut(PhaseOut):
    undecided_count: int = Field(
        description="submitted proposals with no decision: the release is refused while "
        "there are any (code `unresolved`), so 0 unless the call was released before that "
        "rule, when they stayed under review"
    )
    undecided: list[str] = Field(description="their codes")


@router.post("/calls/{slug}/release", response_model=ReleaseOut)
def release(slug: str = SLUG, api: Api = Depends(get_api)) -> ReleaseOut:
    """Release the decisions to the applicants (e-mailed once); refused while submitted
    proposals have no decision (the chair resolves them first). The answer names any left
    with none (a call released before that rule)."""
    call = chair_call(api, slug)
    if not policies.may_release(api.db, api.user, call):
        raise api.not_found()

    def release_once() -> None:
        services.release_decisions(
            api.db, call, actor_id=api.actor_id, then=lambda: notify_decisions(api, call)
        )

    out = move_call(api, call, release_once)
    codes = [p.code for p in services.undecided(api.db, call)]
    return ReleaseOut(**out.model_dump(), undecided_count=len(codes), undecided=codes)


class OfferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=2000, description="required; kept in the audit log")


@router.post("/calls/{slug}/declines/{proposal_id}/offer", response_model=DecisionOut)
def offer(
    body: OfferIn,
    slug: str = SLUG,
    proposal_id: int = id_param(),
    api: Api = Depends(get_api),
) -> DecisionOut:
    """Offer the capacity a declined award freed to a proposal next in line: its whole
    award, never overdrawing a pool (the override's check); its team is e-mailed."""
    call = chair_call(api, slug)
    if not policies.may_offer(api.db, api.user, call):
        raise api.not_found()
    hidden = review_policies.withheld(api.db, api.user, call)
    p = api.get_visible(
        Proposal, proposal_id, lambda row: row.call_id == call.id and row.id not in hidden
    )
    with api.refusing(commit=True):
        made = services.offer(api.db, call, p, reason=body.reason, actor_id=api.actor_id)
        out = _offered(api, call, p, made)
    return out


def _offered(api: Api, call: Call, p: Proposal, made: services.Offer) -> DecisionOut:
    """An offer's answer (its team e-mailed): the decision, and whether the award was
    booked on the stored schedule."""
    queue_decision_mails(api.db, call, p, api.request.app.state.settings.base_url)
    out = DecisionOut.of(made.decision, proposal_dicts(api, call, [p])[p.id], unit_words(call))
    if made.booked is not None:
        out.schedule = "booked" if made.booked else "not_booked"
        out.schedule_note = offer_schedule_note(made.booked)
    return out


@router.post("/calls/{slug}/tac/reserve/offer", response_model=DecisionOut)
def tac_offer_reserve(slug: str = SLUG, api: Api = Depends(get_api)) -> DecisionOut:
    """Offer the capacity a declined award freed to the first proposal of the reserve list,
    in the chair's order, whose whole award fits (never overdrawing a pool); its team is
    e-mailed. Refused (400), changing nothing, when none fits."""
    call = chair_call(api, slug)
    if not policies.may_offer(api.db, api.user, call):
        raise api.not_found()
    with api.refusing(commit=True):
        made = tac.offer_reserve(api.db, call, actor_id=api.actor_id)
        p = api.db.get(Proposal, made.decision.proposal_id)
        assert p is not None
        out = _offered(api, call, p, made)
    return out
