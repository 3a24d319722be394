"""E-mails of the review (outside a request too): invitations to review after an
assignment, and reminders before the review deadline (``opencall remind``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.calls.schemas import review_settings
from opencall.db import utcnow
from opencall.people.models import User
from opencall.people.queries import may_be_mailed
from opencall.reviews import queries as q
from opencall.reviews.models import ReviewAssignment, ReviewReminder
from opencall.web.i18n import N_, Translator
from opencall.web.mail import mail_text, queue_mail, queue_mails
from opencall.web.pages import fmt_when

SUBJECT_INVITED = N_("You are invited to review for %(call)s")
SUBJECT_REMINDER = N_("Reminder: your reviews for %(call)s are due")


def notify_invited(session: Session, base_url: str, call: Call, since_ids: set[int]) -> int:
    """Invitation e-mails to reviewers with new assignments (no proposal identities):
    the call's active assignments not in ``since_ids``."""
    new = [a for a in q.assignments_of_call(session, call) if a.id not in since_ids]
    return notify_assigned(session, base_url, call, new)


def notify_assigned(
    session: Session, base_url: str, call: Call, assignments: list[ReviewAssignment]
) -> int:
    """Invitation e-mails for these new assignments (those still 'assigned'), one per
    reviewer with the number of their new proposals; a hand assignment names its own
    instead of reading every assignment of the call twice."""
    fresh: dict[int, int] = {}
    for a in assignments:
        if a.status == "assigned":
            fresh[a.reviewer_id] = fresh.get(a.reviewer_id, 0) + 1
    users = _users(session, fresh)
    # the review deadline that applies to each (the chair's extension for them, else the
    # call's) on their own clock and in their language (trialrev19: the invitation said
    # none, so a reviewer abroad accepted before learning when the review is due)
    deadline = review_settings(call.review_settings).review_deadline
    extended = q.deadline_extensions(session, call) if deadline is not None else {}

    def due(user: User) -> str:
        return fmt_when(extended.get(user.id, deadline), user.reading_zone, user.language)

    # no invitation to a deactivated account (mail20b)
    to_write = [
        (user, n) for rid, n in fresh.items() if (user := users.get(rid)) and may_be_mailed(user)
    ]
    # one 'mail' job per MAIL_BATCH invitations (7,200 reviewers at conference scale)
    queue_mails(
        session,
        [
            _message(
                user, call, SUBJECT_INVITED, "reviews/mail_invited.txt", n, base_url, date=due(user)
            )
            for user, n in to_write
        ],
        base_url=base_url,
    )
    return len(to_write)


def queue_reminders(
    session: Session,
    call: Call,
    base_url: str,
    *,
    within_days: int = 3,
    now: dt.datetime | None = None,
) -> int:
    """Reminders for unsubmitted reviews when the review deadline is within ``within_days``
    (``opencall remind --call X``). Each assignment is reminded once per threshold
    (``within_days``): a ``ReviewReminder`` row, inserted before the mail is queued and
    only where none exists, keeps a second run, or a concurrent one, from mailing again.
    A reviewer with at least one assignment not yet reminded at this threshold gets one
    mail counting all their unsubmitted reviews. Returns the number of e-mails queued."""
    now = now or utcnow()
    deadline = review_settings(call.review_settings).review_deadline
    if deadline is None:
        return 0
    # each reviewer is reminded of the deadline that applies to them: the chair's
    # extension for them, else the call's. Before, a reviewer given more time was
    # reminded of the call's deadline (theirs not), and never before their own
    extended = q.deadline_extensions(session, call)

    def due(reviewer_id: int) -> dt.datetime:
        return extended.get(reviewer_id, deadline)

    due_now = [
        a
        for a in q.assignments_of_call(session, call)
        if now <= due(a.reviewer_id) <= now + dt.timedelta(days=within_days)
        and a.status in ("assigned", "accepted")
    ]
    # the reviewers in one query, the claims in one statement per CLAIM_BATCH (scale22:
    # a SELECT per reviewer and an INSERT per assignment made the job's statements grow
    # with the call's assignments)
    users = _users(session, {a.reviewer_id for a in due_now})
    pending: dict[int, int] = {}
    owner: dict[int, int] = {}  # assignment id: its reviewer, of those to claim
    for a in due_now:
        if may_be_mailed(users.get(a.reviewer_id)):  # mail20b
            pending[a.reviewer_id] = pending.get(a.reviewer_id, 0) + 1
            owner[a.id] = a.reviewer_id
    fresh = {owner[i] for i in _claimed(session, sorted(owner), within_days, now)}
    n = 0
    for rid, count in sorted(pending.items()):
        user = users[rid] if rid in fresh else None
        if user is not None:
            _queue(
                session,
                user,
                call,
                SUBJECT_REMINDER,
                "reviews/mail_reminder.txt",
                count,
                base_url,
                deadline=fmt_when(due(rid), user.reading_zone, user.language),
            )
            n += 1
    return n


CLAIM_BATCH = 1000  # rows of one INSERT of reminders (3 parameters each)


def _users(session: Session, ids: Iterable[int]) -> dict[int, User]:
    """The users of ``ids`` by id, in one query per 5000 (not one each)."""
    ordered = sorted(ids)
    users: dict[int, User] = {}
    for i in range(0, len(ordered), 5000):
        chunk = ordered[i : i + 5000]
        users.update((u.id, u) for u in session.scalars(select(User).where(User.id.in_(chunk))))
    return users


def _claimed(session: Session, assignment_ids: list[int], days: int, now: dt.datetime) -> list[int]:
    """Claim the reminder at ``days`` of each assignment of ``assignment_ids``: a
    ``ReviewReminder`` row inserted where none exists. Returns the assignments claimed
    now (not those reminded already, by this run or another)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    claimed: list[int] = []
    for i in range(0, len(assignment_ids), CLAIM_BATCH):
        rows = [
            {"assignment_id": a, "days": days, "sent_at": now}
            for a in assignment_ids[i : i + CLAIM_BATCH]
        ]
        claimed += session.scalars(
            insert(ReviewReminder)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["assignment_id", "days"])
            .returning(ReviewReminder.assignment_id)
        )
    return claimed


def _queue(
    session: Session,
    user: User,
    call: Call,
    subject: str,
    template: str,
    n: int,
    base_url: str,
    **extra: str,
) -> None:
    """Queue one review e-mail to ``user`` in their language: ``n`` reviews of ``call``."""
    queue_mail(
        session, *_message(user, call, subject, template, n, base_url, **extra), base_url=base_url
    )


def _message(
    user: User, call: Call, subject: str, template: str, n: int, base_url: str, **extra: str
) -> tuple[str, str, str]:
    """A review e-mail to ``user`` in their language, ``(to, subject, body)``."""
    context = {"name": user.name, "call": call.title, "n": n, **extra, "base": base_url.rstrip("/")}
    body = mail_text(template, user.language, context)
    return user.email, Translator(user.language).plain(subject, call=call.title), body
