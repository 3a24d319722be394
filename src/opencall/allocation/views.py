"""The chair's decisions page: outcomes with their explanations, awards,
overrides with a required reason, and the release of decisions and feedback
(e-mailed to each team member in their language, after commit)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from opencall import jobs
from opencall.allocation import policies, services, tac, tac_order
from opencall.allocation.models import Award, Decision
from opencall.allocation.notify import queue_decision_mails
from opencall.allocation.presenters import (
    BAND_LABELS,
    OUTCOME_LABELS,
    decline_labels,
    explain,
    offer_schedule_note,
    policy_lines,
)
from opencall.calls.access import signed_in_call
from opencall.calls.models import Call
from opencall.calls.queries import unit_words
from opencall.calls.schemas import review_settings
from opencall.facilities.domain import unit_label
from opencall.facilities.labels import unit_labels
from opencall.facilities.models import CapacityPool
from opencall.inputs import plain_number
from opencall.optim.messages import render
from opencall.proposals.models import Proposal
from opencall.reviews import policies as review_policies
from opencall.reviews import queries as rq
from opencall.reviews.models import RankedProposal
from opencall.reviews.presenters import labels, proposal_rows
from opencall.web.csv import csv_response, wants_csv
from opencall.web.forms import MSG_CONFIRM
from opencall.web.i18n import N_, Translator
from opencall.web.pages import Page, get_page
from opencall.web.paging import paginate_query

router = APIRouter()

MSG_UNDECIDED = N_(
    "Submitted proposals with no decision yet: %(n)s — %(codes)s. The release waits until "
    "each has one (see the proposals short of reviews below)."
)
RESOLUTION_LABELS = {
    "reject": N_("rejected as not reviewed"),
    "carry": N_("carried to the allocation, below every reviewed proposal"),
}
MSG_UNDECIDED_RELEASED = N_(
    "Submitted proposals with no decision (no review, so no rank): %(n)s — %(codes)s. "
    "They stayed under review after the release."
)
SUBJECT_DECISION = N_("The decision on your proposal %(code)s")

#: Decisions shown on one page (the CSV has them all); a large call's page was 251 KB.
PER_PAGE = 50


def _call(page: Page, slug: str) -> Call:
    return signed_in_call(page, slug, policies.may_see_decisions)


def _overridable(page: Page, slug: str, proposal_id: int) -> tuple[Call, Proposal]:
    """The call and its proposal whose decision the chair may still change (else 404)."""
    call = _call(page, slug)
    if not policies.may_override(page.db, page.user, call):
        page.not_found()
    return call, page.get_visible(Proposal, proposal_id, lambda p: p.call_id == call.id)


def _awards(
    page: Page, call: Call, proposal_ids: Collection[int] | None = None
) -> dict[int, list[tuple[Award, CapacityPool]]]:
    """The call's awards by proposal (of ``proposal_ids`` only, when given)."""
    stmt = (
        select(Award, CapacityPool)
        .join(CapacityPool, CapacityPool.id == Award.pool_id)
        .where(Award.call_id == call.id)
    )
    if proposal_ids is not None:
        stmt = stmt.where(Award.proposal_id.in_(proposal_ids))
    out: dict[int, list[tuple[Award, CapacityPool]]] = defaultdict(list)
    for a, pool in page.db.execute(stmt.order_by(Award.id)):
        if round(a.amount, 2) > 0:  # a zero amount is no award: no "0 hours" row
            out[a.proposal_id].append((a, pool))
    return out


def _decisions_csv(page: Page, call: Call) -> Response:
    """Every decision (the page shows one page of them)."""
    decisions = services.decisions(page.db, call)
    # the decisions' proposals as columns: no team, request or file
    rows = rq.codes_and_titles(
        page.db, call, select(Decision.proposal_id).where(Decision.call_id == call.id)
    )
    awards = _awards(page, call)
    # a proposal withheld from the reader (their own team's): no rank, no explanation
    withheld = review_policies.withheld(page.db, page.user, call)
    rank = {r.proposal_id: r for r in rq.ranking(page.db, call) if r.proposal_id not in withheld}
    # ... and, before the release, no outcome and no award
    hidden = review_policies.withheld_outcome(page.db, page.user, call)
    masked = page._(review_policies.MSG_WITHHELD)
    # in English, as the awarded column: request kinds and unit keys said in words
    english, words = Translator("en"), unit_words(call)
    # why its PI declined a released award (the reason's code, as the API gives it)
    declined = {x.proposal_id: x.reason for x in services.declines(page.db, call)}
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
            "declined",
        ],
        (
            (
                rows[d.proposal_id]["code"],
                rows[d.proposal_id]["title"],
                rank[d.proposal_id].rank if d.proposal_id in rank else "",
                "" if d.proposal_id in hidden else d.outcome,
                "" if d.proposal_id in hidden else d.priority,
                "; ".join(
                    f"{pool.name}: {plain_number(a.amount)} "
                    f"{unit_label(pool.unit, pool.unit_labels, a.amount, 'en')}"
                    for a, pool in awards[d.proposal_id]
                    if d.proposal_id not in hidden
                ),
                masked if d.proposal_id in withheld else explain(english, d, words),
                "" if d.proposal_id in withheld else d.override_reason,
                "" if d.proposal_id in withheld else declined.get(d.proposal_id, ""),
            )
            for d in decisions
            if d.proposal_id in rows
        ),
    )


