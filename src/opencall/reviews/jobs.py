"""Background jobs of the review engine (run by ``opencall worker`` or inline)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from opencall.cycle.services import solve_options, step_call
from opencall.jobs import Handler, Job, JobRegistry
from opencall.reviews import queries as q
from opencall.reviews import services
from opencall.reviews.notify import notify_invited
from opencall.settings import Settings


def conflicts(session: Session, job: Job, progress: Callable[[int, str], None]) -> None:
    services.compute_conflicts(session, step_call(session, job), actor_id=job.created_by)


def affinity(session: Session, job: Job, progress: Callable[[int, str], None]) -> None:
    services.run_affinity(
        session,
        step_call(session, job),
        method=job.payload.get("method", "tfidf"),
        actor_id=job.created_by,
        progress=progress,
    )


def assign(session: Session, job: Job, progress: Callable[[int, str], None]) -> None:
    services.run_assignment(
        session,
        step_call(session, job),
        objective=job.payload.get("objective", "total"),
        **solve_options(job, progress),
    )


def calibrate(session: Session, job: Job, progress: Callable[[int, str], None]) -> None:
    services.run_calibration(session, step_call(session, job), **solve_options(job, progress))


def assign_and_notify(settings: Settings) -> Handler:
    """The 'review.assign' job: the solver's assignment, then invitations by e-mail."""

    def handle(session: Session, job: Job, progress: Any) -> None:
        call = step_call(session, job)
        before = {a.id for a in q.assignments_of_call(session, call)}
        assign(session, job, progress)
        notify_invited(session, settings.base_url, call, before)

    return handle


def register(registry: JobRegistry, settings: Settings | None = None) -> None:
    """The review's jobs; with ``settings``, 'review.assign' also mails the invitations."""
    registry.register("review.conflicts", conflicts)
    registry.register("review.affinity", affinity)
    registry.register("review.assign", assign if settings is None else assign_and_notify(settings))
    registry.register("review.calibrate", calibrate)
