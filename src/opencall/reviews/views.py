"""Reviewers', technical reviewers' and chairs' pages of the review engine.

Thin routes over ``reviews.services``; every route asks ``reviews.policies``
(or ``calls.policies``) and answers 404 when the answer is no. Long steps are
job rows written in the request's transaction (``opencall.jobs.enqueue``) and
run after commit (inline in the demo, else by ``opencall worker``); the job
page shows their progress.

Dual-anonymous calls: reviewers see the frozen revision without the team (no
names, institutions, countries, e-mails, attachment file names, team size);
the chair sees identities only once the ranking is frozen.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from opencall import jobs
from opencall.calls.access import staff_call
from opencall.calls.domain import CALL_TRANSITIONS
from opencall.calls.models import Call
from opencall.calls.policies import may_administer
from opencall.calls.schemas import review_settings
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.facilities.domain import unit_label
from opencall.inputs import finite_number
from opencall.people.models import User
from opencall.proposals import services as prop_services
from opencall.proposals.models import Attachment, Proposal
from opencall.reviews import policies, services
from opencall.reviews import queries as q
from opencall.reviews.models import Conflict, ReviewAssignment, TechnicalReview
from opencall.reviews.notify import notify_invited
from opencall.reviews.policies import reviewer_content, revision
from opencall.reviews.presenters import (  # noqa: F401  (importable here as before)
    ASSIGNMENT_STATUS,
    VERDICTS,
    labels,
    proposal_rows,
    with_units,
)
from opencall.web.csv import csv_response, wants_csv
from opencall.web.i18n import N_
from opencall.web.pages import Page, download_response, get_page

router = APIRouter()

CONFLICT_SOURCES = {
    "team": N_("member of the team"),
    "institution": N_("same institution"),
    "coauthor": N_("recent co-author or advisor"),
    "personal": N_("personal"),
    "declared_reviewer": N_("declared by the reviewer"),
    "declared_applicant": N_("declared by the applicant"),
    "own_proposal": N_("own proposal"),
}
CONFLICT_MASKED = N_("conflict of interest")
# The steps of the cycle a chair runs as jobs: kind, label, call states allowed.
STEPS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "conflicts": ("review.conflicts", N_("Detect conflicts"), ("closed", "review")),
    "affinity": ("review.affinity", N_("Compute affinity"), ("closed", "review")),
    "assignment": ("review.assign", N_("Assign reviewers"), ("closed", "review")),
    "calibration": ("review.calibrate", N_("Calibrate and rank"), ("review", "ranking")),
    "allocation": ("allocation.run", N_("Allocate capacity"), ("allocation",)),
    "scheduling": ("schedule.run", N_("Schedule"), ("scheduling",)),
}
MSG_REQUIRED = N_("This field is required.")
MSG_INVALID = N_("This value is not valid.")
MSG_CONFIRM = N_("Tick the box to confirm.")
MSG_CHOOSE_CONFIDENCE = N_("Choose how confident you are in this review (1 to 5).")
MSG_STEP_STATE = N_("This step cannot run while the call is %(status)s.")


# ---------------------------------------------------------------- what a reviewer sees


def _assignment(page: Page, assignment_id: int) -> ReviewAssignment:
    page.require_user()
    a = page.db.get(ReviewAssignment, assignment_id)
    if a is None or not policies.may_open_assignment(page.db, page.user, a):
        page.not_found()
    return a


def review_deadline(call: Call, now: dt.datetime) -> dict[str, Any] | None:
    """The call's review deadline with what is left of it, server-side (no JavaScript):
    ``at``, ``days`` (whole days left; 0 in the last 24 hours), ``overdue`` and
    ``days_over`` (whole days since, when overdue)."""
    at = review_settings(call.review_settings).review_deadline
    if at is None:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    seconds = (at - now).total_seconds()
    return {
        "at": at,
        "overdue": seconds < 0,
        "days": int(seconds // 86400) if seconds >= 0 else 0,
        "days_over": int(-seconds // 86400) if seconds < 0 else 0,
    }


@router.get("/review", response_class=HTMLResponse)
def workspace(page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    mine = q.assignments_of_reviewer(page.db, user.id)
    ids = [a.proposal_id for a in mine]
    # the conflicts and the proposals of every row in one query each (not one per row)
    conflicted = (
        set(
            page.db.scalars(
                select(Conflict.proposal_id).where(
                    Conflict.reviewer_id == user.id, Conflict.proposal_id.in_(ids)
                )
            )
        )
        if ids
        else set()
    )
    props = (
        {p.id: p for p in page.db.scalars(select(Proposal).where(Proposal.id.in_(ids)))}
        if ids
        else {}
    )
    rows = []
    for a in mine:
        if a.proposal_id in conflicted:
            continue
        p = props[a.proposal_id]
        rows.append(
            {"a": a, "p": p, "call": p.call, "deadline": review_deadline(p.call, page.received_at)}
        )
    technical = policies.technical_review_calls(
        page.db, user, list(page.db.scalars(select(Call).order_by(Call.id)))
    )
    roles: set[str] = getattr(user, "nav_roles", set())
    manages = bool(roles & {"call_manager", "provider_admin", "chair", "site_admin"})
    return page.render(
        "reviews/workspace.html",
        {"rows": rows, "technical": technical, "manages": manages, **labels(page)},
    )


def _review_page(page: Page, a: ReviewAssignment, status: int = 200, **extra: Any) -> Response:
    p = page.db.get(Proposal, a.proposal_id)
    assert p is not None
    call = p.call
    rs = review_settings(call.review_settings)
    review = q.review_of(page.db, a.id)
    form = extra.pop("form", None) or {
        "grade": f"{review.grade:g}" if review else "",
        "confidence": str(review.confidence) if review else "",  # nothing preselected
        "comments_to_applicants": review.comments_to_applicants if review else "",
        "comments_to_panel": review.comments_to_panel if review else "",
    }
    return page.render(
        "reviews/assignment.html",
        {
            "a": a,
            "p": p,
            "call": call,
            "rs": rs,
            "content": with_units(page, reviewer_content(page.db, p)),
            "anonymous": not policies.reviewer_sees_team(call),
            "review": review,
            "deadline": review_deadline(call, page.received_at),
            "form": form,
            "errors": extra.pop("errors", {}),
            "may_write": policies.may_write_review(page.db, page.user, a)
            and call.status in policies.REVIEW_STATES,
            **labels(page),
            **extra,
        },
        status=status,
    )


@router.get("/review/assignments/{assignment_id}", response_class=HTMLResponse)
def assignment_page(assignment_id: int, page: Page = Depends(get_page)) -> Response:
    return _review_page(page, _assignment(page, assignment_id))


@router.post("/review/assignments/{assignment_id}/respond", response_class=HTMLResponse)
def respond(assignment_id: int, page: Page = Depends(get_page)) -> Response:
    a = _assignment(page, assignment_id)
    action = page.form.get("action", "")
    if action not in ("accept", "decline"):
        return _review_page(page, a, 400, errors={"form": page._(MSG_INVALID)})
    try:
        services.respond_to_assignment(page.db, a, page.user, accept=action == "accept")
        page.commit()
    except DomainError as exc:
        page.db.rollback()
        return _review_page(page, a, 400, errors={"form": page.t.error(exc)})
    if action == "accept":
        return page.redirect(f"/review/assignments/{a.id}", "saved")
    return page.redirect("/review", "declined")


@router.post("/review/assignments/{assignment_id}/conflict", response_class=HTMLResponse)
def declare_conflict(assignment_id: int, page: Page = Depends(get_page)) -> Response:
    a = _assignment(page, assignment_id)
    try:
        services.declare_conflict(page.db, a, page.user, page.form.get("reason", ""))
        page.commit()
    except DomainError as exc:
        page.db.rollback()
        return _review_page(page, a, 400, errors={"reason": page.t.error(exc)})
    return page.redirect("/review", "removed")


@router.post("/review/assignments/{assignment_id}", response_class=HTMLResponse)
def save_review(assignment_id: int, page: Page = Depends(get_page)) -> Response:
    a = _assignment(page, assignment_id)
    if not policies.may_write_review(page.db, page.user, a):
        page.not_found()
    f = {
        k: page.form.get(k, "")
        for k in ("grade", "confidence", "comments_to_applicants", "comments_to_panel")
    }
    errors: dict[str, str] = {}
    grade: float | None = None
    try:
        grade = float(f["grade"])
    except ValueError:
        errors["grade"] = page._(MSG_REQUIRED) if not f["grade"].strip() else page._(MSG_INVALID)
    confidence = (
        int(f["confidence"]) if f["confidence"].isdecimal() and len(f["confidence"]) < 3 else 0
    )
    if not f["confidence"].strip():  # never preselected: the reviewer chooses
        errors["confidence"] = page._(MSG_CHOOSE_CONFIDENCE)
    final = page.form.get("action") == "submit"
    if not errors and grade is not None:
        try:
            services.submit_review(
                page.db,
                a,
                page.user,
                grade=grade,
                confidence=confidence,
                comments_to_applicants=f["comments_to_applicants"],
                comments_to_panel=f["comments_to_panel"],
                final=final,
            )
            page.commit()
            return page.redirect(
                f"/review/assignments/{a.id}", "review_submitted" if final else "saved"
            )
        except DomainError as exc:
            page.db.rollback()
            errors[exc.field or "form"] = page.t.error(exc)
    return _review_page(page, a, 400, form=f, errors=errors)


@router.get("/review/assignments/{assignment_id}/pdf/{n}")
def assignment_pdf(assignment_id: int, n: int, page: Page = Depends(get_page)) -> Response:
    """The n-th PDF of the reviewed revision, under a neutral file name."""
    a = _assignment(page, assignment_id)
    p = page.db.get(Proposal, a.proposal_id)
    assert p is not None
    return _revision_pdf(page, p, n)


def _revision_pdf(page: Page, p: Proposal, n: int) -> Response:
    """The n-th PDF of the revision under review: the rewritten copy (no metadata,
    scripts, embedded files, comments or forms), never the original."""
    shas = [x.get("sha256") for x in revision(page.db, p).get("attachments", [])]
    if not 0 <= n < len(shas):
        page.not_found()
    att = page.db.scalar(
        select(Attachment).where(Attachment.proposal_id == p.id, Attachment.sha256 == shas[n])
    )
    if att is None:
        page.not_found()
    data = prop_services.clean_attachment_bytes(page.storage, att)
    if data is None:
        page.not_found()
    return download_response(
        data,
        f"{p.code}-{n + 1}.pdf",
        "application/pdf",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
    )


# ---------------------------------------------------------------- technical review


@router.get("/technical/calls/{slug}", response_class=HTMLResponse)
def technical_list(slug: str, page: Page = Depends(get_page)) -> Response:
    call = _technical_call(page, slug)
    done = q.technical_reviews(page.db, call)
    candidates = q.proposals_for_review(page.db, call)
    # the same conflicts as panel reviewers, evaluated once for the whole list
    blocked = policies.conflicted_proposal_ids(page.db, page.user, candidates)
    proposals = [
        p
        for p in candidates
        if p.id not in blocked
        and not any(m.user_id == page.user.id or m.email == page.user.email for m in p.members)
    ]
    return page.render(
        "reviews/technical_list.html",
        {"call": call, "proposals": proposals, "done": done, **labels(page)},
    )


def _technical_call(page: Page, slug: str) -> Call:
    from opencall.calls.queries import call_by_slug

    page.require_user()
    call = call_by_slug(page.db, slug)
    if call is None or not policies.may_technical_review(page.db, page.user, call):
        page.not_found()
    return call


def _technical_proposal(page: Page, proposal_id: int) -> Proposal:
    page.require_user()
    p = page.db.get(Proposal, proposal_id)
    if (
        p is None
        or p.status not in q.REVIEWABLE
        or not policies.may_technical_review_proposal(page.db, page.user, p)
    ):
        page.not_found()
    return p


def _technical_page(page: Page, p: Proposal, status: int = 200, **extra: Any) -> Response:
    tr = page.db.scalar(select(TechnicalReview).where(TechnicalReview.proposal_id == p.id))
    form = extra.pop("form", None) or {
        "verdict": tr.verdict if tr else "",
        "amount_needed": f"{tr.amount_needed:g}" if tr and tr.amount_needed is not None else "",
        "notes_to_panel": tr.notes_to_panel if tr else "",
        "notes_to_applicants": tr.notes_to_applicants if tr else "",
    }
    return page.render(
        "reviews/technical.html",
        {
            "p": p,
            "call": p.call,
            "content": with_units(page, reviewer_content(page.db, p)),
            "anonymous": not policies.reviewer_sees_team(p.call),
            "form": form,
            "verdicts": [(k, page._(v)) for k, v in VERDICTS.items()],
            "errors": extra.pop("errors", {}),
            **labels(page),
        },
        status=status,
    )


@router.get("/technical/proposals/{proposal_id}", response_class=HTMLResponse)
def technical_page(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    return _technical_page(page, _technical_proposal(page, proposal_id))


@router.get("/technical/proposals/{proposal_id}/pdf/{n}")
def technical_pdf(proposal_id: int, n: int, page: Page = Depends(get_page)) -> Response:
    """The technical reviewer's copy of the n-th PDF (rewritten, under a neutral name)."""
    return _revision_pdf(page, _technical_proposal(page, proposal_id), n)


