"""Issue 13 item 7: non-finite numbers, control characters, invisible-only text,
oversized bodies and wrong types answer 4xx with a clear message (forms and the
JSON API, SQLite and PostgreSQL), change nothing, and a 500 keeps the connection."""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from opencall.auditlog import AuditEvent
from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from opencall.proposals.models import Proposal
from opencall.reviews.models import Review
from opencall.web.guard import check_json
from tests.review_cycle import Cycle
from tests.web.conftest import Web, World, csrf
from tests.web.threaded import serve_in_thread

pytestmark = pytest.mark.filterwarnings("ignore")

ZWSP = "\u200b\u200b\u200c\u2060\ufeff"


def _reviewer(web: Web, cycle: Cycle) -> tuple[Any, dict[str, str], int]:
    """The assigned reviewer of the small review cycle (the ``cycle`` fixture: built once
    per process and backend, then copied), with an API token."""
    with web.factory() as s:
        u = user_by_email(s, cycle.emails["assigned"])
        assert u is not None
        _tok, raw = people_services.create_api_token(s, u, "t")
        s.commit()
    return web.client(), {"Authorization": f"Bearer {raw}"}, cycle.ids["assignment"]


def _reviews(web: Web) -> int:
    with web.factory() as s:
        return s.scalar(select(func.count()).select_from(Review)) or 0


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ('{"grade": NaN}', 422, "NaN is not a number JSON allows"),
        ('{"grade": Infinity}', 422, "Infinity"),
        ('{"grade": -Infinity}', 422, "Infinity"),
        ('{"grade": 1e999}', 422, "out of range"),
        ('{"grade": 2, "confidence": 99999999999999999999999}', 422, "out of range"),
        ('{"grade": 2, "comments_to_applicants": "a\\u0000b"}', 400, "control characters (U+0000)"),
        ('{"grade": 2, "comments_to_panel": "bell\\u0007"}', 400, "U+0007"),
        ('{"grade": 2, "comments_to_panel": "\\ud800"}', 400, "U+D800"),
        # a grade may be a label of the call's scale since trialchair23: a word on a
        # numeric scale is the service's refusal (400), nothing written
        ('{"grade": "high"}', 400, "grade must be a number"),
        ('{"grade": 2, "confidence": "high"}', 422, "confidence"),
        ('{"grade": [2]}', 422, "grade"),
        ("[1, 2]", 422, ""),
        ('{"grade": 2,', 422, ""),
    ],
)
def test_json_api_refuses_bad_bodies(
    web: Web, cycle: Cycle, body: str, status: int, says: str
) -> None:
    c, bearer, aid = _reviewer(web, cycle)
    r = c.post(
        f"/api/v1/assignments/{aid}/review",
        content=body.encode(),
        headers={**bearer, "Content-Type": "application/json"},
    )
    assert r.status_code == status, r.text
    assert says in json.dumps(r.json()["detail"])
    assert _reviews(web) == 0


def test_a_422_says_field_then_message(web: Web, cycle: Cycle) -> None:
    """A body that does not fit its schema answers 422 with ``detail`` in the documented
    "field: message" form (docs/api.md), pydantic's list kept under ``errors``."""
    c, bearer, aid = _reviewer(web, cycle)
    r = c.post(
        f"/api/v1/assignments/{aid}/review", headers=bearer, json={"grade": 2, "confidence": "hi"}
    )
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and detail.startswith("confidence: "), detail
    assert r.json()["errors"][0]["loc"] == ["body", "confidence"]
    r = c.post(
        f"/api/v1/assignments/{aid}/review", headers=bearer, json={"grade": 2, "confidence": "x"}
    )
    assert r.status_code == 422 and r.json()["detail"].startswith("confidence: "), r.text
    assert _reviews(web) == 0
    # the OpenAPI document says so too
    schemas = c.get("/api/v1/openapi.json").json()["components"]["schemas"]
    said = schemas["HTTPValidationError"]["properties"]
    assert said["detail"]["type"] == "string" and said["errors"]["type"] == "array"


def test_a_422_never_repeats_a_bidi_control(web: Web, cycle: Cycle) -> None:
    """What was typed comes back in a 422 with its bidi controls written as code points
    (a right-to-left override would turn a client's message around), in ``detail`` and
    in pydantic's list under ``errors`` alike."""
    c, bearer, aid = _reviewer(web, cycle)
    r = c.post(
        f"/api/v1/assignments/{aid}/review",
        headers=bearer,
        json={"grade": 2, "confidence": "\u202ehigh"},
    )
    assert r.status_code == 422, r.text
    said = json.dumps(r.json(), ensure_ascii=False)
    assert "\u202e" not in said and "U+202Ehigh" in said, said
    assert r.json()["errors"][0]["loc"] == ["body", "confidence"]
    assert _reviews(web) == 0


