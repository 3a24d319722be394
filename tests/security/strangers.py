"""A signed-in stranger counting ids (``test_id_oracle.py`` on the GET routes,
``test_id_oracle_writes.py`` on the writes): the ids of objects that exist and are not
theirs, the stranger's page and API clients, and a route's path filled with an id."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy import select

from opencall.people import services as people_services
from opencall.people.models import User
from tests.authz.test_matrix import _attachment
from tests.web.conftest import Web, World

#: an id that exists nowhere
MISSING = 987654321


@dataclass
class Stranger:
    """``world``'s "other" account: signed in (``page``) and with an API token of every
    scope (``api``); ``ids``: the path parameters of objects not theirs (the PI's
    proposal, its co-investigator, its PDF)."""

    ids: dict[str, int]
    page: TestClient
    api: TestClient


def stranger(web: Web, world: World) -> Stranger:
    ids = {"proposal_id": world.ids["proposal"], "member_id": world.ids["coi_member"]}
    ids["attachment_id"] = _attachment(web, world)["attachment_id"]
    page = web.login(world.emails["other"])
    with web.factory() as s:
        other = s.scalar(select(User).where(User.email == world.emails["other"]))
        assert other is not None
        _t, token = people_services.create_api_token(s, other, "counting", days=365)
        s.commit()
    api = web.client()
    api.headers["Authorization"] = f"Bearer {token}"
    return Stranger(ids, page, api)


def path_names(template: str) -> list[str]:
    """The path parameters of a route's ``template``."""
    return re.findall(r"{([^}:]+)(?::[^}]+)?}", template)


def fill(
    template: str, value: int | None, ids: dict[str, int], text: dict[str, str], slug: str
) -> str:
    """``template`` with its parameters given: ``slug`` for the call's, a value of
    ``text`` for a text one, else ``value`` (the id of the hidden object from ``ids``
    when None, 1 for a parameter ``ids`` lacks)."""
    path = template
    for name in path_names(template):
        if name == "slug":
            v: object = slug
        elif name in text:
            v = text[name]
        else:
            v = ids.get(name, 1) if value is None else value
        path = re.sub(r"{" + name + r"(:[^}]+)?}", str(v), path)
    return path