@router.post("/technical/proposals/{proposal_id}", response_class=HTMLResponse)
def technical_save(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    p = _technical_proposal(page, proposal_id)
    f = {
        k: page.form.get(k, "")
        for k in ("verdict", "amount_needed", "notes_to_panel", "notes_to_applicants")
    }
    errors: dict[str, str] = {}
    amount: float | None = None
    if f["amount_needed"].strip():
        amount = finite_number(f["amount_needed"])
        if amount is None:
            errors["amount_needed"] = page._(MSG_INVALID)
    if not errors:
        try:
            services.submit_technical_review(
                page.db,
                p,
                page.user,
                verdict=f["verdict"],
                amount_needed=amount,
                notes_to_panel=f["notes_to_panel"][:20000],
                notes_to_applicants=f["notes_to_applicants"][:20000],
            )
            page.commit()
            return page.redirect(f"/technical/calls/{p.call.slug}", "saved")
        except DomainError as exc:
            page.db.rollback()
            errors[exc.field or "form"] = page.t.error(exc)
    return _technical_page(page, p, 400, form=f, errors=errors)


# ---------------------------------------------------------------- the chair's cockpit


@router.get("/manage/calls/{slug}", response_class=HTMLResponse)
def cockpit(slug: str, page: Page = Depends(get_page)) -> Response:
    call = staff_call(page, slug)
    runs = {
        kind: q.latest_run(page.db, call, kind)
        for kind in ("conflicts", "affinity", "assignment", "calibration", "allocation", "schedule")
    }
    office = may_administer(page.db, page.user, call)
    from opencall.facilities.models import CapacityPool

    offered = {cp.pool_id for cp in call.pools}
    spare_pools = [
        pl
        for pl in page.db.scalars(
            select(CapacityPool).where(CapacityPool.facility_id == call.facility_id)
        )
        if pl.id not in offered
    ]
    # remaining anonymity findings of a dual-anonymous call; the matched text may be a name,
    # so it is shown only to those who may see identities
    anonymity = []
    anonymity_pending = 0
    if call.anonymity == "dual":
        # cached by the anonymity-scan job: the cockpit never extracts or scans
        from opencall.proposals.queries import FINDING_LABELS, cached_findings_of

        see = policies.may_see_identities(page.db, page.user, call)
        reviewed = q.proposals_for_review(page.db, call)
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
                (key, page._(label), call.status in states)
                for key, (_kind, label, states) in STEPS.items()
            ],
            "transitions": [t for t in CALL_TRANSITIONS.get(call.status, ()) if t != "published"],
            "jobs": jobs.jobs_of_call(page.db, call.id),
            "n_proposals": len(q.proposals_for_review(page.db, call)),
            "n_assignments": len(q.assignments_of_call(page.db, call)),
            "n_submitted": len(q.submitted_reviews(page.db, call)),
            "spare_pools": spare_pools if office and call.status in ("draft", "open") else [],
            "spare_options": [
                (
                    str(pl.id),
                    f"{pl.name} ({pl.amount:g} "
                    f"{unit_label(pl.unit, pl.unit_labels, pl.amount, page.lang)})",
                )
                for pl in spare_pools
            ],
            "rs": review_settings(call.review_settings),
            **labels(page),
        },
    )


