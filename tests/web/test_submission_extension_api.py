"""``PUT /api/v1/proposals/{id}/deadline`` (trialop21b): the call's manager extends one
proposal's submission deadline; its PI reads their own deadline on the proposal."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall.people import services as people_services
from opencall.people.models import User
from tests import factories as f
from tests.web.conftest import Web, csrf


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
        # far ahead: later than the call's deadline and than the real clock, for years
        until = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
        pid, closes, slug, code = late.id, call.closes_at, call.slug, late.code
        pi_email, office_email = pi.email, manager.email
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

    # the staff's page lists it, and the PI's pages say it is their own deadline
    office_page = web.login(office_email).get(f"/manage/calls/{slug}")
    assert "Visa office closed" in office_page.text and code in office_page.text
    editor = web.login(pi_email).get(f"/proposals/{pid}")
    assert "extended for this proposal by the user office" in editor.text


def test_the_office_extends_on_the_cockpit(web: Web, factory: sessionmaker[Session]) -> None:
    """The cockpit's form: a proposal named by its code, the new deadline on the call's
    clock (a day alone ends with it), the reason; an unknown code is refused."""
    from opencall.proposals.models import SubmissionExtension

    with factory() as s:
        call = f.fast_call(s)
        late = f.full_proposal(s, call)
        manager = f.user(s)
        people_services.grant_role(s, manager.id, "call_manager", call_id=call.id)
        slug, code, email = call.slug, late.code, manager.email
        s.commit()
    c = web.login(email)
    url = f"/manage/calls/{slug}/submission-extension"
    form = {"csrf_token": csrf(c, f"/manage/calls/{slug}"), "until": "2099-01-01"}
    r = c.post(url, data={**form, "proposal": "NOPE", "reason": "Power cut"})
    assert r.status_code == 400 and "NOPE" in r.text
    r = c.post(url, data={**form, "proposal": code, "reason": "Power cut"})
    assert r.status_code == 303, r.text[:2000]
    with factory() as s:
        ext = s.scalar(select(SubmissionExtension))
        assert ext is not None and ext.reason == "Power cut"
        assert ext.until == dt.datetime(2099, 1, 1, 23, 59, 59, tzinfo=dt.UTC)
