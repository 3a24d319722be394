"""The application factory. Routers are wired here, explicitly; the job handlers in
opencall.registry (which the worker imports without the web)."""

from __future__ import annotations

import logging
import threading
import time

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from opencall import logging_setup, migrate, storage
from opencall.allocation import api as allocation_api
from opencall.allocation import api_write as allocation_api_write
from opencall.allocation import tac_api as allocation_tac_api
from opencall.allocation import tac_views as allocation_tac_views
from opencall.allocation import views as allocation_views
from opencall.calls import api as call_api
from opencall.calls import api_write as call_api_write
from opencall.calls import manage_views as call_manage_views
from opencall.calls import people_views as call_people_views
from opencall.calls import views as call_views
from opencall.db import make_engine, make_sessionmaker
from opencall.diagnostics import enable_crash_reports, gc_at_safe_points
from opencall.facilities import api as facility_api
from opencall.facilities import resource_views as facility_resource_views
from opencall.facilities import views as facility_views
from opencall.outcomes import after_award_views
from opencall.outcomes import api as outcome_api
from opencall.outcomes import report_views as outcome_report_views
from opencall.outcomes import views as outcome_views
from opencall.people import api as people_api
from opencall.people import expertise_views as people_expertise_views
from opencall.people import views as people_views
from opencall.people.queries import user_for_session
from opencall.people.services import token_user
from opencall.proposals import api as proposal_api
from opencall.proposals import api_write as proposal_api_write
from opencall.proposals import views as proposal_views
from opencall.registry import build_registry  # re-exported: tests import it from here
from opencall.results import api as results_api
from opencall.results import views as results_views
from opencall.reviews import api as review_api
from opencall.reviews import api_write as review_api_write
from opencall.reviews import recruitment_views as review_recruitment_views
from opencall.reviews import views as review_views
from opencall.scheduling import api as scheduling_api
from opencall.scheduling import api_write as scheduling_api_write
from opencall.scheduling import slot_views as scheduling_slot_views
from opencall.scheduling import views as scheduling_views
from opencall.settings import Settings, production_problems
from opencall.web import api as web_api
from opencall.web import apidocs
from opencall.web.labels import REQUEST_KINDS
from opencall.web.pages import install
from opencall.web.requestlog import RequestLog

log = logging.getLogger(__name__)

# Every HTML router, in one list (the authorisation test walks app.routes).
ROUTERS: list[APIRouter] = [
    people_views.router,
    people_expertise_views.router,
    call_views.router,
    proposal_views.router,
    outcome_views.router,
    after_award_views.router,
    # routers of later features
    # (manage_views first: /manage/calls/new before the cockpit's /manage/calls/{slug})
    call_manage_views.router,
    facility_views.router,
    facility_resource_views.router,
    call_people_views.router,
    people_api.router,
    review_views.router,
    review_recruitment_views.router,
    allocation_views.router,
    allocation_tac_views.router,
    scheduling_views.router,
    scheduling_slot_views.router,
    results_views.router,
    outcome_report_views.router,
    # the JSON API under /api/v1 (personal tokens; same services and policies)
    people_api.api_router,
    call_api.router,
    facility_api.router,
    call_people_views.api_router,
    proposal_api.router,
    review_api.router,
    review_recruitment_views.api_router,
    allocation_api.router,
    scheduling_api.router,
    results_api.router,
    outcome_api.api_router,
    # the API's writes (issue 11 item 7): everything the pages do
    call_api_write.router,
    proposal_api_write.router,
    review_api_write.router,
    allocation_api_write.router,
    allocation_tac_api.router,
    scheduling_api_write.router,
]


def create_app(settings: Settings) -> FastAPI:
    enable_crash_reports()  # faulthandler: a native crash leaves every thread's stack
    gc_at_safe_points()  # Python 3.11: no collection inside SQLAlchemy's loading (segfaults)
    problems = production_problems(settings)
    if problems:
        raise RuntimeError("OPENCALL_ENV=production refuses to start: " + "; ".join(problems))
    engine = make_engine(
        settings.database_url,
        echo=settings.echo_sql,
        concurrency=settings.concurrency,
        connect_timeout_s=settings.db_connect_timeout_s,
    )
    factory = make_sessionmaker(engine, audit_key=settings.audit_key)
    app = FastAPI(
        title="OpenCall",
        version="0.1.0",
        description=(
            "Open, fair access to shared science facilities. Authenticate with a personal "
            "token (`Authorization: Bearer <token>`, see /account/tokens). Every write "
            "(POST, PUT, PATCH, DELETE) accepts an `Idempotency-Key` header: a retry with the "
            "same key and request gets the first answer back without running again."
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = factory
    app.state.jobs = build_registry(settings)
    install(app, settings, user_for_session, factory)
    # labels shared by the templates of several features (translated where shown)
    app.state.templates.globals["kind_labels"] = REQUEST_KINDS
    app.state.templates.globals["anonymity_labels"] = call_views.ANONYMITY
    web_api.install(app, token_user)
    apidocs.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(RequestLog)  # outermost: the request id on every line

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers (no database: never restart a process because
        the database is away)."""
        return {"status": "ok"}

    code_revision = migrate.head()
    store_checked = _StoreCheck(settings)

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        """Readiness, for a load balancer: 200 when this process reaches its database, the
        schema is the code's and the attachment store can be written and read (install20b),
        else 503 (send the traffic elsewhere). Says which, never the database's address nor
        the store's folder, bucket or credentials (those go to the server log)."""
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
                revision = migrate.current_on(conn)
        except (DBAPIError, OSError) as exc:
            log.warning("readyz: the database is not reachable (%s)", type(exc).__name__)
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
        if revision != code_revision:
            return JSONResponse(
                {
                    "status": "unavailable",
                    "database": "schema differs from the code: run opencall db upgrade",
                },
                503,
            )
        if not store_checked.usable():
            return JSONResponse(
                {
                    "status": "unavailable",
                    "database": "ok",
                    "storage": "attachments cannot be written: see the server log",
                },
                503,
            )
        return JSONResponse({"status": "ready", "database": "ok", "storage": "ok"})

    return app


class _StoreCheck:
    """install20's start check of the attachment store (`storage.unusable`: write, read back
    and remove one probe object), asked by /readyz without a write on every probe: a store
    found usable is believed for ``every_s`` seconds (a load balancer probes every few
    seconds; one S3 PUT+GET+DELETE per half minute per process is nothing); a store found
    unusable is tried again on the next probe, so its repair is seen at once. Probes that
    arrive while one check runs (a slow S3 endpoint) answer from the last result rather
    than pile up behind it."""

    def __init__(self, settings: Settings, every_s: float = 30.0) -> None:
        self.settings, self.every_s = settings, every_s
        self.lock = threading.Lock()
        self.ok_until = 0.0
        self.last_ok = True

    def usable(self) -> bool:
        if time.monotonic() < self.ok_until:
            return True
        if not self.lock.acquire(blocking=False):
            return self.last_ok
        try:
            problem = storage.unusable(self.settings)
            self.last_ok = problem is None
            if problem:
                log.warning("readyz: %s", problem)
                self.ok_until = 0.0
            else:
                self.ok_until = time.monotonic() + self.every_s
            return self.last_ok
        finally:
            self.lock.release()


def app_from_environment() -> FastAPI:
    """The app for `opencall serve` (each uvicorn worker process calls this factory):
    settings from the environment, read when called, never at import."""
    logging_setup.configure()
    return create_app(Settings())
