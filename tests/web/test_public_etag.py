"""Public pages (the call list, a call, its public figures) carry a strong ETag for an
anonymous GET and answer ``If-None-Match`` with 304 and no body; a changed page gets a
new tag, and a signed-in person's page keeps ``no-store`` and never gets an ETag."""

from __future__ import annotations

from opencall.calls.queries import call_by_slug
from tests.web import conftest as webconf
from tests.web.conftest import Web, World

web, world = webconf.web, webconf.world  # the web fixtures


def _public_paths(world: World) -> list[str]:
    slug = world.slugs["call"]
    return [
        "/",
        "/calls",
        f"/calls/{slug}",
        f"/calls/{slug}/figures",
        f"/calls/{slug}/awarded",
        f"/calls/{slug}/after-award",
    ]


def test_an_unchanged_public_page_answers_304(web: Web, world: World) -> None:
    c = web.client()
    for path in _public_paths(world):
        r = c.get(path)
        assert r.status_code == 200, path
        tag = r.headers.get("etag")
        assert tag and tag.startswith('"') and tag.endswith('"'), (path, tag)  # strong
        assert r.headers["cache-control"] == "no-cache"
        assert "set-cookie" not in r.headers
        again = c.get(path, headers={"If-None-Match": tag})
        assert again.status_code == 304, path
        assert again.content == b""
        assert again.headers["etag"] == tag
        stale = c.get(path, headers={"If-None-Match": '"0123", "abcd"'})
        assert stale.status_code == 200 and stale.content == r.content


def test_a_changed_page_gets_a_new_tag(web: Web, world: World) -> None:
    c = web.client()
    path = f"/calls/{world.slugs['call']}"
    tag = c.get(path).headers["etag"]
    fr = web.client(lang="fr").get(path)
    assert fr.headers["etag"] != tag  # another language, another page
    plain = c.get(path, headers={"Accept-Encoding": "identity"})
    assert plain.headers["etag"] != tag  # the uncompressed page has a tag of its own
    with web.factory() as s:
        call = call_by_slug(s, world.slugs["call"])
        assert call is not None
        call.title = "FAST open time, renamed"
        s.commit()
    r = c.get(path, headers={"If-None-Match": tag})
    assert r.status_code == 200 and "renamed" in r.text
    assert r.headers["etag"] != tag


def test_a_signed_in_page_never_gets_an_etag(web: Web, world: World) -> None:
    anon = web.client().get(f"/calls/{world.slugs['call']}")
    c = web.login(world.emails["pi"])
    for path in _public_paths(world):
        r = c.get(path, headers={"If-None-Match": anon.headers["etag"]})
        assert r.status_code == 200, path
        assert "etag" not in r.headers, path
        assert r.headers["cache-control"] == "no-store", path
