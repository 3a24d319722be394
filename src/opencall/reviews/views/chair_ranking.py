"""The chair's ranking of a call (also as CSV) and its freeze. The chair sees identities
of a dual-anonymous call only once the ranking is frozen."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from opencall.calls.access import staff_call
from opencall.calls.models import Call
from opencall.calls.schemas import review_settings
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.reviews import policies, services
from opencall.reviews import queries as q
from opencall.reviews.models import RankedProposal
from opencall.reviews.presenters import labels, proposal_rows
from opencall.reviews.views.common import cockpit_error
from opencall.web.csv import csv_response, wants_csv
from opencall.web.forms import MSG_CONFIRM
from opencall.web.pages import Page, get_page
from opencall.web.paging import paginate_query

router = APIRouter()


#: ranked proposals shown on one page (the CSV has them all): a conference's 20,000
#: were one page, each proposal read whole with its team
PER_PAGE = 50


@router.get("/manage/calls/{slug}/ranking", response_class=HTMLResponse)
def ranking(slug: str, page: Page = Depends(get_page)) -> Response:
    call = staff_call(page, slug)
    withheld = policies.withheld(page.db, page.user, call)
    if wants_csv(page):
        return _ranking_csv(page, call, withheld)
    run = q.latest_run(page.db, call, "calibration")
    # one page of the ranking, in rank order, in the database: only the ranked ones
    # (none before a ranking), never every proposal of the call
    ranked, pager = paginate_query(
        page.db,
        select(RankedProposal)
        .join(Proposal, Proposal.id == RankedProposal.proposal_id)
        .where(
            RankedProposal.run_id == (run.id if run else -1),
            Proposal.call_id == call.id,
            Proposal.status.in_(q.REVIEWABLE),
            RankedProposal.proposal_id.not_in(withheld),
        )
        .order_by(RankedProposal.rank, RankedProposal.id),
        page.request.query_params,
        PER_PAGE,
        "#ranking",
        path=f"/manage/calls/{call.slug}/ranking",
    )
    ids = [r.proposal_id for r in ranked]
    proposals = list(page.db.scalars(select(Proposal).where(Proposal.id.in_(ids)))) if ids else []
    rows = proposal_rows(page, call, proposals)
    return page.render(
        "reviews/ranking.html",
        {
            "call": call,
            "ranked": ranked,
            "pager": pager,
            "rows": rows,
            "tech": q.technical_reviews_of(page.db, ids),
            "n": max(1, pager.total),
            "identities": policies.may_see_identities(page.db, page.user, call),
            "run": run,
            # a letter or word scale: each score said with its nearest label
            "rs": review_settings(call.review_settings),
            # the panel's consensus on the proposals of this page (grade and comment)
            "panel": q.panel_consensus_of(page.db, ids),
            # a grade submitted or removed, or a conflict found, since the calibration
            "stale": call.ranking_frozen_at is None
            and not services.ranking_is_current(page.db, call),
            "withheld": withheld,
            "late": _late_conflicts(page, call, withheld),
            "may_unfreeze": services.unfreeze_refusal(page.db, call) is None,
            **labels(page),
        },
    )


def _late_conflicts(page: Page, call: Call, withheld: frozenset[int]) -> list[dict[str, object]]:
    """The conflicts the call's reviewers declared after submitting their review (their
    grades no longer count): proposal code, reviewer, when and why; none of a proposal
    the chair has left the room for (``withheld``). The proposal by its code alone, as
    on the reviewer's side: no team."""
    late = [c for c in q.late_conflicts(page.db, call) if c.proposal_id not in withheld]
    if not late:
        return []
    codes = q.codes_and_titles(page.db, call, [c.proposal_id for c in late])
    names = dict(
        page.db.execute(
            select(User.id, User.name).where(User.id.in_({c.reviewer_id for c in late}))
        )
        .tuples()
        .all()
    )
    return [
        {
            "code": codes.get(c.proposal_id, {}).get("code", ""),
            "reviewer": names.get(c.reviewer_id, ""),
            "at": c.at,
            "reason": c.reason,
        }
        for c in late
    ]