@router.post("/manage/calls/{slug}/transition", response_class=HTMLResponse)
def transition(slug: str, page: Page = Depends(get_page)) -> Response:
    """Move the call to its next phase: confirmed by a tick, logged with the reason."""
    call = staff_call(page, slug)
    if not may_administer(page.db, page.user, call):
        page.not_found()
    target = page.form.get("target", "")
    reason = page.form.get("reason", "").strip()[:2000]
    if page.form.get("confirm") != "yes":
        return _cockpit_error(page, call, page._(MSG_CONFIRM))
    if target not in CALL_TRANSITIONS.get(call.status, ()) or target == "published":
        return _cockpit_error(page, call, page._(MSG_INVALID))
    if target == "closed" and page.received_at < call.closes_at and page.form.get("early") != "yes":
        # closing before the deadline cuts applicants short: say what it does, then ask again
        return _close_early_page(page, call, reason)
    try:
        cycle.transition_call(page.db, call, target, actor_id=page.user.id, reason=reason)
        page.commit()
    except DomainError as exc:
        page.db.rollback()
        return _cockpit_error(page, call, page.t.error(exc))
    return page.redirect(f"/manage/calls/{call.slug}", "saved")


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


def _cockpit_error(page: Page, call: Call, message: str) -> Response:
    return page.render(
        "manage/message.html",
        {"message": message, "back": f"/manage/calls/{call.slug}"},
        status=400,
    )


