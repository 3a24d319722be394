"""No page carries the browser's CSRF token as it is (trialcrowd23). Pages are
gzip-compressed, signed-in pages too, and a page can repeat text of the request beside
the token (a 404 names its path in the language links): the conditions of BREACH, where
someone who sees the encrypted traffic (a café's network) and makes the browser open
address after address learns the token from the compressed lengths, guessing it a
character at a time. Before the fix every page of a session wrote the same token, the one
in the cookie. Now each page writes it masked afresh (a random pad, and the token XOR the
pad; one for all the forms of a page), so no two pages carry the same string; a form sent with any of them, or with the
token as it is (scripts that read it from the cookie), is accepted, and anything else is
still refused, changing nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from opencall.people.models import User
from opencall.web import security
from tests.web.conftest import Web, World

pytestmark = pytest.mark.filterwarnings("ignore")
SQLITE = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _cookie_token(web: Web, client: object) -> str:
    raw = client.cookies.get(security.COOKIE)  # type: ignore[attr-defined]
    body = security._serializer(web.settings).loads(raw)
    return str(body["c"])


@SQLITE
def test_no_page_carries_the_token_as_it_is(web: Web, world: World) -> None:
    c = web.login(world.emails["pi"])
    token = _cookie_token(web, c)
    written = []
    for path in ["/account", "/account", "/dashboard", "/dashboard?guess=" + token[:6]]:
        r = c.get(path, headers={"accept-encoding": "gzip"})
        assert token not in r.text, (path, "the session's token as it is")
        on_page = set(TOKEN.findall(r.text))
        assert len(on_page) == 1, (path, on_page)  # the page's forms share one
        written += on_page
    assert len(set(written)) == len(written) == 4, written


@SQLITE
def test_a_masked_or_plain_token_is_accepted_and_nothing_else(web: Web, world: World) -> None:
    c = web.login(world.emails["other"])
    token = _cookie_token(web, c)
    masked = TOKEN.findall(c.get("/account").text)[0]
    for i, sent in enumerate([masked, token]):
        r = c.post(
            "/account",
            data={"csrf_token": sent, "name": f"Other Applicant {'AB'[i]}", "language": "en"},
        )
        assert r.status_code == 303, (sent, r.status_code, r.text[:300])
    for sent in ["", "x", masked[:-2], masked[::-1], token + "A", "A" * len(masked)]:
        r = c.post(
            "/account", data={"csrf_token": sent, "name": "Changed By Forgery", "language": "en"}
        )
        assert r.status_code == 403, (sent, r.status_code)
    with web.factory() as s:
        u = s.scalar(select(User).where(User.email == world.emails["other"]))
        assert u is not None and u.name == "Other Applicant B"