def _decisions_page(page: Page, call: Call, status: int = 200, **extra: Any) -> Response:
    if wants_csv(page):
        return _decisions_csv(page, call)
    db = page.db
    calibration = rq.latest_run(db, call, "calibration")
    ranked = aliased(RankedProposal)
    # the decisions on the reviewable proposals, by rank (unranked last), one page of them
    # read: a large call's thousands are never all loaded
    stmt = (
        select(Decision, Proposal, ranked)
        .join(Proposal, Proposal.id == Decision.proposal_id)
        .outerjoin(
            ranked,
            (ranked.proposal_id == Decision.proposal_id)
            & (ranked.run_id == (calibration.id if calibration else -1)),
        )
        .where(Decision.call_id == call.id, Proposal.status.in_(rq.REVIEWABLE))
        .order_by(func.coalesce(ranked.rank, 10**9), Decision.id)
    )
    # the page links lead to this page's address, also when it is shown again at a form's
    shown, pager = paginate_query(
        db,
        stmt,
        page.request.query_params,
        PER_PAGE,
        "#decisions",
        path=f"/manage/calls/{call.slug}/decisions",
    )
    decisions = [d for d, _p, _r in shown]
    errors: dict[Any, str] = dict(extra.pop("errors", {}))
    withheld = review_policies.withheld(db, page.user, call)
    # a withheld row shows no form: its refusal is said at the top too
    on_page = {d.proposal_id for d in decisions} - withheld
    hidden = review_policies.withheld_outcome(db, page.user, call)
    # ... nor does a row of the proposals short of reviews whose count is withheld
    shut = {f"u{i}" for i in hidden}
    for key in [k for k in errors if (isinstance(k, int) and k and k not in on_page) or k in shut]:
        # a refusal for a row not on this page is said at the top, not lost
        errors[0] = errors.pop(key)
    rows = proposal_rows(page, call, [p for _d, p, _r in shown])
    rank = {
        r.proposal_id: r for _d, _p, r in shown if r is not None and r.proposal_id not in withheld
    }
    awards = _awards(page, call, [d.proposal_id for d in decisions])
    any_decision = db.scalar(select(exists().where(Decision.call_id == call.id)))
    # submitted proposals the allocation did not decide on (no review): named once there are
    # decisions (or they are released), as only those who see this page see their codes
    undecided = ""
    if any_decision or call.decisions_released_at is not None:
        codes = list(
            db.scalars(
                select(Proposal.code)
                .where(
                    Proposal.call_id == call.id,
                    Proposal.status.in_(rq.REVIEWABLE),
                    ~exists().where(Decision.proposal_id == Proposal.id),
                )
                .order_by(Proposal.code)
            )
        )
        if codes:
            undecided = page._(
                MSG_UNDECIDED_RELEASED if call.decisions_released_at else MSG_UNDECIDED,
                n=len(codes),
                codes=", ".join(codes),
            )
    # the proposals short of reviews, for the chair to resolve before the release (after
    # it, each has its decision in the list above)
    # (and only once the review is over: before, every proposal would be listed)
    open_ = call.decisions_released_at is None and call.status in services.RESOLVABLE
    counts = services.counted_reviews(db, call) if open_ else {}
    short = services.short_of_reviews(db, call, counts=counts) if open_ else []
    rows |= proposal_rows(page, call, [p for p in short if p.id not in rows])
    # capacity used: every award of the call, summed in the database
    used: dict[int, float] = defaultdict(float)
    for pool_id, amount in db.execute(
        select(Award.pool_id, func.sum(Award.amount))
        .where(Award.call_id == call.id, Award.amount >= 0.005)
        .group_by(Award.pool_id)
    ):
        used[pool_id] = float(amount or 0)
    any_proposal = db.scalar(
        select(exists().where(Proposal.call_id == call.id, Proposal.status.in_(rq.REVIEWABLE)))
    )
    return page.render(
        "allocation/decisions.html",
        {
            "call": call,
            "decisions": decisions,
            "pager": pager,
            "rows": rows,
            "rank": rank,
            "awards": awards,
            "used": used,
            "run": rq.latest_run(db, call, "allocation"),
            "undecided": undecided,
            "short": [(p, counts.get(p.id, 0)) for p in short],
            "min_reviews": review_settings(call.review_settings).min_reviews,
            "resolutions": services.resolutions(db, call),
            "may_resolve": policies.may_override(db, page.user, call)
            and call.status in services.RESOLVABLE,
            "resolution_label": lambda a: page._(RESOLUTION_LABELS.get(a) or a),
            "may_override": policies.may_override(db, page.user, call),
            "may_release": policies.may_release(db, page.user, call)
            and call.decisions_released_at is None
            and services.releasable(call, bool(any_decision), bool(any_proposal)),
            "outcome_label": lambda o: page._(OUTCOME_LABELS.get(o) or o),
            "policy_lines": policy_lines(page._, call, page.lang),
            "explain": lambda d, units=unit_words(call): explain(page.t, d, units),
            "errors": errors,
            "withheld": withheld,
            "hidden": hidden,
            "declined": {x.proposal_id: x for x in services.declines(db, call)},
            **decline_labels(page),
            **labels(page),
            **unit_labels(page),
        },
        status=status,
    )


