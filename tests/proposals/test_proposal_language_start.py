"""The proposal's language from the first page on (trialrev19). trialrev18b let the team
state it on the editor and the API, but: the "Start a proposal" page did not ask for it;
an API create that stated it counted as an edit (the version 2 at once), so the same
request retried on a slow link (its answer lost) made a second draft instead of
answering the first; and a PATCH of text and language moved the version twice."""

from __future__ import annotations

from sqlalchemy import func, select

from opencall import auditlog
from opencall.proposals.models import Proposal
from tests.web import conftest as webconf
from tests.web.conftest import Web, World, api_bearer, csrf, version_of

web, world = webconf.web, webconf.world  # the web fixtures


def _titled(web: Web, title: str) -> list[Proposal]:
    with web.factory() as s:
        return list(s.scalars(select(Proposal).where(Proposal.title == title)))


def _audits(web: Web, pid: int) -> int:
    with web.factory() as s:
        return auditlog.count_of(s, "proposal.language_set", "proposal", pid)


def test_the_start_page_asks_for_the_language(web: Web, world: World) -> None:
    c = web.login(world.emails["pi"], lang="es")
    url = f"/calls/{world.slugs['call']}/apply"
    page = c.get(url).text
    assert 'name="language"' in page and "Idioma de la propuesta" in page
    assert '<option value="fr">francés</option>' in page  # named in the reader's language
    token = csrf(c, url)
    # a code that is not a language: refused, nothing made, the title kept
    r = c.post(url, data={"csrf_token": token, "title": "Ondas en el Ande", "language": "xx"})
    assert r.status_code == 400 and "xx" in r.text and "Ondas en el Ande" in r.text
    assert _titled(web, "Ondas en el Ande") == []
    r = c.post(url, data={"csrf_token": token, "title": "Ondas en el Ande", "language": "es"})
    assert r.status_code == 303
    (made,) = _titled(web, "Ondas en el Ande")
    assert made.language == "es" and made.version == 1 and _audits(web, made.id) == 1
    # the same form sent again (a double tap, a retry): the same draft, not a second
    r = c.post(url, data={"csrf_token": token, "title": "Ondas en el Ande", "language": "es"})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/proposals/{made.id}")
    assert len(_titled(web, "Ondas en el Ande")) == 1
    assert '<option value="es" selected>español</option>' in c.get(f"/proposals/{made.id}").text
    # not stated is still a choice
    r = c.post(url, data={"csrf_token": token, "title": "Sin idioma", "language": ""})
    assert r.status_code == 303 and _titled(web, "Sin idioma")[0].language is None


def test_an_api_create_stating_the_language_retried_answers_the_same_draft(
    web: Web, world: World
) -> None:
    bearer = api_bearer(web, world.emails["pi"])
    c = web.client()
    body = {"call": world.slugs["call"], "title": "Réessayé", "language": "fr"}
    first = c.post("/api/v1/proposals", headers=bearer, json=body)
    assert first.status_code == 201 and first.json()["version"] == 1
    again = c.post("/api/v1/proposals", headers=bearer, json=body)
    assert again.status_code in (200, 201) and again.json()["id"] == first.json()["id"]
    with web.factory() as s:
        assert s.scalar(select(func.count()).where(Proposal.title == "Réessayé")) == 1
    # another language is another request: a draft of its own
    other = c.post("/api/v1/proposals", headers=bearer, json=body | {"language": "es"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


def test_one_edit_of_text_and_language_is_one_version(web: Web, world: World) -> None:
    bearer = api_bearer(web, world.emails["pi"])
    c = web.client()
    pid = world.ids["proposal"]
    v = c.get(f"/api/v1/proposals/{pid}/full", headers=bearer).json()["version"]
    body = {"version": v, "language": "es", "keywords": "una vez"}
    r = c.patch(f"/api/v1/proposals/{pid}", headers=bearer, json=body)
    assert r.status_code == 200 and r.json()["version"] == v + 1
    assert r.json()["language"] == "es" and r.json()["keywords"] == "una vez"
    assert _audits(web, pid) == 1
    # the same through the editor's language form: one version more
    w = web.login(world.emails["pi"])
    before = int(version_of(w, pid))
    form = {"csrf_token": csrf(w, f"/proposals/{pid}"), "version": str(before), "language": "fr"}
    assert w.post(f"/proposals/{pid}/language", data=form).status_code == 303
    assert int(version_of(w, pid)) == before + 1
    # a bad code with text: refused whole, neither changed
    body = {"version": before + 1, "language": "zz", "keywords": "jamais"}
    r = c.patch(f"/api/v1/proposals/{pid}", headers=bearer, json=body)
    assert r.status_code == 400
    got = c.get(f"/api/v1/proposals/{pid}/full", headers=bearer).json()
    assert (got["language"], got["keywords"], got["version"]) == ("fr", "una vez", before + 1)
