"""A forged keyset cursor is refused with 400, whatever text it carries. A cursor is
base64 of JSON, and JSON may spell a NUL (``\\u0000``) or a lone surrogate (``\\ud800``)
that the guard never sees in the query string: before the fix such a cursor of the
post-award overview (paged by proposal code) reached the database and answered 500
(PostgreSQL "text fields cannot contain NUL", and "surrogates not allowed" on both)."""

from __future__ import annotations

import base64
import json

import pytest

from tests.results.conftest import Awarded
from tests.web.conftest import Web, api_bearer

pytestmark = pytest.mark.filterwarnings("ignore")


def _cursor(values: list[object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def test_a_cursor_with_a_control_character_is_refused(web: Web, aw: Awarded) -> None:
    h = api_bearer(web, aw.emails["manager"], ("manage",))
    c = web.client()
    url = f"/api/v1/calls/{aw.slug}/postaward"
    for text in ("\u0000", "L1\ud800", "\u001b[2J"):
        r = c.get(url, params={"cursor": _cursor([text, 1])}, headers=h)
        assert r.status_code == 400, (text, r.status_code, r.text[:200])
        assert r.json() == {"detail": "invalid cursor"}
    r = c.get(url, params={"cursor": _cursor(["L1-0000", 1])}, headers=h)
    assert r.status_code == 200 and r.json()["items"], r.text[:200]
