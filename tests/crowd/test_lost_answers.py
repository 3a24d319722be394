"""Writes whose answer was lost on a slow link, sent again without the first attempt's
``Idempotency-Key`` (or the form sent again by a browser), beyond the submission (see
tests/crowd/test_cutoff_crowd.py): they answer what the first attempt made and write
nothing.

- A team invitation sent again answered 400 "This person is already on the team." (page
  and API): the PI was told that the invitation they had sent failed.
- A submitted review sent again answered 404 (page) or 400 "This review was already
  submitted." (API).
- "Start a proposal" sent again more than a minute later (a slow link's retry: a browser
  waits minutes for an answer) made a second draft; now an untouched draft of the same
  title and text made in the last half hour is answered.
- An upload sent again is the stored file (``proposals.services.add_attachment``),
  checked here through the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select

from opencall.auditlog import AuditEvent
from opencall.db import utcnow
from opencall.jobs import Job
from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from opencall.proposals.models import Proposal, TeamMember
from opencall.reviews.models import Review
from tests.review_cycle import Cycle
from tests.web.conftest import Web, World, api_bearer, csrf, version_of

pytestmark = pytest.mark.filterwarnings("ignore")

INVITE = {
    "email": "coi.retry@example.org",
    "name": "Nadia Retry",
    "institution": "Université Cheikh Anta Diop",
    "country_iso3": "SEN",
}


def _events(web: Web, action: str) -> int:
    with web.factory() as s:
        return s.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action)) or 0


def _members(web: Web, email: str) -> int:
    with web.factory() as s:
        return s.scalar(select(func.count(TeamMember.id)).where(TeamMember.email == email)) or 0


def _mails_to(web: Web, email: str) -> int:
    """Mails to ``email``, queued or sent (the API's wait in the queue for the worker)."""
    web.settle()
    with web.factory() as s:
        return sum(
            1 for p in s.scalars(select(Job.payload).where(Job.kind == "mail")) if p["to"] == email
        )


def test_a_team_invitation_sent_again_is_the_one_made(web: Web, world: World) -> None:
    pid = world.ids["proposal"]
    c = web.login(world.emails["pi"])
    form = {"csrf_token": csrf(c, f"/proposals/{pid}"), "version": version_of(c, pid), **INVITE}
    invited = _events(web, "team.invited")
    first = c.post(f"/proposals/{pid}/team", data=form)
    assert first.status_code == 303, first.text[:500]
    again = c.post(f"/proposals/{pid}/team", data=form)  # the same form, its version stale
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert _members(web, INVITE["email"]) == 1 and _mails_to(web, INVITE["email"]) == 1
    assert _events(web, "team.invited") == invited + 1
    # another name for the same address is no retry: refused as before
    other = c.post(f"/proposals/{pid}/team", data={**form, "name": "Someone Else"})
    assert other.status_code in (400, 409) and _members(web, INVITE["email"]) == 1

    # the API, without an Idempotency-Key
    bearer = api_bearer(web, world.emails["pi"])
    api = web.client()
    version = api.get(f"/api/v1/proposals/{pid}/full", headers=bearer).json()["version"]
    body = {**INVITE, "email": "api.retry@example.org", "version": version}
    a = api.post(f"/api/v1/proposals/{pid}/members", headers=bearer, json=body)
    b = api.post(f"/api/v1/proposals/{pid}/members", headers=bearer, json=body)
    assert (a.status_code, b.status_code) == (201, 201), b.text
    assert _members(web, "api.retry@example.org") == 1
    assert _mails_to(web, "api.retry@example.org") == 1


def _assigned(web: Web, cycle: Cycle) -> tuple[dict[str, str], int]:
    with web.factory() as s:
        u = user_by_email(s, cycle.emails["assigned"])
        assert u is not None
        _t, raw = people_services.create_api_token(s, u, "t", scopes=("review",))
        s.commit()
    return {"Authorization": f"Bearer {raw}"}, cycle.ids["assignment"]


def test_a_submitted_review_sent_again_is_answered(web: Web, cycle: Cycle) -> None:
    bearer, aid = _assigned(web, cycle)
    api = web.client()
    body: dict[str, Any] = {"grade": 2.5, "confidence": 4, "comments_to_applicants": "Solid."}
    first = api.post(f"/api/v1/assignments/{aid}/review", headers=bearer, json=body)
    assert first.status_code == 200, first.text
    again = api.post(f"/api/v1/assignments/{aid}/review", headers=bearer, json=body)
    assert again.status_code == 200 and again.json() == first.json()
    assert _events(web, "review.submitted") == 1
    changed = api.post(
        f"/api/v1/assignments/{aid}/review", headers=bearer, json={**body, "grade": 1.0}
    )
    assert changed.status_code == 400 and "already submitted" in changed.text
    # the page's form sent again
    c = web.login(cycle.emails["assigned"])
    form = {
        "csrf_token": csrf(c, f"/review/assignments/{aid}"),
        "grade": "2.5",
        "confidence": "4",
        "comments_to_applicants": "Solid.",
        "comments_to_panel": "",
        "action": "submit",
    }
    r = c.post(f"/review/assignments/{aid}", data=form)
    assert r.status_code == 303 and "review_submitted" in r.headers["location"]
    # a changed one is refused, saying why (trialrev22: 409, where a bare 404 had the
    # page's script resend it for ever), and nothing is written
    changed_page = c.post(f"/review/assignments/{aid}", data={**form, "grade": "1"})
    assert changed_page.status_code == 409 and "already submitted" in changed_page.text
    with web.factory() as s:
        review = s.scalars(select(Review).where(Review.assignment_id == aid)).one()
        assert review.grade == 2.5
    assert _events(web, "review.submitted") == 1


def test_start_a_proposal_sent_again_minutes_later_is_the_draft_made(
    web: Web, world: World
) -> None:
    bearer = api_bearer(web, world.emails["pi"])
    c = web.client()
    body = {"call": world.slugs["call"], "title": "Slow link start"}
    first = c.post("/api/v1/proposals", headers=bearer, json=body)
    assert first.status_code == 201, first.text
    with time_machine.travel(utcnow() + dt.timedelta(minutes=10)):
        again = c.post("/api/v1/proposals", headers=bearer, json=body)
        assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    # once the draft was edited, starting again is a new proposal
    pid = first.json()["id"]
    r = c.patch(
        f"/api/v1/proposals/{pid}",
        headers=bearer,
        json={"version": first.json()["version"], "keywords": "pulsars"},
    )
    assert r.status_code == 200, r.text
    with time_machine.travel(utcnow() + dt.timedelta(minutes=10)):
        third = c.post("/api/v1/proposals", headers=bearer, json=body)
        assert third.status_code == 201 and third.json()["id"] != pid
    with time_machine.travel(utcnow() + dt.timedelta(minutes=45)):
        late = c.post("/api/v1/proposals", headers=bearer, json=body)
        assert late.status_code == 201 and late.json()["id"] not in (pid, third.json()["id"])
    with web.factory() as s:
        n = s.scalar(select(func.count(Proposal.id)).where(Proposal.title == "Slow link start"))
        assert n == 3
