"""A review submitted after the call's review deadline is refused (page and API), with
the deadline in UTC and in the reviewer's zone, and nothing written; unless the chair
extended that reviewer's deadline, an audited action of the assignment page and the
API, which answers bad input with a clear error and changes nothing (mend10b item 1:
before, a late review was accepted silently)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opencall.auditlog import AuditEvent
from opencall.calls.models import Call
from opencall.db import utcnow
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.people.queries import user_by_email
from opencall.reviews.models import Review, ReviewAssignment, ReviewDeadlineExtension
from tests.review_cycle import Cycle, Web, csrf
from tests.web.conftest import said_to

ZONE = "Asia/Dhaka"


def _deadline(f: sessionmaker[Session], cycle: Cycle, at: dt.datetime) -> None:
    with f() as s:
        call = s.get(Call, cycle.ids["call"])
        assert call is not None
        call.review_settings = {**call.review_settings, "review_deadline": at.isoformat()}
        u = user_by_email(s, cycle.emails["assigned"])
        assert u is not None
        u.time_zone = ZONE
        s.commit()


def _counts(f: sessionmaker[Session]) -> tuple[int, int, int, list[str]]:
    with f() as s:
        return (
            s.scalar(select(func.count()).select_from(Review)) or 0,
            s.scalar(select(func.count()).select_from(AuditEvent)) or 0,
            s.scalar(select(func.count()).select_from(ReviewDeadlineExtension)) or 0,
            list(s.scalars(select(ReviewAssignment.status).order_by(ReviewAssignment.id))),
        )


def _token(web: Web, email: str) -> dict[str, str]:
    with web.factory() as s:
        u = user_by_email(s, email)
        assert u is not None
        _t, raw = people_services.create_api_token(s, u, "deadline")
        s.commit()
    return {"Authorization": f"Bearer {raw}"}


def extension_api(
    web: Web, cycle: Cycle, factory: sessionmaker[Session]
) -> tuple[dict[str, str], str]:
    """The call's deadline passed 3 hours ago: the chair's API headers and the URL of
    the assigned reviewer's deadline extension."""
    _deadline(factory, cycle, utcnow() - dt.timedelta(hours=3))
    with factory() as s:
        reviewer = user_by_email(s, cycle.emails["assigned"])
        assert reviewer is not None
        rid = reviewer.id
    url = f"/api/v1/calls/{cycle.slug}/reviewers/{rid}/deadline"
    return _token(web, cycle.emails["chair"]), url


REVIEW = {"grade": "4", "confidence": "3", "comments_to_applicants": "Sound.", "action": "submit"}
API_REVIEW = {"grade": 4, "confidence": 3, "comments_to_applicants": "Sound."}


def _when_stated(due: dt.datetime) -> tuple[str, str]:
    utc = due.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") + " UTC"
    from zoneinfo import ZoneInfo

    local = due.astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M") + f" {ZONE}"
    return utc, local


def test_a_late_review_is_refused_on_the_page_and_the_api(
    web: Web, cycle: Cycle, factory: sessionmaker[Session]
) -> None:
    due = (utcnow() - dt.timedelta(hours=3)).replace(second=0, microsecond=0)
    _deadline(factory, cycle, due)
    utc, local = _when_stated(due)
    headers = _token(web, cycle.emails["assigned"])
    rev = web.login(cycle.emails["assigned"])
    fr = web.login(cycle.emails["assigned"], lang="fr")
    before = _counts(factory)
    path = f"/review/assignments/{cycle.ids['assignment']}"
    r = rev.post(path, data={"csrf_token": csrf(rev, "/review"), **REVIEW})
    assert r.status_code == 400, r.text[:500]
    assert "review deadline passed" in r.text and utc in r.text and local in r.text
    assert _counts(factory) == before  # nothing written, nothing audited

    r = web.client().post(
        f"/api/v1/assignments/{cycle.ids['assignment']}/review", headers=headers, json=API_REVIEW
    )
    assert r.status_code == 400, r.text
    body = r.json()
    assert "review deadline passed" in body["detail"] and utc in body["detail"]
    assert local in body["params"]["deadline"]
    assert _counts(factory) == before

    # in French, the refusal is translated
    r = fr.post(path, data={"csrf_token": csrf(fr, "/review"), **REVIEW})
    assert r.status_code == 400 and utc in r.text and "review deadline passed" not in r.text

    # a draft is still kept (the panel reads only submitted reviews)
    draft = {**REVIEW, "action": "save"}
    r = rev.post(path, data={"csrf_token": csrf(rev, "/review"), **draft})
    assert r.status_code == 303, r.text[:500]
    with factory() as s:
        a = s.get(ReviewAssignment, cycle.ids["assignment"])
        assert a is not None and a.status != "submitted"


def test_a_review_before_the_deadline_is_accepted(
    web: Web, cycle: Cycle, factory: sessionmaker[Session]
) -> None:
    _deadline(factory, cycle, utcnow() + dt.timedelta(hours=3))
    rev = web.login(cycle.emails["assigned"])
    path = f"/review/assignments/{cycle.ids['assignment']}"
    r = rev.post(path, data={"csrf_token": csrf(rev, "/review"), **REVIEW})
    assert r.status_code == 303, r.text[:500]


