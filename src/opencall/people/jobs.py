"""Background jobs of the accounts (run by ``opencall worker`` or inline)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from opencall.jobs import Handler, Job, JobRegistry
from opencall.people import queries, services
from opencall.settings import Settings
from opencall.web.i18n import Translator
from opencall.web.mail import mail_text, queue_mail


def password_reset(settings: Settings) -> Handler:
    """The 'people.password_reset' job, queued for every address typed on
    ``/password/forgot``: the request does the same work whoever asked, so neither its
    answer nor its time tells whether the address has an account. Here the account is
    looked up; for an active one, within the per-address e-mail throttle, a new link
    (retiring the older ones) is issued and mailed. An unknown or deactivated address, or
    one over its throttle, gets nothing (and the last link sent stays valid).

    The link is issued and its e-mail queued (a 'mail' job) in the job's unit of work:
    both or neither. The mail is sent after the commit by its own job, never inside this
    one's transaction (on SQLite a slow mail server would hold the write lock)."""

    def handle(session: Session, job: Job, _progress: Callable[[int, str], None]) -> None:
        email = str(job.payload.get("email", ""))[:254]
        client = str(job.payload.get("client", ""))[:64]
        known = queries.user_by_email(session, email)
        if known is None or not known.is_active:
            return
        if not services.may_send_email(
            session, known.email, "reset", per_hour=settings.mail_throttle_per_hour
        ):
            return
        found = services.request_password_reset(session, email, client=client)
        if found is None:
            return
        user, raw = found
        link = f"{settings.base_url.rstrip('/')}/password/reset/{raw}"
        body = mail_text("people/mail_reset.txt", user.language, {"name": user.name, "link": link})
        subject = Translator(user.language).gettext("Choose a new OpenCall password")
        queue_mail(session, user.email, subject, body, base_url=settings.base_url)

    return handle


def register(registry: JobRegistry, settings: Settings) -> None:
    registry.register(services.PASSWORD_RESET_JOB, password_reset(settings))
