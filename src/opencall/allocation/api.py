"""``/api/v1/calls/{slug}/decisions`` (chair) and ``/awards`` (chair; anyone once published)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from opencall.allocation import policies, services
from opencall.allocation.models import Award, Decision
from opencall.allocation.presenters import explain
from opencall.calls.access import CallListRequest
from opencall.calls.access import visible_call_api as visible_call
from opencall.calls.models import Call
from opencall.calls.queries import unit_words
from opencall.calls.schemas import review_settings
from opencall.facilities.models import CapacityPool
from opencall.optim.messages import render
from opencall.proposals.models import Proposal
from opencall.reviews import policies as review_policies
from opencall.reviews import queries as rq
from opencall.reviews.presenters import chair_call, chair_list, proposal_dicts
from opencall.web.api import (
    MANAGE,
    NOT_FOUND,
    SLUG,
    Api,
    Paged,
    PageRequest,
    from_row,
    get_api,
    keyset_page,
    paging,
)
from opencall.web.i18n import Translator

router = APIRouter(prefix="/api/v1", tags=["allocation"])
# the call's staff lists: the manage scope, 404 for a call not theirs
STAFF: dict[str, Any] = {"responses": NOT_FOUND, "dependencies": [MANAGE]}


#: the decisions' explanations are said in English, as in the decisions CSV
ENGLISH = Translator("en")


class DecisionOut(BaseModel):
    proposal_code: str
    title: str
    outcome: str
    priority: str
    explanation: str
    overridden: bool
    override_reason: str
    pi: str | None = None
    country: str | None = None
    declined: str | None = Field(
        default=None,
        description="why its PI declined the released award (visa, funding, dates, other); "
        "null when not declined",
    )
    schedule: Literal["booked", "not_booked"] | None = Field(
        default=None,
        description="in the answer to an offer after a decline: 'booked' (placed on the "
        "call's stored schedule without moving anyone), 'not_booked' (it does not fit there "
        "without moving another award: rerun the schedule to place it); null when the call "
        "has no stored schedule, and elsewhere",
    )
    schedule_note: str | None = Field(
        default=None, description="the same in a sentence, with what to do"
    )

    @classmethod
    def of(cls, d: Decision, row: dict[str, Any], units: dict[str, Any]) -> DecisionOut:
        """``d`` on the proposal of ``row`` (``reviews.presenters.proposal_dicts``: with
        the PI and country only where identities may be seen), its explanation in the
        decisions CSV's English words (``units``: the call's ``unit_words``)."""
        return from_row(
            cls,
            d,
            explanation=explain(ENGLISH, d, units),
            proposal_code=row["code"],
            title=row["title"],
            overridden=d.overridden_by is not None,
            pi=row.get("pi"),
            country=row.get("country"),
            declined=None,
            schedule=None,
            schedule_note=None,
        )


class DecisionList(Paged[DecisionOut]):
    released: bool


@router.get("/calls/{slug}/decisions", response_model=DecisionList, **STAFF)
def decisions(chair: CallListRequest = Depends(chair_list)) -> DecisionList:
    call = chair.call
    # services.decisions of the reviewable proposals, paged in SQL
    stmt = (
        select(Decision, Proposal)
        .join(Proposal, Proposal.id == Decision.proposal_id)
        .where(Decision.call_id == call.id, Proposal.status.in_(rq.REVIEWABLE))
    )
    pairs, pg = chair.rows(stmt, [(Decision.id, int)], lambda r: (r[0].id,))
    rows = proposal_dicts(chair.api, call, [p for _d, p in pairs])
    # a proposal of the caller's own team (or conflicted): its outcome, not why
    withheld = review_policies.withheld(chair.api.db, chair.api.user, call)
    # ... and, before the release, not its outcome either
    hidden = review_policies.withheld_outcome(chair.api.db, chair.api.user, call)
    declined = {x.proposal_id: x.reason for x in services.declines(chair.api.db, call)}
    words = unit_words(call)
    return DecisionList(
        items=[
            DecisionOut.of(d, rows[d.proposal_id], words).model_copy(
                update={
                    "explanation": review_policies.MSG_WITHHELD,
                    "override_reason": "",
                    **({"outcome": "", "priority": ""} if d.proposal_id in hidden else {}),
                }
            )
            if d.proposal_id in withheld
            else DecisionOut.of(d, rows[d.proposal_id], words).model_copy(
                update={"declined": declined.get(d.proposal_id)}
            )
            for d, _p in pairs
        ],
        page=pg,
        released=call.decisions_released_at is not None,
    )


class AwardOut(BaseModel):
    proposal_code: str
    title: str
    pool_id: int = Field(
        description="the resource awarded (``/api/v1/resources/{pool_id}``), as the "
        "schedule's entries name it: two resources of one name or unit stay apart"
    )
    pool: str = Field(description="that resource's name")
    unit: str
    amount: float
    fraction: float


class AwardList(Paged[AwardOut]):
    pass


@router.get("/calls/{slug}/awards", response_model=AwardList, **STAFF)
def awards(
    slug: str = SLUG, api: Api = Depends(get_api), page: PageRequest = Depends(paging)
) -> AwardList:
    call = visible_call(api, slug)
    if not policies.awards_are_public(call) and not policies.may_see_decisions(
        api.db, api.user, call
    ):
        raise api.not_found()
    stmt = (
        select(Award, CapacityPool, Proposal)
        .join(CapacityPool, CapacityPool.id == Award.pool_id)
        .join(Proposal, Proposal.id == Award.proposal_id)
        .where(Award.call_id == call.id, Proposal.status.in_(rq.REVIEWABLE))
    )
    # not the award of a proposal of the caller's own team (or conflicted) before the release
    if (hidden := review_policies.withheld_outcome_query(api.user, call)) is not None:
        stmt = stmt.where(Award.proposal_id.not_in(hidden))
    items, pg = keyset_page(api.db, stmt, [(Award.id, int)], page, lambda r: (r[0].id,))
    return AwardList(
        items=[
            from_row(AwardOut, a, proposal_code=p.code, title=p.title, pool=pl.name, unit=pl.unit)
            for a, pl, p in items
        ],
        page=pg,
    )


class UnreviewedOut(BaseModel):
    proposal_code: str
    title: str
    counted_reviews: int | None = Field(
        description="null where the proposal's review is withheld from the caller (their "
        "own team's, or conflicted)"
    )
    resolution: str | None = Field(
        description="reject (not reviewed, so not awarded) | carry (to the allocation, "
        "below every reviewed proposal) | null (none yet: the release waits)"
    )
    reason: str


class UnreviewedList(BaseModel):
    min_reviews: int = Field(description="the call's review setting: fewer counted reviews")
    items: list[UnreviewedOut]

    @classmethod
    def of(cls, api: Api, call: Call) -> UnreviewedList:
        counts = services.counted_reviews(api.db, call)
        short = services.short_of_reviews(api.db, call, counts=counts)
        chosen = services.resolutions(api.db, call)
        rows = proposal_dicts(api, call, short)
        hidden = review_policies.withheld_outcome(api.db, api.user, call)
        return cls(
            min_reviews=review_settings(call.review_settings).min_reviews,
            items=[
                UnreviewedOut(
                    proposal_code=rows[p.id]["code"],
                    title=rows[p.id]["title"],
                    counted_reviews=None,
                    resolution=None,
                    reason=review_policies.MSG_WITHHELD,
                )
                if p.id in hidden
                else UnreviewedOut(
                    proposal_code=rows[p.id]["code"],
                    title=rows[p.id]["title"],
                    counted_reviews=counts.get(p.id, 0),
                    resolution=chosen[p.id].action if p.id in chosen else None,
                    reason=chosen[p.id].reason if p.id in chosen else "",
                )
                for p in short
            ],
        )


@router.get("/calls/{slug}/unreviewed", response_model=UnreviewedList, **STAFF)
def unreviewed(slug: str = SLUG, api: Api = Depends(get_api)) -> UnreviewedList:
    """The call's submitted proposals short of reviews (fewer counted reviews than its
    ``min_reviews``) and the chair's resolution of each; the release waits for them all."""
    call = chair_call(api, slug)
    if not policies.may_see_decisions(api.db, api.user, call):
        raise api.not_found()
    return UnreviewedList.of(api, call)


