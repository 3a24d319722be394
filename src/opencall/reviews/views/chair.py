"""The chair's and user office's cockpit of a call's review: its state and jobs, the
call's phase transitions (through ``opencall.cycle``), the cycle's steps as jobs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from opencall import jobs
from opencall.calls.access import staff_call
from opencall.calls.domain import check_call_transition
from opencall.calls.models import Call
from opencall.calls.policies import may_administer
from opencall.calls.presenters import date_error, parse_when
from opencall.calls.schemas import review_settings
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.facilities.domain import unit_label
from opencall.inputs import calendar_date, local_number, whole_number
from opencall.proposals.domain import WITHDRAWABLE_CALL
from opencall.proposals.models import Proposal
from opencall.proposals.queries import submission_extensions_of
from opencall.proposals.services import withdraw_on_request
from opencall.proposals.services.extensions import EXTENDABLE_CALL
from opencall.proposals.workflow import extend_submission_deadline
from opencall.reviews import policies
from opencall.reviews import queries as q
from opencall.reviews.presenters import STEP_LABELS, labels
from opencall.reviews.views.common import cockpit_error
from opencall.web.forms import MSG_CONFIRM, MSG_INVALID
from opencall.web.i18n import N_
from opencall.web.pages import Page, Refusal, get_page

router = APIRouter()

MSG_NO_SUCH_PROPOSAL = N_("This call has no proposal %(code)s.")


@router.get("/manage/calls/{slug}", response_class=HTMLResponse)
def cockpit(slug: str, page: Page = Depends(get_page)) -> Response:
    call = staff_call(page, slug)
    runs = {
        kind: q.latest_run(page.db, call, kind)
        for kind in ("conflicts", "affinity", "assignment", "calibration", "allocation", "schedule")
    }
    office = may_administer(page.db, page.user, call)
    from opencall.calls.queries import offerable_pools, partners_of

    offered = {cp.pool_id for cp in call.pools}
    # a joint call's accepted partners' resources too, named with their facility
    spare_pools = [pl for pl in offerable_pools(page.db, call) if pl.id not in offered]
    # remaining anonymity findings of a dual-anonymous call; the matched text may be a name,
    # so it is shown only to those who may see identities
    anonymity = []
    anonymity_pending = 0
    if call.anonymity == "dual":
        # cached by the anonymity-scan job: the cockpit never extracts or scans
        from opencall.proposals.queries import FINDING_LABELS, cached_findings_of

        see = policies.may_see_identities(page.db, page.user, call)
        # only the proposals with something to show are read (the others' scans are
        # all done and clean)
        reviewed = q.anonymity_candidates(page.db, call)
        # ... and those whose scans have not run yet are counted, not read
        anonymity_pending = q.unscanned_pending(page.db, call)
        cached = cached_findings_of(page.db, reviewed)
        for p in reviewed:
            found = cached[p.id]
            anonymity_pending += found.pending
            if found.findings:
                anonymity.append(
                    {
                        "code": p.code,
                        "items": [
                            (
                                page._(FINDING_LABELS.get(fd["kind"], fd["kind"])),
                                fd["text"] if see else "•••",
                            )
                            for _where, fd in found.findings
                        ],
                    }
                )
    return page.render(
        "reviews/cockpit.html",
        {
            "call": call,
            "anonymity": anonymity,
            "anonymity_pending": anonymity_pending,
            "office": office,
            "runs": runs,
            "steps": [
                (key, page._(STEP_LABELS[key]), cycle.may_run(call, key)) for key in cycle.STEPS
            ],
            "transitions": cycle.next_statuses(call),
            "jobs": jobs.jobs_of_call(page.db, call.id),
            # counted, not loaded: an assignment or a review row loads its proposal
            "n_proposals": q.count_proposals_for_review(page.db, call),
            "n_assignments": q.count_active_assignments(page.db, call),
            "n_submitted": q.count_submitted_reviews(page.db, call),
            # a joint call's partners: the office invites and withdraws them (as the API)
            "partners": partners_of(page.db, call) if office and not call.parent_id else [],
            "may_invite": office and not call.parent_id and call.status in ("draft", "open"),
            "spare_pools": spare_pools if office and call.status in ("draft", "open") else [],
            "spare_options": [
                (
                    str(pl.id),
                    ("" if pl.facility_id == call.facility_id else f"{pl.facility.name}: ")
                    + f"{pl.name} ({local_number(pl.amount, page.lang)} "
                    f"{unit_label(pl.unit, pl.unit_labels, pl.amount, page.lang)})",
                )
                for pl in spare_pools
            ],
            # what the call offers, each changeable while it is a draft or open (trialfac23)
            "offer_options": [
                (
                    str(cp.pool_id),
                    f"{cp.pool.name} ({local_number(cp.amount, page.lang)} "
                    f"{unit_label(cp.pool.unit, cp.pool.unit_labels, cp.amount, page.lang)})",
                )
                for cp in call.pools
            ]
            if office and call.status in ("draft", "open")
            else [],
            "rs": review_settings(call.review_settings),
            # one applicant's own submission deadline (trialop21b): granted by the staff
            # while the call is open or closed, shown to them (never to reviewers)
            "extendable": call.mode == "deadline" and call.status in EXTENDABLE_CALL,
            "extensions": submission_extensions_of(page.db, call),
            # the office withdraws a proposal on its PI's written request (trialop22)
            "withdrawable": call.status in ("open", *WITHDRAWABLE_CALL),
            **labels(page),
        },
    )


def _named_proposal(page: Page, call: Call) -> Proposal | Response:
    """The call's proposal the form names by its code, or the cockpit saying it has none."""
    code = page.form.get("proposal", "").strip()[:30]
    proposal = page.db.scalar(
        select(Proposal).where(Proposal.call_id == call.id, Proposal.code == code)
    )
    if proposal is None:
        return cockpit_error(page, call, page._(MSG_NO_SUCH_PROPOSAL, code=code))
    return proposal


