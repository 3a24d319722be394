"""The API documentation page, served from local assets under the site's own
Content-Security-Policy (no CDN, no inline script or style).

FastAPI's built-in ``/docs`` loads Swagger UI from a CDN and starts it with an
inline ``<script>``: neither works offline nor under ``script-src 'self'``.
The Swagger UI files come from the ``fastapi-offline`` package (we use only its
static assets); the page starts it with ``/static/api-docs.js``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/api/docs/assets"


def assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>OpenCall API</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" href="{assets}/favicon.png">
</head><body>
<div id="swagger-ui" data-openapi="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body></html>
"""


def install(app: FastAPI, docs_url: str = "/api/docs") -> None:
    """Mount the assets and the documentation page (call before the routers)."""
    app.mount(ASSETS_URL, StaticFiles(directory=str(assets_dir())), name="api-docs-assets")
    openapi = app.openapi_url or "/api/v1/openapi.json"
    html = PAGE.format(assets=ASSETS_URL, openapi=openapi)

    @app.get(docs_url, include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(html)
