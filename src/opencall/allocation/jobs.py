"""Background job of the allocation."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from opencall.allocation import services
from opencall.cycle.services import job_call, solve_options, step_call
from opencall.jobs import Handler, Job, JobRegistry
from opencall.settings import Settings


def allocate(session: Session, job: Job, progress: Callable[[int, str], None]) -> None:
    services.run_allocation(session, step_call(session, job), **solve_options(job, progress))


def notify_decisions(settings: Settings) -> Handler:
    """The 'allocation.notify' job, after the release: one e-mail per accepted team
    member, in their language, that the decision is ready (read it on the site). Run by
    the worker, not by the request that released: each message is a ``mail`` job of its
    own, queued here in one unit of work (all or none), so none is lost and a retry
    sends none twice. The links start with ``settings.base_url`` as it is when the job
    runs (a ``base_url`` in the payload, from jobs queued before, is ignored)."""

    def handle(session: Session, job: Job, progress: Callable[[int, str], None]) -> None:
        _notify(session, job, progress, settings.base_url)

    return handle


def _notify(session: Session, job: Job, progress: Callable[[int, str], None], base: str) -> None:
    from opencall.allocation.notify import queue_decision_mails
    from opencall.proposals.models import Proposal

    call = job_call(session, job)
    queued: list[int] = []
    decisions = services.decisions(session, call)
    for i, d in enumerate(decisions):
        p = session.get(Proposal, d.proposal_id)
        if p is None:
            continue
        queued += queue_decision_mails(session, call, p, base)
        if i % 50 == 0:
            progress(int(100 * i / max(1, len(decisions))), "decision e-mails")
    job.payload = {**job.payload, "mails": queued}
    job.message = f"{len(queued)} decision e-mails queued"


def register(registry: JobRegistry, settings: Settings) -> None:
    registry.register("allocation.run", allocate)
    registry.register("allocation.notify", notify_decisions(settings))