def _back_to_cockpit(page: Page, call: Call, refused: Refusal) -> Response:
    """After a cockpit form's write: the cockpit, saved, or showing the refusal (nothing
    changed)."""
    if refused:
        return cockpit_error(page, call, refused.message)
    return page.redirect(f"/manage/calls/{call.slug}", "saved")


@router.post("/manage/calls/{slug}/submission-extension", response_class=HTMLResponse)
def extend_submission(slug: str, page: Page = Depends(get_page)) -> Response:
    """Extend one proposal's submission deadline (named by its code; the new deadline on
    the call's clock, a day alone ending with it), audited with the reason given."""
    call = staff_call(page, slug)
    proposal = _named_proposal(page, call)
    if isinstance(proposal, Response):
        return proposal
    until = parse_when(page.form.get("until", "")[:40], call.time_zone or "", end_of_day=True)
    if until is None:
        return cockpit_error(page, call, date_error(page, call.time_zone or ""))
    with page.attempt() as refused:
        extend_submission_deadline(
            page.db,
            proposal,
            until,
            reason=page.form.get("reason", "")[:2000],
            actor_id=page.user.id,
            base_url=page.settings.base_url,
            now=page.received_at,
        )
    return _back_to_cockpit(page, call, refused)


@router.post("/manage/calls/{slug}/withdraw-proposal", response_class=HTMLResponse)
def withdraw_proposal(slug: str, page: Page = Depends(get_page)) -> Response:
    """Withdraw one proposal (named by its code) on its PI's written request, which the
    reason names (audited): also once the close froze it, until the review is over."""
    call = staff_call(page, slug)
    proposal = _named_proposal(page, call)
    if isinstance(proposal, Response):
        return proposal
    with page.attempt() as refused:
        withdraw_on_request(
            page.db,
            proposal,
            reason=page.form.get("reason", "")[:2000],
            actor_id=page.user.id,
            now=page.received_at,
        )
    return _back_to_cockpit(page, call, refused)


@router.post("/manage/calls/{slug}/transition", response_class=HTMLResponse)
def transition(slug: str, page: Page = Depends(get_page)) -> Response:
    """Move the call to its next phase: confirmed by a tick, logged with the reason."""
    call = staff_call(page, slug)
    if not may_administer(page.db, page.user, call):
        page.not_found()
    target = page.form.get("target", "")
    reason = page.form.get("reason", "").strip()[:2000]
    if not page.confirmed:
        return cockpit_error(page, call, page._(MSG_CONFIRM))
    try:  # in the words of the API and ``opencall calls transition``
        check_call_transition(call.status, target)
    except DomainError as exc:
        return cockpit_error(page, call, page.t.error(exc))
    if target == "closed" and page.received_at < call.closes_at and page.form.get("early") != "yes":
        # closing before the deadline cuts applicants short: say what it does, then ask again
        return _close_early_page(page, call, reason)
    with page.attempt() as refused:
        cycle.transition_call(page.db, call, target, actor_id=page.user.id, reason=reason)
    return _back_to_cockpit(page, call, refused)


def _close_early_page(page: Page, call: Call, reason: str) -> Response:
    """The confirmation page of an early close: what closing does, and to how many."""
    counts = dict.fromkeys(("draft", "submitted"), 0)
    for status in page.db.scalars(select(Proposal.status).where(Proposal.call_id == call.id)):
        if status in counts:
            counts[status] += 1
    left = call.closes_at - page.received_at
    return page.render(
        "reviews/close_early.html",
        {
            "call": call,
            "reason": reason,
            "n_drafts": counts["draft"],
            "n_submitted": counts["submitted"],
            "days_left": left.days,
            "hours_left": left.seconds // 3600,
        },
    )


# the scheduling service's window (scheduling.services.run_scheduling) and its refusal
MAX_WINDOW_DAYS = 400
MSG_WINDOW = N_("The scheduling window must be between 1 and 400 days.")


@router.post("/manage/calls/{slug}/steps/{step}", response_class=HTMLResponse)
def run_step(slug: str, step: str, page: Page = Depends(get_page)) -> Response:
    """Enqueue one step of the cycle as a job (same transaction), then show its progress."""
    call = staff_call(page, slug)
    if step not in cycle.STEPS:
        page.not_found()
    try:
        cycle.require_step(call, step)
    except DomainError as exc:
        return cockpit_error(page, call, page.t.error(exc))
    payload: dict[str, Any] = {"call_id": call.id}
    seed = page.form.get("seed", "0")
    payload["seed"] = int(seed) if seed.isdecimal() and len(seed) < 9 else 0
    if step == "assignment" and page.form.get("objective") in ("total", "fair"):
        payload["objective"] = page.form["objective"]
    if step == "scheduling":
        raw = page.form.get("days", "").strip()
        if raw:  # the window the service accepts, else its refusal (nothing queued)
            days = whole_number(raw, most=MAX_WINDOW_DAYS)
            if not days:
                return cockpit_error(page, call, page._(MSG_WINDOW))
            payload["days"] = days
        start = page.form.get("start", "")
        if start:
            day = calendar_date(start)
            if day is None:
                return cockpit_error(page, call, page._(MSG_INVALID))
            payload["start"] = day.isoformat()
    job = jobs.enqueue_once(  # the one already queued or running, if any
        page.db,
        cycle.STEPS[step].kind,
        payload,
        call_id=call.id,
        created_by=page.user.id,
        max_attempts=2,
    )
    page.commit(background=True)  # never keep the browser waiting for the job
    return page.redirect(f"/manage/jobs/{job.id}")
