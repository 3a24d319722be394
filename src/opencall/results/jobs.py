"""Reminders after the award: ``opencall postaward remind`` and the ``postaward.remind``
job. Each overdue loan's PI is written to in their own language, at most once
every ``REMIND_EVERY_DAYS`` days; the PI of an award with nothing reported (no record,
no result) a year after it (``REPORT_DUE_DAYS``) at most once every
``REPORT_REMIND_EVERY_DAYS`` days, until something is reported; the PI of a course's
participants when their follow-up wave falls due (``FOLLOW_UP_MONTHS`` after each
completed the course), then every ``REPORT_REMIND_EVERY_DAYS`` days for
``FOLLOW_UP_CHASE_DAYS`` days, naming those not yet heard from. A run claims each
reminder (one statement on its row) before it queues the mail, so two runs at once (two
workers, a retry racing the first run) send it once. Each reminder is audited and
counted on the user office's overview of the call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial

from sqlalchemy.orm import Session

from opencall.allocation import later_parts
from opencall.db import utc_today
from opencall.inputs import local_date, local_number
from opencall.jobs import Job, JobRegistry
from opencall.people.models import User
from opencall.people.queries import may_be_mailed
from opencall.proposals.models import Proposal
from opencall.proposals.queries import pi_user
from opencall.results import domain as d
from opencall.results import queries as q
from opencall.results import services
from opencall.web.i18n import N_, Translator
from opencall.web.mail import mail_text, queue_mail

SUBJECT_OVERDUE = N_("Overdue: the sample loan of %(code)s is due back")
SUBJECT_REPORT = N_("Overdue: the first report on award %(code)s")
SUBJECT_FOLLOW_UP = N_("Follow-up due: what the participants of %(code)s did with their training")


def _mail_pi(
    session: Session,
    user: User,
    proposal: Proposal,
    base_url: str,
    template: str,
    subject: str,
    fields: dict[str, object],
) -> None:
    """Queue the reminder ``template`` to the proposal's PI ``user`` in their language (the
    name, code, site and proposal id filled in besides ``fields``, a float of which is
    written as that language writes numbers, a day as it writes dates: "16 janv. 2027")."""
    lang = user.language or "en"
    body = mail_text(
        template,
        lang,
        {
            "name": user.name,
            "code": proposal.code,
            **{k: _in_words(v, lang) for k, v in fields.items()},
            "base": base_url.rstrip("/"),
            "proposal_id": proposal.id,
        },
    )
    subject_text = Translator(lang).plain(subject, code=proposal.code)
    queue_mail(session, user.email, subject_text, body, base_url=base_url)


def _in_words(value: object, lang: str) -> object:
    """A reminder's field as the PI reads it: a float as ``lang`` writes numbers, a day
    as it writes dates (ISO stays in the records, the API and the exports)."""
    if isinstance(value, float):
        return local_number(value, lang)
    if isinstance(value, dt.date):
        return local_date(value, lang)
    return value


def _pi_to_write(session: Session, proposal: Proposal) -> User | None:
    """The proposal's PI to remind: None without one, or where their account is
    deactivated (outcomes20: a closed account is written to no more; the office still
    sees the award overdue on the call's overview)."""
    user = pi_user(session, proposal)
    return user if may_be_mailed(user) else None


def _remind_pi(
    session: Session,
    proposal: Proposal,
    base_url: str,
    template: str,
    subject: str,
    fields: dict[str, object],
    *,
    claim: Callable[[], bool],
    mark: Callable[..., object],
) -> bool:
    """Remind the proposal's PI once: ``claim`` the reminder (one statement on its row),
    queue the reminder (:func:`_mail_pi`), then ``mark`` it sent (``to_user_id``: the
    PI's). False, with nothing written, where the proposal has no PI to write to
    (:func:`_pi_to_write`) or another run claimed it first."""
    user = _pi_to_write(session, proposal)
    if user is None or not claim():
        return False  # no PI to write to, or reminded by another run meanwhile
    _mail_pi(session, user, proposal, base_url, template, subject, fields)
    mark(to_user_id=user.id)
    return True


def queue_report_reminders(
    session: Session,
    base_url: str,
    today: dt.date,
    max_reminders: int = d.REPORT_REMINDERS_MAX,
) -> int:
    """Queue one reminder per award whose first report is overdue and whose PI was not
    reminded within ``REPORT_REMIND_EVERY_DAYS`` days, while fewer than ``max_reminders``
    were sent (then the call's overview tells the office); returns how many were queued."""
    n = 0
    unreported = q.unreported_awards(session, today)
    reminders = q.report_reminders(session, [p.id for p, _day0 in unreported])
    for proposal, day0 in unreported:
        rem = reminders.get(proposal.id)
        if rem is not None and rem.reminders_sent >= max_reminders:
            continue  # stopped: the office is told on the call's overview
        if not d.needs_report_reminder(day0, False, today, rem.last_reminded_on if rem else None):
            continue
        n += _remind_pi(
            session,
            proposal,
            base_url,
            "results/mail_report.txt",
            SUBJECT_REPORT,
            {
                "awarded": day0,
                "due": d.report_due_on(day0),
                "every": d.REPORT_REMIND_EVERY_DAYS,
            },
            claim=partial(services.claim_report_reminder, session, proposal, today, max_reminders),
            mark=partial(services.mark_report_reminded, session, proposal, today),
        )
    return n


def queue_follow_up_reminders(session: Session, base_url: str, today: dt.date) -> int:
    """Queue one mail per award whose course participants have a follow-up wave to
    report (``domain.FOLLOW_UP_MONTHS`` after they completed it), naming those not yet
    heard from; each participant's wave claimed first (:func:`services.claim_follow_up_reminder`),
    so two runs at once name them once. Returns how many mails were queued."""
    n = 0
    for proposal, waves in q.follow_ups_to_chase(session, today):
        user = _pi_to_write(session, proposal)
        if user is None:
            continue  # no PI to write to
        claimed = [
            w for w in waves if services.claim_follow_up_reminder(session, w[0], w[2], today)
        ]
        if not claimed:
            continue  # reminded by another run meanwhile
        lang = user.language or "en"
        _mail_pi(
            session,
            user,
            proposal,
            base_url,
            "results/mail_followup.txt",
            SUBJECT_FOLLOW_UP,
            {
                "participants": [
                    (str(r.data.get("participant", "")), months, local_date(due, lang))
                    for r, months, due in claimed
                ],
                "every": d.REPORT_REMIND_EVERY_DAYS,
            },
        )
        services.mark_follow_up_reminded(session, proposal, claimed, to_user_id=user.id)
        n += 1
    return n


def queue_overdue_reminders(session: Session, base_url: str, today: dt.date) -> int:
    """Queue one reminder per overdue loan that needs one; returns how many were queued."""
    n = 0
    for rec in q.overdue_loans(session, today):
        if not d.needs_reminder(rec.kind, rec.data, today, rec.last_reminded_on):
            continue
        proposal = session.get(Proposal, rec.proposal_id)
        assert proposal is not None
        n += _remind_pi(
            session,
            proposal,
            base_url,
            "results/mail_overdue.txt",
            SUBJECT_OVERDUE,
            {
                "sample": rec.data.get("sample", ""),
                # an item lent (a glider) has no mass: the mail names it instead
                "mass": float(rec.data["mass_mg"]) if rec.data.get("mass_mg") else None,
                "item": rec.data.get("item", ""),
                # an overdue loan has its due day (needs_reminder read it above)
                "due": dt.date.fromisoformat(str(rec.data["due_on"])),
                "days": d.days_overdue(rec.data, today),
            },
            claim=partial(services.claim_reminder, session, rec, today),
            mark=partial(services.mark_reminded, session, rec, today),
        )
    return n


def make_remind(
    base_url: str, report_reminders_max: int = d.REPORT_REMINDERS_MAX
) -> Callable[[Session, Job, Callable[[int, str], None]], None]:
    def remind(session: Session, job: Job, progress: Callable[[int, str], None]) -> None:
        today = job.payload.get("today")
        day = dt.date.fromisoformat(today) if today else utc_today()
        queue_overdue_reminders(session, base_url, day)
        queue_report_reminders(session, base_url, day, report_reminders_max)
        queue_follow_up_reminders(session, base_url, day)
        later_parts.queue_progress_reminders(session, base_url, day)

    return remind


def register(
    registry: JobRegistry, base_url: str, report_reminders_max: int = d.REPORT_REMINDERS_MAX
) -> None:
    registry.register("postaward.remind", make_remind(base_url, report_reminders_max))
