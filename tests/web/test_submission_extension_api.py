"""``PUT /api/v1/proposals/{id}/deadline`` (trialop21b): the call's manager extends one
proposal's submission deadline; its PI reads their own deadline on the proposal."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from opencall.people import services as people_services
from opencall.people.models import User
from tests import factories as f
from tests.web.conftest import Web


def test_the_office_extends_through_the_api_and_the_applicant_sees_their_deadline(
    web: Web, factory: sessionmaker[Session]
) -> None:
    with factory() as s:
        call = f.fast_call(s)
        late = f.full_proposal(s, call)
        manager = f.user(s)
        people_services.grant_role(s, manager.id, "call_manager", call_id=call.id)
        pi = s.get(User, late.pi_user_id)
        assert pi is not None
        _t, pi_raw = people_services.create_api_token(s, pi, "t")
        _t, office_raw = people_services.create_api_token(s, manager, "t")
        until = call.closes_at + dt.timedelta(days=2)
        pid, closes = late.id, call.closes_at
        s.commit()
    url = f"/api/v1/proposals/{pid}/deadline"
    body = {"until": until.isoformat(), "reason": "Visa office closed"}
    client = web.client()
    as_pi = {"Authorization": f"Bearer {pi_raw}"}
    office = {"Authorization": f"Bearer {office_raw}"}
    got = client.get(f"/api/v1/proposals/{pid}", headers=as_pi).json()
    assert dt.datetime.fromisoformat(got["deadline"]) == closes
    assert client.put(url, headers=as_pi, json=body).status_code == 404
    assert client.put(url, headers=office, json={**body, "reason": ""}).status_code == 422
    r = client.put(url, headers=office, json=body)
    assert r.status_code == 200, r.text
    assert dt.datetime.fromisoformat(r.json()["until"]) == until
    got = client.get(f"/api/v1/proposals/{pid}", headers=as_pi).json()
    assert dt.datetime.fromisoformat(got["deadline"]) == until
