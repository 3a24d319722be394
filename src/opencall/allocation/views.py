"""The chair's decisions page: outcomes with their explanations, awards,
overrides with a required reason, and the release of decisions and feedback
(e-mailed to each team member in their language, after commit)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from opencall.allocation import policies, services
from opencall.allocation.models import Award
from opencall.calls.manage_views import csv_response, staff_call, wants_csv
from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.facilities.models import CapacityPool
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.reviews import queries as rq
from opencall.reviews.views import labels, mail_text, proposal_rows
from opencall.web.i18n import N_, Translator
from opencall.web.mail import queue_mail
from opencall.web.pages import Page, get_page
from opencall.web.paging import paginate

router = APIRouter()

OUTCOMES = {
    "awarded": N_("awarded"),
    "partial": N_("partly awarded"),
    "awarded_partially": N_("partly awarded"),
    "waitlisted": N_("waiting list"),
    "not_awarded": N_("not awarded"),
}
SUBJECT_DECISION = N_("The decision on your proposal %(code)s")
MSG_INVALID = N_("This value is not valid.")

#: Decisions shown on one page (the CSV has them all); a large call's page was 251 KB.
PER_PAGE = 50


def _call(page: Page, slug: str) -> Call:
    call = staff_call(page, slug)
    if not policies.may_see_decisions(page.db, page.user, call):
        page.not_found()
    return call


def _awards(page: Page, call: Call) -> dict[int, list[tuple[Award, CapacityPool]]]:
    out: dict[int, list[tuple[Award, CapacityPool]]] = defaultdict(list)
    for a, pool in page.db.execute(
        select(Award, CapacityPool)
        .join(CapacityPool, CapacityPool.id == Award.pool_id)
        .where(Award.call_id == call.id)
        .order_by(Award.id)
    ):
        out[a.proposal_id].append((a, pool))
    return out


def _decisions_page(page: Page, call: Call, status: int = 200, **extra: Any) -> Response:
    decisions = services.decisions(page.db, call)
    proposals = rq.proposals_for_review(page.db, call)
    rows = proposal_rows(page, call, proposals)
    awards = _awards(page, call)
    rank = {r.proposal_id: r for r in rq.ranking(page.db, call)}
    if wants_csv(page):
        return csv_response(
            f"{call.slug}-decisions.csv",
            [
                "proposal",
                "title",
                "rank",
                "outcome",
                "priority",
                "awarded",
                "explanation",
                "override_reason",
            ],
            (
                (
                    rows[d.proposal_id]["code"],
                    rows[d.proposal_id]["title"],
                    rank[d.proposal_id].rank if d.proposal_id in rank else "",
                    d.outcome,
                    d.priority,
                    "; ".join(
                        f"{pool.name}: {a.amount:g} {pool.unit}"
                        for a, pool in awards[d.proposal_id]
                    ),
                    d.explanation,
                    d.override_reason,
                )
                for d in decisions
                if d.proposal_id in rows
            ),
        )
    decisions.sort(key=lambda d: rank[d.proposal_id].rank if d.proposal_id in rank else 10**9)
    used: dict[int, float] = defaultdict(float)
    for lst in awards.values():
        for a, _pool in lst:
            used[a.pool_id] += a.amount
    shown, pager = paginate(
        [d for d in decisions if d.proposal_id in rows],
        page.request.query_params,
        PER_PAGE,
        "#decisions",
    )
    return page.render(
        "allocation/decisions.html",
        {
            "call": call,
            "decisions": shown,
            "pager": pager,
            "rows": rows,
            "rank": rank,
            "awards": awards,
            "used": used,
            "run": rq.latest_run(page.db, call, "allocation"),
            "may_override": policies.may_override(page.db, page.user, call),
            "may_release": policies.may_release(page.db, page.user, call)
            and call.decisions_released_at is None
            and bool(decisions),
            "outcome_label": lambda o: page._(OUTCOMES.get(o) or o),
            "errors": extra.pop("errors", {}),
            **labels(page),
        },
        status=status,
    )


@router.get("/manage/calls/{slug}/decisions", response_class=HTMLResponse)
def decisions(slug: str, page: Page = Depends(get_page)) -> Response:
    return _decisions_page(page, _call(page, slug))


@router.post("/manage/calls/{slug}/decisions/{proposal_id}/override", response_class=HTMLResponse)
def override(slug: str, proposal_id: int, page: Page = Depends(get_page)) -> Response:
    call = _call(page, slug)
    if not policies.may_override(page.db, page.user, call):
        page.not_found()
    p = page.db.get(Proposal, proposal_id)
    if p is None or p.call_id != call.id:
        page.not_found()
    outcome = page.form.get("outcome", "")
    reason = page.form.get("reason", "")[:2000]
    try:
        services.override_decision(
            page.db, call, p, outcome=outcome, reason=reason, actor_id=page.user.id
        )
        page.commit()
    except DomainError as exc:
        page.db.rollback()
        return _decisions_page(page, call, 400, errors={p.id: page.t.message(exc.message)})
    return page.redirect(f"/manage/calls/{call.slug}/decisions#p{p.id}", "saved")


@router.post("/manage/calls/{slug}/release", response_class=HTMLResponse)
def release(slug: str, page: Page = Depends(get_page)) -> Response:
    call = _call(page, slug)
    if not policies.may_release(page.db, page.user, call):
        page.not_found()
    if page.form.get("confirm") != "yes":
        return _decisions_page(page, call, 400, errors={0: page._("Tick the box to confirm.")})
    try:
        already = call.decisions_released_at is not None
        services.release_decisions(page.db, call, actor_id=page.user.id)
        if not already:
            notify_decisions(page, call)
        page.commit()
    except DomainError as exc:
        page.db.rollback()
        return _decisions_page(page, call, 400, errors={0: page.t.message(exc.message)})
    return page.redirect(f"/manage/calls/{call.slug}/decisions", "saved")


def notify_decisions(page: Page, call: Call) -> int:
    """One e-mail per accepted team member: the decision is ready (read it on the site)."""
    n = 0
    base = page.settings.base_url.rstrip("/")
    for d in services.decisions(page.db, call):
        p = page.db.get(Proposal, d.proposal_id)
        if p is None:
            continue
        for m in p.members:
            if m.status != "accepted":
                continue
            user = page.db.get(User, m.user_id) if m.user_id else None
            lang = user.language if user else "en"
            body = mail_text(
                "allocation/mail_decision.txt",
                lang,
                {
                    "name": m.name,
                    "code": p.code,
                    "title": p.title,
                    "call": call.title,
                    "link": f"{base}/proposals/{p.id}/outcome",
                },
            )
            queue_mail(
                page.db, m.email, Translator(lang).gettext(SUBJECT_DECISION, code=p.code), body
            )
            n += 1
    return n


SERVICE_MESSAGES = (
    N_("An override needs a reason."),
    N_("Override to 'awarded' or 'not_awarded'."),
    N_("Decisions were already released; an override is no longer possible."),
    N_("Run the allocation before overriding it."),
    N_(
        "Awarding this proposal would overdraw capacity; free capacity first by "
        "overriding another award to 'not awarded'."
    ),
    N_("There are no decisions to release."),
    N_("Tick the box to confirm."),
)
