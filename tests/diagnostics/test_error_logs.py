"""Every unhandled error is logged (issue 17): a failing job (recorded on the job, and
now logged with its traceback), an exception escaping a thread, a failing background
inline job; faulthandler is on in every process that creates the app."""

from __future__ import annotations

import faulthandler
import logging
import threading
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from opencall import jobs
from opencall.diagnostics import enable_crash_reports


def test_a_failing_job_is_logged(
    factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    registry = jobs.JobRegistry()

    def broken(session: Session, job: jobs.Job, progress: Any) -> None:
        raise RuntimeError("the solver gave up")

    registry.register("test.broken", broken)
    with factory() as s:
        jobs.enqueue(s, "test.broken", {}, max_attempts=1)
        s.commit()
    with caplog.at_level(logging.ERROR, logger="opencall.jobs"):
        job = jobs.run_one(factory, registry)
    assert job is not None and job.status == "failed"
    assert any(
        "test.broken" in r.getMessage()
        and r.exc_info
        and "the solver gave up" in str(r.exc_info[1])
        for r in caplog.records
    )


def test_an_exception_escaping_a_thread_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    enable_crash_reports()
    assert faulthandler.is_enabled()

    def boom() -> None:
        raise ValueError("lost in a thread")

    with caplog.at_level(logging.ERROR, logger="opencall"):
        t = threading.Thread(target=boom, name="job-thread")
        t.start()
        t.join()
    assert any(
        "job-thread" in r.getMessage() and "lost in a thread" in str(r.exc_info and r.exc_info[1])
        for r in caplog.records
    )
