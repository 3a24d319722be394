"""Part 2's authorisation matrix: every workspace, management and API route
for every persona (session cookie for pages, a personal API token for the
API), and no team identity of a dual-anonymous call in any response, header
(file name) or e-mail of anyone but the team and the user office."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from itsdangerous import URLSafeTimedSerializer

from opencall.people import services as people_services
from opencall.people.domain import session_key
from opencall.people.queries import user_by_email
from tests.web2.authz_cases import CASES, SEES_TEAMS
from tests.web2.conftest import PERSONAS, Cycle, Web

pytestmark = pytest.mark.filterwarnings("ignore")


def session_client(web: Web, email: str | None) -> tuple[Any, str]:
    client = web.client()
    token = uuid.uuid4().hex
    uid, key = None, ""
    if email:
        with web.factory() as s:
            u = user_by_email(s, email)
            assert u is not None
            uid, key = u.id, session_key(u.password_hash)
    value = URLSafeTimedSerializer(web.settings.secret_key, salt="opencall.session").dumps(
        {"u": uid, "k": key, "c": token, "t": int(time.time())}
    )
    client.cookies.set("oc_session", value)
    return client, token


def api_tokens(web: Web, cycle: Cycle) -> dict[str, str]:
    out = {}
    with web.factory() as s:
        for persona, email in cycle.emails.items():
            u = user_by_email(s, email)
            assert u is not None
            _tok, raw = people_services.create_api_token(s, u, "matrix")
            out[persona] = raw
        s.commit()
    return out


def outcome(case: Any, r: Any) -> str:
    if r.status_code == 404:
        return "404"
    if case.api and r.status_code == 401:
        return "login"
    if not case.api and case.method == "GET" and r.status_code == 303:
        if r.headers["location"].startswith("/login?next="):
            return "login"
    if not case.api and case.method == "POST" and r.status_code == 401:
        return "login"
    assert r.status_code < 500, r.text[:3000]
    if r.status_code == 403:
        return "403"  # refusals answer 404; a 403 would tell that the thing exists
    return "ok"


def leaks(cycle: Cycle, r: Any) -> list[str]:
    blob = r.text + " " + " ".join(f"{k}: {v}" for k, v in r.headers.items())
    return [s for s in cycle.secrets if s in blob]


def test_workspace_routes_by_persona(web: Web, cycle: Cycle) -> None:
    tokens = api_tokens(web, cycle)
    emails: dict[str, str | None] = {"anonymous": None, **cycle.emails}
    failures = []
    for case in CASES:
        for persona in PERSONAS:
            params = case.params(web.factory, cycle)
            path = case.path.format(**params)
            if case.api:
                client = web.client()
                headers = (
                    {"Authorization": f"Bearer {tokens[persona]}"} if persona in tokens else {}
                )
                if case.method == "GET":
                    r = client.get(path, headers=headers)
                elif case.method == "DELETE":
                    r = client.delete(path, headers=headers)
                elif case.method == "PUT":
                    r = client.put(path, headers=headers, json=case.json or {})
                elif case.files:
                    r = client.post(path, headers=headers, files=case.files)
                else:
                    r = client.post(path, headers=headers, json=case.json or {})
            else:
                client, tok = session_client(web, emails[persona])
                if case.method == "GET":
                    r = client.get(path)
                else:
                    r = client.post(path, data={"csrf_token": tok, **case.data})
            got = outcome(case, r)
            if persona in case.allowed:
                want = "ok"
            elif persona == "anonymous":
                want = case.anonymous
            else:
                want = "404"
            if got != want:
                failures.append(f"{case.method} {case.path} as {persona}: {got} (want {want})")
            if persona not in SEES_TEAMS:  # error pages too: they may show the form back
                shown = leaks(cycle, r)
                if shown:
                    failures.append(f"{case.method} {case.path} as {persona} shows {shown}")
    assert not failures, "\n".join(failures)


def test_bad_and_revoked_tokens_are_refused(web: Web, cycle: Cycle) -> None:
    tokens = api_tokens(web, cycle)
    c = web.client()
    assert c.get("/api/v1/me", headers={"Authorization": "Bearer oc_nope"}).status_code == 401
    r = c.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['chair']}"})
    assert r.status_code == 200 and r.json()["email"] == cycle.emails["chair"]
    with web.factory() as s:
        u = user_by_email(s, cycle.emails["chair"])
        assert u is not None
        for t in people_services.api_tokens_of(s, u.id):
            people_services.revoke_api_token(s, u, t.id)
        # hashed at rest: the raw token is nowhere in the table
        assert all(t.token_hash != tokens["chair"] for t in people_services.api_tokens_of(s, u.id))
        assert all(len(t.token_hash) == 64 for t in people_services.api_tokens_of(s, u.id))
        s.commit()
    r = c.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['chair']}"})
    assert r.status_code == 401 and r.json() == {"detail": "invalid or revoked token"}
