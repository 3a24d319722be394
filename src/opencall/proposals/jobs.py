"""Background jobs of proposals: the anonymity scan of each version of a proposal's
text and of each uploaded PDF (run by ``opencall worker``, or inline after commit), and
the reminders to the PI of each draft before its call closes (``proposals.remind_drafts``,
queued by ``opencall proposals remind`` or by a scheduler)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.orm import Session

from opencall.jobs import Handler, Job, JobRegistry
from opencall.proposals import services
from opencall.proposals.notify import queue_draft_reminders
from opencall.settings import Settings
from opencall.storage import storage_for


def anonymity_scan(settings: Settings) -> Handler:
    limits = services.pdf_limits(settings)

    def handle(session: Session, job: Job, progress: Callable[[int, str], None]) -> None:
        services.run_anonymity_scan(
            session, int(job.payload["scan_id"]), upload_dir=storage_for(settings), limits=limits
        )

    return handle


REMIND_JOB = "proposals.remind_drafts"


def remind_drafts(settings: Settings) -> Handler:
    def handle(session: Session, job: Job, progress: Callable[[int, str], None]) -> None:
        at = (job.payload or {}).get("now")
        queue_draft_reminders(
            session,
            settings.base_url,
            settings.draft_reminder_days,
            now=dt.datetime.fromisoformat(at) if at else None,
        )

    return handle


def register(registry: JobRegistry, settings: Settings) -> None:
    registry.register(services.SCAN_JOB, anonymity_scan(settings))
    registry.register(REMIND_JOB, remind_drafts(settings))
