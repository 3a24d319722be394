"""Conditional GETs of the JSON API (trialapi23): a nightly client pulling decisions and
figures over a slow link sends the ``ETag`` it kept as ``If-None-Match`` and gets 304
without a body while the answer is unchanged, and the new answer (a new tag) once it
changed. The tag is weak (``W/"..."``): the same JSON, compressed or not."""

from __future__ import annotations

import pytest

from tests.web.conftest import Web, World, api_bearer

pytestmark = pytest.mark.filterwarnings("ignore")


def test_an_unchanged_answer_is_a_304_without_a_body(web: Web, world: World) -> None:
    bearer = api_bearer(web, world.emails["pi"])
    c = web.client()
    r = c.get("/api/v1/proposals", headers=bearer)
    tag = r.headers.get("etag")
    assert r.status_code == 200 and tag and tag.startswith('W/"'), dict(r.headers)
    again = c.get("/api/v1/proposals", headers={**bearer, "If-None-Match": tag})
    assert again.status_code == 304, again.status_code
    assert again.content == b"" and again.headers.get("etag") == tag
    # another answer (another list) has another tag: the tag names the answer
    other = c.get("/api/v1/calls", headers={**bearer, "If-None-Match": tag})
    assert other.status_code == 200 and other.headers.get("etag") != tag


def test_a_changed_answer_comes_whole_with_a_new_tag(web: Web, world: World) -> None:
    bearer = api_bearer(web, world.emails["pi"], scopes=("apply",))
    c = web.client()
    pid = world.ids["proposal"]
    r = c.get(f"/api/v1/proposals/{pid}/full", headers=bearer)
    tag, version = r.headers["etag"], r.json()["version"]
    edit = c.patch(
        f"/api/v1/proposals/{pid}", headers=bearer, json={"version": version, "title": "Retitled"}
    )
    assert edit.status_code == 200, edit.text
    r = c.get(f"/api/v1/proposals/{pid}/full", headers={**bearer, "If-None-Match": tag})
    assert r.status_code == 200 and r.json()["title"] == "Retitled"
    assert r.headers["etag"] != tag


def test_errors_and_writes_carry_no_tag(web: Web, world: World) -> None:
    bearer = api_bearer(web, world.emails["pi"])
    r = web.client().get("/api/v1/proposals/999999/full", headers=bearer)
    assert r.status_code == 404 and "etag" not in r.headers
