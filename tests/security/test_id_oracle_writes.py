"""Counting ids through the write routes (trialcrowd21): ``test_id_oracle.py`` walks the
GET routes; here a signed-in stranger (the page's CSRF token in the form) and the
stranger's API token send every POST, PUT, PATCH and DELETE route of the app that takes a
path parameter (walked from ``app.routes``: a new route is tried as soon as it exists)
with the id of an object that exists and is not theirs (the PI's proposal, its
co-investigator, its PDF, the PI's API token) and with an id that exists nowhere. The two
answers must have the same status (a 403 against a 404 tells which ids exist), and
neither may be a 5xx. It held when written: no route told them apart."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from opencall.people import services as people_services
from opencall.people.models import User
from tests.authz.test_matrix import app_routes
from tests.security.strangers import MISSING, fill, path_names, stranger
from tests.web.conftest import Web, World, csrf

pytestmark = pytest.mark.filterwarnings("ignore")

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
    who = stranger(web, world)
    ids = {**who.ids, "token_id": _token_id(web, world.emails["pi"])}
    form = {"csrf_token": csrf(who.page, "/dashboard")}
    text = dict.fromkeys(TEXT, "x")
    found, walked = [], 0
    for method, template in sorted(app_routes(web.app)):
        if method in ("GET", "MOUNT") or not path_names(template):
            continue
        hidden = fill(template, None, ids, text, world.slugs["call"])
        nowhere = fill(template, MISSING, ids, text, world.slugs["call"])
        if template.startswith("/api/"):
            a = who.api.request(method, hidden, json={})
            b = who.api.request(method, nowhere, json={})
        else:
            a = who.page.request(method, hidden, data=form)
            b = who.page.request(method, nowhere, data=form)
        walked += 1
        if a.status_code != b.status_code or max(a.status_code, b.status_code) >= 500:
            found.append((method, template, a.status_code, b.status_code))
    assert walked > 100
    assert not found, found
