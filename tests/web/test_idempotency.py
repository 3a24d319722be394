"""Idempotency-Key on the JSON API's writes: a retry gets the first answer
without running again; another request under the same key is refused; keys
are per client; no key, no replay."""

from __future__ import annotations

from sqlalchemy import func, select

from opencall.people import services as people_services
from opencall.people.models import ReviewerPublication
from opencall.people.queries import user_by_email
from tests.web.conftest import Web, World


def _token(web: Web, email: str) -> dict[str, str]:
    with web.factory() as s:
        u = user_by_email(s, email)
        assert u is not None
        _t, raw = people_services.create_api_token(s, u, "retry")
        s.commit()
    return {"Authorization": f"Bearer {raw}"}


def _count(web: Web) -> int:
    with web.factory() as s:
        return s.scalar(select(func.count(ReviewerPublication.id))) or 0


def test_a_retry_is_answered_from_the_first_request(web: Web, world: World) -> None:
    c = web.client()
    h = {**_token(web, world.emails["pi"]), "Idempotency-Key": "a1b2c3"}
    first = c.post("/api/v1/me/publications", headers=h, json={"title": "Pulsar timing"})
    again = c.post("/api/v1/me/publications", headers=h, json={"title": "Pulsar timing"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert _count(web) == 1
    # the same key for another request is refused, nothing runs
    other = c.post("/api/v1/me/publications", headers=h, json={"title": "Something else"})
    assert other.status_code == 422 and "different request" in other.json()["detail"]
    assert _count(web) == 1
    # another client's identical key is its own
    h2 = {**_token(web, world.emails["coi"]), "Idempotency-Key": "a1b2c3"}
    theirs = c.post("/api/v1/me/publications", headers=h2, json={"title": "Pulsar timing"})
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
    assert _count(web) == 2


def test_refusals_are_replayed_and_keys_are_checked(web: Web, world: World) -> None:
    c = web.client()
    h = {**_token(web, world.emails["pi"]), "Idempotency-Key": "k-400"}
    bad = c.post("/api/v1/me/publications", headers=h, json={"title": "T", "doi": "nope"})
    assert bad.status_code == 400
    again = c.post("/api/v1/me/publications", headers=h, json={"title": "T", "doi": "nope"})
    assert again.status_code == 400 and again.json() == bad.json()
    r = c.post(
        "/api/v1/me/publications",
        headers={**h, "Idempotency-Key": "x" * 201},
        json={"title": "T"},
    )
    assert r.status_code == 400 and "Idempotency-Key" in r.json()["detail"]
    # without a key, every request runs
    plain = _token(web, world.emails["pi"])
    for _ in range(2):
        assert (
            c.post("/api/v1/me/publications", headers=plain, json={"title": "U"}).status_code == 201
        )
    assert _count(web) == 2
