"""Background job of the scheduling."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.jobs import Job, JobRegistry
from opencall.scheduling import services


def schedule(session: Session, job: Job, progress: Callable[[int, str], None]) -> None:
    call = session.get(Call, job.payload.get("call_id"))
    if call is None:
        raise DomainError("The call of this job no longer exists.")
    start = job.payload.get("start")
    services.run_schedule(
        session,
        call,
        start=dt.date.fromisoformat(start) if start else None,
        days=int(job.payload.get("days", 120)),
        seed=int(job.payload.get("seed", 0)),
        actor_id=job.created_by,
        progress=progress,
    )


def register(registry: JobRegistry) -> None:
    registry.register("schedule.run", schedule)
