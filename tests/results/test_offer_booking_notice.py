"""mend11, item 4: an award offered after a decline is booked on the stored schedule only
if it fits without moving anyone. When it is not, the chair who offered it is told so
where the offer is made, with what to do (run the schedule again), on the declines page
and in the API's answer; when it is booked, they are told that too; a call without a
stored schedule says nothing of it."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from opencall.allocation.presenters import OFFER_NOT_BOOKED
from opencall.results import declines
from opencall.scheduling import queries as sq
from opencall.scheduling.models import ScheduleEntry
from tests.authz.test_workspace_matrix import session_client
from tests.results.decline_world import Declining, build, get_call, get_proposal
from tests.results.test_decline_web import _token
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def _declined(web: Web, *, stored: bool) -> Declining:
    """The decline world, the first award declined; with ``stored``, a schedule stored
    whose entries (one unplaced block each) the schedule made again never gives back as
    they are, so an offer cannot be booked without moving anyone."""
    with web.factory() as s:
        w = build(s)
        call = get_call(s, w)
        s.execute(delete(ScheduleEntry).where(ScheduleEntry.call_id == call.id))
        if stored:
            for pid in w.awarded[1:]:
                s.add(ScheduleEntry(call_id=call.id, proposal_id=pid, kind="fast",
                                    label="block", amount=1.0))  # fmt: skip
        s.flush()
        declines.decline_award(s, get_proposal(s, w.awarded[0]), reason="visa",
                               actor_id=w.ids["pi"])  # fmt: skip
        s.commit()
    return w


def test_the_chair_is_told_an_offered_award_was_not_booked_and_what_to_do(web: Web) -> None:
    w = _declined(web, stored=True)
    chair, tok = session_client(web, w.emails["chair"])
    r = chair.post(f"/manage/calls/{w.slug}/declines/{w.waiting[0]}/offer",
                   data={"csrf_token": tok, "reason": "next in line"})  # fmt: skip
    assert r.status_code == 303, r.text[:500]
    page = chair.get(r.headers["location"])
    assert page.status_code == 200
    assert "not booked on the stored schedule" in page.text
    assert "without moving another award" in page.text and "Run the schedule again" in page.text
    with web.factory() as s:
        assert sq.not_scheduled(s, get_call(s, w)) == [w.waiting[0]]


def test_the_api_says_whether_an_offered_award_was_booked(web: Web) -> None:
    w = _declined(web, stored=True)
    api = web.client()
    head = {"Authorization": f"Bearer {_token(web, w.emails['chair'])}"}
    r = api.post(f"/api/v1/calls/{w.slug}/declines/{w.waiting[0]}/offer", headers=head,
                 json={"reason": "next in line"})  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["outcome"] == "awarded"
    assert body["schedule"] == "not_booked" and body["schedule_note"] == OFFER_NOT_BOOKED
    assert "Run the schedule again" in body["schedule_note"]


def test_without_a_stored_schedule_nothing_is_said_of_booking(web: Web) -> None:
    w = _declined(web, stored=False)
    api = web.client()
    head = {"Authorization": f"Bearer {_token(web, w.emails['chair'])}"}
    r = api.post(f"/api/v1/calls/{w.slug}/declines/{w.waiting[0]}/offer", headers=head,
                 json={"reason": "next in line"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["schedule"] is None and r.json()["schedule_note"] is None


def test_the_chair_is_told_an_offered_award_was_booked(web: Web) -> None:
    """The real telescope schedule stored: the offer fits without moving anyone."""
    from opencall.scheduling import services as sched

    with web.factory() as s:
        w = build(s)
        call = get_call(s, w)
        s.execute(delete(ScheduleEntry).where(ScheduleEntry.call_id == call.id))
        sched.run_schedule(s, call)
        declines.decline_award(s, get_proposal(s, w.awarded[0]), reason="visa",
                               actor_id=w.ids["pi"])  # fmt: skip
        s.commit()
    chair, tok = session_client(web, w.emails["chair"])
    r = chair.post(f"/manage/calls/{w.slug}/declines/{w.waiting[0]}/offer",
                   data={"csrf_token": tok, "reason": "next in line"})  # fmt: skip
    assert r.status_code == 303
    page = chair.get(r.headers["location"]).text
    assert "booked on the stored schedule without moving anyone" in page
    assert "not booked" not in page
    with web.factory() as s:
        assert sq.not_scheduled(s, get_call(s, w)) == []
