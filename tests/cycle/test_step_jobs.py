"""Every solver step's job hands its service the same things from the job: the call it was
queued for, the seed it was queued with, the person who queued it (the run's actor) and
the progress callback (``cycle.services.solve_options``)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from opencall import jobs
from opencall.allocation import jobs as allocation_jobs
from opencall.allocation import services as allocation_services
from opencall.cycle import services as cycle
from opencall.reviews import jobs as review_jobs
from opencall.reviews import services as review_services
from opencall.scheduling import jobs as scheduling_jobs
from opencall.scheduling import services as scheduling_services
from tests import factories as F

STEPS: list[tuple[str, jobs.Handler, object, str, str, dict[str, Any]]] = [
    ("review.assign", review_jobs.assign, review_services, "run_assignment", "review", {}),
    ("review.calibrate", review_jobs.calibrate, review_services, "run_calibration", "ranking", {}),
    (
        "allocation.run",
        allocation_jobs.allocate,
        allocation_services,
        "run_allocation",
        "allocation",
        {},
    ),
    (
        "schedule.run",
        scheduling_jobs.schedule,
        scheduling_services,
        "run_schedule",
        "scheduling",
        {"days": 30},
    ),
]


@pytest.mark.parametrize(
    ("kind", "handler", "module", "service", "state", "payload"), STEPS, ids=[s[0] for s in STEPS]
)
def test_a_step_job_runs_its_solver_with_the_jobs_seed_actor_and_progress(
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    handler: jobs.Handler,
    module: object,
    service: str,
    state: str,
    payload: dict[str, Any],
) -> None:
    call, _, _ = F.call_in_review(db, 2, 3, reviewers_per_proposal=2)
    for target in ("ranking", "allocation", "scheduling")[
        : ("review", "ranking", "allocation", "scheduling").index(state)
    ]:
        cycle.transition_call(db, call, target)
    chair = F.user(db)
    job = jobs.enqueue(
        db, kind, {"call_id": call.id, "seed": 7, **payload}, call_id=call.id, created_by=chair.id
    )
    seen: list[tuple[Any, ...]] = []
    monkeypatch.setattr(module, service, lambda *a, **kw: seen.append((a, kw)))

    def progress(done: int, message: str) -> None:
        pass

    handler(db, job, progress)
    assert len(seen) == 1
    args, kwargs = seen[0]
    assert args == (db, call)
    assert kwargs["seed"] == 7
    assert kwargs["actor_id"] == chair.id
    assert kwargs["progress"] is progress
