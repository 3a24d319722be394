"""The application factory. Routers and job handlers are wired here, explicitly."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from opencall import jobs
from opencall.calls import views as call_views
from opencall.db import make_engine, make_sessionmaker
from opencall.outcomes import views as outcome_views
from opencall.people import views as people_views
from opencall.people.queries import user_for_session
from opencall.proposals import views as proposal_views
from opencall.settings import Settings
from opencall.web import mail
from opencall.web.pages import install

# Every HTML router, in one list (the authorisation test walks app.routes).
ROUTERS: list[APIRouter] = [
    people_views.router,
    call_views.router,
    proposal_views.router,
    outcome_views.router,
    # routers of later features
]


def build_registry(settings: Settings) -> jobs.JobRegistry:
    registry = jobs.JobRegistry()
    registry.register("mail", mail.mail_handler(settings))
    return registry


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings.database_url, echo=settings.echo_sql)
    factory = make_sessionmaker(engine)
    app = FastAPI(
        title="OpenCall", version="0.1.0", docs_url="/api/docs", openapi_url="/api/v1/openapi.json"
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = factory
    app.state.jobs = build_registry(settings)
    install(app, settings, user_for_session)
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
