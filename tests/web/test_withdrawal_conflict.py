"""mend22b: the user office's withdrawal on the PI's request (trialop22) did not ask
whether the acting staff member is on the proposal's team: a call manager who is a
co-investigator could withdraw (or keep in) a proposal of their own team, a conflict of
interest. Refused, through the API and on the cockpit, and nothing changes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall.people.models import User
from opencall.proposals.models import Proposal, TeamMember
from tests.web.conftest import Web, csrf
from tests.web.test_withdrawal_in_review import _in_review


def _manager_on_team(factory: sessionmaker[Session], w: dict[str, object]) -> None:
    with factory() as s:
        p = s.get_one(Proposal, w["pid"])
        manager = s.scalars(select(User).where(User.email == w["manager"])).one()
        s.add(
            TeamMember(
                proposal_id=p.id,
                user_id=None,  # invited by address, not yet answered
                role="coi",
                email=manager.email.upper(),
                name="The Manager",
                institution_name="",
                status="invited",
            )
        )
        s.commit()


def test_a_team_member_on_staff_cannot_withdraw_through_the_api(
    web: Web, factory: sessionmaker[Session]
) -> None:
    w = _in_review(factory)
    _manager_on_team(factory, w)
    office = {"Authorization": f"Bearer {w['office_token']}"}
    r = web.client().post(
        f"/api/v1/proposals/{w['pid']}/withdrawal", headers=office, json={"reason": "letter"}
    )
    assert r.status_code == 400, r.text
    assert "team" in r.json()["detail"], r.text
    with factory() as s:
        assert s.get_one(Proposal, w["pid"]).status == "under_review"


def test_a_team_member_on_staff_cannot_withdraw_on_the_cockpit(
    web: Web, factory: sessionmaker[Session]
) -> None:
    w = _in_review(factory)
    _manager_on_team(factory, w)
    c = web.login(w["manager"])
    url = f"/manage/calls/{w['slug']}/withdraw-proposal"
    form = {"csrf_token": csrf(c, f"/manage/calls/{w['slug']}")}
    r = c.post(url, data={**form, "proposal": w["code"], "reason": "letter"})
    assert r.status_code == 400, r.text[:2000]
    assert "team" in r.text
    with factory() as s:
        assert s.get_one(Proposal, w["pid"]).status == "under_review"