@router.post("/manage/calls/{slug}/steps/{step}", response_class=HTMLResponse)
def run_step(slug: str, step: str, page: Page = Depends(get_page)) -> Response:
    """Enqueue one step of the cycle as a job (same transaction), then show its progress."""
    call = staff_call(page, slug)
    if step not in STEPS:
        page.not_found()
    kind, _label, states = STEPS[step]
    if call.status not in states:
        return _cockpit_error(page, call, page._(MSG_STEP_STATE, status=call.status))
    payload: dict[str, Any] = {"call_id": call.id}
    seed = page.form.get("seed", "0")
    payload["seed"] = int(seed) if seed.isdecimal() and len(seed) < 9 else 0
    if step == "assignment" and page.form.get("objective") in ("total", "fair"):
        payload["objective"] = page.form["objective"]
    if step == "scheduling":
        days = page.form.get("days", "")
        if days.isdecimal() and 1 <= int(days) <= 366:
            payload["days"] = int(days)
        start = page.form.get("start", "")
        try:
            if start:
                payload["start"] = dt.date.fromisoformat(start).isoformat()
        except ValueError:
            return _cockpit_error(page, call, page._(MSG_INVALID))
    job = jobs.enqueue(
        page.db, kind, payload, call_id=call.id, created_by=page.user.id, max_attempts=2
    )
    page.commit(background=True)  # never keep the browser waiting for the job
    return page.redirect(f"/manage/jobs/{job.id}")


