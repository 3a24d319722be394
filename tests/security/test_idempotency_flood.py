"""``Idempotency-Key`` rows a stranger cannot pile up (trialcrowd16). The key layer kept
the answer of every API write that carried a key, for 24 hours, whoever sent it: a client
without any account (no credentials, a made-up bearer token, a path with no route, a body
that is not JSON) stored one row a request, each with its answer, and every keyed write
of the site then deleted the expired ones by a scan of that table. Now an answer given
without an accepted token that refuses the request (4xx: nothing ran) is not kept: a retry
gets the same refusal by running again. A token holder's answers are kept as before."""

from __future__ import annotations

from sqlalchemy import func, select

from opencall.web.idempotency import IdempotencyKey
from tests.web.conftest import Web, World, api_bearer


def _keys(web: Web) -> int:
    with web.factory() as s:
        return s.scalar(select(func.count(IdempotencyKey.id))) or 0


def test_a_stranger_stores_no_keys(web: Web, world: World) -> None:
    """Before the fix: 80 rows after these 80 requests (failed at the first count)."""
    body = {"call": world.slugs["call"], "title": "Flood"}
    with web.one_loop():
        c = web.client(address="192.0.2.66")
        for i in range(30):  # no credentials
            r = c.post("/api/v1/proposals", headers={"Idempotency-Key": f"a{i}"}, json=body)
            assert r.status_code == 401 and "idempotent-replayed" not in r.headers
        for i in range(20):  # a made-up token each time (each its own scope before)
            h = {"Idempotency-Key": "same", "Authorization": f"Bearer made-up-{i}"}
            assert c.post("/api/v1/proposals", headers=h, json=body).status_code == 401
        for i in range(15):  # no route
            r = c.post("/api/v1/nowhere", headers={"Idempotency-Key": f"n{i}"}, json=body)
            assert r.status_code in (404, 405)
        for i in range(15):  # not JSON
            r = c.post(
                "/api/v1/proposals",
                headers={"Idempotency-Key": f"j{i}", "content-type": "application/json"},
                content=b"{not json",
            )
            assert r.status_code in (401, 422)
        assert _keys(web) == 0
        # a retry of a refusal runs again and is refused alike
        again = c.post("/api/v1/proposals", headers={"Idempotency-Key": "a0"}, json=body)
        assert again.status_code == 401 and "idempotent-replayed" not in again.headers
        assert _keys(web) == 0


def test_a_token_holders_answers_are_still_kept(web: Web, world: World) -> None:
    h = {
        **api_bearer(web, world.emails["pi"], scopes=("apply", "review")),
        "Idempotency-Key": "mine-1",
    }
    c = web.client()
    first = c.post("/api/v1/me/publications", headers=h, json={"title": "Kept"})
    assert first.status_code == 201
    again = c.post("/api/v1/me/publications", headers=h, json={"title": "Kept"})
    assert again.headers.get("idempotent-replayed") == "true" and again.json() == first.json()
    refused = {**h, "Idempotency-Key": "mine-2"}
    bad = c.post("/api/v1/me/publications", headers=refused, json={"title": "T", "doi": "no"})
    assert bad.status_code == 400
    replay = c.post("/api/v1/me/publications", headers=refused, json={"title": "T", "doi": "no"})
    assert replay.headers.get("idempotent-replayed") == "true"
    assert _keys(web) == 2
