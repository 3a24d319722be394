"""E-mail about a proposal: the receipt of a submission (sent by the pages and the JSON
API), and the reminders to the PI of a draft before its call closes (the
``proposals.remind_drafts`` job, ``opencall proposals remind``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from fastapi import Request
from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.db import utcnow
from opencall.people.models import User
from opencall.people.queries import may_be_mailed
from opencall.proposals.models import DraftReminder, Proposal, SubmissionExtension, TeamMember
from opencall.web.i18n import N_, Translator
from opencall.web.mail import mail_text, queue_mail
from opencall.web.pages import fmt_when, render_mail

SUBJECT_RECEIPT = N_("Receipt: proposal %(code)s submitted")
SUBJECT_DRAFT_REMINDER = N_("Reminder: proposal %(code)s is not submitted and %(call)s closes soon")
SUBJECT_OWN_DEADLINE_REMINDER = N_(
    "Reminder: proposal %(code)s is not submitted and its deadline is near"
)
SUBJECT_DEADLINE_EXTENDED = N_("Proposal %(code)s: your submission deadline is extended")


def mail_invitation(
    db: Session,
    request: Request,
    proposal: Proposal,
    member: TeamMember,
    inviter: User,
    *,
    fallback_lang: str,
    base_url: str,
    per_hour: int,
) -> None:
    """The invitee's e-mail (from the pages and the JSON API), within the per-address
    mail throttle of ``per_hour`` (invite, remove and invite again must not mail one
    address at will); the invitation is made either way and waits on the invitee's
    dashboard. In the invitee's language when they have an account, else
    ``fallback_lang``."""
    from opencall.people import services as people_services
    from opencall.people.queries import user_by_email

    if not people_services.may_send_email(db, member.email, "invite", per_hour=per_hour):
        return
    base = base_url.rstrip("/")
    invitee = user_by_email(db, member.email)
    lang = invitee.language if invitee else fallback_lang
    body = render_mail(
        request,
        "proposals/mail_invitation.txt",
        lang,
        {
            "name": member.name,
            "inviter": inviter.name,
            "title": invitation_title(proposal),
            "call": proposal.call.title,
            "link": f"{base}/invitations/{member.id}",
            # registered and verified, the new account is taken to the invitation
            "register": f"{base}/register?next=%2Finvitations%2F{member.id}",
        },
    )
    subject = Translator(lang).gettext("You are invited to join a proposal on OpenCall")
    queue_mail(db, member.email, subject, body, base_url=base)


def invitation_title(proposal: Proposal) -> str:
    """What a team invitation calls the proposal: its title, or its code when the title
    holds a web or e-mail address (trialcrowd23). The title is the PI's to write and the
    invitation goes to whatever address the PI typed, from this site: "confirm at
    login.evil.example/reset" would be the site's own mail pointing a stranger elsewhere.
    Names are refused such text when typed (``people.domain.link_in_name``); a title may
    hold a tool's name ("node.js"), so it is kept, and left out of the mail only."""
    from opencall.people.domain import link_in_name

    return proposal.code if link_in_name(proposal.title) else proposal.title


def mail_receipt(
    db: Session,
    request: Request,
    submitter: Any,
    proposal: Proposal,
    rev: Any,
    *,
    received_at: dt.datetime,
    lang: str,
    base_url: str,
) -> None:
    """A receipt to the person who submitted (and the PI, when another member did), in
    each one's language (``lang`` for an address without an account): what was
    received (the revision's content hash) and when, in the reader's language and zone."""
    from opencall.people.queries import user_by_email

    to = {submitter.email: submitter}
    for m in proposal.members:
        if m.role == "pi" and m.email not in to:
            to[m.email] = user_by_email(db, m.email)
    for email, user in to.items():
        language = user.language if user is not None else lang
        body = render_mail(
            request,
            "proposals/mail_receipt.txt",
            language,
            {
                "name": user.name if user is not None else "",
                "code": proposal.code,
                "title": proposal.title,
                "call": proposal.call.title,
                "revision": rev.number,
                "hash": rev.content_hash,
                "when": fmt_when(
                    received_at,
                    user.reading_zone if user is not None else None,
                    language,
                    seconds=True,
                ),
                "link": f"{base_url.rstrip('/')}/proposals/{proposal.id}",
            },
        )
        subject = Translator(language).plain(SUBJECT_RECEIPT, code=proposal.code)
        queue_mail(db, email, subject, body, base_url=base_url)