# ---------------------------------------------------------------- assignment by hand


@router.get("/manage/calls/{slug}/assignment", response_class=HTMLResponse)
def assignment(slug: str, page: Page = Depends(get_page)) -> Response:
    call = staff_call(page, slug)
    return _assignment_page(page, call)


def _assignment_page(page: Page, call: Call, status: int = 200, error: str = "") -> Response:
    proposals = q.proposals_for_review(page.db, call)
    rows = proposal_rows(page, call, proposals)
    reviewers = {u.id: u for u in q.reviewers_of_call(page.db, call)}
    active = q.assignments_of_call(page.db, call)
    for a in active:
        if a.reviewer_id not in reviewers:
            u = page.db.get(User, a.reviewer_id)
            if u is not None:
                reviewers[u.id] = u
    conflicts = list(page.db.scalars(select(Conflict).where(Conflict.call_id == call.id)))
    # a source such as "member of the team" with a named reviewer tells who is on the team
    masked = not policies.may_see_identities(page.db, page.user, call)
    if wants_csv(page):
        return csv_response(
            f"{call.slug}-assignment.csv",
            ["proposal", "title", "reviewer", "status", "source", "score"],
            (
                (
                    rows[a.proposal_id]["code"],
                    rows[a.proposal_id]["title"],
                    reviewers[a.reviewer_id].name if a.reviewer_id in reviewers else a.reviewer_id,
                    a.status,
                    a.source,
                    "" if a.score is None else f"{a.score:.4f}",
                )
                for a in active
                if a.proposal_id in rows
            ),
        )
    by_proposal: dict[int, list[ReviewAssignment]] = {p.id: [] for p in proposals}
    for a in active:
        by_proposal.setdefault(a.proposal_id, []).append(a)
    return page.render(
        "reviews/assignment_table.html",
        {
            "call": call,
            "proposals": proposals,
            "rows": rows,
            "by_proposal": by_proposal,
            "reviewers": reviewers,
            "conflicts": conflicts,
            "conflict_source": (
                lambda src: (
                    page._(CONFLICT_SOURCES.get(src) or src)
                    if not masked or src == "declared_reviewer"
                    else page._(CONFLICT_MASKED)
                )
            ),
            "k": review_settings(call.review_settings).reviewers_per_proposal,
            "error": error,
            **labels(page),
        },
        status=status,
    )


