"""A batch 'mail' job sends each message exactly once, whatever fails in the middle."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from opencall import jobs
from opencall.settings import Settings
from opencall.web import mail


class FlakySMTP:
    """Accepts messages, except that each address in ``fail`` is refused ``times`` times."""

    def __init__(self, fail: set[str], times: int = 1) -> None:
        self.fail = {to: times for to in fail}
        self.delivered: list[str] = []

    def send(self, _settings: Settings, msg: EmailMessage) -> None:
        to = str(msg["To"])
        if self.fail.get(to, 0) > 0:
            self.fail[to] -= 1
            raise OSError(f"451 try again later ({to})")
        self.delivered.append(to)


def _registry(settings: Settings) -> jobs.JobRegistry:
    reg = jobs.JobRegistry()
    reg.register("mail", mail.mail_handler(settings))
    return reg


def _messages(n: int) -> list[tuple[str, str, str]]:
    return [(f"r{i}@uni.example", f"subject {i}", f"body {i}") for i in range(n)]


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return Settings(mail_backend="console", mail_dir=tmp_path)


def test_batches_of_at_most_per_messages(factory: Any) -> None:
    with factory() as s:
        queued = mail.queue_mails(s, _messages(5), per=2)
        s.commit()
        assert [len(j.payload["messages"]) for j in queued] == [2, 2, 1]
        assert [m["to"] for j in queued for m in j.payload["messages"]] == [
            f"r{i}@uni.example" for i in range(5)
        ]
        assert mail.queue_mails(s, [], per=2) == []


def test_a_failure_in_the_middle_resends_nothing_already_sent(
    factory: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp = FlakySMTP({"r3@uni.example", "r7@uni.example"}, times=1)
    monkeypatch.setattr(mail, "send", smtp.send)
    with factory() as s:
        mail.queue_mails(s, _messages(10), per=10)
        s.commit()
    reg = _registry(settings)
    clock = [jobs.utcnow()]  # pinned: the retry's back-off passes without sleeping
    monkeypatch.setattr(jobs, "utcnow", lambda: clock[0])
    job = jobs.run_one(factory, reg)
    assert job is not None and job.status == "queued"  # retried: two were not sent
    assert jobs.run_one(factory, reg) is None  # not before its back-off
    clock[0] += jobs.RETRY_CAP
    assert "2 of 10 messages not sent" in job.error and "message 3" in job.error
    # the others went out in this attempt, in order, and are recorded as sent
    assert smtp.delivered == [f"r{i}@uni.example" for i in range(10) if i not in (3, 7)]
    with factory() as s:
        row = s.scalars(select(jobs.Job)).one()
        assert mail.sent_indices(s, row) == [0, 1, 2, 4, 5, 6, 8, 9]
    job = jobs.run_one(factory, reg)
    assert job is not None and job.status == "done" and job.attempts == 2
    # exactly once each
    assert sorted(smtp.delivered) == sorted(f"r{i}@uni.example" for i in range(10))
    assert smtp.delivered[-2:] == ["r3@uni.example", "r7@uni.example"]


def test_a_message_that_never_goes_leaves_the_job_failed_with_it_unsent(
    factory: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp = FlakySMTP({"r1@uni.example"}, times=99)
    monkeypatch.setattr(mail, "send", smtp.send)
    with factory() as s:
        mail.queue_mails(s, _messages(4))
        s.commit()
    clock = [jobs.utcnow()]  # pinned: each retry's back-off passes without sleeping
    monkeypatch.setattr(jobs, "utcnow", lambda: clock[0])
    for _ in range(3):
        jobs.run_pending(factory, _registry(settings))
        clock[0] += jobs.RETRY_CAP
    with factory() as s:
        row = s.scalars(select(jobs.Job)).one()
        assert row.status == "failed" and row.attempts == row.max_attempts == 3
        assert mail.sent_indices(s, row) == [0, 2, 3]  # the unsent one is kept, not lost
        assert row.payload["messages"][1]["to"] == "r1@uni.example"
    assert smtp.delivered == ["r0@uni.example", "r2@uni.example", "r3@uni.example"]


def test_a_worker_that_dies_mid_batch_resends_nothing_already_sent(
    factory: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp = FlakySMTP(set())
    calls = []

    def dying(st: Settings, msg: EmailMessage) -> None:
        calls.append(str(msg["To"]))
        if len(calls) == 3:
            raise KeyboardInterrupt  # the process dies: no handler, no rollback bookkeeping
        smtp.send(st, msg)

    monkeypatch.setattr(mail, "send", dying)
    with factory() as s:
        mail.queue_mails(s, _messages(5))
        s.commit()
    reg = _registry(settings)
    with pytest.raises(KeyboardInterrupt):
        jobs.run_one(factory, reg)
    with factory() as s:  # its lease expires
        s.execute(jobs.update(jobs.Job).values(lease_until=jobs.utcnow()))
        s.commit()
    assert jobs.run_pending(factory, reg) == 0  # requeued, waiting for its back-off
    with factory() as s:  # the back-off passes
        s.execute(jobs.update(jobs.Job).values(run_after=jobs.utcnow()))
        s.commit()
    assert jobs.run_pending(factory, reg) == 1
    assert smtp.delivered == [f"r{i}@uni.example" for i in range(5)]
    with factory() as s:
        assert s.scalars(select(jobs.Job)).one().status == "done"


def test_a_single_message_job_is_sent_as_before(
    factory: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp = FlakySMTP(set())
    monkeypatch.setattr(mail, "send", smtp.send)
    with factory() as s:
        mail.queue_mail(s, "one@uni.example", "s", "b")
        s.commit()
    assert jobs.run_pending(factory, _registry(settings)) == 1
    assert smtp.delivered == ["one@uni.example"]


def test_progress_is_one_small_insert_a_message_not_a_payload_rewrite(
    engine: Any, factory: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recording that a message went out costs the same for the 1st and the 5,000th: one
    row of ``job_steps_done``, never a rewrite of the job's payload (which holds every
    message: rewriting it after each one made a mailing O(n^2) in bytes written)."""
    from sqlalchemy import event

    smtp = FlakySMTP(set())
    monkeypatch.setattr(mail, "send", smtp.send)
    with factory() as s:
        mail.queue_mails(s, _messages(30), per=30)
        s.commit()
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()).lower())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert jobs.run_pending(factory, _registry(settings)) == 1
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(smtp.delivered) == 30
    # one rewrite when the attempt ends (the bodies sent taken out), never one a message
    assert len([q for q in statements if q.startswith("update jobs") and "payload" in q]) == 1
    assert sum(1 for q in statements if q.startswith("insert into job_steps_done")) == 30
    with factory() as s:
        row = s.scalars(select(jobs.Job)).one()
        assert row.status == "done" and mail.sent_indices(s, row) == list(range(30))
        assert "sent" not in row.payload


def test_a_job_queued_before_the_table_keeps_its_recorded_progress(
    factory: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch queued (and partly sent) by the previous version recorded its progress in
    the payload's ``sent``: those messages are not sent again."""
    smtp = FlakySMTP(set())
    monkeypatch.setattr(mail, "send", smtp.send)
    messages = [{"to": to, "subject": sj, "body": b} for to, sj, b in _messages(4)]
    with factory() as s:
        jobs.enqueue(s, "mail", {"messages": messages, "sent": [0, 2]})
        s.commit()
    assert jobs.run_pending(factory, _registry(settings)) == 1
    assert smtp.delivered == ["r1@uni.example", "r3@uni.example"]
    with factory() as s:
        row = s.scalars(select(jobs.Job)).one()
        assert row.status == "done" and mail.sent_indices(s, row) == [0, 1, 2, 3]