class AmountOut(BaseModel):
    pool_id: int
    pool: str
    unit: str
    amount: float


class DeclineRow(BaseModel):
    proposal_code: str
    declined_at: dt.datetime
    reason: str | None = Field(description="None where the proposal is withheld from you")
    note: str | None
    freed: list[AmountOut]
    entries_released: int


class LineRow(BaseModel):
    rank: int
    proposal_id: int
    proposal_code: str
    title: str
    awards: list[AmountOut]


class HeldRow(BaseModel):
    rank: int
    proposal_id: int
    proposal_code: str
    title: str
    why: str


class DeclinesOut(BaseModel):
    declines: list[DeclineRow]
    free: list[AmountOut]
    next_in_line: list[LineRow] = Field(
        description="not awarded (or partly), in the ranking's order, whose whole award fits "
        "in the capacity free now; never a proposal withheld from you (your team's, a "
        "recorded conflict)"
    )
    held_by_safety: list[HeldRow] = Field(
        default=[],
        description="those that would be next in line but for their safety review "
        "(refused, none yet, or a hazard class awaiting approval), each with why; never "
        "offered (trialfac24d)",
    )


def declines_of(api: Api, call: Call) -> DeclinesOut:
    """The call's declines, free capacity and next in line, as the chair's page shows them."""
    hidden = review_policies.withheld(api.db, api.user, call)
    pools = {cp.pool_id: cp.pool for cp in call.pools}

    def amount(pool_id: int, value: float) -> AmountOut:
        pool = pools[pool_id]
        return AmountOut(pool_id=pool_id, pool=pool.name, unit=pool.unit, amount=value)

    rows = services.declines(api.db, call)
    line, held = services.line_and_held(api.db, call, hidden)
    ids = [x.proposal_id for x in rows]
    codes = {p.id: p.code for p in api.db.scalars(select(Proposal).where(Proposal.id.in_(ids)))}
    return DeclinesOut(
        declines=[
            DeclineRow(
                proposal_code=codes[x.proposal_id],
                declined_at=x.created_at,
                reason=None if x.proposal_id in hidden else x.reason,
                note=None if x.proposal_id in hidden else x.note,
                freed=[]
                if x.proposal_id in hidden
                else [amount(f["pool_id"], f["amount"]) for f in x.freed if f["pool_id"] in pools],
                entries_released=0 if x.proposal_id in hidden else x.entries_released,
            )
            for x in rows
        ],
        free=[
            amount(pid, v) for pid, v in services.free_capacity(api.db, call).items() if v >= 0.005
        ],
        next_in_line=[
            LineRow(
                rank=rank,
                proposal_id=p.id,
                proposal_code=p.code,
                title=p.title,
                awards=[amount(a.pool_id, a.amount) for a in awards],
            )
            for rank, p, awards in line
        ],
        held_by_safety=[
            HeldRow(
                rank=rank, proposal_id=p.id, proposal_code=p.code, title=p.title, why=render(why)
            )
            for rank, p, why in held
        ],
    )


@router.get("/calls/{slug}/declines", response_model=DeclinesOut, **STAFF)
def declines(slug: str = SLUG, api: Api = Depends(get_api)) -> DeclinesOut:
    """The awards declined by their applicants, the capacity free now and the next in line
    who fit in it (the call's staff)."""
    call = chair_call(api, slug)
    if not policies.may_see_decisions(api.db, api.user, call):
        raise api.not_found()
    return declines_of(api, call)
