"""The slot calendars on the web: every route x persona, no identity where it may not be
seen, and the iCalendar exports parse back (icalendar) to the stored slots with UTC times
and UIDs that are stable across exports and variants."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import select

from opencall.allocation.models import Award
from opencall.proposals.models import Request
from opencall.scheduling import services
from opencall.scheduling.models import ScheduleEntry
from opencall.web.security import LANG_COOKIE
from tests.authz.test_workspace_matrix import session_client
from tests.scheduling.authz_cases import CASES, PERSONAS, SEES_PI
from tests.scheduling.conftest import SlotWorld, get_call
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")
PI_NAME = "Amina Otieno"


def schedule(web: Web, w: SlotWorld) -> None:
    with web.factory() as s:
        services.run_schedule(s, get_call(s, w))
        s.commit()


def outcome(r: Any) -> str:
    if r.status_code == 404:
        return "404"
    if r.status_code == 401 or (
        r.status_code == 303 and r.headers.get("location", "").startswith("/login")
    ):
        return "login"
    assert r.status_code < 500, r.text[:2000]
    return "ok"


def test_every_route_by_persona_and_no_identity_leak(web: Web, stored: SlotWorld) -> None:
    sw = stored  # the slot world with its schedule stored
    failures = []
    for case in CASES:
        path = case.path.format(**case.params(sw))
        for persona in PERSONAS:
            client, _tok = session_client(web, sw.emails.get(persona))
            r = client.get(path)
            got = outcome(r)
            want = (
                "ok"
                if persona in case.allowed
                else (case.anonymous if persona == "anonymous" else "404")
            )
            if got != want:
                failures.append(f"{case.method} {case.path} as {persona}: {got} (want {want})")
            if persona not in SEES_PI and PI_NAME in r.text:
                failures.append(f"{case.method} {case.path} as {persona} shows the PI's name")
    assert not failures, "\n".join(failures)


def events(body: bytes) -> dict[str, tuple[dt.datetime, dt.datetime, str]]:
    cal = Calendar.from_ical(body)
    out = {}
    for ev in cal.walk("VEVENT"):
        out[str(ev["UID"])] = (ev.decoded("DTSTART"), ev.decoded("DTEND"), str(ev["SUMMARY"]))
    return out


def test_staff_calendar_page_and_ics(web: Web, stored: SlotWorld) -> None:
    sw = stored  # the slot world with its schedule stored
    office, _ = session_client(web, sw.emails["manager"])
    chair, _ = session_client(web, sw.emails["chair"])
    base = f"/manage/calls/{sw.slug}/resources/{sw.pools['b']}"
    sched = office.get(f"/manage/calls/{sw.slug}/schedule").text
    assert f"{base}/calendar" in sched and f"/resources/{sw.pools['samples']}/" not in sched
    page = office.get(f"{base}/calendar").text
    assert "maintenance" in page and PI_NAME in page and "Krios B" in page
    assert page.count('class="booked"') == 7 and page.count('class="unavailable"') == 7
    chair_page = chair.get(f"{base}/calendar").text
    assert PI_NAME not in chair_page and page.count('class="booked"') == 7
    r = office.get(f"{base}/calendar.ics")
    assert r.headers["content-type"].startswith("text/calendar")
    assert b"DTSTART:20270" in r.content  # UTC form ...Z, no floating or TZID times
    got = events(r.content)
    with web.factory() as s:
        slots = list(
            s.scalars(
                select(ScheduleEntry).where(
                    ScheduleEntry.pool_id == sw.pools["b"], ScheduleEntry.start.is_not(None)
                )
            )
        )
    booked = {(e.start, e.end) for e in slots}
    exported = {(a, b) for a, b, summary in got.values() if not summary.startswith("Unavailable")}
    assert exported == booked and len(booked) == 7
    assert all(
        a.tzinfo is not None and a.utcoffset() == dt.timedelta(0) for a, _, _ in got.values()
    )
    maint = [v for v in got.values() if v[2].startswith("Unavailable")]
    assert maint == [
        (
            dt.datetime(2027, 9, 1, tzinfo=dt.UTC),
            dt.datetime(2027, 9, 8, tzinfo=dt.UTC),
            "Unavailable: maintenance",
        )
    ]
    # UIDs are stable across exports, and the chair's export names nobody
    assert events(office.get(f"{base}/calendar.ics").content).keys() == got.keys()
    chair_ics = chair.get(f"{base}/calendar.ics")
    assert events(chair_ics.content).keys() == got.keys()
    assert PI_NAME.encode() not in chair_ics.content
    assert PI_NAME.encode() in r.content  # the office may see who


def test_applicant_schedule_and_ics(web: Web, stored: SlotWorld) -> None:
    sw = stored  # the slot world with its schedule stored
    pi, _ = session_client(web, sw.emails["pi"])
    page = pi.get(f"/proposals/{sw.bundle}/slots").text
    assert "Krios A" in page and "Krios B" in page
    r = pi.get(f"/proposals/{sw.bundle}/slots.ics")
    got = events(r.content)
    with web.factory() as s:
        mine = sorted(
            (e.start, e.end)
            for e in s.scalars(
                select(ScheduleEntry).where(
                    ScheduleEntry.proposal_id == sw.bundle, ScheduleEntry.start.is_not(None)
                )
            )
        )
    assert sorted((a, b) for a, b, _ in got.values()) == mine and len(mine) == 3
    # only their own: nothing of the other proposal's five sessions
    assert len(got) == 3 and b"Other Applicant" not in r.content
    # each event links back to the team's schedule, absolute (read outside the site)
    urls = {str(ev["URL"]) for ev in Calendar.from_ical(r.content).walk("VEVENT")}
    assert urls == {f"{web.settings.base_url}/proposals/{sw.bundle}/slots"}
    assert pi.get(f"/proposals/{sw.bundle}/slots").status_code == 200
    # the same slot has the same UID in the staff export
    office, _ = session_client(web, sw.emails["manager"])
    staff = events(
        office.get(f"/manage/calls/{sw.slug}/resources/{sw.pools['b']}/calendar.ics").content
    )
    assert {u for u, v in got.items() if v[2].endswith("Krios B")} <= staff.keys()
    # the outcome page links to it
    assert f"/proposals/{sw.bundle}/slots.ics" in pi.get(f"/proposals/{sw.bundle}/outcome").text


def test_public_calendar_once_published_names_nobody(web: Web, stored: SlotWorld) -> None:
    sw = stored  # the slot world with its schedule stored
    path = f"/calls/{sw.slug}/resources/{sw.pools['b']}/calendar.ics"
    assert web.client().get(path).status_code == 404
    with web.factory() as s:
        get_call(s, sw).status = "published"
        s.commit()
        codes = [e.label.split(" ")[0] for e in s.scalars(select(ScheduleEntry))]
    r = web.client().get(path)
    assert r.status_code == 200
    got = events(r.content)
    assert sum(1 for v in got.values() if v[2] == "Booked") == 7
    for leak in [PI_NAME, "Other Applicant", "Cryo-EM", *codes]:
        assert leak.encode() not in r.content, leak
    office, _ = session_client(web, sw.emails["manager"])
    staff = events(
        office.get(f"/manage/calls/{sw.slug}/resources/{sw.pools['b']}/calendar.ics").content
    )
    assert staff.keys() == got.keys()


def test_staff_calendar_shows_slots_another_call_booked(web: Web, sw: SlotWorld) -> None:
    """Two calls share Krios B: the sessions the other call booked are taken on this call's
    calendar ("booked by another call"), never free, and nothing of that call is shown."""
    from opencall.facilities.models import CapacityPool
    from opencall.runs import Solve
    from opencall.scheduling import slot_services
    from tests.scheduling.test_shared_pool import _call_with_award

    schedule(web, sw)
    office, _ = session_client(web, sw.emails["manager"])
    path = f"/manage/calls/{sw.slug}/resources/{sw.pools['b']}/calendar"
    before = office.get(path).text
    with web.factory() as s:
        pool = s.get(CapacityPool, sw.pools["b"])
        assert pool is not None
        theirs = _call_with_award(s, pool, 2.0, 2.0)
        slot_services.schedule_slots(s, theirs, Solve(0, None))
        their_code = s.scalars(
            select(ScheduleEntry.label).where(ScheduleEntry.call_id == theirs.id)
        ).first()
        taken = sorted(
            e.start
            for e in s.scalars(
                select(ScheduleEntry).where(
                    ScheduleEntry.call_id == theirs.id, ScheduleEntry.start.is_not(None)
                )
            )
        )
        s.commit()
    assert len(taken) == 2 and their_code
    page = office.get(path).text
    assert page.count('class="booked other-call"') == 2, "another call's sessions shown free"
    assert page.count('class="booked"') == 7  # this call's own, unchanged
    assert page.count(">free<") == before.count(">free<") - 2
    assert "Booked by another call" in page and "Shared" not in page
    assert their_code.split(" ")[0] not in page
    # the staff's iCalendar has them too, as busy time that names nobody
    ics = office.get(f"{path}.ics").content
    theirs_there = {a: t for a, _b, t in events(ics).values() if t == "Booked by another call"}
    assert sorted(theirs_there) == taken
    assert b"Shared" not in ics and their_code.split(" ")[0].encode() not in ics


def test_the_outcome_page_says_what_an_entry_without_dates_is(web: Web, sw: SlotWorld) -> None:
    # the PI's sample loan is awarded too: the samples have no calendar, so its schedule
    # entry has no dates; the outcome page says why, in the reader's language, instead
    # of a row with an empty start and end
    with web.factory() as s:
        req = s.scalars(
            select(Request).where(
                Request.proposal_id == sw.bundle, Request.pool_id == sw.pools["samples"]
            )
        ).one()
        s.add(
            Award(
                call_id=sw.call_id,
                proposal_id=sw.bundle,
                request_id=req.id,
                pool_id=req.pool_id,
                amount=10.0,
            )  # fmt: skip
        )
        s.commit()
    schedule(web, sw)
    pi, _ = session_client(web, sw.emails["pi"])
    said = {
        "en": "no dates: the resource has no calendar",
        "fr": "aucune date : la ressource n’a pas de calendrier",
        "zh": "无日期：该资源没有日历",
    }
    for lang, text in said.items():
        pi.cookies.set(LANG_COOKIE, lang)
        page = pi.get(f"/proposals/{sw.bundle}/outcome")
        assert page.status_code == 200
        table = page.text.split("<table>")[-1]  # the schedule, after the award
        rows = [r for r in table.split("<tr>") if "CE-5 regolith" in r]
        assert len(rows) == 1 and text in rows[0], (lang, rows)
    # a placed session's row keeps its dates
    pi.cookies.set(LANG_COOKIE, "en")
    table = pi.get(f"/proposals/{sw.bundle}/outcome").text.split("<table>")[-1]
    assert "2027-" in next(r for r in table.split("<tr>") if "Krios A" in r)
