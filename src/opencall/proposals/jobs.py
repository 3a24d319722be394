"""Background jobs of proposals: the anonymity scan of each version of a proposal's
text and of each uploaded PDF (run by ``opencall worker``, or inline after commit)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from opencall.jobs import Handler, Job, JobRegistry
from opencall.proposals import services
from opencall.settings import Settings
from opencall.storage import storage_for


def anonymity_scan(settings: Settings) -> Handler:
    limits = services.pdf_limits(settings)

    def handle(session: Session, job: Job, progress: Callable[[int, str], None]) -> None:
        services.run_anonymity_scan(
            session, int(job.payload["scan_id"]), upload_dir=storage_for(settings), limits=limits
        )

    return handle


def register(registry: JobRegistry, settings: Settings) -> None:
    registry.register(services.SCAN_JOB, anonymity_scan(settings))
