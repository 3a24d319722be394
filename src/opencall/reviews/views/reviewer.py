"""A reviewer's pages: the workspace of their assignments, an assignment (accept or
decline it, declare a conflict, save or submit the review) and its PDFs.

Dual-anonymous calls: reviewers see the frozen revision without the team (no names,
institutions, countries, e-mails, attachment file names, team size)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.calls.schemas import review_settings
from opencall.inputs import language_name, whole_number
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.proposals.queries import as_listed, continued_award
from opencall.reviews import policies, services
from opencall.reviews import queries as q
from opencall.reviews.models import Conflict, Review, ReviewAssignment
from opencall.reviews.policies import reviewer_content
from opencall.reviews.presenters import labels, with_units
from opencall.reviews.views.common import MSG_CHOOSE_CONFIDENCE, revision_pdf
from opencall.web.forms import MSG_INVALID, MSG_REQUIRED, MSG_WHOLE
from opencall.web.i18n import N_
from opencall.web.pages import Page, Refusal, get_page

router = APIRouter()


def _assignment(page: Page, assignment_id: int) -> ReviewAssignment:
    page.require_user()
    return page.get_visible(
        ReviewAssignment,
        assignment_id,
        lambda a: policies.may_open_assignment(page.db, page.user, a),
    )


@contextmanager
def _answering(page: Page) -> Iterator[Refusal]:
    """:meth:`Page.attempt` for the reviewer's answer to an assignment: an assignment gone
    since the page read it (the automatic assignment dropped the invitation meanwhile) is
    a 404, not the assignment's page shown again around a row that is no longer there."""
    with page.attempt() as refused:
        yield refused
    if refused.code == "not_found":
        page.not_found()


def review_deadline(
    call: Call, now: dt.datetime, extended: dt.datetime | None = None
) -> dict[str, Any] | None:
    """The call's review deadline (or the reader's own, ``extended`` by the chair) with
    what is left of it, server-side (no JavaScript): ``at``, ``days`` (whole days left;
    0 in the last 24 hours), ``overdue`` and ``days_over`` (whole days since, when
    overdue)."""
    at = review_settings(call.review_settings).review_deadline
    if at is None:
        return None
    if extended is not None:
        at = extended
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
    return _workspace(page)


@router.post("/review/load-limit", response_class=HTMLResponse)
def set_load_limit(page: Page = Depends(get_page)) -> Response:
    """The most proposals the reviewer reviews at once across calls (blank: no limit)."""
    return _own_limit(page, "max_at_once", services.set_load_limit, "load", ("errors", "typed"))


@router.post("/review/year-limit", response_class=HTMLResponse)
def set_year_limit(page: Page = Depends(get_page)) -> Response:
    """The most reviews the reviewer takes in a calendar year across calls (blank: no
    limit; trialrev19: before, only ``PUT /api/v1/me/review-year`` set it)."""
    return _own_limit(
        page, "max_per_year", services.set_year_limit, "year", ("year_errors", "typed_year")
    )


def _own_limit(
    page: Page,
    name: str,
    service: Callable[[Session, User, int | None], int | None],
    anchor: str,
    keys: tuple[str, str],
) -> Response:
    """A limit of the reviewer's own from the form's field ``name`` (a whole number;
    blank: none) through ``service``; refused, *My reviews* again with the message under
    ``keys[0]`` and what was typed under ``keys[1]``, nothing changed."""
    user = page.require_user()
    raw = page.form.get(name, "").strip()
    n = whole_number(raw)
    if raw and n is None:  # (not ``isdecimal``: "9" * 5000 is one, ``int`` refuses it)
        return _workspace(page, 400, **{keys[0]: {name: page._(MSG_WHOLE)}, keys[1]: raw[:20]})
    with page.attempt() as refused:
        service(page.db, user, n)
    if refused:
        return _workspace(page, 400, **{keys[0]: {name: refused.message}, keys[1]: raw[:20]})
    return page.redirect(f"/review#{anchor}", "saved")


@router.post("/review/languages", response_class=HTMLResponse)
def set_review_languages(page: Page = Depends(get_page)) -> Response:
    """The languages the reviewer reviews in, codes separated by commas or spaces
    (blank: not restricted)."""
    user = page.require_user()
    raw = page.form.get("review_languages", "")
    with page.attempt() as refused:
        services.set_review_languages(page.db, user, raw.replace(",", " ").split())
    if refused:
        errors = {"review_languages": refused.message}
        return _workspace(page, 400, lang_errors=errors, typed_languages=raw[:200])
    return page.redirect("/review#languages", "saved")


