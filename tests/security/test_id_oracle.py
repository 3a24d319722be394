"""Counting ids (trialcrowd10): a signed-in stranger, and a stranger's API token of every
scope, walk every GET route of the app that takes an integer id (proposals, team members,
files, assignments, jobs, pools, facilities, revisions) with the id of an object that
exists but is not theirs (the PI's proposal, its co-investigator, its PDF) and with an id
that exists nowhere. The two answers must not differ in status (a 403 for one and a 404
for the other tells which ids exist, and so how many proposals a call has and when each
was made) nor show anything of the hidden object. The routes are walked from
``app.routes``, so a new route is tried as soon as it exists."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from opencall.people import services as people_services
from opencall.people.models import User
from tests.authz.test_matrix import _attachment, app_routes
from tests.web.conftest import Web, World

pytestmark = pytest.mark.filterwarnings("ignore")

MISSING = 987654321
#: the integer path parameters of the app's GET routes (a new one fails the test until named)
INTS = {"proposal_id", "member_id", "attachment_id", "assignment_id", "job_id", "pool_id"}
INTS |= {"facility_id", "n"}
TEXT = {"slug", "token", "code", "fmt"}


def test_a_stranger_counting_ids_learns_nothing(web: Web, world: World, one_loop: None) -> None:
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
    found, walked = [], 0
    for method, template in sorted(app_routes(web.app)):
        names = re.findall(r"{([^}:]+)(?::[^}]+)?}", template)
        if method != "GET" or not set(names) & INTS:
            continue
        assert set(names) <= INTS | TEXT, f"name the new path parameter: {template}"

        def fill(value: int | None, template: str = template, names: list[str] = names) -> str:
            path = template
            for name in names:
                v = (
                    world.slugs["call"]
                    if name == "slug"
                    else ("pdf" if name == "fmt" else "x")
                    if name in TEXT
                    else ids.get(name, 1)
                    if value is None
                    else value
                )
                path = re.sub(r"{" + name + r"(:[^}]+)?}", str(v), path)
            return path

        client = api if template.startswith("/api/") else page
        hidden, nowhere = fill(None), fill(MISSING)
        a = client.get(hidden, follow_redirects=False)
        b = client.get(nowhere, follow_redirects=False)
        walked += 1
        if a.status_code != b.status_code:
            found.append((hidden, a.status_code, nowhere, b.status_code))
        if a.status_code != 200:
            found += [(hidden, "shows", x) for x in world.secrets if x in a.text]
    assert walked > 20
    assert not found, found
