"""The chair's table of a call's assignments (also as CSV), assignments added or
removed by hand (conflicted pairs are refused; the invited reviewer is e-mailed), and a
reviewer's review deadline extended."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls.access import staff_call
from opencall.calls.models import Call
from opencall.calls.presenters import date_error, parse_when
from opencall.calls.schemas import review_settings
from opencall.errors import DomainError
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.reviews import policies, services
from opencall.reviews import queries as q
from opencall.reviews.models import Conflict, ReviewAssignment
from opencall.reviews.notify import notify_assigned
from opencall.reviews.presenters import CONFLICT_MASKED, CONFLICT_SOURCES, labels, proposal_rows
from opencall.reviews.shortfall import uncovered_rows
from opencall.reviews.views.common import call_proposals, change_or_show
from opencall.settings import Settings
from opencall.web.csv import csv_response, wants_csv
from opencall.web.forms import MSG_INVALID
from opencall.web.pages import Page, get_page

router = APIRouter()


@router.get("/manage/calls/{slug}/assignment", response_class=HTMLResponse)
def assignment(slug: str, page: Page = Depends(get_page)) -> Response:
    call = staff_call(page, slug)
    return _assignment_page(page, call)


PER_PAGE = 50  # proposals per page of the table (each with its assignments and conflicts)


def _assignment_page(page: Page, call: Call, status: int = 200, error: str = "") -> Response:
    withheld = policies.withheld(page.db, page.user, call)
    # a source such as "member of the team" with a named reviewer tells who is on the team
    masked = not policies.may_see_identities(page.db, page.user, call)
    if wants_csv(page):
        return _assignment_csv(page, call, withheld)
    # one page of the proposals under review, with their assignments and conflicts: a
    # large call's thousands of proposals (and tens of thousands of conflicts) are never
    # all read or shown
    proposals, pager = call_proposals(
        page, call, q.REVIEWABLE, withheld, "assignment", "#assignments", PER_PAGE
    )
    ids = [p.id for p in proposals]
    rows = proposal_rows(page, call, proposals)
    active = q.assignments_of_proposals(page.db, call, ids)
    conflicts = list(
        page.db.scalars(
            select(Conflict)
            .where(Conflict.call_id == call.id, Conflict.proposal_id.in_(ids))
            .order_by(Conflict.proposal_id, Conflict.id)
        )
    )
    # only the reviewers this page names (its assignments and conflicts), never the
    # whole pool: the hand-assignment form takes a reviewer's e-mail or name instead
    reviewers: dict[int, User] = {}
    named = {a.reviewer_id for a in active} | {c.reviewer_id for c in conflicts}
    _add_missing_reviewers(page, reviewers, named)
    uncovered = uncovered_rows(page.db, call, withheld, page.t)
    # the deadlines and requests for more time of the reviewers of a proposal withheld
    # from the reader (their own, a conflicted one) are left out: listed, they would say
    # who reviews it (and in their own words why they need more time)
    apart = q.reviewers_of_proposals(page.db, call, withheld)
    extended = {r: u for r, u in q.deadline_extensions(page.db, call).items() if r not in apart}
    asked = {r: v for r, v in q.more_time_asked(page.db, call).items() if r not in apart}
    _add_missing_reviewers(page, reviewers, set(extended) | set(asked))
    # the invitations declined for this page's proposals (none withheld from the reader:
    # ``ids`` leaves them out), with the reviewer's reason (trialrev19)
    declined = q.declines(page.db, call, ids)
    _add_missing_reviewers(page, reviewers, {a.reviewer_id for a, _at, _why in declined})
    by_proposal: dict[int, list[ReviewAssignment]] = {p.id: [] for p in proposals}
    for a in active:
        by_proposal.setdefault(a.proposal_id, []).append(a)
    return page.render(
        "reviews/assignment_table.html",
        {
            "call": call,
            "proposals": proposals,
            "pager": pager,
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
            "withheld": withheld,
            "uncovered": uncovered,
            "extended": sorted(extended.items(), key=lambda kv: (kv[1], kv[0])),
            # requests for more time not answered by an extension yet, oldest first
            "asked": sorted(asked.items(), key=lambda kv: (kv[1][0], kv[0])),
            "declined": declined,
            "review_deadline": review_settings(call.review_settings).review_deadline,
            **labels(page),
        },
        status=status,
    )


def _add_missing_reviewers(page: Page, reviewers: dict[int, User], ids: set[int]) -> None:
    """The reviewers of ``ids`` not yet in ``reviewers`` (those of assignments who no
    longer hold the call's role included), in one query."""
    missing = sorted(ids - reviewers.keys())
    if missing:
        reviewers.update(
            (u.id, u) for u in page.db.scalars(select(User).where(User.id.in_(missing)))
        )


def _assignment_csv(page: Page, call: Call, withheld: frozenset[int]) -> Response:
    """Every active assignment of the call (the download keeps every row), then every
    declined invitation with when and why (trialop20: the page alone listed them), but
    those of the proposals whose review the reader may not see (``policies.withheld``)."""
    rows = q.codes_and_titles(
        page.db,
        call,
        select(ReviewAssignment.proposal_id).where(ReviewAssignment.call_id == call.id),
    )
    active = page.db.execute(
        select(
            ReviewAssignment.proposal_id,
            ReviewAssignment.reviewer_id,
            ReviewAssignment.status,
            ReviewAssignment.source,
            ReviewAssignment.score,
            User.name,
        )
        .outerjoin(User, User.id == ReviewAssignment.reviewer_id)
        .where(
            ReviewAssignment.call_id == call.id,
            ReviewAssignment.status.in_(("assigned", "accepted", "submitted")),
        )
        .order_by(ReviewAssignment.id)
    ).all()
    declined = q.declined_rows(page.db, call, withheld)
    # columns, not whole assignments, proposals and the panel's every reviewer
    return csv_response(
        f"{call.slug}-assignment.csv",
        ["proposal", "title", "reviewer", "status", "source", "score", "declined_at",
         "decline_reason"],
        [
            *(
                (
                    rows[pid]["code"],
                    rows[pid]["title"],
                    reviewer_id if name is None else name,
                    status,
                    source,
                    "" if score is None else f"{score:.4f}",
                    "",
                    "",
                )
                for pid, reviewer_id, status, source, score, name in active
                if pid in rows and pid not in withheld
            ),
            *(
                (
                    rows[d["proposal_id"]]["code"],
                    rows[d["proposal_id"]]["title"],
                    d["reviewer_id"] if d["reviewer_name"] is None else d["reviewer_name"],
                    "declined",
                    "",
                    "",
                    d["declined_at"],
                    d["reason"],
                )
                for d in declined
                if d["proposal_id"] in rows
            ),
        ],
    )  # fmt: skip


def _int(raw: str) -> int:
    return int(raw) if raw.isdecimal() and len(raw) < 10 else 0


@router.post("/manage/calls/{slug}/assignment/add", response_class=HTMLResponse)
def assignment_add(slug: str, page: Page = Depends(get_page)) -> Response:
    call = staff_call(page, slug)
    p = page.db.get(Proposal, _int(page.form.get("proposal_id", "")))
    if p is None or p.call_id != call.id:
        return _assignment_page(page, call, 400, page._(MSG_INVALID))
    if "reviewer" in page.form:
        # the page's field: an e-mail or full name, looked up here, never a list of the pool
        named = page.form.get("reviewer", "").strip()[:320]
        found = q.reviewers_named(page.db, call, named)
        if len(found) != 1:
            return _assignment_page(page, call, 400, page.t.error(_unnamed(named, len(found))))
        r: User | None = found[0]
    else:  # a reviewer's id (the form before the field, scripts)
        r = page.db.get(User, _int(page.form.get("reviewer_id", "")))
    if r is None:
        return _assignment_page(page, call, 400, page._(MSG_INVALID))

    return _change(
        page,
        call,
        lambda: assign_by_hand(page.db, page.settings, call, p, r, actor_id=page.user.id),
        "saved",
    )


#: the hand assignments' invitations, counted per address in ``email_sends``
HAND_INVITE_KIND = "review_invite"


def _unnamed(named: str, found: int) -> DomainError:
    """Why the hand-assignment form's reviewer field names nobody to assign: nothing
    typed, no reviewer of the call (an account that is not one reads the same), or
    several reviewers of that name."""
    if not named:
        return DomainError("Name the reviewer: their e-mail or full name.", field="reviewer")
    if found > 1:
        return DomainError(
            "%(count)s reviewers of this call are named %(who)s: give the e-mail instead.",
            field="reviewer",
            count=found,
            who=repr(named),
        )
    return DomainError(
        "No reviewer of this call has the e-mail or full name %(who)s.",
        field="reviewer",
        who=repr(named),
    )


def assign_by_hand(
    db: Session,
    settings: Settings,
    call: Call,
    proposal: Proposal,
    reviewer: User,
    *,
    actor_id: int | None,
) -> ReviewAssignment:
    """The chair's hand assignment, the one path of the web form and the API: the pair is
    checked and stored (``services.add_assignment``) and the reviewer invited by e-mail in
    the same unit of work, so a refusal mails nothing. The invitation goes within the
    per-address e-mail throttle (``mail_throttle_per_hour``), so that assigning, removing
    and assigning again does not flood one reviewer's mailbox; the assignment is made
    each time and waits on the reviewer's page. (Here, above both: the services and the
    e-mails are sibling layers.)"""
    a = services.add_assignment(db, call, proposal, reviewer, actor_id=actor_id)
    if people_services.may_send_email(
        db, reviewer.email, HAND_INVITE_KIND, per_hour=settings.mail_throttle_per_hour
    ):
        notify_assigned(db, settings.base_url, call, [a])
    return a


@router.post("/manage/calls/{slug}/assignment/{assignment_id}/remove", response_class=HTMLResponse)
def assignment_remove(slug: str, assignment_id: int, page: Page = Depends(get_page)) -> Response:
    call = staff_call(page, slug)
    a = page.get_visible(ReviewAssignment, assignment_id, lambda row: row.call_id == call.id)
    # read whole up to twice the limit (as triage's reasons): the service refuses a
    # longer one with a clear error, where cutting it here removed with half a reason
    reason = page.form.get("reason", "")[:4000]
    return _change(
        page,
        call,
        lambda: services.remove_assignment(
            page.db,
            a,
            actor_id=page.user.id,
            reason=reason,
            submitted_review=page.form.get("submitted_review") == "yes",
        ),
        "removed",
    )


@router.post("/manage/calls/{slug}/assignment/extend", response_class=HTMLResponse)
def extend_deadline(slug: str, page: Page = Depends(get_page)) -> Response:
    """Extend one reviewer's review deadline (named by e-mail or full name, as for a hand
    assignment; the new deadline on the call's clock), audited with the reason given."""
    call = staff_call(page, slug)
    named = page.form.get("reviewer", "").strip()[:320]
    found = q.reviewers_named(page.db, call, named)
    if len(found) != 1:
        return _assignment_page(page, call, 400, page.t.error(_unnamed(named, len(found))))
    until = parse_when(page.form.get("until", "")[:40], call.time_zone or "", end_of_day=True)
    if until is None:
        return _assignment_page(page, call, 400, date_error(page, call.time_zone or ""))
    return _change(
        page,
        call,
        lambda: services.extend_review_deadline(
            page.db,
            call,
            found[0],
            until,
            actor_id=page.user.id,
            now=page.received_at,
            reason=page.form.get("reason", "")[:2000],
        ),
        "saved",
    )


def _change(page: Page, call: Call, change: Callable[[], object], flash: str) -> Response:
    """Make ``change`` and commit it, then back to the table; a refusal is shown on the
    table and changes nothing."""
    return change_or_show(page, call, change, _assignment_page, "assignment", flash)
