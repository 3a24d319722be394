"""Password-reset requests: the request does the same work for every address (its time
does not tell who has an account; the job mails the link), and one client address may
make only so many requests an hour (a client cannot spray reset mails at every address)."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from opencall import jobs
from opencall.app import create_app
from opencall.db import utcnow
from opencall.people import services
from opencall.people.models import EmailSend, EmailToken
from tests import factories as F
from tests.web.conftest import Web, World, csrf, web_settings

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture
def queued_web(engine: Engine, factory: sessionmaker[Session], tmp_path: Path) -> Iterator[Web]:
    """The application with jobs left to a worker (as in production)."""
    settings = web_settings(engine, tmp_path, inline_jobs=False)
    app = create_app(settings)
    yield Web(app, settings, factory, tmp_path)
    app.state.engine.dispose()


def _statements(web: Web, address: str, email: str) -> tuple[list[str], Any]:
    """The SQL one ``POST /password/forgot`` runs (parameters left out), and its answer."""
    c = web.client(address=address)
    tok = csrf(c, "/password/forgot")
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        seen.append(re.sub(r"\s+", " ", statement).strip())

    engine = web.app.state.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        r = c.post("/password/forgot", data={"csrf_token": tok, "email": email})
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen, r


def _count(web: Web, model: Any, *where: Any) -> int:
    with web.factory() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_forgot_does_the_same_work_for_every_address(queued_web: Web, world: World) -> None:
    web = queued_web
    with web.factory() as s:
        F.user(s, email="gone@example.org").is_active = False
        s.commit()
    _statements(web, "192.0.2.1", "warm-up@example.org")  # first-use caches
    known, r_known = _statements(web, "192.0.2.2", world.emails["pi"])
    unknown, r_unknown = _statements(web, "192.0.2.3", "nobody-here@example.org")
    gone, r_gone = _statements(web, "192.0.2.4", "gone@example.org")
    assert known and known == unknown == gone  # the same queries and writes, in order
    answers = {(r.status_code, r.headers["location"], r.text) for r in (r_known, r_unknown, r_gone)}
    assert answers == {(303, "/login?m=reset_sent", "")}
    # nothing issued in the request: no link, no mail; one job each
    assert _count(web, EmailToken, EmailToken.purpose == "reset") == 0
    assert web.mails() == []
    assert _count(web, jobs.Job, jobs.Job.kind == services.PASSWORD_RESET_JOB) == 4
    # the worker mails a link to the active account only
    jobs.run_pending(web.factory, web.app.state.jobs)
    mails = web.mails()
    assert len(mails) == 1 and world.emails["pi"] in mails[0] and "/password/reset/" in mails[0]
    assert _count(web, EmailToken, EmailToken.purpose == "reset") == 1
    assert _count(web, jobs.Job, jobs.Job.status != "done") == 0


def test_the_worker_keeps_the_per_address_mail_throttle(queued_web: Web, world: World) -> None:
    web = queued_web
    n = web.settings.mail_throttle_per_hour
    for i in range(n + 2):
        c = web.client(address=f"198.51.100.{i}")
        tok = csrf(c, "/password/forgot")
        r = c.post("/password/forgot", data={"csrf_token": tok, "email": world.emails["pi"]})
        assert r.status_code == 303
    jobs.run_pending(web.factory, web.app.state.jobs)
    assert len([m for m in web.mails() if "/password/reset/" in m]) == n


def test_reset_requests_from_one_client_are_limited(web: Web, world: World) -> None:
    limit = web.settings.reset_throttle_per_hour
    c = web.client("fr", address="203.0.113.50")
    tok = csrf(c, "/password/forgot")
    for i in range(limit):
        email = world.emails["pi"] if i == 0 else f"victim{i}@example.org"
        r = c.post("/password/forgot", data={"csrf_token": tok, "email": email})
        assert r.status_code == 303
    jobs_before = _count(web, jobs.Job)
    sends_before = _count(web, EmailSend)
    mails_before = len(web.mails())
    r = c.post("/password/forgot", data={"csrf_token": tok, "email": world.emails["coi"]})
    assert r.status_code == 429
    assert 0 < int(r.headers["retry-after"]) <= 3600
    text = html.unescape(r.text)
    assert "Trop de demandes de réinitialisation du mot de passe depuis votre réseau" in text
    assert world.emails["coi"] in text  # the form keeps what was typed
    # nothing queued, counted or sent
    assert _count(web, jobs.Job) == jobs_before
    assert _count(web, EmailSend) == sends_before
    assert len(web.mails()) == mails_before
    # another client is not affected
    other = web.client(address="192.0.2.77")
    r = other.post(
        "/password/forgot",
        data={"csrf_token": csrf(other, "/password/forgot"), "email": world.emails["coi"]},
    )
    assert r.status_code == 303
    assert any(world.emails["coi"] in m for m in web.mails())


def test_the_client_limit_is_a_sliding_hour(db: Any) -> None:
    now = utcnow()
    waits = [
        services.reset_request_wait(
            db, "203.0.113.9", per_hour=3, now=now + dt.timedelta(minutes=i)
        )
        for i in range(4)
    ]
    assert waits[:3] == [0, 0, 0]
    assert 56 * 60 < waits[3] <= 57 * 60  # until the first request is an hour old
    later = now + dt.timedelta(hours=1, seconds=1)
    assert services.reset_request_wait(db, "203.0.113.9", per_hour=3, now=later) == 0
    assert services.reset_request_wait(db, "192.0.2.1", per_hour=3, now=now) == 0


def test_the_reset_mail_is_sent_after_the_job_commits(
    queued_web: Web, world: World, monkeypatch: Any
) -> None:
    """The reset job queues its e-mail (a 'mail' job) instead of sending it in its own
    transaction, where a slow mail server held SQLite's write lock: when the server is
    reached, the link is already committed (seen from another session), and a failing
    server leaves the link issued and the mail job to retry. Before the fix the mail was
    sent inside the job's transaction (the link not yet visible)."""
    import smtplib

    web = queued_web
    web.settings.mail_backend = "smtp"
    seen: list[int] = []
    fail = [True]

    class Server:
        def __init__(self, *_a: Any, **_k: Any) -> None:
            pass

        def __enter__(self) -> Server:
            return self

        def __exit__(self, *_a: Any) -> None:
            pass

        def send_message(self, msg: Any) -> None:
            seen.append(_count(web, EmailToken, EmailToken.purpose == "reset"))
            if fail[0]:
                raise smtplib.SMTPServerDisconnected("the mail server went away")

    monkeypatch.setattr(smtplib, "SMTP", Server)
    c = web.client(address="192.0.2.9")
    r = c.post(
        "/password/forgot",
        data={"csrf_token": csrf(c, "/password/forgot"), "email": world.emails["pi"]},
    )
    assert r.status_code == 303
    before = _last_job(web)
    jobs.run_one(web.factory, web.app.state.jobs, [services.PASSWORD_RESET_JOB])
    assert _count(web, EmailToken, EmailToken.purpose == "reset") == 1
    mail = _last_job(web)
    assert mail.id > before.id and mail.kind == "mail" and mail.status == "queued"
    jobs.run_one(web.factory, web.app.state.jobs, ids=[mail.id])  # the server fails
    assert seen == [1]
    assert _count(web, EmailToken, EmailToken.purpose == "reset") == 1  # still issued
    fail[0] = False
    later = jobs.utcnow() + jobs.RETRY_CAP  # pinned: its back-off passed, without sleeping
    monkeypatch.setattr(jobs, "utcnow", lambda: later)
    jobs.run_one(web.factory, web.app.state.jobs, ids=[mail.id])  # the retry
    assert seen == [1, 1]
    assert _last_job(web).status == "done"


def _last_job(web: Web) -> jobs.Job:
    with web.factory() as s:
        job = s.scalars(select(jobs.Job).order_by(jobs.Job.id.desc()).limit(1)).one()
        s.expunge(job)
        return job


def test_the_inline_runner_sends_the_reset_mail(web: Web, world: World) -> None:
    """``make run`` (``OPENCALL_INLINE_JOBS``): the request's reset job runs after it, and
    the mail job that one queued too."""
    before = _last_job(web).id
    c = web.client(address="192.0.2.10")
    r = c.post(
        "/password/forgot",
        data={"csrf_token": csrf(c, "/password/forgot"), "email": world.emails["pi"]},
    )
    assert r.status_code == 303
    mails = web.mails()  # (after the app's inline-job thread has run the jobs)
    assert len(mails) == 1 and "/password/reset/" in mails[0]
    assert _count(web, jobs.Job, jobs.Job.id > before) == 2  # the reset job, its mail
    assert _count(web, jobs.Job, jobs.Job.id > before, jobs.Job.status != "done") == 0
