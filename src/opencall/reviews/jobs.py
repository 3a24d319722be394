"""Background jobs of the review engine (run by ``opencall worker`` or inline)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.jobs import Job, JobRegistry
from opencall.reviews import services


def _call(session: Session, job: Job) -> Call:
    call = session.get(Call, job.payload.get("call_id"))
    if call is None:
        raise DomainError("The call of this job no longer exists.")
    return call


def conflicts(session: Session, job: Job, progress: Callable[[int, str], None]) -> None:
    services.compute_conflicts(session, _call(session, job), actor_id=job.created_by)


def affinity(session: Session, job: Job, progress: Callable[[int, str], None]) -> None:
    services.run_affinity(
        session,
        _call(session, job),
        method=job.payload.get("method", "tfidf"),
        actor_id=job.created_by,
        progress=progress,
    )


def assign(session: Session, job: Job, progress: Callable[[int, str], None]) -> None:
    services.run_assignment(
        session,
        _call(session, job),
        objective=job.payload.get("objective", "total"),
        seed=int(job.payload.get("seed", 0)),
        actor_id=job.created_by,
        progress=progress,
    )


def calibrate(session: Session, job: Job, progress: Callable[[int, str], None]) -> None:
    services.run_calibration(
        session,
        _call(session, job),
        seed=int(job.payload.get("seed", 0)),
        actor_id=job.created_by,
        progress=progress,
    )


def register(registry: JobRegistry) -> None:
    registry.register("review.conflicts", conflicts)
    registry.register("review.affinity", affinity)
    registry.register("review.assign", assign)
    registry.register("review.calibrate", calibrate)
