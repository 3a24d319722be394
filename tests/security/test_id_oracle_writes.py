"""Counting ids through the write routes (trialcrowd21): ``test_id_oracle.py`` walks the
GET routes; here a signed-in stranger (the page's CSRF token in the form) and the
stranger's API token send every POST, PUT, PATCH and DELETE route of the app that takes a
path parameter (walked from ``app.routes``: a new route is tried as soon as it exists)
with the id of an object that exists and is not theirs (the PI's proposal, its
co-investigator, its PDF, the PI's API token) and with an id that exists nowhere. The two
answers must have the same status (a 403 against a 404 tells which ids exist), and
neither may be a 5xx. It held when written: no route told them apart."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from opencall.people import services as people_services
from opencall.people.models import User
from tests.authz.test_matrix import _attachment, app_routes
from tests.web.conftest import Web, World, csrf

pytestmark = pytest.mark.filterwarnings("ignore")

MISSING = 987654321
TEXT = {"slug", "token", "key", "provider", "step"}


def _token_id(web: Web, email: str) -> int:
    with web.factory() as s:
        user = s.scalar(select(User).where(User.email == email))
        assert user is not None
        tok, raw = people_services.create_api_token(s, user, "theirs", days=365)
        s.commit()
        return int(tok.id)


def test_a_stranger_writing_to_counted_ids_learns_nothing(
    web: Web, world: World, one_loop: None
) -> None:
    ids = {"proposal_id": world.ids["proposal"], "member_id": world.ids["coi_member"]}
    ids["attachment_id"] = _attachment(web, world)["attachment_id"]
    ids["token_id"] = _token_id(web, world.emails["pi"])
    page = web.login(world.emails["other"])
    form = {"csrf_token": csrf(page, "/dashboard")}
    with web.factory() as s:
        other = s.scalar(select(User).where(User.email == world.emails["other"]))
        assert other is not None
        _t, token = people_services.create_api_token(s, other, "counting", days=365)
        s.commit()
    api = web.client()
    api.headers["Authorization"] = f"Bearer {token}"
    found, walked = [], 0
    for method, template in sorted(app_routes(web.app)):
        names = re.findall(r"{([^}:]+)(?::[^}]+)?}", template)
        if method in ("GET", "MOUNT") or not names:
            continue

        def fill(value: int | None, template: str = template, names: list[str] = names) -> str:
            path = template
            for name in names:
                if name == "slug":
                    v: object = world.slugs["call"]
                elif name in TEXT:
                    v = "x"
                else:
                    v = ids.get(name, 1) if value is None else value
                path = re.sub(r"{" + name + r"(:[^}]+)?}", str(v), path)
            return path

        if template.startswith("/api/"):
            a = api.request(method, fill(None), json={})
            b = api.request(method, fill(MISSING), json={})
        else:
            a = page.request(method, fill(None), data=form)
            b = page.request(method, fill(MISSING), data=form)
        walked += 1
        if a.status_code != b.status_code or max(a.status_code, b.status_code) >= 500:
            found.append((method, template, a.status_code, b.status_code))
    assert walked > 100
    assert not found, found
