"""The JSON API's writes x every persona: who may call each route (404 for
everyone else, 401 without a token), that a token without the route's scope is
refused (403) and changes nothing, and that nobody outside the team and the user
office reads a team identity of the dual-anonymous call in any answer."""

from __future__ import annotations

from typing import Any

import pytest

from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from tests.api.authz_cases import CASES, Case
from tests.authz.authz_cases import SEES_TEAMS
from tests.authz.test_workspace_matrix import leaks
from tests.review_cycle import PERSONAS, Cycle, Web

pytestmark = pytest.mark.filterwarnings("ignore")


def tokens(web: Web, cycle: Cycle, scopes: list[str] | None = None) -> dict[str, str]:
    out = {}
    with web.factory() as s:
        for persona, email in cycle.emails.items():
            u = user_by_email(s, email)
            assert u is not None
            kw: dict[str, Any] = {} if scopes is None else {"scopes": scopes}
            _tok, raw = people_services.create_api_token(s, u, "api matrix", **kw)
            out[persona] = raw
        s.commit()
    return out


def call(web: Web, cycle: Cycle, case: Case, token: str | None) -> Any:
    params = case.params(web.factory, cycle)
    path = case.path.format(**params)
    # the case's other params (ids its body or check reads) go in the query only where
    # the route takes them: an unknown query parameter is a 422 (trialapi23)
    said = web.app.openapi()["paths"][case.path].get(case.method.lower(), {})
    takes = {p["name"] for p in said.get("parameters", []) if p["in"] == "query"}
    query = {k: v for k, v in params.items() if k in takes}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = case.json(web.factory, cycle) if callable(case.json) else case.json
    client = web.client()
    if case.files:
        return client.post(path, headers=headers, data=case.data, files=case.files)
    return client.request(case.method, path, headers=headers, params=query, json=body)


def outcome(r: Any) -> str:
    assert r.status_code < 500, r.text[:3000]
    if r.status_code == 404:
        return "404"
    if r.status_code == 401:
        return "login"
    if r.status_code == 403:
        return "403"
    assert r.status_code != 422, r.text[:2000]  # the case's body must reach the policy
    if r.status_code >= 400:
        return str(r.status_code)  # allowed means done (2xx/3xx), not refused by a rule
    return "ok"


def test_api_write_routes_by_persona(web: Web, cycle: Cycle, one_loop: None) -> None:
    toks = tokens(web, cycle)
    failures = []
    for case in CASES:
        for persona in PERSONAS:
            r = call(web, cycle, case, toks.get(persona))
            got = outcome(r)
            if persona in case.allowed:
                want = "400" if case.phase else "ok"
            elif persona == "anonymous":
                want = case.anonymous
            else:
                want = "404"
            if got != want:
                failures.append(f"{case.method} {case.path} as {persona}: {got} (want {want})")
            if persona not in SEES_TEAMS:
                shown = leaks(cycle, r)
                if shown:
                    failures.append(f"{case.method} {case.path} as {persona} shows {shown}")
    assert not failures, "\n".join(failures)


def test_tokens_without_the_scope_are_refused(web: Web, cycle: Cycle, one_loop: None) -> None:
    """A read-only token gets 403 on every write that needs a scope, even where its
    holder may act (and nothing runs)."""
    read_only = tokens(web, cycle, scopes=["read"])
    failures = []
    for case in CASES:
        if case.scope is None:
            continue
        persona = next(iter(sorted(case.allowed)), "manager")
        r = call(web, cycle, case, read_only[persona])
        if r.status_code != 403 or case.scope not in r.json()["detail"]:
            failures.append(f"{case.method} {case.path}: {r.status_code} {r.text[:200]}")
    assert not failures, "\n".join(failures)