def _workspace(page: Page, status: int = 200, **extra: Any) -> Response:
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
        {
            p.id: p
            for p in page.db.scalars(
                select(Proposal).where(Proposal.id.in_(ids)).options(*as_listed())
            )
        }
        if ids
        else {}
    )
    extended = q.extensions_of_reviewer(page.db, user.id)
    rows = []
    for a in mine:
        if a.proposal_id in conflicted:
            continue
        p = props[a.proposal_id]
        if a.status == "assigned" and p.call.status not in policies.REVIEW_STATES:
            # an invitation of a call past its review cannot be answered (trialrev21)
            continue
        due = review_deadline(p.call, page.received_at, extended.get(p.call_id))
        rows.append({"a": a, "p": p, "call": p.call, "deadline": due})
    technical = policies.technical_review_calls_of(page.db, user)
    safety = policies.safety_review_calls_of(page.db, user)
    roles: set[str] = getattr(user, "nav_roles", set())
    manages = bool(roles & {"call_manager", "provider_admin", "chair", "site_admin"})
    # the reader's own limit across calls and the reviews they still have to write in
    # the calls in review (``None`` without a limit)
    at_once = q.reviews_at_once(page.db, reviewer_id=user.id).get(user.id)
    # and their limit per calendar year with what this year counts against it
    per_year = q.reviews_this_year(page.db, reviewer_id=user.id).get(user.id)
    # the drafts of reviews of conflicted proposals that this browser may still keep
    # (typed offline, or a save that failed) are dropped by the page's script: nothing
    # of a proposal the reviewer declared a conflict with stays on their device
    # (trialrev23; before, the notes stayed in localStorage after the declaration)
    ended = q.conflicted_assignments_of_reviewer(page.db, user.id)
    return page.render(
        "reviews/workspace.html",
        {
            "rows": rows,
            "drafts_ended": ended,
            "scripts": ["/static/safe-save.js"] if ended else [],
            "technical": technical,
            "safety": safety,
            "manages": manages,
            "at_once": at_once,
            "per_year": per_year,
            "review_languages": q.review_languages(page.db, user.id),
            "errors": {},
            "lang_errors": {},
            "year_errors": {},
            **extra,
            **labels(page),
        },
        status,
    )


def _review_page(page: Page, a: ReviewAssignment, status: int = 200, **extra: Any) -> Response:
    p = page.db.get(Proposal, a.proposal_id)
    assert p is not None
    call = p.call
    rs = review_settings(call.review_settings)
    review = q.review_of(page.db, a.id)
    # nothing preselected (nor in a draft saved before the reviewer chose)
    form = extra.pop("form", None) or _stored_fields(review)
    # a save from this page is checked against the review as it is now (a refused
    # one's form is shown again with the latest version: saving it again is meant)
    form["version"] = str(services.review_version(review))
    return page.render(
        "reviews/assignment.html",
        {
            "a": a,
            "p": p,
            "call": call,
            "rs": rs,
            "content": with_units(page, reviewer_content(page.db, p)),
            "anonymous": not policies.reviewer_sees_team(call),
            # the language it is written in names nobody: shown in dual-anonymous calls too
            "language_shown": language_name(p.language, page.lang) if p.language else "",
            # the earlier award it continues (outcomes19): a dual-anonymous page shows
            # its cycle alone (reviews/_continues.html)
            "continues": continued_award(page.db, p),
            "review": review,
            "deadline": review_deadline(
                call,
                page.received_at,
                q.extensions_of_reviewer(page.db, a.reviewer_id).get(call.id),
            ),
            "form": form,
            "errors": extra.pop("errors", {}),
            "may_write": policies.may_write_review(page.db, page.user, a)
            and call.status in policies.REVIEW_STATES,
            # the review saved in the background on a slow link, kept in the browser
            # until the server has it (the proposal editor's script)
            "scripts": ["/static/safe-save.js"],
            **labels(page),
            **extra,
        },
        status=status,
    )


@router.get("/review/assignments/{assignment_id}", response_class=HTMLResponse)
def assignment_page(assignment_id: int, page: Page = Depends(get_page)) -> Response:
    taken = page.db.get(ReviewAssignment, assignment_id)
    if taken is not None and policies.taken_from(page.db, page.user, taken):
        # the link of the e-mail that assigned it, followed after the chair removed it
        # (trialapp23): said so, 410, not a bare 404 as for a mistyped link
        own = q.review_of(page.db, taken.id)
        return _gone_page(
            page,
            page._(MSG_NO_LONGER_YOURS),
            own.comments_to_applicants if own is not None else "",
            own.comments_to_panel if own is not None else "",
        )
    return _review_page(page, _assignment(page, assignment_id))


