"""The application factory. Routers and job handlers are wired here, explicitly."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from opencall import jobs
from opencall.calls.queries import list_calls
from opencall.db import make_engine, make_sessionmaker
from opencall.settings import Settings

WEB = Path(__file__).parent / "web"


def build_registry(settings: Settings) -> jobs.JobRegistry:
    registry = jobs.JobRegistry()
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
    templates = Jinja2Templates(directory=str(WEB / "templates"))
    app.mount("/static", StaticFiles(directory=str(WEB / "static")), name="static")

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        with factory() as s:
            calls = list_calls(s)
            return templates.TemplateResponse(request, "home.html", {"calls": calls})

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
