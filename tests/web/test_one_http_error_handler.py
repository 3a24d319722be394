"""One handler for FastAPI's and Starlette's HTTPException (dup22): a view's 404
(``page.not_found``, FastAPI's class), a path no route has and a method a route does not
take (Starlette's) all answer with the error page, and under /api/ with the JSON error."""

from __future__ import annotations

from tests.web.conftest import Web


def test_every_http_error_is_the_error_page_or_the_apis_json(web: Web) -> None:
    c = web.client()
    for path, method, status in [
        ("/calls/no-such-call", "GET", 404),  # the view's page.not_found()
        ("/no/such/page", "GET", 404),  # no route
        ("/login", "DELETE", 405),  # a route, not that method
    ]:
        r = c.request(method, path)
        assert r.status_code == status, (path, r.status_code)
        assert r.headers["content-type"].startswith("text/html"), (path, r.headers)
        assert "<html" in r.text and '"detail"' not in r.text
    r = c.get("/api/v1/no/such/thing")
    assert r.status_code == 404
    assert r.json() == {"detail": "not found"}
