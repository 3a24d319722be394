"""A chair (or a user office member, who runs the call as chair) at the same institution as
a proposal's PI or a team member has a conflict of interest with it even when they hold no
reviewing role: the conflicts step records it (``reviews.services.compute_conflicts`` applies
``conflict_sources`` to the call's staff too), so the chair "leaves the room" for that
proposal (``reviews.policies.withheld``): its reviewers are left out of the chair's
assignment page, its CSV and the API, and the chair may not choose its reviewers.

Before the fix the rule was applied to panel and technical reviewers only: such a chair had
no recorded conflict and saw and decided the proposal like any other."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.reviews import policies
from opencall.reviews import services as rv
from opencall.reviews.models import Conflict
from tests import factories as F
from tests.security.test_conflicted_staff_hands_off import CONFLICTED
from tests.web.conftest import Web, session_cookie

pytestmark = pytest.mark.filterwarnings("ignore")

NEAR = ("Anselm Quirkwhistle-Oduya", "Berenike Thistlewood-Mensah")  # reviewers of the PI's one
FAR = ("Cyprian Lowestoft-Adeyemi", "Dagny Ferncastle-Otieno")  # reviewers of the other one


@dataclass
class World:
    slug: str
    near: int  # the proposal whose PI is at the staff member's institution
    near_code: str
    far: int
    free: int  # a reviewer of the call on neither proposal
    staff: dict[str, int]


def _world(s: Session) -> World:
    call, props, reviewers = F.call_in_review(s, 2, 5)
    # the factory's PI of the first proposal is at "Team institute 0"
    chair = F.user(s, name="Chair Sameplace", institution="Team institute 0", country="FRA")
    people_services.grant_role(s, chair.id, "chair", call_id=call.id)
    office = F.user(s, name="Office Sameplace", institution="team  INSTITUTE 0", country="FRA")
    people_services.grant_role(s, office.id, "call_manager", provider_id=call.provider_id)
    elsewhere = F.user(s, name="Chair Elsewhere", institution="Other institute", country="FRA")
    people_services.grant_role(s, elsewhere.id, "chair", call_id=call.id)
    for who, p in ((reviewers[:2], props[0]), (reviewers[2:4], props[1])):
        for r in who:
            rv.add_assignment(s, call, p, r)
    for r, name in zip(reviewers[:4], (*NEAR, *FAR), strict=True):
        r.name = name
    rv.compute_conflicts(s, call)
    s.flush()
    return World(
        slug=call.slug,
        near=props[0].id,
        near_code=props[0].code,
        far=props[1].id,
        free=reviewers[4].id,
        staff={"chair": chair.id, "office": office.id, "elsewhere": elsewhere.id},
    )


def test_the_conflicts_step_records_the_staff_s_institutional_conflicts(db: Session) -> None:
    w = _world(db)
    rows = db.execute(
        select(Conflict.proposal_id, Conflict.reviewer_id, Conflict.source).where(
            Conflict.reviewer_id.in_(w.staff.values())
        )
    ).all()
    assert sorted(rows) == sorted(
        [(w.near, w.staff["chair"], "institution"), (w.near, w.staff["office"], "institution")]
    )
    call = db.scalar(select(Call).where(Call.slug == w.slug))
    for who, hidden in (("chair", {w.near}), ("office", {w.near}), ("elsewhere", set())):
        person = db.get_one(User, w.staff[who])
        assert policies.withheld(db, person, call) == hidden, who


@pytest.mark.parametrize("who", ["chair", "office"])
def test_a_chair_at_the_pi_s_institution_sees_and_decides_nothing_of_its_review(
    web: Web, who: str
) -> None:
    with web.factory() as s:
        w = _world(s)
        staff = s.get_one(User, w.staff[who])
        email = staff.email
        _t, raw = people_services.create_api_token(s, staff, "chair")
        s.commit()
    page = web.client()
    page.cookies.set("oc_session", session_cookie(web, email, "tok"))
    api = web.client()
    api.headers["Authorization"] = f"Bearer {raw}"
    shown = {
        "page": page.get(f"/manage/calls/{w.slug}/assignment"),
        "csv": page.get(f"/manage/calls/{w.slug}/assignment?format=csv"),
        "api": api.get(f"/api/v1/calls/{w.slug}/assignments"),
    }
    for where, r in shown.items():
        assert r.status_code == 200, (where, r.text[:500])
        assert not [n for n in NEAR if n in r.text], where
        assert all(n in r.text for n in FAR), where
    codes = {x["proposal_code"] for x in shown["api"].json()["items"]}
    assert w.near_code not in codes and len(codes) == 1
    # the conflicts list leaves the proposal's conflicts out for the conflicted one
    conflicts = api.get(f"/api/v1/calls/{w.slug}/conflicts").json()["items"]
    assert not [c for c in conflicts if c["proposal_code"] == w.near_code]
    # nor may they choose its reviewers (the same refusal as for any recorded conflict)
    r = api.post(
        f"/api/v1/calls/{w.slug}/assignments",
        json={"proposal_id": w.near, "reviewer_id": w.free},
    )
    assert r.status_code == 400, r.text
    assert r.json()["detail"] == CONFLICTED
    r = api.post(
        f"/api/v1/calls/{w.slug}/assignments",
        json={"proposal_id": w.far, "reviewer_id": w.free},
    )
    assert r.status_code == 201, r.text


def test_a_chair_elsewhere_still_sees_both(web: Web) -> None:
    with web.factory() as s:
        w = _world(s)
        other = s.get_one(User, w.staff["elsewhere"])
        email = other.email
        _t, raw = people_services.create_api_token(s, other, "chair")
        s.commit()
    page = web.client()
    page.cookies.set("oc_session", session_cookie(web, email, "tok"))
    r = page.get(f"/manage/calls/{w.slug}/assignment?format=csv")
    assert r.status_code == 200
    assert all(n in r.text for n in (*NEAR, *FAR))
    # and the conflicts list names the two conflicted members of the staff
    r = web.client().get(
        f"/api/v1/calls/{w.slug}/conflicts", headers={"Authorization": f"Bearer {raw}"}
    )
    named = {(c["proposal_code"], c["reviewer"]) for c in r.json()["items"]}
    assert {(w.near_code, "Chair Sameplace"), (w.near_code, "Office Sameplace")} <= named
