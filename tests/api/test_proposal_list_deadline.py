"""The API's list of one's proposals says each proposal's own deadline (trialapp23).

An applicant abroad whose deadline the user office extended (a power cut, a visa
office) reads her proposals through the API on a slow link: one page of the list, not a
request per proposal. Before, only ``GET /api/v1/proposals/{id}`` said the deadline; the
list did not, and a client that showed the call's deadline from the list told her the
call had closed for her while she still had days."""

from __future__ import annotations

import datetime as dt

from opencall.calls.models import Call
from opencall.proposals import services as prop_services
from opencall.proposals.models import Proposal
from tests.web.conftest import Web, api_bearer, build_world


def test_the_list_says_each_proposals_own_deadline(web: Web) -> None:
    with web.factory() as s:
        w = build_world(s)
        p = s.get(Proposal, w.ids["proposal"])
        assert p is not None
        call = s.get(Call, p.call_id)
        assert call is not None
        until = (call.closes_at + dt.timedelta(days=3)).replace(microsecond=0)
        prop_services.grant_submission_extension(
            s, p, until, reason="A power cut in Bamako", actor_id=None
        )
        closes = call.closes_at
        s.commit()
    c = web.client()
    r = c.get("/api/v1/proposals", headers=api_bearer(web, w.emails["pi"]))
    assert r.status_code == 200, r.text
    items = {item["id"]: item for item in r.json()["items"]}
    assert w.ids["proposal"] in items
    listed = items[w.ids["proposal"]]
    assert "deadline" in listed, "the list does not say the proposal's own deadline"
    assert dt.datetime.fromisoformat(listed["deadline"]) == until
    # the same as the proposal's own page says
    one = c.get(f"/api/v1/proposals/{w.ids['proposal']}", headers=api_bearer(web, w.emails["pi"]))
    assert one.json()["deadline"] == listed["deadline"]
    # another applicant's proposal, not extended: the call's deadline
    r = c.get("/api/v1/proposals", headers=api_bearer(web, w.emails["other"]))
    (other,) = r.json()["items"]
    assert dt.datetime.fromisoformat(other["deadline"]) == closes