def _ranking_csv(page: Page, call: Call, withheld: frozenset[int]) -> Response:
    """Every ranked proposal (the page shows one page of them), named by code and title
    read as columns."""
    ranked = [r for r in q.ranking(page.db, call) if r.proposal_id not in withheld]
    run = q.latest_run(page.db, call, "calibration")
    rows = (
        q.codes_and_titles(
            page.db, call, select(RankedProposal.proposal_id).where(RankedProposal.run_id == run.id)
        )
        if run is not None
        else {}
    )
    tech = q.technical_reviews(page.db, call) if run is not None else {}
    return csv_response(
        f"{call.slug}-ranking.csv",
        [
            "rank",
            "rank_lo",
            "rank_hi",
            "proposal",
            "title",
            "score",
            "score_lo",
            "score_hi",
            "raw_mean",
            "discuss",
            "technical",
        ],
        (
            (
                r.rank,
                r.rank_lo,
                r.rank_hi,
                rows[r.proposal_id]["code"],
                rows[r.proposal_id]["title"],
                f"{r.score:.4f}",
                f"{r.score_lo:.4f}",
                f"{r.score_hi:.4f}",
                "" if r.raw_mean is None else f"{r.raw_mean:.3f}",
                "yes" if r.discuss else "",
                tech[r.proposal_id].verdict if r.proposal_id in tech else "",
            )
            for r in ranked
            if r.proposal_id in rows
        ),
    )


def _confirmed(page: Page, slug: str, step: Callable[[Call], object]) -> Response:
    """A confirmed change of the ranking's freeze, back on the ranking page (or the
    cockpit with the refusal, nothing changed)."""
    call = staff_call(page, slug)
    if not page.confirmed:
        return cockpit_error(page, call, page._(MSG_CONFIRM))
    with page.attempt() as refused:
        step(call)
    if refused:
        return cockpit_error(page, call, refused.message)
    return page.redirect(f"/manage/calls/{call.slug}/ranking", "saved")


@router.post("/manage/calls/{slug}/ranking/freeze", response_class=HTMLResponse)
def freeze(slug: str, page: Page = Depends(get_page)) -> Response:
    return _confirmed(
        page, slug, lambda call: services.freeze_ranking(page.db, call, actor_id=page.user.id)
    )


@router.post("/manage/calls/{slug}/ranking/unfreeze", response_class=HTMLResponse)
def unfreeze(slug: str, page: Page = Depends(get_page)) -> Response:
    """Undo a freeze made too early (reason required, audited), before the allocation."""
    reason = page.form.get("reason", "")[:4000]
    return _confirmed(
        page,
        slug,
        lambda call: services.unfreeze_ranking(page.db, call, reason=reason, actor_id=page.user.id),
    )


@router.post("/manage/calls/{slug}/ranking/{proposal_id}/consensus", response_class=HTMLResponse)
def record_consensus(slug: str, proposal_id: int, page: Page = Depends(get_page)) -> Response:
    """The panel's consensus on a proposal, recorded by a chair at the meeting: its grade
    (ranks at the next calibration) and the comment its applicants read."""
    call = staff_call(page, slug)
    p = page.get_visible(Proposal, proposal_id, lambda p: p.call_id == call.id)
    grade, comment = page.form.get("grade", "")[:100], page.form.get("comment", "")[:20001]
    with page.attempt() as refused:
        services.record_consensus(page.db, call, p, page.user, grade=grade, comment=comment)
    if refused:
        return cockpit_error(page, call, refused.message)
    return page.redirect(f"/manage/calls/{call.slug}/ranking", "saved")


# Messages the review services compose in English, catalogued for Translator.message.
