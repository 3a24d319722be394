"""The language a proposal is written in (trialrev18b): trialrev18 added
``Proposal.language`` and kept reviewers away from a proposal in a language they do not
read, but nothing let the applicant state it. The editor has a "Language of the
proposal" select (names in the reader's language), the API takes it on create and edit
and answers it; a bad code is refused with nothing changed; the office sees it."""

from __future__ import annotations

from sqlalchemy import func, select

from opencall import auditlog
from opencall.people import services as people_services
from opencall.proposals.models import Proposal
from tests import factories as F
from tests.web import conftest as webconf
from tests.web.conftest import Web, World, api_bearer, csrf, version_of

web, world = webconf.web, webconf.world  # the web fixtures


def _language(web: Web, pid: int) -> str | None:
    with web.factory() as s:
        return s.get(Proposal, pid).language  # type: ignore[union-attr]


def _audits(web: Web, pid: int) -> int:
    with web.factory() as s:
        return auditlog.count_of(s, "proposal.language_set", "proposal", pid)


def test_the_applicant_states_it_on_the_editor_and_the_office_sees_it(
    web: Web, world: World
) -> None:
    pid = world.ids["proposal"]
    c = web.login(world.emails["pi"], lang="fr")
    page = c.get(f"/proposals/{pid}").text
    assert 'name="language"' in page and "Langue de la proposition" in page
    assert '<option value="es">espagnol</option>' in page  # named in the reader's language
    url = f"/proposals/{pid}/language"
    form = {"csrf_token": csrf(c, f"/proposals/{pid}"), "version": version_of(c, pid)}
    r = c.post(url, data=form | {"language": "es"})
    assert r.status_code == 303 and _language(web, pid) == "es" and _audits(web, pid) == 1
    assert '<option value="es" selected>espagnol</option>' in c.get(f"/proposals/{pid}").text
    # a code that is not a language: refused, nothing changed
    form["version"] = version_of(c, pid)
    r = c.post(url, data=form | {"language": "xx"})
    assert r.status_code == 400 and "xx" in r.text and _language(web, pid) == "es"
    # a stale form changes nothing either
    r = c.post(url, data=form | {"language": "fr", "version": "1"})
    assert r.status_code == 409 and _language(web, pid) == "es"
    # empty: not stated
    r = c.post(url, data=form | {"language": "", "version": version_of(c, pid)})
    assert r.status_code == 303 and _language(web, pid) is None and _audits(web, pid) == 2
    r = c.post(url, data=form | {"language": "es", "version": version_of(c, pid)})
    assert r.status_code == 303 and _language(web, pid) == "es"
    # the office sees it on the proposal's page (technical review), in its language
    with web.factory() as s:
        p = s.get(Proposal, pid)
        assert p is not None
        office = F.user(s, email="office-lang@example.org")
        people_services.grant_role(s, office.id, "technical_reviewer", call_id=p.call_id)
        p.call.status, p.status = "review", "under_review"
        s.commit()
    o = web.login("office-lang@example.org")
    shown = o.get(f"/technical/proposals/{pid}")
    assert shown.status_code == 200
    assert "Language of the proposal" in shown.text and "Spanish" in shown.text
    # no longer editable: the editor shows it, without the form, and refuses a change
    page = c.get(f"/proposals/{pid}").text
    assert "espagnol" in page and 'name="language"' not in page
    r = c.post(url, data=form | {"language": "fr", "version": "99"})
    assert r.status_code == 404 and _language(web, pid) == "es"


def test_the_api_takes_it_on_create_and_edit(web: Web, world: World) -> None:
    bearer = api_bearer(web, world.emails["pi"])
    c = web.client()
    body = {"call": world.slugs["call"], "title": "En español", "language": "xx"}
    r = c.post("/api/v1/proposals", headers=bearer, json=body)
    assert r.status_code == 400 and "not a language" in r.text
    with web.factory() as s:
        assert s.scalar(select(func.count()).where(Proposal.title == "En español")) == 0
    r = c.post("/api/v1/proposals", headers=bearer, json=body | {"language": "ES"})
    assert r.status_code == 201 and r.json()["language"] == "es"
    pid = r.json()["id"]
    assert _language(web, pid) == "es" and _audits(web, pid) == 1
    v = r.json()["version"]
    r = c.patch(f"/api/v1/proposals/{pid}", headers=bearer, json={"version": v, "language": "zz"})
    assert r.status_code == 400 and "not a language" in r.text and _language(web, pid) == "es"
    body = {"version": v, "language": "fr", "keywords": "bilingüe"}
    r = c.patch(f"/api/v1/proposals/{pid}", headers=bearer, json=body)
    assert r.status_code == 200 and r.json()["language"] == "fr"
    assert r.json()["keywords"] == "bilingüe"
    # a stale version changes nothing
    r = c.patch(f"/api/v1/proposals/{pid}", headers=bearer, json={"version": v, "language": "zh"})
    assert r.status_code == 409 and _language(web, pid) == "fr"
    v = (
        r.json().get("version")
        or c.get(f"/api/v1/proposals/{pid}/full", headers=bearer).json()["version"]
    )
    r = c.patch(f"/api/v1/proposals/{pid}", headers=bearer, json={"version": v, "language": ""})
    assert r.status_code == 200 and r.json()["language"] is None and _language(web, pid) is None
    got = c.get(f"/api/v1/proposals/{pid}/full", headers=bearer).json()
    assert got["language"] is None and _audits(web, pid) == 3
    # a proposal no longer editable keeps its language
    with web.factory() as s:
        s.get(Proposal, pid).status = "withdrawn"  # type: ignore[union-attr]
        s.commit()
    body = {"version": got["version"], "language": "es"}
    r = c.patch(f"/api/v1/proposals/{pid}", headers=bearer, json=body)
    assert r.status_code == 400 and _language(web, pid) is None
