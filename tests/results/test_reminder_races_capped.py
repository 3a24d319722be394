"""Two workers running the same reminder job at once (mail20b, PostgreSQL: two threads,
each its own session): the last first-report reminder the cap allows is sent once and
none after it; a reviewer's reminder once. The job queue hands a queued job to one
worker (``jobs.claim``: FOR UPDATE SKIP LOCKED, then a guarded update); two jobs of the
same kind queued twice rest on each reminder's own claim, tested here."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call
from opencall.jobs import Job
from opencall.results import domain as d
from opencall.results.jobs import queue_report_reminders
from opencall.reviews import notify
from tests.fixtures import race_a_second_run
from tests.results.conftest import RELEASED, Awarded
from tests.review_cycle import Cycle

LATE = RELEASED.date() + dt.timedelta(days=d.REPORT_DUE_DAYS + 1)
DEADLINE = dt.datetime(2027, 3, 1, 2, 0, tzinfo=dt.UTC)


def _pg_only(factory: sessionmaker[Session]) -> None:
    with factory() as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite runs one writer at a time")


def _to(s: Session) -> list[str]:
    return [j.payload["to"] for j in s.scalars(select(Job).where(Job.kind == "mail"))]


def test_the_last_allowed_report_reminder_once(factory: sessionmaker[Session], aw: Awarded) -> None:
    _pg_only(factory)

    def run(s: Session, day: dt.date) -> int:
        return queue_report_reminders(s, "http://x", day, max_reminders=2)

    with factory() as s:
        assert run(s, LATE) == 1
        s.commit()
    last = LATE + dt.timedelta(days=d.REPORT_REMIND_EVERY_DAYS)
    first = factory()
    assert run(first, last) == 1  # the second and last, not committed yet
    counts, errors = race_a_second_run(factory, first, lambda s: run(s, last))
    assert counts == [0] and errors == []
    with factory() as s:
        assert run(s, last + dt.timedelta(days=d.REPORT_REMIND_EVERY_DAYS)) == 0
        s.commit()
        assert _to(s) == ["pi@ke.example"] * 2


def test_a_reviewer_reminder_once(factory: sessionmaker[Session], cycle: Cycle) -> None:
    _pg_only(factory)
    with factory() as s:
        call = s.scalars(select(Call).where(Call.slug == cycle.slug)).one()
        call.review_settings = {**call.review_settings, "review_deadline": DEADLINE.isoformat()}
        s.commit()
        call_id = call.id
        before = len(_to(s))
    at = DEADLINE - dt.timedelta(days=2)

    def run(s: Session) -> int:
        c = s.get(Call, call_id)
        assert c is not None
        return notify.queue_reminders(s, c, "http://x", now=at)

    first = factory()
    sent = run(first)
    assert sent >= 1
    counts, errors = race_a_second_run(factory, first, run)
    assert counts == [0] and errors == []
    with factory() as s:
        assert len(_to(s)) == before + sent
