"""The applicant's ``GET /api/v1/proposals/<id>/outcome`` says its explanation in words,
as the decisions list and the outcome page do, not in the allocator's stored form: a
proposal with two requests on resources of a custom facility read "custom: awarded in
full; custom: awarded in full" (a request kind's code) there while the chair's decisions
list read "Request: awarded in full" (found installing a core repository from the docs)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from opencall.allocation.models import Decision
from tests.results.decline_world import build
from tests.results.test_decline_web import _token
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")

STORED = "custom: awarded in full; custom: awarded in full"  # as the allocator writes it


def test_the_outcome_api_says_the_explanation_as_the_decisions_list_does(web: Web) -> None:
    with web.factory() as s:
        w = build(s)
        pid = w.awarded[0]
        d = s.scalar(select(Decision).where(Decision.proposal_id == pid))
        assert d is not None
        # the allocator's messages for it (msgid11): each request's sentence with its kind
        assert d.explanation_msg and d.explanation_msg[0]["message"]
        said = d.explanation_msg[0]["message"]
        d.explanation = STORED
        d.explanation_msg = [{"kind": "custom", "message": said} for _ in range(2)]
        s.commit()
    api = web.client()
    pi = {"Authorization": f"Bearer {_token(web, w.emails['pi'])}"}
    chair = {"Authorization": f"Bearer {_token(web, w.emails['chair'])}"}
    mine = api.get(f"/api/v1/proposals/{pid}/outcome", headers=pi)
    assert mine.status_code == 200, mine.text
    listed = api.get(f"/api/v1/calls/{w.slug}/decisions", headers=chair).json()["items"]
    (row,) = [r for r in listed if r["proposal_code"] == mine.json()["code"]]
    assert "custom:" not in mine.json()["explanation"], mine.json()["explanation"]
    assert mine.json()["explanation"] == row["explanation"] == "Request: awarded in full"
