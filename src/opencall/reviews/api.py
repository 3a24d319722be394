"""``/api/v1``: a reviewer's assignments and reviews; a chair's view of a
call's proposals, assignment and ranking. Same services and policies as the
pages (identities hidden exactly as there)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from opencall.calls.access import CallListRequest
from opencall.calls.models import Call
from opencall.calls.schemas import review_settings
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.proposals.models import Proposal
from opencall.reviews import policies, services
from opencall.reviews import queries as q
from opencall.reviews.models import Conflict, RankedProposal, ReviewAssignment
from opencall.reviews.policies import reviewer_content
from opencall.reviews.presenters import (
    chair_list,
    open_assignment,
    proposal_dicts,
    staff_pairs_query,
)
from opencall.web import serving
from opencall.web.api import (
    ERRORS,
    MANAGE,
    NOT_FOUND,
    REVIEW,
    Api,
    Paged,
    PageRequest,
    domain_error,
    from_row,
    get_api,
    id_param,
    keyset_page,
    paging,
    refused,
)

router = APIRouter(prefix="/api/v1", tags=["reviews"])
ID = id_param()


class ReviewOut(BaseModel):
    grade: float | None = Field(description="null only in a draft saved without one")
    grade_label: str | None = Field(
        default=None,
        description="on a call graded with letters or words: the grade's label (the grade "
        "is its position, 1 the first and best label); null on a numeric scale",
    )
    confidence: int | None = Field(description="null only in a draft saved without one")
    comments_to_applicants: str
    comments_to_panel: str
    submitted: bool
    version: int = Field(
        description="1 at the first save, one more at each: send it back to have a save "
        "refused (409) when the review changed since it was read"
    )


class AssignmentOut(BaseModel):
    id: int
    call: str
    proposal_code: str
    title: str
    status: str
    language: str | None = Field(
        description="the language the proposal is written in (ISO 639), null when its"
        " team did not state it"
    )


class AssignmentDetail(AssignmentOut):
    content: dict[str, Any]
    review: ReviewOut | None


class AssignmentList(Paged[AssignmentOut]):
    pass


class ReviewIn(BaseModel):
    # an unknown key is refused, not dropped: a misspelt field ("comment_to_applicants")
    # was answered 200 and its text lost, and a field the reviewer may not set
    # ("status", "reviewer_id") looked accepted (trialcrowd15)
    model_config = ConfigDict(extra="forbid")

    grade: (
        Annotated[float, Field(allow_inf_nan=False)] | Annotated[str, Field(max_length=100)] | None
    ) = Field(
        default=None,
        description="required to submit; a draft may wait. A number on the call's scale; "
        "on a call graded with letters or words, the label (or its position, 1 the best)",
    )
    confidence: int | None = Field(
        default=3, ge=1, le=5, description="required to submit; null in a draft: not chosen"
    )
    comments_to_applicants: str = Field(default="", max_length=20000)
    comments_to_panel: str = Field(default="", max_length=20000)
    final: bool = True
    version: int | None = Field(
        default=None,
        ge=0,
        description="the review's version as read (0: none saved yet); another one is "
        "refused, 409, nothing written (a save from elsewhere came in between). "
        "Null: not checked",
    )


def assignment_fields(api: Api, a: ReviewAssignment) -> dict[str, Any]:
    """The fields of ``AssignmentOut`` for ``a`` (``AssignmentDetail`` adds to them)."""
    p = api.db.get(Proposal, a.proposal_id)
    assert p is not None
    return {
        "id": a.id,
        "call": p.call.slug,
        "proposal_code": p.code,
        "title": p.title,
        "status": a.status,
        "language": p.language,
    }


def _review_out(api: Api, a: ReviewAssignment) -> ReviewOut | None:
    r = q.review_of(api.db, a.id)
    if r is None:
        return None
    call = api.db.get(Call, a.call_id)
    assert call is not None
    label = review_settings(call.review_settings).grade_label(r.grade)
    return from_row(ReviewOut, r, submitted=r.submitted_at is not None, grade_label=label or None)


@router.get(
    "/assignments", response_model=AssignmentList, responses={401: {"description": "no token"}}
)
def assignments(api: Api = Depends(get_api), page: PageRequest = Depends(paging)) -> AssignmentList:
    user = api.require_user()
    # q.assignments_of_reviewer less the conflicted ones, paged in SQL; the
    # proposals (and their calls) come in the same query
    conflicted = select(Conflict.id).where(
        Conflict.proposal_id == ReviewAssignment.proposal_id, Conflict.reviewer_id == user.id
    )
    stmt = (
        select(ReviewAssignment, Proposal)
        .join(Proposal, Proposal.id == ReviewAssignment.proposal_id)
        .where(
            ReviewAssignment.reviewer_id == user.id,
            ReviewAssignment.status.in_(("assigned", "accepted", "submitted")),
            ~conflicted.exists(),
        )
    )
    rows, pg = keyset_page(api.db, stmt, [(ReviewAssignment.id, int)], page, lambda r: (r[0].id,))
    return AssignmentList(
        items=[AssignmentOut(**assignment_fields(api, a)) for a, _p in rows], page=pg
    )


@router.get("/assignments/{assignment_id}", response_model=AssignmentDetail, responses=NOT_FOUND)
def assignment(assignment_id: int = ID, api: Api = Depends(get_api)) -> AssignmentDetail:
    a = open_assignment(api, assignment_id)
    p = api.db.get(Proposal, a.proposal_id)
    assert p is not None
    return AssignmentDetail(
        **assignment_fields(api, a),
        content=reviewer_content(api.db, p),
        review=_review_out(api, a),
    )


@router.post(
    "/assignments/{assignment_id}/review",
    response_model=ReviewOut,
    responses={**ERRORS, 409: {"description": "stale version: read the review again"}},
    dependencies=[REVIEW],
)
def review(body: ReviewIn, assignment_id: int = ID, api: Api = Depends(get_api)) -> ReviewOut:
    a = open_assignment(api, assignment_id)
    fields = body.model_dump(exclude={"version"})
    if services.submitted_as(api.db, a, **fields) is not None:
        # the submitted review sent again (its answer lost): answered, nothing written
        out = _review_out(api, a)
        assert out is not None
        return out
    if not policies.may_write_review(api.db, api.user, a):
        raise domain_error(DomainError("This review was already submitted."))
    received = serving.received_at(api.request.scope) or utcnow()
    with api.saving():
        try:
            services.submit_review(
                api.db, a, api.require_user(), **fields, now=received, expected_version=body.version
            )
        except DomainError as exc:
            if exc.code != "stale":
                raise
            api.db.rollback()
            raise refused(exc) from exc  # 409, as a proposal's stale version
    out = _review_out(api, a)
    assert out is not None
    return out


# ---------------------------------------------------------------- the chair's side


class CallProposal(BaseModel):
    id: int
    code: str
    title: str
    status: str
    pi: str | None = None
    institution: str | None = None
    country: str | None = None


class CallProposalList(Paged[CallProposal]):
    identities_shown: bool


@router.get(
    "/calls/{slug}/proposals",
    response_model=CallProposalList,
    responses=NOT_FOUND,
    dependencies=[MANAGE],
)
def call_proposals(chair: CallListRequest = Depends(chair_list)) -> CallProposalList:
    api, call = chair.api, chair.call
    stmt = select(Proposal).where(
        Proposal.call_id == call.id, Proposal.status.in_(q.REVIEWABLE)
    )  # q.proposals_for_review, paged in SQL
    items, pg = chair.rows(stmt, [(Proposal.id, int)], lambda p: (p.id,))
    rows = proposal_dicts(api, call, items)
    return CallProposalList(
        items=[CallProposal(**rows[p.id]) for p in items],
        page=pg,
        identities_shown=policies.may_see_identities(api.db, api.user, call),
    )


class PairOut(BaseModel):
    id: int
    proposal_code: str
    reviewer_id: int
    reviewer: str
    status: str
    source: str
    score: float | None


class PairList(Paged[PairOut]):
    pass


@router.get(
    "/calls/{slug}/assignments", response_model=PairList, responses=NOT_FOUND, dependencies=[MANAGE]
)
def call_assignments(chair: CallListRequest = Depends(chair_list)) -> PairList:
    # q.assignments_of_call with each proposal's code and reviewer's name, paged in SQL
    # a proposal of the caller's own team (or one they are conflicted with): its
    # reviewers are another chair's to see (staff_pairs_query leaves it out)
    stmt = staff_pairs_query(ReviewAssignment, chair.call, chair.api.user).where(
        ReviewAssignment.status.in_(("assigned", "accepted", "submitted"))
    )
    rows, pg = chair.rows(stmt, [(ReviewAssignment.id, int)], lambda r: (r[0].id,))
    out = [
        from_row(PairOut, a, proposal_code=code if status in q.REVIEWABLE else "", reviewer=name)
        for a, code, status, name in rows
    ]
    return PairList(items=out, page=pg)


class RankOut(BaseModel):
    proposal_code: str
    title: str
    rank: int
    rank_lo: int
    rank_hi: int
    score: float
    score_lo: float
    score_hi: float
    raw_mean: float | None
    discuss: bool


class RankList(Paged[RankOut]):
    frozen: bool


@router.get(
    "/calls/{slug}/ranking", response_model=RankList, responses=NOT_FOUND, dependencies=[MANAGE]
)
def call_ranking(chair: CallListRequest = Depends(chair_list)) -> RankList:
    call = chair.call
    # q.ranking of the reviewable proposals, paged in SQL
    run = q.latest_run(chair.api.db, call, "calibration")
    stmt = (
        select(RankedProposal, Proposal)
        .join(Proposal, Proposal.id == RankedProposal.proposal_id)
        .where(
            RankedProposal.run_id == (run.id if run else -1),
            Proposal.status.in_(q.REVIEWABLE),
            Proposal.id.not_in(policies.withheld_query(chair.api.user, call)),
        )
    )
    keys = [(RankedProposal.rank, int), (RankedProposal.id, int)]
    rows, pg = chair.rows(stmt, keys, lambda r: (r[0].rank, r[0].id))
    return RankList(
        items=[from_row(RankOut, r, proposal_code=p.code, title=p.title) for r, p in rows],
        page=pg,
        frozen=call.ranking_frozen_at is not None,
    )


class LoadLimitOut(BaseModel):
    max_at_once: int | None
    to_review: int | None = Field(
        description="the proposals you still have to review in calls in review, counted"
        " against the limit (null without a limit)"
    )


def load_out(api: Api, user_id: int) -> LoadLimitOut:
    """The reviewer's limit across calls and what counts against it (trialrev17)."""
    limit, pending = q.reviews_at_once(api.db, reviewer_id=user_id).get(user_id, (None, None))
    return LoadLimitOut(max_at_once=limit, to_review=pending)


