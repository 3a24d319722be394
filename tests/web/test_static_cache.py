"""Static files on a slow link: the pages link them by names that carry a hash of their
content, served compressed and cacheable for a year (``immutable``), so a repeat visit
asks nothing of them; a changed file gets a new name. The plain names still answer
(old links), with an ETag so that a revalidation costs a 304 and no body."""

from __future__ import annotations

import re

from opencall.web.pages import WEB
from tests.conftest import RUN_ONCE
from tests.web.conftest import Web, World

HASHED = re.compile(r'(?:href|src)="(/static/([a-z-]+)\.([0-9a-f]{10})\.(css|js))"')


@RUN_ONCE
def test_pages_link_static_files_by_content_hash(web: Web, world: World) -> None:
    c = web.client()
    page = c.get("/").text
    links = HASHED.findall(page)
    assert {f"{stem}.{ext}" for _, stem, _, ext in links} >= {"site.css", "time.js"}
    assert 'href="/static/site.css"' not in page and 'src="/static/time.js"' not in page
    for url, stem, _h, ext in links:
        r = c.get(url, headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200, url
        cache = r.headers["cache-control"]
        assert "immutable" in cache and "max-age=31536000" in cache, (url, cache)
        assert r.content == (WEB / "static" / f"{stem}.{ext}").read_bytes()
        if len(r.content) > 1000:
            assert r.headers.get("content-encoding") == "gzip", url
    # the editor's own script is linked the same way
    editor = web.login(world.emails["pi"]).get(f"/proposals/{world.ids['proposal']}").text
    assert re.search(r'src="/static/safe-save\.[0-9a-f]{10}\.js"', editor)


@RUN_ONCE
def test_a_stale_or_forged_hash_is_not_found_and_plain_names_revalidate(web: Web) -> None:
    c = web.client()
    assert c.get("/static/site.0123456789.css").status_code == 404
    assert c.get("/static/site.css.0123456789").status_code == 404
    r = c.get("/static/site.css")
    assert r.status_code == 200 and "immutable" not in r.headers["cache-control"]
    etag = r.headers["etag"]
    again = c.get("/static/site.css", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    # the hashed name answers a revalidation the same way
    url = HASHED.search(c.get("/").text)
    assert url is not None
    first = c.get(url.group(1))
    r304 = c.get(url.group(1), headers={"If-None-Match": first.headers["etag"]})
    assert r304.status_code == 304 and r304.content == b""


@RUN_ONCE
def test_every_static_file_and_the_editors_head_are_needed(web: Web, world: World) -> None:
    """Nothing is shipped or sent that no page uses (trialapp14): each static file is
    linked by some template or Python module (htmx.min.js, 52 KB, no longer was), and the
    editor's head carries no configuration of a script it does not load."""
    root = WEB.parent  # src/opencall
    sources = [p.read_text() for p in root.rglob("*") if p.suffix in {".html", ".py", ".js"}]
    unused = [
        f.name
        for f in sorted((WEB / "static").iterdir())
        if not any(f.name in text for text in sources if text != f.read_text())
    ]
    assert not unused, unused
    editor = web.login(world.emails["pi"]).get(f"/proposals/{world.ids['proposal']}").text
    head = editor.split("</head>", 1)[0]
    scripts = set(re.findall(r'src="/static/([a-z-]+)\.[0-9a-f]{10}\.js"', head))
    assert scripts == {"time", "safe-save"}, scripts
    assert "htmx" not in head
