"""Two reminder runs at the same moment (two workers, or a retry racing the first run)
send each reminder once: a run claims the reminder (its row, in one statement) before
it queues the mail, and a run that finds it claimed meanwhile sends nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall.jobs import Job
from opencall.proposals.models import Proposal
from opencall.results import domain as d
from opencall.results import services
from opencall.results.jobs import queue_overdue_reminders, queue_report_reminders
from opencall.results.models import PostAwardRecord, ReportReminder
from tests.fixtures import race_a_second_run
from tests.results.conftest import RELEASED, Awarded
from tests.results.test_services import LOAN

LATE = RELEASED.date() + dt.timedelta(days=d.REPORT_DUE_DAYS + 1)
LOAN_LATE = dt.date(2028, 6, 10)


def _mails(s: Session) -> list[str]:
    return [j.payload["to"] for j in s.scalars(select(Job).where(Job.kind == "mail"))]


def _report(s: Session, day: dt.date) -> int:
    return queue_report_reminders(s, "http://x", day)


def _loan(s: Session, day: dt.date) -> int:
    return queue_overdue_reminders(s, "http://x", day)


def _with_loan(factory: sessionmaker[Session], aw: Awarded) -> None:
    with factory() as s:
        p = s.get(Proposal, aw.awarded)
        assert p is not None
        services.add_record(s, p, "loan", LOAN, actor_id=None)
        s.commit()


# (the run, the check it makes before it mails, the day of the first reminder, the
# days to the next one, and the row that counts them)
RUNS: dict[str, tuple[Callable[[Session, dt.date], int], str, dt.date, int, Any]] = {
    "report": (_report, "needs_report_reminder", LATE, d.REPORT_REMIND_EVERY_DAYS, ReportReminder),
    "loan": (_loan, "needs_reminder", LOAN_LATE, d.REMIND_EVERY_DAYS, PostAwardRecord),
}


@pytest.mark.parametrize("kind", ["report", "loan"])
@pytest.mark.parametrize("repeat", [False, True], ids=["first", "repeat"])
def test_a_run_that_read_before_another_committed_sends_nothing(
    factory: sessionmaker[Session], aw: Awarded, monkeypatch: Any, kind: str, repeat: bool
) -> None:
    """A deterministic interleaving (both backends): the second run has read the award's
    reminders and judged one due when the first run sends it and commits."""
    run, check, day, every, row = RUNS[kind]
    if kind == "loan":
        _with_loan(factory, aw)
    if repeat:  # a reminder sent before: the next one is due
        with factory() as s:
            assert run(s, day) == 1
            s.commit()
        day += dt.timedelta(days=every)
    real = getattr(d, check)
    raced: list[bool] = []
    first: list[int] = []

    def racing(*args: Any, **kw: Any) -> bool:
        if not raced:  # the other run goes through, start to commit, right now
            raced.append(True)
            with factory() as other:
                first.append(run(other, day))
                other.commit()
        return bool(real(*args, **kw))

    monkeypatch.setattr(d, check, racing)
    with factory() as s:
        assert run(s, day) == 0
        s.commit()
    assert first == [1]
    with factory() as s:
        assert _mails(s) == ["pi@ke.example"] * (1 + repeat)
        (r,) = s.scalars(select(row).where(row.reminders_sent > 0))
        assert r.reminders_sent == 1 + repeat and r.last_reminded_on == day


@pytest.mark.parametrize("kind", ["report", "loan"])
def test_two_runs_at_once_send_the_next_reminder_once(
    factory: sessionmaker[Session], aw: Awarded, kind: str
) -> None:
    """Two threads with their own sessions (PostgreSQL): the second run finds the next
    reminder due, waits on the first run's claim of the row, and sends nothing."""
    run, _check, day, every, _row = RUNS[kind]
    with factory() as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite runs one writer at a time: the interleaving test covers it")
    if kind == "loan":
        _with_loan(factory, aw)
    with factory() as s:
        assert run(s, day) == 1
        s.commit()
    day += dt.timedelta(days=every)
    first = factory()
    assert run(first, day) == 1  # not committed yet
    counts, errors = race_a_second_run(factory, first, lambda s: run(s, day))
    assert counts == [0] and errors == []
    with factory() as s:
        assert _mails(s) == ["pi@ke.example"] * 2
