"""A step of the cycle runs only in the call states that allow it, wherever it is asked
for: a job queued while the step was allowed and overtaken by a transition before the
worker ran it is refused when it runs (the job fails with the reason, nothing changes)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from opencall import jobs
from opencall.app import build_registry
from opencall.cycle import services as cycle
from opencall.settings import Settings
from tests import factories as F

PATH = ("review", "ranking", "allocation", "scheduling")


@pytest.mark.parametrize(
    ("kind", "queued_in", "moved_to"),
    [
        ("review.conflicts", "review", "ranking"),
        ("review.affinity", "review", "ranking"),
        ("review.assign", "review", "ranking"),
        ("review.calibrate", "ranking", "allocation"),
        ("allocation.run", "allocation", "scheduling"),
        ("schedule.run", "scheduling", "allocation"),
    ],
)
def test_a_job_overtaken_by_a_transition_is_refused_and_changes_nothing(
    factory: sessionmaker[Session], kind: str, queued_in: str, moved_to: str
) -> None:
    with factory() as s:
        call, _, _ = F.call_in_review(s, 2, 3, reviewers_per_proposal=2)
        for target in PATH[1 : PATH.index(queued_in) + 1]:
            cycle.transition_call(s, call, target)
        job = jobs.enqueue(
            s, kind, {"call_id": call.id, "seed": 0}, call_id=call.id, max_attempts=2
        )
        s.commit()
        job_id = job.id
        cycle.transition_call(s, call, moved_to)  # the chair moves on before the worker
        s.commit()
        before = F.table_counts(s)
    jobs.run_pending(factory, build_registry(Settings()))
    with factory() as s:
        job = s.get(jobs.Job, job_id)
        assert job is not None
        assert job.status == "failed"
        assert f"This step cannot run while the call is {moved_to}." in job.error
        assert F.table_counts(s) == before


def test_a_job_still_in_order_runs(factory: sessionmaker[Session]) -> None:
    with factory() as s:
        call, _, _ = F.call_in_review(s, 2, 3, reviewers_per_proposal=2)
        job = jobs.enqueue(
            s, "review.assign", {"call_id": call.id}, call_id=call.id, max_attempts=2
        )
        s.commit()
        job_id = job.id
    jobs.run_pending(factory, build_registry(Settings()))
    with factory() as s:
        job = s.get(jobs.Job, job_id)
        assert job is not None and job.status == "done", job.error
