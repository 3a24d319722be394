"""The test process's apps share their OpenAPI document (``_share_openapi_document`` in
tests/fixtures.py): what an app is given is the very document FastAPI builds for it, its
own copy, and an app with another route gets a document that has it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import applications
from fastapi.openapi import utils

from opencall.app import create_app
from opencall.settings import Settings


def new_app(tmp: Path) -> Any:
    """A new app over a SQLite file in ``tmp`` (never migrated: its OpenAPI document needs
    no database), its mail to files; bench/bench_shared_openapi.py builds the same."""
    return create_app(
        Settings(
            database_url=f"sqlite:///{tmp / 'x.sqlite3'}",
            secret_key="openapi-test",
            base_url="http://testserver",
            mail_backend="file",
            mail_dir=tmp / "mail",
            upload_dir=tmp / "uploads",
        )
    )


def test_an_app_is_given_the_document_fastapi_builds_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = new_app(tmp_path).openapi()
    assert new_app(tmp_path).openapi() == shared  # from the process's document
    with monkeypatch.context() as m:
        m.setattr(applications, "get_openapi", utils.get_openapi)  # FastAPI's own, unshared
        own = new_app(tmp_path).openapi()
    assert own == shared
    assert "/api/v1/calls" in shared["paths"]
    # the API's 422 answer as opencall.web.api gives it, in every app
    assert shared["components"]["schemas"]["HTTPValidationError"]["required"] == [
        "detail",
        "errors",
    ]


def test_each_app_has_its_own_copy(tmp_path: Path) -> None:
    first = new_app(tmp_path).openapi()
    first["paths"].clear()
    first["info"]["title"] = "changed"
    second = new_app(tmp_path).openapi()
    assert "/api/v1/calls" in second["paths"]
    assert second["info"]["title"] != "changed"


def _with_route(app: Any, summary: str) -> Any:
    """``app`` with one more route (the same endpoint, by name, in every app)."""

    @app.get("/api/v1/only-here", summary=summary)
    def only_here() -> dict[str, str]:
        return {}

    return app


def test_an_app_with_another_route_has_a_document_of_its_own(tmp_path: Path) -> None:
    before = new_app(tmp_path).openapi()
    doc = _with_route(new_app(tmp_path), "Only in this app").openapi()
    assert doc["paths"]["/api/v1/only-here"]["get"]["summary"] == "Only in this app"
    assert "/api/v1/only-here" not in new_app(tmp_path).openapi()["paths"]
    assert new_app(tmp_path).openapi() == before
    # the same route, another summary: another document
    other = _with_route(new_app(tmp_path), "Said otherwise").openapi()
    assert other["paths"]["/api/v1/only-here"]["get"]["summary"] == "Said otherwise"
