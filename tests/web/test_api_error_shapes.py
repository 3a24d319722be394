"""A partner's client generated from the OpenAPI document meets every error answer the
server gives (trialapi24). Before, the document listed 401 on 3 of its 135 operations
and 403 on none, and gave no body for a 400/404/409; and two 422s, a reused
``Idempotency-Key`` and a body with ``NaN``, answered ``{"detail": ...}`` alone where the
document's 422 (``HTTPValidationError``) requires ``errors``: a generated client failed
to read them."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from tests.web.conftest import Web, World, api_bearer

pytestmark = pytest.mark.filterwarnings("ignore")

WRITES = {"post", "put", "patch", "delete"}


def _doc(web: Web) -> dict[str, Any]:
    doc: dict[str, Any] = web.client().get("/api/v1/openapi.json").json()
    return doc


def _fits(doc: dict[str, Any], path: str, method: str, status: int, body: Any) -> None:
    """``body`` is valid against the schema the document gives for this answer."""
    answer = doc["paths"][path][method]["responses"].get(str(status))
    assert answer is not None, (
        path,
        method,
        status,
        sorted(doc["paths"][path][method]["responses"]),
    )
    schema = answer["content"]["application/json"]["schema"]
    jsonschema.validate(body, {**schema, "components": doc["components"]})


def test_every_operation_documents_its_refusals_with_a_body(web: Web) -> None:
    doc = _doc(web)
    missing = []
    for path, ops in doc["paths"].items():
        if not path.startswith("/api/v1/") or path == "/api/v1/openapi.json":
            continue
        for method, op in ops.items():
            said = op["responses"]
            need = {"401"} | ({"403"} if method in WRITES else set())
            missing += [f"{method} {path} {c}" for c in sorted(need - set(said))]
            missing += [
                f"{method} {path} {c} has no body"
                for c, answer in said.items()
                if c.startswith("4") and "application/json" not in answer.get("content", {})
            ]
    assert missing == [], (len(missing), missing[:5])


def test_a_bad_token_and_a_read_only_write_answer_as_documented(web: Web, world: World) -> None:
    doc = _doc(web)
    r = web.client().get("/api/v1/proposals", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401, r.text
    _fits(doc, "/api/v1/proposals/{proposal_id}", "get", 401, r.json())
    pid = world.ids["proposal"]
    bearer = api_bearer(web, world.emails["pi"], scopes=("read",))
    r = web.client().patch(f"/api/v1/proposals/{pid}", headers=bearer, json={"version": 1})
    assert r.status_code == 403, r.text
    _fits(doc, "/api/v1/proposals/{proposal_id}", "patch", 403, r.json())


def test_a_reused_idempotency_key_is_a_documented_422(web: Web, world: World) -> None:
    doc = _doc(web)
    pid = world.ids["proposal"]
    bearer = api_bearer(web, world.emails["pi"]) | {"Idempotency-Key": "k-trialapi24"}
    url = f"/api/v1/proposals/{pid}"
    web.client().patch(url, headers=bearer, json={"version": 999999, "title": "One"})
    r = web.client().patch(url, headers=bearer, json={"version": 999999, "title": "Two"})
    assert r.status_code == 422, r.text
    _fits(doc, "/api/v1/proposals/{proposal_id}", "patch", 422, r.json())
    assert r.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"], r.json()


def test_a_nan_in_the_body_is_a_documented_422(web: Web, world: World) -> None:
    doc = _doc(web)
    pid = world.ids["proposal"]
    bearer = api_bearer(web, world.emails["pi"]) | {"Content-Type": "application/json"}
    url = f"/api/v1/proposals/{pid}"
    r = web.client().patch(url, headers=bearer, content=b'{"version": NaN}')
    assert r.status_code == 422, r.text
    _fits(doc, "/api/v1/proposals/{proposal_id}", "patch", 422, r.json())
    assert r.json()["errors"][0]["loc"] == ["body"], r.json()


@pytest.mark.parametrize(
    "url", ["/api/v1/calls?fields=nope", "/api/v1/calls?cursor=%01", "/api/v1/proposals?x%01=1"]
)
def test_a_refused_address_is_a_documented_400(web: Web, world: World, url: str) -> None:
    """An unknown ``?fields=`` name and a control character in the address are refused
    with 400 before the route runs, on any operation: the document said 200 and 422."""
    doc = _doc(web)
    bearer = api_bearer(web, world.emails["pi"])
    r = web.client().get(url, headers=bearer)
    assert r.status_code == 400, r.text
    _fits(doc, url.split("?")[0], "get", 400, r.json())