@router.get("/me/review-load", response_model=LoadLimitOut)
def review_load(api: Api = Depends(get_api)) -> LoadLimitOut:
    """Your limit on the proposals you review at once across calls (``PUT`` sets it)."""
    return load_out(api, api.require_user().id)


class ReviewLanguagesOut(BaseModel):
    languages: list[str] = Field(
        description="the languages you review in (ISO 639 codes, sorted); empty: not"
        " restricted (every proposal's language is assumed readable)"
    )


@router.get("/me/review-languages", response_model=ReviewLanguagesOut)
def review_languages(api: Api = Depends(get_api)) -> ReviewLanguagesOut:
    """The languages you review in (``PUT`` sets them): no call gives you a proposal
    whose stated language is not among them."""
    return ReviewLanguagesOut(languages=q.review_languages(api.db, api.require_user().id))


class YearLimitOut(BaseModel):
    max_per_year: int | None
    this_year: int | None = Field(
        description="the reviews given you this calendar year (UTC), counted against the"
        " limit (null without a limit)"
    )


def year_out(api: Api, user_id: int) -> YearLimitOut:
    """The reviewer's limit per calendar year and what counts against it (trialrev18)."""
    limit, taken = q.reviews_this_year(api.db, reviewer_id=user_id).get(user_id, (None, None))
    return YearLimitOut(max_per_year=limit, this_year=taken)


@router.get("/me/review-year", response_model=YearLimitOut)
def review_year(api: Api = Depends(get_api)) -> YearLimitOut:
    """Your limit on the reviews you take in a calendar year (``PUT`` sets it)."""
    return year_out(api, api.require_user().id)
