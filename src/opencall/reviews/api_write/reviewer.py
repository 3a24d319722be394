"""A reviewer's API of an assignment: accepting or declining it, declaring a conflict
(the assignment is removed); and their own limit on the proposals they review at once
across calls (``/me/review-load``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from opencall.proposals.models import Proposal
from opencall.reviews import services
from opencall.reviews.api import (
    AssignmentOut,
    LoadLimitOut,
    ReviewLanguagesOut,
    YearLimitOut,
    assignment_fields,
    load_out,
    year_out,
)
from opencall.reviews.models import Conflict
from opencall.reviews.presenters import CONFLICT_MASKED, open_assignment
from opencall.web.api import REVIEW, WRITE_ERRORS, Api, get_api, id_param

# every route is the reviewer's: the review scope, and the refusals documented
router = APIRouter(responses=WRITE_ERRORS, dependencies=[REVIEW])


class RespondIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accept: bool
    reason: str = Field(
        "",
        max_length=2000,
        description="why you decline (optional; the chair of the call reads it); ignored"
        " when accepting",
    )


class ConflictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=2000, description="why (kept for the chair)")


class ConflictOut(BaseModel):
    id: int
    proposal_code: str
    reviewer_id: int
    reviewer: str
    source: str
    detail: str

    @classmethod
    def of(cls, c: Conflict, proposal_code: str, reviewer: str, *, plain: bool) -> ConflictOut:
        """``c`` with its proposal's code and its reviewer's name; unless ``plain``, its
        source and detail masked (where the caller may not see the teams)."""
        return cls(
            id=c.id,
            proposal_code=proposal_code,
            reviewer_id=c.reviewer_id,
            reviewer=reviewer,
            source=c.source if plain else CONFLICT_MASKED,
            detail=c.detail if plain else "",
        )


@router.post("/assignments/{assignment_id}/respond", response_model=AssignmentOut)
def respond(
    body: RespondIn, assignment_id: int = id_param(), api: Api = Depends(get_api)
) -> AssignmentOut:
    """Accept or decline an assignment."""
    a = open_assignment(api, assignment_id)
    user = api.require_user()
    with api.refusing(commit=True):
        services.respond_to_assignment(api.db, a, user, accept=body.accept, reason=body.reason)
        out = AssignmentOut(**assignment_fields(api, a))
    return out


@router.post("/assignments/{assignment_id}/conflict", response_model=ConflictOut, status_code=201)
def declare_conflict(
    body: ConflictIn, assignment_id: int = id_param(), api: Api = Depends(get_api)
) -> ConflictOut:
    """Declare a conflict with the assigned proposal: the assignment is removed. The same
    declaration sent again (a retry after a lost answer) gets the first one's answer and
    changes nothing."""
    user = api.require_user()
    before = services.declared_before(api.db, assignment_id, user)
    if before is not None:
        done, c = before
        p = api.db.get(Proposal, done.proposal_id)
        assert p is not None
        return ConflictOut.of(c, p.code, user.name, plain=True)
    a = open_assignment(api, assignment_id)
    with api.refusing(commit=True):
        c = services.declare_conflict(api.db, a, user, body.reason)
        p = api.db.get(Proposal, c.proposal_id)
        assert p is not None
        out = ConflictOut.of(c, p.code, user.name, plain=True)
    return out


class LoadLimitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_at_once: int | None = Field(
        description="the most proposals you review at once across every call, 1 to 100;"
        " null: no limit of your own (each call's maximum still holds)"
    )


@router.put("/me/review-load", response_model=LoadLimitOut)
def set_review_load(body: LoadLimitIn, api: Api = Depends(get_api)) -> LoadLimitOut:
    """Set (or, with null, lift) your limit on the proposals you review at once across
    calls: no call's assignment, automatic or by hand, gives you more while you still
    have that many to review. Assignments already made stay."""
    user = api.require_user()
    with api.refusing(commit=True):
        services.set_load_limit(api.db, user, body.max_at_once)
        out = load_out(api, user.id)
    return out


class ReviewLanguagesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    languages: list[str] = Field(
        max_length=20,
        description="the languages you review in, ISO 639 codes (e.g. en, es, zh); empty:"
        " not restricted",
    )


@router.put("/me/review-languages", response_model=ReviewLanguagesOut)
def set_review_languages(
    body: ReviewLanguagesIn, api: Api = Depends(get_api)
) -> ReviewLanguagesOut:
    """Set the languages you review in (an empty list lifts the restriction): no call's
    assignment, automatic or by hand, gives you a proposal whose stated language is not
    among them. Assignments already made stay. A code that is not a language: 422,
    nothing changed."""
    user = api.require_user()
    with api.refusing(commit=True):
        langs = services.set_review_languages(api.db, user, body.languages)
    return ReviewLanguagesOut(languages=langs)


class YearLimitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_per_year: int | None = Field(
        description="the most reviews you take in a calendar year across every call, 1 to"
        " 1000; null: no limit per year"
    )


@router.put("/me/review-year", response_model=YearLimitOut)
def set_review_year(body: YearLimitIn, api: Api = Depends(get_api)) -> YearLimitOut:
    """Set (or, with null, lift) your limit on the reviews you take in a calendar year:
    no call's assignment, automatic or by hand, gives you more in the year. Assignments
    already made stay."""
    user = api.require_user()
    with api.refusing(commit=True):
        services.set_year_limit(api.db, user, body.max_per_year)
        out = year_out(api, user.id)
    return out
