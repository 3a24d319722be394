"""A read-only API token writes nothing: every write route of the API (POST, PUT, PATCH,
DELETE under /api/v1) answers 403 to a token that carries only the ``read`` scope, before
it looks at the body or the ids, and changes nothing. Before the fix the post-award routes
(``/api/v1/awards/{id}/records``, ``.../records/{record_id}``, ``.../outputs`` and
``.../outputs/import``) declared no scope: a read-only token of an awarded PI added and
corrected post-award records and research outputs."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from opencall.results.models import PostAwardRecord, ResearchOutput
from tests.authz.test_matrix import app_routes
from tests.results.conftest import Awarded
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")

WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _token(web: Web, email: str, scopes: tuple[str, ...]) -> dict[str, str]:
    with web.factory() as s:
        u = user_by_email(s, email)
        assert u is not None
        raw = people_services.create_api_token(s, u, "t", scopes=scopes)[1]
        s.commit()
    return {"Authorization": f"Bearer {raw}"}


def _count(web: Web, model: Any) -> int:
    with web.factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_every_api_write_refuses_a_read_only_token(web: Web, aw: Awarded) -> None:
    """Every write route, with the ids of the PI's own award (the only ids the post-award
    routes accept) and of the office's call: 403 naming the scope, whoever holds it."""
    routes = sorted((m, p) for m, p in app_routes(web.app) if m in WRITES and "/api/" in p)
    assert len(routes) > 40  # the sweep reaches the API
    ids = {"proposal_id": str(aw.awarded), "slug": aw.slug, "record_id": "1"}
    for email in (aw.emails["pi"], aw.emails["manager"]):
        h = _token(web, email, ("read",))
        c = web.client()
        wrong = []
        for method, path in routes:
            url = re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "1"), path)
            r = c.request(method, url, json={}, headers=h)
            if r.status_code != 403 or "scope" not in r.json()["detail"]:
                wrong.append(f"{method} {path}: {r.status_code} {r.text[:120]}")
        assert not wrong, "\n".join(wrong)


def test_a_read_only_token_adds_no_post_award_record(web: Web, aw: Awarded) -> None:
    records, outputs = _count(web, PostAwardRecord), _count(web, ResearchOutput)
    c = web.client()
    read = _token(web, aw.emails["pi"], ("read",))
    loan = {"kind": "loan", "data": {"sample": "x", "mass_mg": 1, "shipped_on": "2027-01-01"}}
    r = c.post(f"/api/v1/awards/{aw.awarded}/records", json=loan, headers=read)
    assert r.status_code == 403, r.text
    bib = {"format": "bibtex", "content": "@article{a, title={T}, year={2028}}"}
    r = c.post(f"/api/v1/awards/{aw.awarded}/outputs/import", json=bib, headers=read)
    assert r.status_code == 403, r.text
    assert (_count(web, PostAwardRecord), _count(web, ResearchOutput)) == (records, outputs)
    # the team's token to apply records them; so does the user office's to manage
    r = c.post(
        f"/api/v1/awards/{aw.awarded}/records",
        json=loan,
        headers=_token(web, aw.emails["pi"], ("apply",)),
    )
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    r = c.put(
        f"/api/v1/awards/{aw.awarded}/records/{rid}",
        json={"data": {**loan["data"], "mass_mg": 2}},
        headers=read,
    )
    assert r.status_code == 403, r.text
    r = c.post(
        f"/api/v1/awards/{aw.awarded}/outputs/import",
        json=bib,
        headers=_token(web, aw.emails["manager"], ("manage",)),
    )
    assert r.status_code == 201 or r.status_code == 200, r.text
    # a token to review is no token to record results
    r = c.post(
        f"/api/v1/awards/{aw.awarded}/records",
        json=loan,
        headers=_token(web, aw.emails["pi"], ("review",)),
    )
    assert r.status_code == 403, r.text
