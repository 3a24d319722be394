"""A reader's own time zone (issue: an applicant abroad): a profile setting validated
against the IANA database, shown beside UTC on every deadline of the pages and in the
deadline mails; without it the times stay in UTC, stated as such."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import select

from opencall.calls.queries import call_by_slug
from opencall.errors import DomainError
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.web.pages import fmt_when
from tests.web.conftest import Web, World, csrf
from tests.web.test_forms import refused

WHEN = dt.datetime(2026, 12, 20, 23, 30, tzinfo=dt.UTC)


def test_fmt_when_states_utc_and_the_readers_zone() -> None:
    assert fmt_when(WHEN, None) == "2026-12-20 23:30 UTC"
    assert fmt_when(WHEN, "UTC") == "2026-12-20 23:30 UTC"
    # Dhaka is UTC+6: the next day there
    assert (
        fmt_when(WHEN, "Asia/Dhaka")
        == "2026-12-20 23:30 UTC (2026-12-21 05:30 Asia/Dhaka, UTC+06:00)"
    )
    # La Paz, UTC-4; Apia, UTC+13 (no daylight saving since 2021)
    assert fmt_when(WHEN, "America/La_Paz").endswith("(2026-12-20 19:30 America/La_Paz, UTC-04:00)")
    assert "2026-12-21 12:30 Pacific/Apia, UTC+13:00" in fmt_when(WHEN, "Pacific/Apia")
    # a zone no longer known (a tzdata update) falls back to UTC alone, never an error
    assert fmt_when(WHEN, "Mars/Olympus_Mons") == "2026-12-20 23:30 UTC"


def _user(factory, email: str) -> User:  # type: ignore[no-untyped-def]
    with factory() as s:
        return s.scalars(select(User).where(User.email == email)).one()


def test_account_time_zone_is_validated_and_saved(web: Web, world: World) -> None:
    c = web.login(world.emails["pi"], "fr")
    page = c.get("/account").text
    assert 'name="time_zone"' in page
    tok = csrf(c, "/account")

    def post(zone: str):  # type: ignore[no-untyped-def]
        return lambda: c.post(
            "/account", data={"csrf_token": tok, "name": "Ximena", "time_zone": zone}
        )

    for bad in ("Mars/Olympus_Mons", "../../etc/passwd", "Asia/Dhaka\u200b", "x" * 100):
        refused(web, None, post(bad), 400, "Fuseau horaire inconnu")
    assert _user(web.factory, world.emails["pi"]).time_zone is None
    r = post(" Africa/Kinshasa ")()
    assert r.status_code == 303, html.unescape(r.text)[:2000]
    assert _user(web.factory, world.emails["pi"]).time_zone == "Africa/Kinshasa"
    assert 'value="Africa/Kinshasa"' in c.get("/account").text
    # empty: back to UTC
    assert post("")().status_code == 303
    assert _user(web.factory, world.emails["pi"]).time_zone is None


def test_update_account_refuses_an_unknown_zone_and_changes_nothing(factory, world: World) -> None:  # type: ignore[no-untyped-def]
    with factory() as s:
        u = s.scalars(select(User).where(User.email == world.emails["other"])).one()
        with pytest.raises(DomainError) as e:
            people_services.update_account(s, u, {"time_zone": "Europe/Atlantis"})
        assert e.value.field == "time_zone"
        assert u.time_zone is None
        people_services.update_account(s, u, {"time_zone": "Asia/Dhaka"})
        assert u.time_zone == "Asia/Dhaka"
        s.rollback()


def test_deadline_shown_in_utc_and_the_readers_zone(web: Web, world: World) -> None:
    slug = world.slugs["call"]
    with web.factory() as s:
        call = call_by_slug(s, slug)
        assert call is not None
        closes = call.closes_at
    # without an account: UTC, named (trialapp16: in the page's language)
    anonymous = html.unescape(web.client().get(f"/calls/{slug}").text)
    assert fmt_when(closes, None, "en") in anonymous and "Bangladesh" not in anonymous
    c = web.login(world.emails["other"])
    tok = csrf(c, "/account")
    r = c.post(
        "/account", data={"csrf_token": tok, "name": "Other Applicant", "time_zone": "Asia/Dhaka"}
    )
    assert r.status_code == 303
    text = html.unescape(c.get(f"/calls/{slug}").text)
    assert fmt_when(closes, "Asia/Dhaka", "en").endswith("(Bangladesh Time, UTC+06:00)")
    assert fmt_when(closes, "Asia/Dhaka", "en") in text
    # the browser's local-time script does not add a third time beside the reader's zone
    assert re.search(r"<time [^>]*data-zone=\"Asia/Dhaka\"", text)


def test_review_reminder_states_utc_and_the_reviewers_zone(factory, world: World) -> None:  # type: ignore[no-untyped-def]
    from opencall.calls.models import Call
    from opencall.jobs import Job
    from opencall.reviews import notify
    from opencall.reviews.models import ReviewAssignment

    with factory() as s:
        u = s.scalars(select(User).where(User.email == world.emails["other"])).one()
        u.time_zone = "America/La_Paz"
        call = s.scalars(select(Call).where(Call.slug == world.slugs["call"])).one()
        deadline = dt.datetime(2027, 3, 1, 2, 0, tzinfo=dt.UTC)
        call.review_settings = {**call.review_settings, "review_deadline": deadline.isoformat()}
        s.add(
            ReviewAssignment(call_id=call.id, proposal_id=world.ids["proposal"], reviewer_id=u.id)
        )
        s.flush()
        assert notify.queue_reminders(s, call, "http://x", now=deadline - dt.timedelta(days=1)) == 1
        job = s.scalars(select(Job).where(Job.kind == "mail").order_by(Job.id.desc())).first()
        assert job is not None and job.payload["to"] == u.email
        # trialapp16: in the reviewer's language and zone, named
        assert "Feb 28, 2027, 10:00\u202fPM (Bolivia Time, UTC-04:00)" in job.payload["body"]
        s.rollback()


# the receipt's time: tests/web/test_local_times.py (in the reader's language and zone)


def test_the_api_says_the_accounts_zone(web: Web, world: World) -> None:
    from tests.web.conftest import api_bearer

    with web.factory() as s:
        u = s.scalars(select(User).where(User.email == world.emails["coi"])).one()
        u.time_zone = "Africa/Kinshasa"
        s.commit()
    r = web.client().get("/api/v1/me", headers=api_bearer(web, world.emails["coi"], ("read",)))
    assert r.status_code == 200 and r.json()["time_zone"] == "Africa/Kinshasa"