def queue_draft_reminders(
    session: Session,
    base_url: str,
    days: Iterable[int] = (7, 1),
    *,
    now: dt.datetime | None = None,
) -> int:
    """Mail the PI of each draft whose deadline falls within one of ``days`` days (a
    threshold), in their language, the deadline in UTC and in their own zone: the drafts
    of an open call that closes then, and the drafts whose own deadline the user office
    extended (``SubmissionExtension``, mend22: told of their own deadline, never of the
    call's close, which they outlive). Each draft is reminded once per threshold, at the
    nearest threshold the deadline has passed (a draft started two days before the close
    gets the 7-day reminder, then the 1-day one); a ``DraftReminder`` row, inserted before
    the mail is queued and only where none exists, keeps a second run, or a concurrent one,
    from mailing again. Nothing is sent for a submitted or withdrawn proposal, nor once its
    deadline has passed. Returns how many mails were queued."""
    now = now or utcnow()
    thresholds = sorted({int(d) for d in days if int(d) > 0})
    if not thresholds:
        return 0
    horizon = now + dt.timedelta(days=thresholds[-1])
    calls = session.scalars(
        select(Call)
        .where(
            Call.status == "open",
            Call.opens_at <= now,
            Call.closes_at > now,
            Call.closes_at <= horizon,
        )
        .order_by(Call.id)
    ).all()
    extended = exists().where(SubmissionExtension.proposal_id == Proposal.id)
    due: list[tuple[Any, str, str, User, str, dt.datetime, bool]] = []
    for call in calls:
        threshold = _threshold(thresholds, call.closes_at - now)
        reminded = exists().where(
            DraftReminder.proposal_id == Proposal.id, DraftReminder.days == threshold
        )
        drafts = session.execute(
            select(Proposal.id, Proposal.code, Proposal.title, User)
            .join(User, User.id == Proposal.pi_user_id)
            .where(Proposal.call_id == call.id, Proposal.status == "draft", ~reminded, ~extended)
            .order_by(Proposal.id)
        ).all()
        due += [(*d, call.title, call.closes_at, False) for d in drafts]
    late = session.execute(
        select(
            Proposal.id, Proposal.code, Proposal.title, User, Call.title, SubmissionExtension.until
        )
        .join(SubmissionExtension, SubmissionExtension.proposal_id == Proposal.id)
        .join(Call, Call.id == Proposal.call_id)
        .join(User, User.id == Proposal.pi_user_id)
        .where(
            Proposal.status == "draft",
            Call.status.in_(("open", "closed")),
            SubmissionExtension.until > now,
            SubmissionExtension.until <= horizon,
        )
        .order_by(Proposal.id)
    ).all()
    due += [(*d, True) for d in late]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    base = base_url.rstrip("/")
    n = 0
    for pid, code, title, user, call_title, deadline, own in due:
        if not may_be_mailed(user):
            continue  # a deactivated PI is written to no more (mail20b)
        claimed = session.scalar(
            insert(DraftReminder)
            .values(proposal_id=pid, days=_threshold(thresholds, deadline - now), sent_at=now)
            .on_conflict_do_nothing(index_elements=["proposal_id", "days"])
            .returning(DraftReminder.proposal_id)
        )
        if claimed is None:
            continue  # reminded by another run meanwhile (or before, at this threshold)
        lang = user.language or "en"
        body = mail_text(
            "proposals/mail_draft_reminder.txt",
            lang,
            {
                "name": user.name,
                "code": code,
                "title": title,
                "call": call_title,
                "deadline": fmt_when(deadline, user.reading_zone, lang),
                "extended": own,
                "link": f"{base}/proposals/{pid}",
            },
        )
        t = Translator(lang)
        subject = (
            t.plain(SUBJECT_OWN_DEADLINE_REMINDER, code=code)
            if own
            else t.plain(SUBJECT_DRAFT_REMINDER, code=code, call=call_title)
        )
        queue_mail(session, user.email, subject, body, base_url=base)
        n += 1
    return n


def _threshold(thresholds: list[int], left: dt.timedelta) -> int:
    """The nearest of ``thresholds`` (days, ascending) that ``left`` is within."""
    return min(d for d in thresholds if left <= dt.timedelta(days=d))


def mail_deadline_extended(
    session: Session, proposal: Proposal, until: dt.datetime, *, base_url: str
) -> bool:
    """Tell the PI of ``proposal`` that the user office gave it its own submission deadline
    ``until`` (mend22): in their language, the deadline on their own clock, with the link
    to the proposal. The PI alone may submit, so the PI alone is written to (as the draft
    reminders are); the mail names nobody of the office and not the reason (the office's
    note, kept on the cockpit). Nothing for a deactivated PI. Whether a mail was queued."""
    user = session.get(User, proposal.pi_user_id)
    if user is None or not may_be_mailed(user):
        return False
    lang = user.language or "en"
    base = base_url.rstrip("/")
    body = mail_text(
        "proposals/mail_deadline_extended.txt",
        lang,
        {
            "name": user.name,
            "code": proposal.code,
            "title": proposal.title,
            "call": proposal.call.title,
            "deadline": fmt_when(until, user.reading_zone, lang),
            "link": f"{base}/proposals/{proposal.id}",
        },
    )
    subject = Translator(lang).plain(SUBJECT_DEADLINE_EXTENDED, code=proposal.code)
    queue_mail(session, user.email, subject, body, base_url=base)
    return True
