"""Background job of the scheduling."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.orm import Session

from opencall.cycle.services import solve_options, step_call
from opencall.jobs import Job, JobRegistry
from opencall.scheduling import queries, services


def schedule(session: Session, job: Job, progress: Callable[[int, str], None]) -> None:
    call = step_call(session, job)
    nothing = queries.nothing_awarded(session, call)
    if nothing is not None:
        # the step's answer, not a failure: the job ends done saying so
        job.message = nothing.message
        return
    start = job.payload.get("start")
    services.run_schedule(
        session,
        call,
        start=dt.date.fromisoformat(start) if start else None,
        days=int(job.payload.get("days", 120)),
        **solve_options(job, progress),
    )


def register(registry: JobRegistry) -> None:
    registry.register("schedule.run", schedule)
