"""The applicant's API outcome carries the reviewers' comments to the applicants
(trialrev19). The outcome page and the letter gave the team the feedback, but
``GET /api/v1/proposals/{id}/outcome`` (a team's client on a slow link, a script that
files decisions) answered the decision, awards, schedule and technical notes without it:
the one thing the team asks for after a rejection. Never the panel's remarks nor who
reviewed."""

from __future__ import annotations

import pytest

from tests.web.conftest import Web, World, api_bearer
from tests.web.test_public import publish

pytestmark = pytest.mark.filterwarnings("ignore")


def test_the_api_outcome_gives_the_team_the_reviewers_feedback(web: Web, world: World) -> None:
    pid = world.ids["proposal"]
    with web.factory() as s:
        publish(s, world)
        s.commit()
    got = web.client().get(
        f"/api/v1/proposals/{pid}/outcome", headers=api_bearer(web, world.emails["pi"])
    )
    assert got.status_code == 200
    body = got.json()
    assert body["feedback"] == ["A compelling timing case."]
    # as on the page: nothing the team may not see
    assert "Panel-only remark." not in got.text and "Reviewer Hidden" not in got.text