@router.get("/manage/calls/{slug}/decisions", response_class=HTMLResponse)
def decisions(slug: str, page: Page = Depends(get_page)) -> Response:
    return _decisions_page(page, _call(page, slug))


@router.post("/manage/calls/{slug}/decisions/{proposal_id}/override", response_class=HTMLResponse)
def override(slug: str, proposal_id: int, page: Page = Depends(get_page)) -> Response:
    call, p = _overridable(page, slug, proposal_id)
    outcome = page.form.get("outcome", "")
    reason = page.form.get("reason", "")[:2000]
    with page.attempt() as refused:
        services.override_decision(
            page.db, call, p, outcome=outcome, reason=reason, actor_id=page.user.id
        )
    # the form posts the page of the decisions it is on (``?page=N``): the refusal is shown
    # on that page again, by the proposal's form, and a saved override goes back to it
    if refused:
        return _decisions_page(page, call, 400, errors={p.id: refused.message})
    asked = page.request.query_params.get("page", "")
    where = f"?page={asked}" if asked.isdecimal() and len(asked) < 7 and asked != "1" else ""
    return page.redirect(f"/manage/calls/{call.slug}/decisions{where}#p{p.id}", "saved")


@router.post("/manage/calls/{slug}/unreviewed/{proposal_id}", response_class=HTMLResponse)
def resolve_unreviewed(slug: str, proposal_id: int, page: Page = Depends(get_page)) -> Response:
    """The chair's answer for a proposal short of reviews: reject it as not reviewed (the
    reason is the applicant's explanation) or carry it to the allocation."""
    call, p = _overridable(page, slug, proposal_id)
    with page.attempt() as refused:
        services.resolve_unreviewed(
            page.db,
            call,
            p,
            action=page.form.get("action", ""),
            reason=page.form.get("reason", "")[:4000],
            actor_id=page.user.id,
        )
    if refused:
        # shown by the proposal's form where it is listed, else at the top of the page
        listed = p.id in {q.id for q in services.short_of_reviews(page.db, call)}
        where = f"u{p.id}" if listed and call.status in services.RESOLVABLE else 0
        return _decisions_page(page, call, 400, errors={where: refused.message})
    return page.redirect(f"/manage/calls/{call.slug}/decisions#u{p.id}", "saved")


@router.post("/manage/calls/{slug}/release", response_class=HTMLResponse)
def release(slug: str, page: Page = Depends(get_page)) -> Response:
    call = signed_in_call(page, slug, policies.may_release)
    if not page.confirmed:
        return _decisions_page(page, call, 400, errors={0: page._(MSG_CONFIRM)})
    with page.attempt() as refused:
        # the e-mails queued by the release that released (the demo's inline runner
        # sends them too, Page.commit); a second release at once finds it done
        services.release_decisions(
            page.db, call, actor_id=page.user.id, then=lambda: notify_decisions(page, call)
        )
    if refused:
        return _decisions_page(page, call, 400, errors={0: refused.message})
    return page.redirect(f"/manage/calls/{call.slug}/decisions", "saved")


