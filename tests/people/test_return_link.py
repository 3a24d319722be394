"""The return link (``next``) survives registration, e-mail verification and sign-in,
and only a same-site path is ever followed (no open redirect)."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from tests.people.mailbox import mails
from tests.web import conftest as webconf
from tests.web.conftest import Web, World, csrf

web, world = webconf.web, webconf.world  # the web fixtures

PASSWORD = "a long password 42"


def _register(web: Web, c, email: str, nxt: str):  # type: ignore[no-untyped-def]
    tok = csrf(c, f"/register?next={quote(nxt, safe='')}")
    return c.post(
        "/register",
        data={
            "csrf_token": tok,
            "name": "Wanjiru Kamau",
            "email": email,
            "password": PASSWORD,
            "password2": PASSWORD,
            "language": "fr",
            "next": nxt,
        },
    )


def _verify_link(web: Web, email: str) -> str:
    for m in reversed(mails(web.settings.mail_dir)):
        if m.to == email:
            found = re.search(r"http://testserver(/verify/\S+)", m.body)
            if found:
                return found.group(1)
    raise AssertionError("no verification mail")


def test_new_applicant_returns_to_the_call(web: Web, world: World) -> None:
    target = f"/calls/{world.slugs['call']}/apply"
    c = web.client("fr")
    page = c.get(f"/calls/{world.slugs['call']}").text
    assert f"/register?next={target}" in page  # the call offers registration with a return
    assert f'name="next" value="{target}"' in c.get(f"/register?next={target}").text
    r = _register(web, c, "kamau@example.org", target)
    assert r.status_code == 303
    assert r.headers["location"].startswith(f"/login?next={quote(target, safe='')}")
    link = _verify_link(web, "kamau@example.org")
    assert f"next={quote(target, safe='')}" in link
    confirm = c.get(link)
    assert f'name="next" value="{target}"' in confirm.text
    token = csrf(c, link)
    r = c.post(link.split("?")[0], data={"csrf_token": token, "next": target})
    assert r.status_code == 303
    assert r.headers["location"].startswith(f"/login?next={quote(target, safe='')}")
    login_page = c.get(r.headers["location"])
    assert f'name="next" value="{target}"' in login_page.text
    r = c.post(
        "/login",
        data={
            "csrf_token": csrf(c),
            "email": "kamau@example.org",
            "password": PASSWORD,
            "next": target,
        },
    )
    assert r.status_code == 303
    assert r.headers["location"].split("?")[0] == target


@pytest.mark.parametrize(
    "evil", ["https://evil.example/x", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]
)
def test_an_external_return_link_is_refused(web: Web, world: World, evil: str) -> None:
    c = web.client()
    assert "evil" not in c.get(f"/register?next={quote(evil, safe='')}").text.split("<main")[1]
    r = _register(web, c, "someone@example.org", evil)
    assert r.status_code == 303
    assert "evil" not in r.headers["location"]
    assert "evil" not in _verify_link(web, "someone@example.org")
    link = _verify_link(web, "someone@example.org")
    r = c.post(link, data={"csrf_token": csrf(c, link), "next": evil})
    assert r.status_code == 303 and "evil" not in r.headers["location"]
    r = c.post(
        "/login",
        data={
            "csrf_token": csrf(c),
            "email": "someone@example.org",
            "password": PASSWORD,
            "next": evil,
        },
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith("/dashboard")
