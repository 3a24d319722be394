"""The worker wakes when a job is queued (mend10b item 4): on PostgreSQL the commit that
queues a job notifies the channel ``opencall_jobs`` (``NOTIFY`` in the queuing
transaction: delivered at its commit, never for a rollback) and a waiting worker, which
listens on it, claims the job at once instead of at its next poll (every 2 s by
default). Polling stays the fallback, and SQLite's only way."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from opencall import jobs, worker
from opencall.settings import Settings


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _pg_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY: PostgreSQL only (SQLite polls)")


def test_the_commit_that_queues_a_job_notifies_and_a_rollback_does_not(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    _pg_only(engine)
    url = _url(engine).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute(f"LISTEN {jobs.CHANNEL}")
        with factory() as s:
            jobs.enqueue(s, "wake.test", {})
            jobs.enqueue(s, "wake.test", {})  # one notification a transaction is enough
            s.rollback()
        assert list(listener.notifies(timeout=1.0)) == []
        with factory() as s:
            jobs.enqueue(s, "wake.test", {})
            assert list(listener.notifies(timeout=0.5)) == []  # not before the commit
            s.commit()
        got = list(listener.notifies(timeout=2.0, stop_after=1))
        assert [n.channel for n in got] == [jobs.CHANNEL]


def test_a_waiting_worker_runs_a_queued_job_long_before_its_poll(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    _pg_only(engine)
    ran = [threading.Event(), threading.Event()]

    def registry(_settings: Settings) -> jobs.JobRegistry:
        r = jobs.JobRegistry()
        r.register("wake.test", lambda s, job, progress: ran[job.payload["n"]].set())
        return r

    stop = threading.Event()
    t = threading.Thread(
        target=worker.work,
        args=(Settings(database_url=_url(engine)),),
        kwargs={"poll": 3600.0, "registry_factory": registry, "stop": stop},
        daemon=True,
    )
    t.start()
    try:
        with factory() as s:
            jobs.enqueue(s, "wake.test", {"n": 0})
            s.commit()
        assert ran[0].wait(60)
        time.sleep(0.5)  # the worker finds the queue empty and waits (an hour's poll)
        with factory() as s:
            jobs.enqueue(s, "wake.test", {"n": 1})
            s.commit()
        assert ran[1].wait(60), "the worker slept through the queued job until its poll"
    finally:
        stop.set()
        t.join(30)
    assert not t.is_alive()  # a stop ends the wait too
