"""The chair's ranking of a call (also as CSV) and its freeze. The chair sees identities
of a dual-anonymous call only once the ranking is frozen."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from opencall.calls.access import staff_call
from opencall.calls.models import Call
from opencall.reviews import policies, services
from opencall.reviews import queries as q
from opencall.reviews.presenters import labels, proposal_rows
from opencall.reviews.views.common import cockpit_error
from opencall.web.csv import csv_response, wants_csv
from opencall.web.forms import MSG_CONFIRM
from opencall.web.pages import Page, get_page

router = APIRouter()


@router.get("/manage/calls/{slug}/ranking", response_class=HTMLResponse)
def ranking(slug: str, page: Page = Depends(get_page)) -> Response:
    call = staff_call(page, slug)
    withheld = policies.withheld(page.db, page.user, call)
    ranked = [r for r in q.ranking(page.db, call) if r.proposal_id not in withheld]
    # only the ranked ones are shown (none before a ranking): not every proposal of the call
    proposals = {p.id: p for p in q.ranked_proposals(page.db, call)}
    rows = proposal_rows(page, call, list(proposals.values()))
    tech = q.technical_reviews(page.db, call)
    if wants_csv(page):
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
    n = max(1, len(ranked))
    return page.render(
        "reviews/ranking.html",
        {
            "call": call,
            "ranked": [r for r in ranked if r.proposal_id in rows],
            "rows": rows,
            "tech": tech,
            "n": n,
            "identities": policies.may_see_identities(page.db, page.user, call),
            "run": q.latest_run(page.db, call, "calibration"),
            # a grade submitted or removed, or a conflict found, since the calibration
            "stale": call.ranking_frozen_at is None
            and not services.ranking_is_current(page.db, call),
            "withheld": withheld,
            "may_unfreeze": services.unfreeze_refusal(page.db, call) is None,
            **labels(page),
        },
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


# Messages the review services compose in English, catalogued for Translator.message.
