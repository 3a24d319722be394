"""Outgoing mail: queued as a 'mail' job in the caller's transaction, sent
after commit by the job runner (inline right after the request when
``settings.inline_jobs``, else by ``opencall worker``).

Backends (``settings.mail_backend``): ``console`` prints, ``file`` writes one
``.eml`` file per message into ``settings.mail_dir`` (development and the
browser tests), ``smtp`` sends through ``settings.smtp_host:smtp_port`` (STARTTLS or implicit TLS and a login
as ``OPENCALL_SMTP_SECURITY``, ``_USERNAME`` and ``_PASSWORD`` say).
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
import sys
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import lru_cache
from typing import Any

import jinja2
from sqlalchemy.orm import Session

from opencall import jobs
from opencall.errors import DomainError
from opencall.settings import Settings
from opencall.web.i18n import Translator
from opencall.web.pages import WEB, make_environment

#: messages per 'mail' job queued by ``queue_mails`` (the invitations after an assignment)
MAIL_BATCH = 200


def queue_mail(
    session: Session, to: str, subject: str, body: str, *, base_url: str | None = None
) -> jobs.Job:
    """Enqueue one message in the caller's unit of work (sent only if it commits).

    ``base_url``: the site's address the body's links were written with; the links are
    sent with the address the site has when the message goes out (:func:`relinked`)."""
    payload = {"to": to, "subject": subject, "body": body}
    return jobs.enqueue(session, "mail", {**payload, **_base(base_url)})


def _base(base_url: str | None) -> dict[str, str]:
    return {} if base_url is None else {"base_url": base_url.rstrip("/")}


def relinked(body: str, written_with: Any, settings: Settings) -> str:
    """``body`` with its links to the site moved to ``settings.base_url``.

    The bodies are rendered when the mail is queued (in the reader's language, with the
    names and titles of that moment), so their links carry the site's address of that
    moment; a message still queued when the operator moves the site (a new domain, HTTPS)
    would send people to the old one. The job keeps the address the links were written
    with, and the sender puts the current one in its place. Queued before the address was
    kept, a message is sent as it was written."""
    old = str(written_with or "").rstrip("/")
    new = settings.base_url.rstrip("/")
    if not old or old == new:
        return body
    # the address as a whole (not "https://site.example" inside "https://site.example.org")
    return re.sub(re.escape(old) + r"(?=[/?#\s)>]|\Z)", lambda _m: new, body)


def sent_indices(session: Session, job: jobs.Job) -> list[int]:
    """The messages of a batch 'mail' job recorded as sent, by index."""
    legacy = set((job.payload or {}).get("sent", []))
    return sorted(legacy | {int(k) for k in jobs.done_keys(session, job)})


def queue_mails(
    session: Session,
    messages: list[tuple[str, str, str]],
    per: int = MAIL_BATCH,
    *,
    base_url: str | None = None,
) -> list[jobs.Job]:
    """Enqueue many ``(to, subject, body)`` messages as 'mail' jobs of up to ``per`` each, in
    the caller's unit of work. A retry never sends again a message already sent (see
    ``mail_handler``)."""
    return [
        jobs.enqueue(
            session,
            "mail",
            {
                "messages": [
                    {"to": to, "subject": subject, "body": body}
                    for to, subject, body in messages[lo : lo + per]
                ],
                **_base(base_url),
            },
        )
        for lo in range(0, len(messages), per)
    ]


@lru_cache(maxsize=1)
def _mail_env() -> jinja2.Environment:
    return make_environment(WEB / "templates")


def mail_text(template: str, lang: str, ctx: dict[str, Any]) -> str:
    t = Translator(lang)
    return _mail_env().get_template(template).render({"_": t.plain, "lang": lang, **ctx})


def build_message(settings: Settings, to: str, subject: str, body: str) -> EmailMessage:
    """A plain-text message. The subject is put on one line: it carries text people typed
    (a call's title, a provider's name), where a line break would either start a header
    of its own (header injection) or, refused by ``email``, fail the message for good."""
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = " ".join(subject.split())
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain="opencall")
    msg.set_content(body, charset="utf-8")
    return msg


def send(settings: Settings, msg: EmailMessage) -> None:
    backend = settings.mail_backend
    if backend == "console":
        sys.stdout.write(msg.as_string() + "\n")
    elif backend == "file":
        settings.mail_dir.mkdir(parents=True, exist_ok=True)
        name = f"{formatdate(usegmt=True)[5:25].replace(' ', '-').replace(':', '')}-{uuid.uuid4().hex[:12]}.eml"
        (settings.mail_dir / name).write_bytes(msg.as_bytes())
    elif backend == "smtp":
        send_smtp(settings, msg)
    else:
        raise RuntimeError(f"unknown mail backend {backend!r} (console, file or smtp)")


def send_smtp(settings: Settings, msg: EmailMessage) -> None:
    """Hand one message to the relay (``OPENCALL_SMTP_*``): in clear, after STARTTLS, or
    over implicit TLS, the relay's certificate checked (the system's CAs, or
    ``smtp_ca_file``) for ``smtp_host``; then a login when a user name is set. An error
    (refused login, bad certificate, relay away) is raised: the mail job is retried."""
    context = ssl.create_default_context(
        cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None
    )
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout_s
    smtp: smtplib.SMTP
    if settings.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)  # refused by the relay: SMTPNotSupportedError
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        smtp.send_message(msg)


def refused_for_good(exc: BaseException) -> str | None:
    """The relay's refusal of every recipient for good (SMTP 5xx: "550 5.1.1 no such
    user"), as "address: code answer"; None for anything that may pass (4xx, the relay
    away, a refused login): that is retried."""
    if not isinstance(exc, smtplib.SMTPRecipientsRefused) or not exc.recipients:
        return None
    said = []
    for to, (code, answer) in exc.recipients.items():
        if not 500 <= int(code) < 600:
            return None
        text = answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
        said.append(f"{to}: {code} {text}"[:300])
    return "; ".join(said)


def _refusal(refused: list[str]) -> DomainError:
    """A job whose messages the relay refused for good: not retried (a refusal)."""
    return DomainError(
        "The mail relay refused %(n)s address(es) for good, not tried again: %(refused)s",
        n=len(refused),
        refused="; ".join(refused),
    )


def scrubbed(message: dict[str, Any]) -> dict[str, Any]:
    """A message as kept once sent: its recipient and subject, and the sha256 of its body
    instead of the body (one-time links, review invitations, decisions)."""
    if "body" not in message:
        return message
    out = {k: v for k, v in message.items() if k != "body"}
    out["body_sha256"] = hashlib.sha256(str(message["body"]).encode()).hexdigest()
    return out


def mail_handler(settings: Settings) -> jobs.Handler:
    """The job handler for 'mail' jobs (registered in ``registry.build_registry``): one message, or
    a batch (``queue_mails``).

    In a batch each message sent is recorded at once (its index, one row of
    ``jobs.JobStepDone``, committed: one small insert a message, not a rewrite of the
    payload), so a retry of the job sends only the messages not yet sent; a message that
    fails does not hold the others back in that attempt. The job fails (and is retried up to
    its ``max_attempts``, then kept as failed with the unsent messages in its payload) while
    any message is unsent; it is done only when all are sent. As for a single message, a
    crash between the server's acceptance and the commit of its row sends that one again.
    Indices in the payload's ``sent`` (how jobs queued before the table recorded them)
    count as sent too.

    A message sent is not kept: its body (links with one-time tokens, the words of a
    review invitation or a decision) is taken out of the job's payload (:func:`scrubbed`,
    one rewrite when the attempt ends, so the jobs table and its backups hold no live
    link once the mail is out); what is left says to whom, the subject and the body's
    sha256. A message still to send keeps its body for the retry.
    """

    def handle(session: Session, job: jobs.Job, _progress: Callable[[int, str], None]) -> None:
        p = dict(job.payload)
        if "messages" not in p:
            body = relinked(str(p["body"]), p.get("base_url"), settings)
            try:
                send(settings, build_message(settings, str(p["to"]), str(p["subject"]), body))
            except smtplib.SMTPRecipientsRefused as exc:
                gone = refused_for_good(exc)
                if gone is None:
                    raise
                raise _refusal([gone]) from exc
            job.payload = scrubbed(p)
            return
        messages = p["messages"]
        sent = set(sent_indices(session, job))
        errors: list[str] = []
        refused: list[str] = list(p.get("refused") or [])
        for i, m in enumerate(messages):
            if i in sent:
                continue
            try:
                send(
                    settings,
                    build_message(
                        settings,
                        str(m["to"]),
                        str(m["subject"]),
                        relinked(str(m["body"]), p.get("base_url"), settings),
                    ),
                )
            except Exception as exc:  # noqa: BLE001 - recorded, the job is retried
                gone = refused_for_good(exc)
                if gone is None:
                    errors.append(f"message {i}: {type(exc).__name__}: {exc}")
                    continue
                refused.append(gone)  # for good: counted as done, never tried again
                p["refused"] = refused
            sent.add(i)
            jobs.mark_done(session, job, str(i))
            session.commit()  # the message is sent (or refused for good): never again
        if any("body" in m for i, m in enumerate(messages) if i in sent):
            job.payload = {
                **p,
                "messages": [scrubbed(m) if i in sent else m for i, m in enumerate(messages)],
            }
            session.commit()  # kept when the attempt fails below (its unsent bodies stay)
        if refused and p.get("refused") != job.payload.get("refused"):
            job.payload = {**job.payload, "refused": refused}
            session.commit()  # the refusals are said when the job ends, whatever attempt
        if errors:
            raise RuntimeError(
                f"{len(errors)} of {len(messages)} messages not sent (the {len(sent)} sent "
                f"are not sent again); first: {errors[0]}"
            )
        if refused:
            raise _refusal(refused)

    return handle
