"""trialop19: a recipient the relay refuses for good (an SMTP 5xx: "550 5.1.1 no such
user", a misspelt address) is not tried again. Before, the job was retried up to its
``max_attempts`` over the next minutes, sending the relay the same refused address each
time and holding the batch's other failures with it, and said "RuntimeError" on the jobs
page. Now the refusal is a refusal: the job fails at once, saying the address and the
relay's answer; a batch sends every other message once, and is retried only while one
fails for a while (4xx, the relay away)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

import pytest

from opencall import jobs
from opencall.settings import Settings
from opencall.web import mail


class Relay:
    """Accepts every message but those to ``gone`` (refused for good, 550) and ``busy``
    (refused once for a while, 451)."""

    def __init__(self, gone: set[str], busy: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.gone, self.busy = gone, set(busy)
        self.delivered: list[str] = []
        self.tried: list[str] = []

    def send(self, _settings: Settings, msg: EmailMessage) -> None:
        to = str(msg["To"])
        self.tried.append(to)
        if to in self.gone:
            raise smtplib.SMTPRecipientsRefused({to: (550, b"5.1.1 no such user")})
        if to in self.busy:
            self.busy.discard(to)
            raise smtplib.SMTPRecipientsRefused({to: (451, b"4.7.1 try again later")})
        self.delivered.append(to)


def _run(factory: Any, settings: Settings, job_id: int) -> jobs.Job:
    reg = jobs.JobRegistry()
    reg.register("mail", mail.mail_handler(settings))
    job = jobs.run_one(factory, reg, ids=[job_id])
    assert job is not None
    return job


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return Settings(mail_backend="console", mail_dir=tmp_path)


def test_a_single_message_refused_for_good_fails_at_once(
    factory: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    relay = Relay({"typo@uni.exmaple"})
    monkeypatch.setattr(mail, "send", relay.send)
    with factory() as s:
        job_id = mail.queue_mail(s, "typo@uni.exmaple", "Your review", "body").id
        s.commit()
    job = _run(factory, settings, job_id)
    assert job.status == "failed" and job.attempts == 1, (job.status, job.error)
    assert "typo@uni.exmaple" in (job.error or "") and "550" in (job.error or ""), job.error
    assert "RuntimeError" not in (job.error or "")


def test_a_batch_sends_the_others_once_and_retries_only_for_a_passing_refusal(
    factory: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    msgs = [(f"r{i}@uni.example", f"s{i}", f"b{i}") for i in range(4)]
    relay = Relay({"r1@uni.example"}, {"r2@uni.example"})
    monkeypatch.setattr(mail, "send", relay.send)
    with factory() as s:
        [job] = mail.queue_mails(s, msgs, per=10)
        s.commit()
        job_id = job.id
    first = _run(factory, settings, job_id)
    assert first.status == "queued", (first.status, first.error)  # r2: a passing refusal
    with factory() as s:  # the retry, now
        j = s.get(jobs.Job, job_id)
        j.run_after = None
        s.commit()
    again = _run(factory, settings, job_id)
    assert sorted(relay.delivered) == ["r0@uni.example", "r2@uni.example", "r3@uni.example"]
    # r1 was tried once: the retry did not send the relay the refused address again
    assert relay.tried.count("r1@uni.example") == 1, relay.tried
    assert again.status == "failed" and "r1@uni.example" in (again.error or ""), again.error