def _extend_form(chair: Any, cycle: Cycle, **fields: str) -> Any:
    return chair.post(
        f"/manage/calls/{cycle.slug}/assignment/extend",
        data={"csrf_token": csrf(chair, "/review"), **fields},
    )


def test_the_chair_extends_one_reviewers_deadline_on_the_page(
    web: Web, cycle: Cycle, factory: sessionmaker[Session]
) -> None:
    due = utcnow() - dt.timedelta(hours=3)
    _deadline(factory, cycle, due)
    chair = web.login(cycle.emails["chair"])
    until = (utcnow() + dt.timedelta(days=2)).replace(second=0, microsecond=0)
    before = _counts(factory)
    # bad input: a clear error each, nothing changed
    for fields, words in (
        ({"reviewer": cycle.emails["assigned"], "until": "next week"}, "YYYY-MM-DD HH:MM"),
        ({"reviewer": "nobody@nowhere.example", "until": f"{until:%Y-%m-%d %H:%M}"}, "nobody"),
        (
            {
                "reviewer": cycle.emails["assigned"],
                "until": f"{due - dt.timedelta(days=1):%Y-%m-%d %H:%M}",
            },
            "later than",
        ),
        # a reviewer of the call without a review to write in it
        ({"reviewer": cycle.emails["unassigned"], "until": f"{until:%Y-%m-%d %H:%M}"}, "no review"),
    ):
        r = _extend_form(chair, cycle, reason="ill", **fields)
        assert r.status_code == 400, (fields, r.text[:300])
        assert words in r.text, (fields, words)
        assert _counts(factory) == before
    r = _extend_form(
        chair,
        cycle,
        reviewer=cycle.emails["assigned"],
        until=f"{until:%Y-%m-%d %H:%M}",
        reason="ill",
    )
    assert r.status_code == 303, r.text[:500]
    with factory() as s:
        ext = s.scalars(select(ReviewDeadlineExtension)).one()
        assert ext.until == until and ext.call_id == cycle.ids["call"]
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event is not None and event.action == "review.deadline_extended"
        assert event.call_id == cycle.ids["call"] and event.reason == "ill"
    page = chair.get(f"/manage/calls/{cycle.slug}/assignment").text
    # the extension is listed, in the reader's zone and language (trialapp16)
    assert said_to(factory, cycle.emails["chair"], until) in " ".join(page.split())

    # the reviewer sees their own deadline, and may now submit
    rev = web.login(cycle.emails["assigned"])
    path = f"/review/assignments/{cycle.ids['assignment']}"
    mine = said_to(factory, cycle.emails["assigned"], until)
    assert mine in " ".join(rev.get(path).text.split())
    r = rev.post(path, data={"csrf_token": csrf(rev, "/review"), **REVIEW})
    assert r.status_code == 303, r.text[:500]


def test_the_chair_extends_a_deadline_through_the_api(
    web: Web, cycle: Cycle, factory: sessionmaker[Session]
) -> None:
    chair, url = extension_api(web, cycle, factory)
    own = _token(web, cycle.emails["assigned"])
    before = _counts(factory)
    r = web.client().put(url, headers=chair, json={"until": "2001-01-01T00:00:00Z"})
    assert r.status_code == 400 and "later than" in r.json()["detail"]
    assert _counts(factory) == before
    # the reviewer may not extend their own deadline
    until = utcnow() + dt.timedelta(days=1)
    r = web.client().put(url, headers=own, json={"until": until.isoformat()})
    assert r.status_code == 404
    assert _counts(factory) == before
    r = web.client().put(url, headers=chair, json={"until": until.isoformat(), "reason": "ill"})
    assert r.status_code == 200, r.text
    assert r.json()["until"].startswith(until.strftime("%Y-%m-%dT%H:%M"))
    r = web.client().post(
        f"/api/v1/assignments/{cycle.ids['assignment']}/review", headers=own, json=API_REVIEW
    )
    assert r.status_code == 200, r.text


def test_the_service_judges_by_the_time_given(cycle: Cycle, factory: sessionmaker[Session]) -> None:
    """``submit_review`` judges the deadline by the receipt time it is given: a review
    received a second before the deadline is in, one received at it is late."""
    from opencall.errors import DomainError
    from opencall.reviews import services as rv

    due = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)
    _deadline(factory, cycle, due)
    with factory() as s:
        a = s.get(ReviewAssignment, cycle.ids["assignment"])
        u = s.get(User, a.reviewer_id) if a else None
        assert a is not None and u is not None
        try:
            rv.submit_review(s, a, u, grade=3, comments_to_applicants="ok", now=due)
        except DomainError as exc:
            assert (exc.msg_id or "").startswith("The review deadline passed")
        else:
            raise AssertionError("a review at the deadline was accepted")
        s.rollback()
        a = s.get(ReviewAssignment, cycle.ids["assignment"])
        assert a is not None
        rv.submit_review(
            s, a, u, grade=3, comments_to_applicants="ok", now=due - dt.timedelta(seconds=1)
        )
        assert a.status == "submitted"
