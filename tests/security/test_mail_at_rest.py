"""A mail job does not keep what it sent: once a message is out, its body (one-time links
with their tokens, the words of a decision) is taken out of the job's payload, so that
the jobs table and every backup of it hold no live link. A message not yet sent keeps its
body for the retry, and nothing is sent twice.

Before: the payload of every sent 'mail' job kept the whole body for ever, a password
reset link with its raw token included (the token is stored hashed everywhere else)."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from opencall import jobs
from opencall.settings import Settings
from opencall.web import mail
from tests.test_mail_batch import FlakySMTP, _registry
from tests.web.conftest import Web, World, csrf

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return Settings(mail_backend="console", mail_dir=tmp_path)


def _payloads(factory: Any) -> str:
    with factory() as s:
        return json.dumps([j.payload for j in s.scalars(select(jobs.Job))])


def test_a_sent_message_leaves_no_body_in_its_job(
    factory: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp = FlakySMTP(set())
    monkeypatch.setattr(mail, "send", smtp.send)
    body = "Choose a new password: https://oc.example/password/reset/SECRET-TOKEN-1"
    with factory() as s:
        mail.queue_mail(s, "one@uni.example", "Reset", body)
        s.commit()
        assert "SECRET-TOKEN-1" in _payloads(factory)  # waiting: kept to be sent
    assert jobs.run_pending(factory, _registry(settings)) == 1
    assert smtp.delivered == ["one@uni.example"]
    assert "SECRET-TOKEN-1" not in _payloads(factory)
    with factory() as s:
        job = s.scalars(select(jobs.Job)).one()
        assert job.status == "done"
        assert job.payload == {
            "to": "one@uni.example",
            "subject": "Reset",
            "body_sha256": hashlib.sha256(body.encode()).hexdigest(),
        }


def test_a_batch_keeps_only_the_bodies_it_has_yet_to_send(
    factory: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp = FlakySMTP({"r1@uni.example"}, times=1)
    monkeypatch.setattr(mail, "send", smtp.send)
    messages = [(f"r{i}@uni.example", f"s{i}", f"link TOKEN-{i}") for i in range(3)]
    with factory() as s:
        mail.queue_mails(s, messages)
        s.commit()
    reg = _registry(settings)
    job = jobs.run_one(factory, reg)
    assert job is not None and job.status == "queued"  # r1 refused once: retried
    kept = _payloads(factory)
    assert "TOKEN-0" not in kept and "TOKEN-2" not in kept  # sent: gone
    assert "TOKEN-1" in kept  # to send again: kept
    later = jobs.utcnow() + jobs.RETRY_CAP  # pinned: its back-off passed, without sleeping
    monkeypatch.setattr(jobs, "utcnow", lambda: later)
    job = jobs.run_one(factory, reg)
    assert job is not None and job.status == "done"
    assert "TOKEN-" not in _payloads(factory)
    # each sent once, the retry only the one refused
    assert smtp.delivered == ["r0@uni.example", "r2@uni.example", "r1@uni.example"]
    with factory() as s:
        row = s.scalars(select(jobs.Job)).one()
        assert [m["to"] for m in row.payload["messages"]] == [m[0] for m in messages]


def test_a_password_reset_link_is_in_the_mail_not_in_the_database(web: Web, world: World) -> None:
    c = web.client(address="192.0.2.77")
    r = c.post(
        "/password/forgot",
        data={"csrf_token": csrf(c, "/password/forgot"), "email": world.emails["pi"]},
    )
    assert r.status_code == 303
    jobs.run_pending(web.factory, web.app.state.jobs)
    sent = [m for m in web.mails() if "/password/reset/" in m]
    assert len(sent) == 1
    found = re.search(r"/password/reset/([A-Za-z0-9_\-]+)", sent[0])
    assert found is not None
    token = found.group(1)
    assert token not in _payloads(web.factory)
    # ... and the link works
    assert web.client().get(f"/password/reset/{token}").status_code == 200
