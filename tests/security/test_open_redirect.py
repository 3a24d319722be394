"""No ``next=`` takes a visitor to another site: after signing in, after switching the
language, after verifying an address (the link's own ``next``), every address that a
browser would read as another host (//evil, /\\evil, a scheme, a tab or a line break a
browser strips, an encoded slash) ends on this site."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.web.conftest import PASSWORD, Web, World, csrf

TARGETS = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "/\t/evil.example/",
    "/\n/evil.example/",
    "/\r\n/evil.example/",
    " //evil.example/",
    "javascript:alert(1)",
    "/%2F/evil.example/",
    "/%5Cevil.example/",
    "http:evil.example",
    "\uff0f\uff0fevil.example",
]


def _same_site(location: str) -> bool:
    parts = urlsplit(location)
    # what a browser does with it: drops tabs and line breaks, reads \ as /
    cleaned = location.replace("\t", "").replace("\n", "").replace("\r", "").replace("\\", "/")
    return (
        not parts.scheme
        and not parts.netloc
        and not cleaned.lstrip().startswith("//")
        and location.startswith("/")
    )


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the web layer's answer
def test_next_never_leaves_the_site(web: Web, world: World) -> None:
    account = {"email": world.emails["pi"], "password": PASSWORD}
    for target in TARGETS:
        c = web.client()
        r = c.post("/login", data={**account, "csrf_token": csrf(c), "next": target})
        assert r.status_code == 303 and _same_site(r.headers["location"]), (target, r.headers)
        r = c.get("/lang/fr", params={"next": target})
        assert r.status_code in (303, 400), target
        if r.status_code == 303:
            assert _same_site(r.headers["location"]), (target, r.headers["location"])