def notify_decisions(page: Page, call: Call) -> jobs.Job:
    """The decision e-mails of the release (:func:`services.queue_decision_mails`)."""
    return services.queue_decision_mails(page.db, call, actor_id=page.user.id)


def declines_page(page: Page, call: Call, status: int = 200, error: str = "") -> Response:
    """The call's declined awards, the capacity free now, and the next in line who fit in
    it (never a proposal withheld from the reader: their team's, a recorded conflict)."""
    db = page.db
    withheld = review_policies.withheld(db, page.user, call)
    rows = services.declines(db, call)
    line, held = services.line_and_held(db, call, withheld)
    band = tac_order.bands(db, call)
    booked = {"1": True, "0": False}.get(page.request.query_params.get("booked", ""))
    note = offer_schedule_note(booked)
    pools = {cp.pool_id: cp.pool for cp in call.pools}
    free = services.free_capacity(db, call)
    ids = [x.proposal_id for x in rows] + [p.id for _r, p, _a in line + held]
    shown = proposal_rows(
        page, call, list(db.scalars(select(Proposal).where(Proposal.id.in_(ids))))
    )
    return page.render(
        "allocation/declines.html",
        {
            "call": call,
            "declines": rows,
            "rows": shown,
            "line": line,
            # kept out by their safety review, shown with why (trialfac24d)
            "held": [(rank, p, page._(render(why))) for rank, p, why in held],
            "pools": pools,
            "free": [(pools[pid], amt) for pid, amt in free.items() if amt >= 0.005],
            "withheld": withheld,
            **decline_labels(page),
            "may_offer": policies.may_offer(db, page.user, call),
            "band": band,
            "band_label": lambda b: page._(BAND_LABELS.get(b) or b),
            "reserve": any(b == "reserve" for b in band.values()),
            "error": error,
            "schedule_note": page._(note) if note and status == 200 else "",
            "schedule_booked": bool(booked),
            **labels(page),
            **unit_labels(page),
        },
        status=status,
    )


@router.get("/manage/calls/{slug}/declines", response_class=HTMLResponse)
def declines(slug: str, page: Page = Depends(get_page)) -> Response:
    return declines_page(page, _call(page, slug))


@router.post("/manage/calls/{slug}/declines/{proposal_id}/offer", response_class=HTMLResponse)
def offer(slug: str, proposal_id: int, page: Page = Depends(get_page)) -> Response:
    """Offer the freed capacity to a proposal next in line (the override's capacity
    check); its team is mailed the new decision."""
    call = _call(page, slug)
    if not policies.may_offer(page.db, page.user, call):
        page.not_found()
    hidden = review_policies.withheld(page.db, page.user, call)
    p = page.get_visible(
        Proposal, proposal_id, lambda x: x.call_id == call.id and x.id not in hidden
    )
    booked: bool | None = None
    with page.attempt() as refused:
        booked = services.offer(
            page.db, call, p, reason=page.form.get("reason", "")[:4000], actor_id=page.user.id
        ).booked
        queue_decision_mails(page.db, call, p, page.settings.base_url)
    if refused:
        return declines_page(page, call, 400, refused.message)
    # the booking on the stored schedule is said on the page the chair lands on
    where = "" if booked is None else f"?booked={int(booked)}"
    return page.redirect(f"/manage/calls/{call.slug}/declines{where}", "saved")


@router.post("/manage/calls/{slug}/tac/reserve/offer", response_class=HTMLResponse)
def offer_reserve(slug: str, page: Page = Depends(get_page)) -> Response:
    """Offer the capacity a declined award freed to the first proposal of the TAC chair's
    reserve list that fits (``tac.offer_reserve``); its team is mailed the new decision."""
    call = _call(page, slug)
    if not policies.may_offer(page.db, page.user, call):
        page.not_found()
    booked: bool | None = None
    with page.attempt() as refused:
        # else sent already (a double click, a flaky link): one offer, not one a click
        if page.first_sending():
            done = tac.offer_reserve(page.db, call, actor_id=page.user.id)
            booked = done.booked
            p = page.db.get(Proposal, done.decision.proposal_id)
            assert p is not None
            queue_decision_mails(page.db, call, p, page.settings.base_url)
    if refused:
        return declines_page(page, call, 400, refused.message)
    where = "" if booked is None else f"?booked={int(booked)}"
    return page.redirect(f"/manage/calls/{call.slug}/declines{where}", "saved")


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