@router.post("/review/assignments/{assignment_id}/respond", response_class=HTMLResponse)
def respond(assignment_id: int, page: Page = Depends(get_page)) -> Response:
    a = _assignment(page, assignment_id)
    action = page.form.get("action", "")
    if action not in ("accept", "decline"):
        return _review_page(page, a, 400, errors={"form": page._(MSG_INVALID)})
    why = page.form.get("decline_reason", "")[:4000]
    with _answering(page) as refused:
        services.respond_to_assignment(page.db, a, page.user, accept=action == "accept", reason=why)
    if refused:
        where = refused.field if refused.field == "decline_reason" else "form"
        return _review_page(page, a, 400, errors={where: refused.message}, decline_reason=why)
    if action == "accept":
        return page.redirect(f"/review/assignments/{a.id}", "saved")
    return page.redirect("/review", "declined")


@router.post("/review/assignments/{assignment_id}/conflict", response_class=HTMLResponse)
def declare_conflict(assignment_id: int, page: Page = Depends(get_page)) -> Response:
    page.require_user()
    if services.declared_before(page.db, assignment_id, page.user) is not None:
        # the declaration sent again (a resend): the first one's answer, nothing changed
        return page.redirect("/review", "removed")
    a = _assignment(page, assignment_id)
    with _answering(page) as refused:
        services.declare_conflict(page.db, a, page.user, page.form.get("reason", ""))
    if refused:
        return _review_page(page, a, 400, errors={"reason": refused.message})
    return page.redirect("/review", "removed")


@router.post("/review/assignments/{assignment_id}/more-time", response_class=HTMLResponse)
def ask_for_more_time(assignment_id: int, page: Page = Depends(get_page)) -> Response:
    """The reviewer asks the chair for a later review deadline, saying why."""
    a = _assignment(page, assignment_id)
    reason = page.form.get("more_time", "")[:2000]
    with _answering(page) as refused:
        services.ask_for_more_time(page.db, a, page.user, reason=reason)
    if refused:
        return _review_page(
            page, a, 400, errors={refused.field or "more_time": refused.message}, more_time=reason
        )
    return page.redirect(f"/review/assignments/{a.id}", "more_time_asked")


def _sent_again(page: Page, a: ReviewAssignment, f: dict[str, str]) -> bool:
    """Whether the form is the submitted review of ``a`` sent again, unchanged."""
    if page.form.get("action") != "submit" or not f["confidence"].isdecimal():
        return False
    try:
        grade = float(f["grade"])
    except ValueError:
        return False
    return (
        services.submitted_as(
            page.db,
            a,
            grade=grade,
            confidence=int(f["confidence"][:2]),
            comments_to_applicants=f["comments_to_applicants"],
            comments_to_panel=f["comments_to_panel"],
        )
        is not None
    )


MSG_SUBMITTED = N_("This review was already submitted.")
MSG_TAKEN_AWAY = N_(
    "This review is no longer assigned to you (the chair of the call removed it or "
    "recorded a conflict): nothing was saved. Copy your text if you want to keep it."
)


def _taken_away(page: Page, f: dict[str, str]) -> Response:
    """A save of a review the reviewer no longer holds (removed while the form was open):
    410, nothing written. The page's script is told why (it keeps the text in the
    browser and stops sending it); without it, the text typed is shown back to keep,
    with nothing of the proposal."""
    message = page._(MSG_TAKEN_AWAY)
    if page.wants_json:
        return JSONResponse(
            {"ok": False, "errors": {"form": message}},
            status_code=410,
            headers={"Cache-Control": "no-store"},
        )
    return _gone_page(page, message, f["comments_to_applicants"], f["comments_to_panel"])


MSG_NO_LONGER_YOURS = N_(
    "This review is no longer assigned to you: the chair of the call removed it, a "
    "conflict was recorded, or you declined it. There is nothing more to do for it; your "
    "own text, if you wrote any, is below to keep."
)


def _gone_page(page: Page, message: str, to_applicants: str, to_panel: str) -> Response:
    """410: the review is no longer the reader's; their own text shown back to keep (the
    typed one, or the draft stored), nothing of the proposal."""
    typed = [
        (page._(label), text)
        for text, label in (
            (to_applicants, N_("Comments to the applicants")),
            (to_panel, N_("Comments to the panel (not shown to the applicants)")),
        )
        if text.strip()
    ]
    return page.render("reviews/taken_away.html", {"message": message, "typed": typed}, status=410)


