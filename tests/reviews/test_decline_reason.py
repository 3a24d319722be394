"""A reviewer who declines says why (trialrev19). Before, "Decline" was one button: the
chair saw the proposal fall short and had no word of why (out of my field, travelling
until March, I read no Spanish), nor even that someone had declined: the assignment page
lists only live assignments. Now the decline takes an optional reason (page and API),
kept on the audit event, and the chair's assignment page lists the declined invitations
of its proposals with it (less those of a proposal withheld from the reader)."""

from __future__ import annotations

from sqlalchemy import select

from opencall.reviews.models import Conflict, ReviewAssignment
from tests.review_cycle import Cycle
from tests.web.conftest import Web, api_bearer, csrf

WHY = "Fuera de mi campo: trabajo en púlsares, no en <b>cúmulos</b>."


def _status(web: Web, aid: int) -> str:
    with web.factory() as s:
        a = s.get(ReviewAssignment, aid)
        assert a is not None
        return a.status


def test_the_reviewer_declines_with_a_reason_the_chair_reads(web: Web, cycle: Cycle) -> None:
    aid = cycle.ids["assignment"]
    url = f"/review/assignments/{aid}"
    c = web.login(cycle.emails["assigned"], lang="es")
    page = c.get(url).text
    assert 'name="decline_reason"' in page and "Por qué declina" in page
    token = csrf(c, url)
    # too long: refused, nothing changed, the text kept in the form
    long = "x" * 2001
    r = c.post(
        f"{url}/respond", data={"csrf_token": token, "action": "decline", "decline_reason": long}
    )
    assert r.status_code == 400 and _status(web, aid) == "assigned" and long in r.text
    r = c.post(
        f"{url}/respond", data={"csrf_token": token, "action": "decline", "decline_reason": WHY}
    )
    assert r.status_code == 303 and _status(web, aid) == "declined"
    chair = web.login(cycle.emails["chair"])
    shown = chair.get(f"/manage/calls/{cycle.slug}/assignment").text
    assert 'id="declined"' in shown and "Assigned Person" in shown
    assert "púlsares" in shown and "<b>cúmulos</b>" not in shown  # escaped, not markup
    # a chair with a conflict with the proposal reads none of it (they leave the room)
    chair_id = _uid(web, cycle.emails["chair"])
    pair = {"call_id": cycle.ids["call"], "proposal_id": cycle.ids["proposal"]}
    with web.factory() as s:
        s.add(Conflict(**pair, reviewer_id=chair_id, source="declared_reviewer", detail="PhD"))
        s.commit()
    shown = chair.get(f"/manage/calls/{cycle.slug}/assignment").text
    assert "púlsares" not in shown and "Assigned Person" not in shown


def _uid(web: Web, email: str) -> int:
    from opencall.people.models import User

    with web.factory() as s:
        return s.scalars(select(User.id).where(User.email == email)).one()


def test_the_api_takes_the_reason_too(web: Web, cycle: Cycle) -> None:
    aid = cycle.ids["assignment"]
    headers = api_bearer(web, cycle.emails["assigned"], scopes=("review",))
    api = web.client()
    r = api.post(
        f"/api/v1/assignments/{aid}/respond",
        headers=headers,
        json={"accept": False, "reason": "y" * 2001},
    )
    assert r.status_code in (400, 422) and _status(web, aid) == "assigned"
    r = api.post(
        f"/api/v1/assignments/{aid}/respond",
        headers=headers,
        json={"accept": False, "reason": "  Travelling until March.  "},
    )
    assert r.status_code == 200 and r.json()["status"] == "declined"
    chair = web.login(cycle.emails["chair"])
    assert "Travelling until March." in chair.get(f"/manage/calls/{cycle.slug}/assignment").text
