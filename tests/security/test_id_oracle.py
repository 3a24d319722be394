"""Counting ids (trialcrowd10): a signed-in stranger, and a stranger's API token of every
scope, walk every GET route of the app that takes an integer id (proposals, team members,
files, assignments, jobs, pools, facilities, revisions) with the id of an object that
exists but is not theirs (the PI's proposal, its co-investigator, its PDF) and with an id
that exists nowhere. The two answers must not differ in status (a 403 for one and a 404
for the other tells which ids exist, and so how many proposals a call has and when each
was made) nor show anything of the hidden object. The routes are walked from
``app.routes``, so a new route is tried as soon as it exists."""

from __future__ import annotations

import pytest

from tests.authz.test_matrix import app_routes
from tests.security.strangers import MISSING, fill, path_names, stranger
from tests.web.conftest import Web, World

pytestmark = pytest.mark.filterwarnings("ignore")

#: the integer path parameters of the app's GET routes (a new one fails the test until named)
INTS = {"proposal_id", "member_id", "attachment_id", "assignment_id", "job_id", "pool_id"}
INTS |= {"facility_id", "n"}
TEXT = {"slug", "token", "code", "fmt", "upload_id"}  # (an upload in pieces: a random id)


def test_a_stranger_counting_ids_learns_nothing(web: Web, world: World, one_loop: None) -> None:
    who = stranger(web, world)
    text = {name: "pdf" if name == "fmt" else "x" for name in TEXT}
    found, walked = [], 0
    for method, template in sorted(app_routes(web.app)):
        names = path_names(template)
        if method != "GET" or not set(names) & INTS:
            continue
        assert set(names) <= INTS | TEXT, f"name the new path parameter: {template}"
        client = who.api if template.startswith("/api/") else who.page
        hidden = fill(template, None, who.ids, text, world.slugs["call"])
        nowhere = fill(template, MISSING, who.ids, text, world.slugs["call"])
        a = client.get(hidden, follow_redirects=False)
        b = client.get(nowhere, follow_redirects=False)
        walked += 1
        if a.status_code != b.status_code:
            found.append((hidden, a.status_code, nowhere, b.status_code))
        if a.status_code != 200:
            found += [(hidden, "shows", x) for x in world.secrets if x in a.text]
    assert walked > 20
    assert not found, found
