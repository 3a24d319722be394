"""E-mails of the review (outside a request too): invitations to review after an
assignment, and reminders before the review deadline (``opencall remind``)."""

from __future__ import annotations

import datetime as dt

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
    ids = sorted(fresh)
    users: dict[int, User] = {}
    for i in range(0, len(ids), 5000):  # the reviewers in one query per 5000, not one each
        users.update(
            (u.id, u) for u in session.scalars(select(User).where(User.id.in_(ids[i : i + 5000])))
        )
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

    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    pending: dict[int, int] = {}
    fresh: set[int] = set()
    writable: dict[int, bool] = {}  # reviewer id: may be mailed (mail20b)
    for a in q.assignments_of_call(session, call):
        if not now <= due(a.reviewer_id) <= now + dt.timedelta(days=within_days):
            continue
        if a.reviewer_id not in writable:
            writable[a.reviewer_id] = may_be_mailed(session.get(User, a.reviewer_id))
        if a.status in ("assigned", "accepted") and writable[a.reviewer_id]:
            pending[a.reviewer_id] = pending.get(a.reviewer_id, 0) + 1
            claimed = session.scalar(
                insert(ReviewReminder)
                .values(assignment_id=a.id, days=within_days, sent_at=now)
                .on_conflict_do_nothing(index_elements=["assignment_id", "days"])
                .returning(ReviewReminder.assignment_id)
            )
            if claimed is not None:  # None: reminded already (by this or another run)
                fresh.add(a.reviewer_id)
    n = 0
    for rid, count in sorted(pending.items()):
        user = session.get(User, rid) if rid in fresh else None
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