def test_json_api_refuses_oversized_bodies(web: Web, cycle: Cycle) -> None:
    c, bearer, aid = _reviewer(web, cycle)
    big = json.dumps({"grade": 2, "comments_to_panel": "x" * (2 * 1024 * 1024)})
    r = c.post(
        f"/api/v1/assignments/{aid}/review",
        content=big.encode(),
        headers={**bearer, "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and "too large" in r.json()["detail"]
    assert _reviews(web) == 0


def test_invisible_only_text_is_empty() -> None:
    assert check_json(json.dumps({"a": ZWSP, "b": ["ok", "\u3164"]}).encode()) == (
        b'{"a": "", "b": ["ok", ""]}'
    )
    assert check_json(b'{"a": "normal text \\u200b inside"}') is None  # left alone


def _edit(c: Any, world: World, **fields: str) -> Any:
    pid = world.ids["proposal"]
    tok = csrf(c, f"/proposals/{pid}")
    with_defaults = {"title": "T", "abstract": "A", "science_case": "S", **fields}
    return c.post(f"/proposals/{pid}", data={"csrf_token": tok, **with_defaults})


def _proposal(web: Web, world: World) -> tuple[str, str]:
    with web.factory() as s:
        p = s.get(Proposal, world.ids["proposal"])
        assert p is not None
        return p.title, p.abstract


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"title": "Pulsars\x00 and NUL"}, "control characters (U+0000)"),
        ({"abstract": "tab\tok but \x1b[31m escape"}, "control characters (U+001B)"),
        ({"title": ZWSP}, "A title is required."),
    ],
)
def test_forms_refuse_control_and_invisible_text(
    web: Web, world: World, fields: dict[str, str], says: str
) -> None:
    before = _proposal(web, world)
    events = _events(web)
    c = web.login(world.emails["pi"])
    r = _edit(c, world, **fields)
    assert r.status_code == 400, r.text[:500]
    assert says in r.text
    assert _proposal(web, world) == before
    assert _events(web) == events + 1  # the sign-in only


def _events(web: Web) -> int:
    with web.factory() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_review_form_refuses_non_finite_grades(web: Web, cycle: Cycle) -> None:
    c = web.login(cycle.emails["assigned"])
    path = f"/review/assignments/{cycle.ids['assignment']}"
    for grade in ("NaN", "inf", "-Infinity", "1e999", "abc"):
        tok = csrf(c, path)
        r = c.post(path, data={"csrf_token": tok, "grade": grade, "confidence": "3"})
        assert r.status_code == 400, (grade, r.status_code)
    assert _reviews(web) == 0


@pytest.mark.parametrize("path", ["/calls/a%00b", "/calls?q=%00", "/proposals/1?x=%1b"])
def test_control_characters_in_the_address_are_refused(web: Web, path: str) -> None:
    r = web.client().get(path)
    assert r.status_code == 400 and "control characters" in r.text
    r = web.client().get("/api/v1/calls/a%00b")
    assert r.status_code == 400 and "control characters" in r.json()["detail"]


def test_a_server_error_keeps_the_connection(web: Web) -> None:
    @web.app.get("/test-boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with serve_in_thread(web.app) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/test-boom")
        r = conn.getresponse()
        r.read()
        assert r.status == 500
        conn.request("GET", "/healthz")  # the same connection
        r = conn.getresponse()
        assert r.status == 200 and json.loads(r.read()) == {"status": "ok"}
        conn.close()


def test_oversized_form_fields_get_a_clear_message(web: Web, world: World) -> None:
    before = _proposal(web, world)
    c = web.login(world.emails["pi"])
    pid = world.ids["proposal"]
    tok = csrf(c, f"/proposals/{pid}")
    r = c.post(
        f"/proposals/{pid}",
        data={"csrf_token": tok, "title": "T", "abstract": "x" * 1_100_000, "science_case": "S"},
        files={"nothing": ("", b"", "application/octet-stream")},  # multipart, as browsers send
    )
    assert r.status_code == 400 and "The form could not be read" in r.text
    assert _proposal(web, world) == before
    many = {f"f{i}": "x" for i in range(2100)}
    r = c.post(f"/proposals/{pid}", data={"csrf_token": tok, **many})
    assert r.status_code == 400 and "The form could not be read" in r.text


def test_a_422_says_a_validators_sentence_as_it_wrote_it() -> None:
    """A validator's own sentence reads as written, as the services' refusals do
    (``inputs.error_text``): not "Value error, ..." (pydantic's prefix)."""
    from opencall.web.api import validation_message

    said = validation_message(
        {"type": "value_error", "loc": ["body", "grade"], "msg": "Value error, must be 1 to 5"}
    )
    assert said == "grade: must be 1 to 5"
