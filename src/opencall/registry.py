"""Every job kind's handler, in one registry: what ``opencall worker`` runs, and the web
process too when it runs jobs inline (``app.create_app``).

Apart from :mod:`opencall.app` so that a worker process (and each process of
``worker --concurrency M``) imports the features' job handlers only, not every
router, page and API schema of the web: about 0.6 s less CPU at each worker start
(docs/testing.md)."""

from __future__ import annotations

from opencall import jobs
from opencall.allocation import jobs as allocation_jobs
from opencall.people import jobs as people_jobs
from opencall.proposals import jobs as proposal_jobs
from opencall.results import jobs as results_jobs
from opencall.reviews import jobs as review_jobs
from opencall.scheduling import jobs as scheduling_jobs
from opencall.settings import Settings
from opencall.web import mail


def build_registry(settings: Settings) -> jobs.JobRegistry:
    registry = jobs.JobRegistry()
    registry.register("mail", mail.mail_handler(settings))
    people_jobs.register(registry, settings)  # password-reset requests
    proposal_jobs.register(registry, settings)
    review_jobs.register(registry, settings)  # assignment, then invitations by e-mail
    allocation_jobs.register(registry, settings)  # the decision e-mails
    scheduling_jobs.register(registry)
    results_jobs.register(registry, settings.base_url, settings.report_reminders_max)
    for kind, handler in list(registry.handlers.items()):
        if kind != "mail":  # live progress without deadlocking SQLite (see guard_progress)
            registry.register(kind, jobs.guard_progress(handler))
    return registry
