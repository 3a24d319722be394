"""Background job of the allocation."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from opencall.allocation import services
from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.jobs import Job, JobRegistry


def allocate(session: Session, job: Job, progress: Callable[[int, str], None]) -> None:
    call = session.get(Call, job.payload.get("call_id"))
    if call is None:
        raise DomainError("The call of this job no longer exists.")
    services.run_allocation(
        session,
        call,
        seed=int(job.payload.get("seed", 0)),
        actor_id=job.created_by,
        progress=progress,
    )


def register(registry: JobRegistry) -> None:
    registry.register("allocation.run", allocate)
