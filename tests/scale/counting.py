"""A job kind that counts its executions in a table, for the exactly-once tests
(run in worker processes started by the tests: ``python -m tests.scale.counting``)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from opencall import jobs
from opencall.db import make_engine
from opencall.settings import Settings

KIND = "test.count"


def create_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS job_runs (job_id INTEGER, pid INTEGER)"))
        conn.execute(text("CREATE TABLE IF NOT EXISTS worker_ready (pid INTEGER)"))


def drop_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS job_runs"))
        conn.execute(text("DROP TABLE IF EXISTS worker_ready"))


def count(session: Session, job: jobs.Job, _progress: Callable[[int, str], None]) -> None:
    # in the job's own transaction: recorded if and only if the job is marked done
    session.execute(
        text("INSERT INTO job_runs (job_id, pid) VALUES (:j, :p)"), {"j": job.id, "p": os.getpid()}
    )
    time.sleep(0.002)


def wait_for_peers(settings: Settings, n: int) -> None:
    """Each worker process announces itself and waits (at most a minute) for the
    others, so that all of them compete for the queue from the start."""
    engine = make_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO worker_ready (pid) VALUES (:p)"), {"p": os.getpid()})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(text("SELECT COUNT(*) FROM worker_ready")).scalar_one() >= n:
                break
        time.sleep(0.05)
    engine.dispose()


def registry(settings: Settings) -> jobs.JobRegistry:
    """The real registry plus the counting kind."""
    from opencall.app import build_registry

    reg = build_registry(settings)
    reg.register(KIND, count)
    wait_for_peers(settings, int(os.environ.get("COUNTING_PEERS", "1")))
    return reg


def main(argv: list[str]) -> int:
    from opencall import worker

    url, concurrency = argv[0], int(argv[1])
    serve = len(argv) > 2 and argv[2] == "serve"  # until SIGTERM, else until the queue is empty
    n = worker.run(
        Settings(database_url=url),  # the rest from OPENCALL_* (mail, storage)
        concurrency=concurrency,
        once=not serve,
        poll=0.2,
        registry_factory=registry,
        verbose=False,
    )
    print(f"ran {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
