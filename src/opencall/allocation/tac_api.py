"""``/api/v1/calls/{slug}/tac``: the TAC chair's list (trialtac18), its preview, a move or
a band with its reason, and the lock. Same services and policies as
``allocation.tac_views``; a proposal withheld from the caller (their team's, a recorded
conflict) is neither listed nor may be changed (404)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from opencall.allocation import policies, tac
from opencall.calls.models import Call
from opencall.proposals.models import Proposal
from opencall.reviews import policies as review_policies
from opencall.reviews.presenters import chair_call
from opencall.web.api import MANAGE, NOT_FOUND, SLUG, WRITE_ERRORS, Api, get_api, id_param

router = APIRouter(prefix="/api/v1", tags=["allocation"])
STAFF: dict[str, Any] = {"responses": NOT_FOUND, "dependencies": [MANAGE]}
WRITE: dict[str, Any] = {"responses": WRITE_ERRORS, "dependencies": [MANAGE]}


class PlaceOut(BaseModel):
    proposal_id: int
    proposal_code: str
    place: int = Field(description="its place in the chair's order (1 is first)")
    calibrated_place: int = Field(description="its place in the calibrated order")
    tied_places: tuple[int, int] | None = Field(
        None,
        description="the first and last calibrated place of the proposals tied with it on "
        "the calibrated score (null: not tied); the calibration orders a tie by the mean "
        "of the raw grades",
    )
    band: Literal["accept", "reserve", "reject", ""]
    #: (preview only) what the allocation awards it: pool id -> amount
    awarded_calibrated: dict[int, float] | None = None
    awarded_chair: dict[int, float] | None = None
    change: Literal["gains", "loses", "shifts", "same"] | None = None


class AdjustmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read from the TacAdjustment row

    id: int
    proposal_id: int
    kind: Literal["move", "band"]
    steps: int = Field(description="places up (negative: down); 0 for a band")
    band: str
    reason: str
    created_at: dt.datetime


class GroupOut(BaseModel):
    cut: Literal["income_group", "un_region", "ldc"]
    group: str
    awards_calibrated: int
    awards_chair: int
    amount_calibrated: float
    amount_chair: float


class TacListOut(BaseModel):
    locked_at: dt.datetime | None
    places: list[PlaceOut]
    adjustments: list[AdjustmentOut]
    #: (preview only) who benefits, in the unit of ``unit_pool_id``
    groups: list[GroupOut] = []
    unit_pool_id: int | None = None
    withheld: int = Field(0, description="proposals withheld from you, left out of it all")
    version: int = Field(
        0,
        description="the number of changes made to the list; send it as ``seen`` with a "
        "change, which is refused (400) when the list changed since",
    )


def _preview_of(x: tac.Place, preview: bool) -> dict[str, Any]:
    if not preview:
        return {}
    return {"awarded_calibrated": x.before, "awarded_chair": x.after, "change": x.change}


def _out(api: Api, listed: tac.ChairList, preview: bool, listed_call: Call) -> TacListOut:
    ids = [x.proposal_id for x in listed.places]
    stmt = select(Proposal.id, Proposal.code).where(Proposal.id.in_(ids))
    codes: dict[int, str] = {pid: code for pid, code in api.db.execute(stmt).all()}
    return TacListOut(
        locked_at=listed.locked.locked_at if listed.locked else None,
        places=[
            PlaceOut(
                proposal_id=x.proposal_id,
                proposal_code=codes.get(x.proposal_id, ""),
                place=x.chair,
                calibrated_place=x.calibrated,
                tied_places=x.tie,
                band=x.band,  # type: ignore[arg-type]
                **_preview_of(x, preview),
            )
            for x in listed.places
        ],
        adjustments=[AdjustmentOut.model_validate(a) for a in listed.adjustments],
        groups=[
            GroupOut(
                cut=g.cut,  # type: ignore[arg-type]
                group=g.group,
                awards_calibrated=g.awards_before,
                awards_chair=g.awards_after,
                amount_calibrated=round(g.amount_before, 4),
                amount_chair=round(g.amount_after, 4),
            )
            for g in listed.groups
        ],
        unit_pool_id=listed.unit_pool_id,
        withheld=listed.left_out,
        version=tac.version(api.db, listed_call),
    )


def _call(api: Api, slug: str) -> tuple[Call, frozenset[int]]:
    call = chair_call(api, slug)
    if not policies.may_see_decisions(api.db, api.user, call):
        raise api.not_found()
    return call, review_policies.withheld(api.db, api.user, call)


@router.get("/calls/{slug}/tac", response_model=TacListOut, **STAFF)
def tac_list(slug: str = SLUG, api: Api = Depends(get_api)) -> TacListOut:
    """The calibrated ranked list in the TAC chair's order, with the changes so far."""
    call, hidden = _call(api, slug)
    return _out(api, tac.chair_list(api.db, call, hidden), False, call)


