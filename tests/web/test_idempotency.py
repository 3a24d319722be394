"""Idempotency-Key on the JSON API's writes: a retry gets the first answer
without running again; another request under the same key is refused; keys
are per client; no key, no replay."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
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


def _chunked(size: int) -> Iterator[bytes]:
    """A multipart upload of ``size`` bytes sent chunked (no Content-Length)."""
    yield (
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.bib"\r\n'
        b"Content-Type: text/plain\r\n\r\n"
    )
    chunk = b"%" * 65536
    for _ in range(size // len(chunk) + 1):
        yield chunk
    yield b"\r\n--x--\r\n"


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the web layer's answer
def test_a_write_over_the_body_limit_gets_the_same_413_with_a_key(web: Web, world: World) -> None:
    """One body limit for every request: a write over it with an Idempotency-Key gets the
    answer of the same write without one (status, body, headers). Before the fix the key's
    layer sat outside the limit with its own copy of it and of the 413: no Cache-Control,
    no security headers."""
    c = web.client()
    auth = _token(web, world.emails["pi"])
    limit = web.settings.max_upload_bytes + 1024 * 1024  # the hard limit of web.pages
    ctype = {"content-type": "multipart/form-data; boundary=x"}
    url = "/api/v1/me/publications/import"
    for declared in (False, True):
        answers = []
        for key in ({}, {"Idempotency-Key": f"big-{declared}"}):
            headers = {**auth, **ctype, **key}
            if declared:
                answers.append(c.post(url, content=b"%" * (limit + 1), headers=headers))
            else:
                answers.append(c.post(url, content=_chunked(limit), headers=headers))
        plain, keyed = answers
        assert plain.status_code == keyed.status_code == 413, (declared, keyed.text)
        assert keyed.json() == plain.json() == {"detail": "request body too large"}
        assert keyed.headers["cache-control"] == "no-store"
        varying = {"date", "x-request-id", "content-length"}
        assert {k: v for k, v in keyed.headers.items() if k not in varying} == {
            k: v for k, v in plain.headers.items() if k not in varying
        }
    assert _count(web) == 0


def test_anonymous_keys_are_the_clients_own(web: Web, world: World) -> None:
    """A write without credentials is scoped to its client (the address the throttles
    count, and the browser's session cookie): another anonymous client sending the same
    key gets its own answer, never the first one's replay nor its refusal, while the first
    client's retry is still replayed. Before the fix every anonymous write shared one
    scope: the second client got the first one's stored answer (or 422 for its own
    request). Since trialcrowd16 these refusals (401, no token) are not kept at all, so
    no client, the first included, gets a replay of them."""
    url = "/api/v1/proposals"
    key = {"Idempotency-Key": "shared-1"}
    mine = {"call": "open-call", "title": "The first applicant's title"}
    first = web.client(address="192.0.2.10").post(url, headers=key, json=mine)
    assert first.status_code == 401 and "idempotent-replayed" not in first.headers
    # the same client (address) retrying: a refusal without a token is not kept
    # (trialcrowd16, tests/security/test_idempotency_flood.py), it runs again alike
    retry = web.client(address="192.0.2.10").post(url, headers=key, json=mine)
    assert "idempotent-replayed" not in retry.headers
    assert retry.status_code == 401 and retry.json() == first.json()
    # another client, from another address, with the same key: its own answers
    other = web.client(address="198.51.100.7")
    theirs = other.post(url, headers=key, json={"call": "open-call", "title": "Another"})
    assert theirs.status_code == 401, theirs.text
    same = web.client(address="198.51.100.8").post(url, headers=key, json=mine)
    assert same.status_code == 401 and "idempotent-replayed" not in same.headers
    # behind one shared address (a campus NAT), two browsers' session cookies tell them apart
    a, b = web.client(address="203.0.113.5"), web.client(address="203.0.113.5")
    a.cookies.set("oc_session", "browser-a")
    b.cookies.set("oc_session", "browser-b")
    assert a.post(url, headers=key, json=mine).status_code == 401
    again_b = b.post(url, headers=key, json={"call": "open-call", "title": "B"})
    assert again_b.status_code == 401 and "idempotent-replayed" not in again_b.headers
    assert a.post(url, headers=key, json=mine).status_code == 401