def _int(raw: str) -> int:
    return int(raw) if raw.isdecimal() and len(raw) < 10 else 0


@router.post("/manage/calls/{slug}/assignment/add", response_class=HTMLResponse)
def assignment_add(slug: str, page: Page = Depends(get_page)) -> Response:
    call = staff_call(page, slug)
    p = page.db.get(Proposal, _int(page.form.get("proposal_id", "")))
    r = page.db.get(User, _int(page.form.get("reviewer_id", "")))
    if p is None or r is None or p.call_id != call.id:
        return _assignment_page(page, call, 400, page._(MSG_INVALID))
    try:
        before = {a.id for a in q.assignments_of_call(page.db, call)}
        services.add_assignment(page.db, call, p, r, actor_id=page.user.id)
        notify_invited(page.db, page.settings.base_url, call, before)
        page.commit()
    except DomainError as exc:
        page.db.rollback()
        return _assignment_page(page, call, 400, page.t.error(exc))
    return page.redirect(f"/manage/calls/{call.slug}/assignment", "saved")


@router.post("/manage/calls/{slug}/assignment/{assignment_id}/remove", response_class=HTMLResponse)
def assignment_remove(slug: str, assignment_id: int, page: Page = Depends(get_page)) -> Response:
    call = staff_call(page, slug)
    a = page.db.get(ReviewAssignment, assignment_id)
    if a is None or a.call_id != call.id:
        page.not_found()
    try:
        services.remove_assignment(
            page.db, a, actor_id=page.user.id, reason=page.form.get("reason", "")[:2000]
        )
        page.commit()
    except DomainError as exc:
        page.db.rollback()
        return _assignment_page(page, call, 400, page.t.error(exc))
    return page.redirect(f"/manage/calls/{call.slug}/assignment", "removed")


# ---------------------------------------------------------------- ranking


@router.get("/manage/calls/{slug}/ranking", response_class=HTMLResponse)
def ranking(slug: str, page: Page = Depends(get_page)) -> Response:
    call = staff_call(page, slug)
    ranked = q.ranking(page.db, call)
    proposals = {p.id: p for p in q.proposals_for_review(page.db, call)}
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
            **labels(page),
        },
    )


@router.post("/manage/calls/{slug}/ranking/freeze", response_class=HTMLResponse)
def freeze(slug: str, page: Page = Depends(get_page)) -> Response:
    call = staff_call(page, slug)
    if page.form.get("confirm") != "yes":
        return _cockpit_error(page, call, page._(MSG_CONFIRM))
    try:
        services.freeze_ranking(page.db, call, actor_id=page.user.id)
        page.commit()
    except DomainError as exc:
        page.db.rollback()
        return _cockpit_error(page, call, page.t.error(exc))
    return page.redirect(f"/manage/calls/{call.slug}/ranking", "saved")


# Messages the review services compose in English, catalogued for Translator.message.
SERVICE_MESSAGES = (
    N_("This review was already submitted."),
    N_("Please say briefly why you are conflicted."),
    N_("This reviewer is conflicted with this proposal; the pair is refused."),
    N_("This person is not a reviewer of this call."),
    N_("A team member cannot review their own proposal."),
    N_("This reviewer already has the maximum load of %(n)s."),
    N_("This reviewer is already assigned to this proposal."),
    N_("A submitted review cannot be unassigned."),
    N_("This invitation was already %(status)s."),
    N_("Reviews are accepted only while the call is in review."),
    N_("The grade must be a number."),
    N_("The grade must lie between %(lo)s and %(hi)s."),
    N_("Confidence is 1 (low) to 5 (high)."),
    N_("Comments are limited to 20,000 characters."),
    N_("Please write comments to the applicants."),
    N_("Verdict is feasible, feasible with changes or not feasible."),
    N_("The amount judged necessary cannot be negative."),
    N_("Calibrate the grades before freezing the ranking."),
    N_("A call cannot move from '%(a)s' to '%(b)s'; from '%(c)s' it can go to: %(next)s."),
    N_("A call must offer at least one capacity pool before it opens."),
    N_("Closing before the deadline needs a reason (it cuts applicants short)."),
)