@router.get("/calls/{slug}/tac/preview", response_model=TacListOut, **WRITE)
def tac_preview(slug: str = SLUG, api: Api = Depends(get_api)) -> TacListOut:
    """The allocation run in the calibrated order and in the chair's (nothing stored):
    each proposal's award in both, and who benefits by income group, UN region and LDC."""
    call, hidden = _call(api, slug)
    with api.refusing():
        listed = tac.preview(api.db, call, hidden)
    return _out(api, listed, True, call)


@router.post("/calls/{slug}/tac/lock", response_model=TacListOut, **WRITE)
def tac_lock(slug: str = SLUG, api: Api = Depends(get_api)) -> TacListOut:
    """Lock the list: no more moves or bands (audited)."""
    call, hidden = _call(api, slug)
    with api.refusing(commit=True):
        tac.lock(api.db, call, actor_id=api.actor_id)
        out = _out(api, tac.chair_list(api.db, call, hidden), False, call)
    return out


class UnlockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=tac.MAX_REASON, description="required; audited")


@router.post("/calls/{slug}/tac/unlock", response_model=TacListOut, **WRITE)
def tac_unlock(body: UnlockIn, slug: str = SLUG, api: Api = Depends(get_api)) -> TacListOut:
    """Reopen a locked list (the user office, until the decisions are released; audited
    with the reason)."""
    call, hidden = _call(api, slug)
    if not policies.may_unlock_list(api.db, api.user, call):
        raise api.not_found()
    with api.refusing(commit=True):
        tac.unlock(api.db, call, reason=body.reason, actor_id=api.actor_id)
        out = _out(api, tac.chair_list(api.db, call, hidden), False, call)
    return out


class AdjustIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    move: int | None = Field(None, description="places up (negative: down); or give a band")
    band: Literal["accept", "reserve", "reject", ""] | None = Field(
        None, description='a band ("" takes the proposal out of its band); or give a move'
    )
    reason: str = Field(
        max_length=tac.MAX_REASON,
        description="required; audited, and read by the applicant in the decision's "
        "explanation: name no reviewer and no other proposal",
    )
    seen: int | None = Field(
        None, description="the list's ``version`` you read; refused when it changed since"
    )


@router.post("/calls/{slug}/tac/{proposal_id}", response_model=TacListOut, **WRITE)
def tac_adjust(
    body: AdjustIn, slug: str = SLUG, proposal_id: int = id_param(), api: Api = Depends(get_api)
) -> TacListOut:
    """Move one proposal of the list, or set its band, with a reason."""
    call, hidden = _call(api, slug)
    p = api.get_visible(
        Proposal, proposal_id, lambda x: x.call_id == call.id and x.id not in hidden
    )
    with api.refusing(commit=True):
        tac.adjust(
            api.db,
            call,
            p,
            move=body.move,
            band=body.band,
            reason=body.reason,
            actor_id=api.actor_id,
            seen=body.seen,
        )
        out = _out(api, tac.chair_list(api.db, call, hidden), False, call)
    return out