@router.post("/review/assignments/{assignment_id}", response_class=HTMLResponse)
def save_review(assignment_id: int, page: Page = Depends(get_page)) -> Response:
    page.require_user()
    f = page.fields("grade", "confidence", "comments_to_applicants", "comments_to_panel", "version")
    if policies.taken_from(page.db, page.user, page.db.get(ReviewAssignment, assignment_id)):
        return _taken_away(page, f)
    a = _assignment(page, assignment_id)
    if _sent_again(page, a, f):
        # the submitted review's form sent again (its answer lost): nothing written
        return _saved(page, a, final=True)
    if not policies.may_write_review(page.db, page.user, a):
        if a.status != "submitted":
            page.not_found()
        # submitted from another tab since this form was shown: said (409, nothing
        # written), not a bare 404 the page's script would take for a lost answer
        done = {"form": page._(MSG_SUBMITTED)}
        if page.wants_json:
            return JSONResponse(
                {"ok": False, "errors": done},
                status_code=409,
                headers={"Cache-Control": "no-store"},
            )
        return _review_page(page, a, 409, errors=done)
    errors: dict[str, str] = {}
    grade: float | None = None
    final = page.form.get("action") == "submit"
    try:
        grade = float(f["grade"])
    except ValueError:
        # a draft is kept without a grade (the reviewer's first notes); a submission not
        if f["grade"].strip() or final:
            errors["grade"] = page._(MSG_REQUIRED if not f["grade"].strip() else MSG_INVALID)
    confidence: int | None = (
        int(f["confidence"]) if f["confidence"].isdecimal() and len(f["confidence"]) < 3 else 0
    )
    if not f["confidence"].strip():  # never preselected: the reviewer chooses
        if final:
            errors["confidence"] = page._(MSG_CHOOSE_CONFIDENCE)
        confidence = None
    if not errors:
        with _answering(page) as refused:
            services.submit_review(
                page.db,
                a,
                page.user,
                grade=grade,
                confidence=confidence,
                comments_to_applicants=f["comments_to_applicants"],
                comments_to_panel=f["comments_to_panel"],
                final=final,
                now=page.received_at,
                # a form without one (a page shown before reviews had versions) is not checked
                expected_version=int(f["version"]) if f["version"].isdecimal() else None,
            )
        if not refused:
            return _saved(page, a, final=final)
        errors[refused.field or "form"] = refused.message
        if refused.code == "stale":
            return _stale(page, a, f, errors)
    if page.wants_json:
        return JSONResponse(
            {"ok": False, "errors": errors}, status_code=400, headers={"Cache-Control": "no-store"}
        )
    return _review_page(page, a, 400, form=f, errors=errors)


def _stale(page: Page, a: ReviewAssignment, f: dict[str, str], errors: dict[str, str]) -> Response:
    """A save refused as made against an older version of the review (another tab saved
    since): 409, nothing written. The page's script gets the review as stored and its
    version (safe-save.js keeps the typed text in the browser and sends it again on the
    new version only when the stored one is its own lost save); without the script, the
    page again with the typed text and the message."""
    page.db.rollback()
    review = q.review_of(page.db, a.id)
    if page.wants_json:
        return JSONResponse(
            {
                "ok": False,
                "errors": errors,
                "version": str(services.review_version(review)),
                "fields": _stored_fields(review),
            },
            status_code=409,
            headers={"Cache-Control": "no-store"},
        )
    return _review_page(page, a, 409, form=f, errors=errors)


def _stored_fields(review: Review | None) -> dict[str, str]:
    """The review's fields as its form shows them (blank before any save)."""
    return {
        "grade": _grade_text(review),
        "confidence": str(review.confidence) if review and review.confidence else "",
        "comments_to_applicants": review.comments_to_applicants if review else "",
        "comments_to_panel": review.comments_to_panel if review else "",
    }


def _grade_text(review: Review | None) -> str:
    """The review's grade as its form shows it ("" for none yet, in a draft)."""
    return f"{review.grade:g}" if review is not None and review.grade is not None else ""


def _saved(page: Page, a: ReviewAssignment, *, final: bool) -> Response:
    """The answer to a review saved or submitted: the assignment's page again, or to the
    page's script (safe-save.js, which saved in the background) the review as stored and
    when, and for a submitted one the page to go to."""
    notice = "review_submitted" if final else "saved"
    if not page.wants_json:
        return page.redirect(f"/review/assignments/{a.id}", notice)
    review = q.review_of(page.db, a.id)
    answer: dict[str, Any] = {
        "ok": True,
        "saved_at": page.received_at.isoformat(),
        "version": str(services.review_version(review)),
    }
    if final:
        answer["redirect"] = f"/review/assignments/{a.id}?m={notice}"
    elif review is not None:
        answer["fields"] = _stored_fields(review)
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


@router.get("/review/assignments/{assignment_id}/pdf/{n}")
def assignment_pdf(assignment_id: int, n: int, page: Page = Depends(get_page)) -> Response:
    """The n-th PDF of the reviewed revision, under a neutral file name."""
    a = _assignment(page, assignment_id)
    p = page.db.get(Proposal, a.proposal_id)
    assert p is not None
    return revision_pdf(page, p, n)
