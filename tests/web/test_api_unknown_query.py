"""A query parameter the route does not know is refused, never ignored (trialapi23). A
partner's client that filters (``GET /api/v1/proposals?status=submitted``) or sorts
(``?sort=-id``) where the API has no such filter got every row, unfiltered, with 200:
it took the list for what it asked. As a body's unknown key is a 422 naming it, so is a
query's, and a write so refused changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from opencall.proposals.models import TeamMember
from tests.web.conftest import Web, World, api_bearer

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.mark.parametrize(
    "url",
    ["/api/v1/proposals?status=submitted", "/api/v1/calls?sort=-id", "/api/v1/me?limit=5"],
)
def test_an_unknown_query_parameter_is_a_422_naming_it(web: Web, world: World, url: str) -> None:
    bearer = api_bearer(web, world.emails["pi"])
    r = web.client().get(url, headers=bearer)
    name = url.split("?")[1].split("=")[0]
    assert r.status_code == 422, (url, r.status_code, r.text[:200])
    assert r.json()["detail"] == f"{name}: Unknown query parameter", r.json()
    assert r.json()["errors"][0]["loc"] == ["query", name], r.json()


def test_known_parameters_still_work(web: Web, world: World) -> None:
    bearer = api_bearer(web, world.emails["pi"])
    r = web.client().get("/api/v1/calls?limit=1&fields=slug", headers=bearer)
    assert r.status_code == 200, r.text
    r = web.client().get("/api/v1/proposals?limit=1&offset=0", headers=bearer)
    assert r.status_code == 200, r.text


def test_a_write_with_an_unknown_query_parameter_changes_nothing(web: Web, world: World) -> None:
    from opencall.proposals.models import Proposal

    pid = world.ids["proposal"]
    bearer = api_bearer(web, world.emails["pi"])
    with web.factory() as s:
        version = s.scalar(select(Proposal.version).where(Proposal.id == pid))
        members = s.scalar(select(func.count()).select_from(TeamMember))
    body = {"version": version, "email": "q@example.net", "name": "A Stranger"}
    body |= {"institution": "Somewhere", "country_iso3": "FRA"}
    r = web.client().post(f"/api/v1/proposals/{pid}/members?notify=no", headers=bearer, json=body)
    assert r.status_code == 422, (r.status_code, r.text[:200])
    assert r.json()["detail"] == "notify: Unknown query parameter", r.json()
    with web.factory() as s:
        assert s.scalar(select(func.count()).select_from(TeamMember)) == members
