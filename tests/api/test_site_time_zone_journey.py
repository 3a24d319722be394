"""A European laser facility in Europe/Berlin and a southern telescope network (sites in
Chile and Australia) on a fresh install, set up and run through the JSON API, with a
daylight saving change inside each resource's period.

What differs from the other journeys: every operator here thinks in the site's local
time. The laser bay runs 8-hour shifts 00:00-08:00, 08:00-16:00 and 16:00-24:00 Berlin
time, and the period holds 28 March 2027, when the clocks go forward (a 23-hour day: the
night shift lasts 7 hours and keeps its local bounds); its maintenance is typed in local
time. The telescopes give 12-hour nights and days from 08:00 local in America/Santiago
and Australia/Sydney, where the clocks go back on 4 April 2027 (a 25-hour day: that night
lasts 13 hours). The calls' deadlines are entered as "15 January 17:00" in the facility's
zone; an applicant in Tokyo reads them in theirs. The clock is pinned (1 December 2026).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from typing import Any

import pytest
from sqlalchemy import select

from opencall.calls.models import Call
from opencall.inputs import local_when
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.scheduling.models import ScheduleEntry
from tests.api.test_operator_journey import (
    PASSWORD,
    Client,
    account,
    calibrate_to_schedule,
    close_and_assign,
    text_of,
)
from tests.api.test_rapid_access_journey import reviews
from tests.web.conftest import Web, csrf

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
UTC = dt.UTC
H = dt.timedelta(hours=1)


def signed_in(web: Web, email: str) -> Any:
    c = web.client()
    r = c.post("/login", data={"csrf_token": csrf(c), "email": email, "password": PASSWORD})
    assert r.status_code == 303
    return c


def ask(ac: Client, pid: int, pool: int, amount: float, **details: Any) -> Any:
    version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
    body = {"version": version, "kind": "custom", "pool_id": pool,
            "details": {"amount": amount, **details}}  # fmt: skip
    return ac.post(f"/api/v1/proposals/{pid}/requests", body)


def slots_of(web: Web, slug: str) -> list[ScheduleEntry]:
    with web.factory() as s:
        call_id = s.scalar(select(Call.id).where(Call.slug == slug))
        return list(
            s.scalars(
                select(ScheduleEntry).where(
                    ScheduleEntry.call_id == call_id,
                    ScheduleEntry.kind == "slot",
                    ScheduleEntry.start.is_not(None),
                )
            )
        )


def local(at: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    return at.astimezone(tz)


def test_sites_in_their_own_time_zones_across_daylight_saving(
    web: Web, one_loop: None, pinned_clock: dt.datetime
) -> None:
    now = pinned_clock
    with web.factory() as s:
        root, _link = people_services.create_site_admin(
            s, email="root@elf.example", name="Site Admin", password=PASSWORD
        )
        _t, raw = people_services.create_api_token(s, root, "setup")
        s.commit()
    admin = Client(web, raw)
    admin.post("/api/v1/providers", {"name": "European Laser Facility", "slug": "elf",
                                     "country_iso3": "DEU"})  # fmt: skip
    admin.post("/api/v1/providers", {"name": "Southern Telescope Network", "slug": "stn",
                                     "country_iso3": "CHL"})  # fmt: skip
    elf = account(web, "office@elf.example", "ELF User Office", country_iso3="DEU")
    stn = account(web, "office@stn.example", "STN User Office", country_iso3="CHL")
    admin.post("/api/v1/providers/elf/roles",
               {"email": "office@elf.example", "role": "provider_admin"})  # fmt: skip
    admin.post("/api/v1/providers/stn/roles",
               {"email": "office@stn.example", "role": "provider_admin"})  # fmt: skip
    lasers = elf.post("/api/v1/providers/elf/facilities",
                      {"name": "Laser bays", "slug": "elf-lasers", "kind": "custom"})  # fmt: skip
    sites = stn.post("/api/v1/providers/stn/facilities",
                     {"name": "Telescope sites", "slug": "stn-sites", "kind": "custom"})  # fmt: skip

    # ---- the laser bay: shifts 00:00/08:00/16:00 Berlin time over the spring change; the
    # maintenance is typed as the site reads it (no offset): 30 March 08:00 to 31 March 08:00
    bay = {
        "name": "L1 laser bay", "unit": "shift", "slot_hours": 8, "day_start_hour": 0,
        "time_zone": "Europe/Berlin", "period_start": "2027-03-22", "period_end": "2027-04-04",
        "unavailable": [{"starts_at": "2027-03-30T08:00:00", "ends_at": "2027-03-31T08:00:00",
                         "reason": "maintenance"}],
    }  # fmt: skip
    res = f"/api/v1/facilities/{lasers['id']}/resources"
    # a misspelt zone is refused, naming it, and nothing is made
    r = elf.post(res, {**bay, "amount": 39, "time_zone": "Europe/Berln"}, status=400)
    assert "Europe/Berln" in r["detail"] and "time zone" in r["detail"], r
    # 14 local days hold 42 shifts, 3 lost to the maintenance day: 40 is refused
    r = elf.post(res, {**bay, "amount": 40}, status=400)
    assert "at most 39" in r["detail"], r
    l1 = elf.post(res, {**bay, "amount": 39})
    cal = l1["calendar"]
    assert cal["time_zone"] == "Europe/Berlin" and cal["slot_capacity"] == 39
    # the period: 22 March 00:00 CET to 5 April 00:00 CEST (a 23-hour day inside it)
    assert dt.datetime.fromisoformat(cal["starts_at"]) == dt.datetime(2027, 3, 21, 23, tzinfo=UTC)
    assert dt.datetime.fromisoformat(cal["ends_at"]) == dt.datetime(2027, 4, 4, 22, tzinfo=UTC)
    (m,) = cal["unavailable"]
    assert dt.datetime.fromisoformat(m["starts_at"]) == dt.datetime(2027, 3, 30, 6, tzinfo=UTC)
    assert m["starts_local"] == "2027-03-30T08:00:00+02:00"
    assert m["ends_local"] == "2027-03-31T08:00:00+02:00"
    # the resource page says the days begin at 00:00 Berlin time
    page = text_of(signed_in(web, "office@elf.example").get(f"/manage/resources/{l1['id']}").text)
    assert "00:00 Europe/Berlin" in page, page

    # the second bay, made on the web page, in the autumn: shifts from 06:00 Berlin time;
    # the unavailable day typed on the page is a day of the site, from 06:00 to 06:00
    web_office = signed_in(web, "office@elf.example")
    form = {"csrf_token": csrf(web_office), "name": "L2 laser bay", "unit": "shift",
            "amount": "30", "slot_hours": "8", "day_start_hour": "6",
            "period_start": "2027-10-25", "period_end": "2027-11-05"}  # fmt: skip
    r = web_office.post(f"/manage/facilities/{lasers['id']}/resources",
                        data={**form, "time_zone": "Berlin"})  # fmt: skip
    assert r.status_code == 400 and 'id="err-time_zone"' in r.text, r.text[-3000:]
    r = web_office.post(f"/manage/facilities/{lasers['id']}/resources",
                        data={**form, "time_zone": "Europe/Berlin"})  # fmt: skip
    assert r.status_code == 303, r.text[-3000:]
    l2_id = int(r.headers["location"].split("/manage/resources/")[1].split("?")[0])
    r = web_office.post(f"/manage/resources/{l2_id}/unavailable", data={
        "csrf_token": csrf(web_office), "first_day": "2027-10-31", "last_day": "2027-10-31",
        "reason": "safety inspection"})  # fmt: skip
    assert r.status_code == 303, r.text[-3000:]
    l2 = elf.get(f"/api/v1/resources/{l2_id}")["calendar"]
    assert l2["time_zone"] == "Europe/Berlin"
    # 12 site days of 3 shifts, the 25-hour one from 30 October 06:00 among them (its
    # 22:00-06:00 shift lasts 9 hours); the inspection day takes the next day's 3 shifts
    assert l2["slot_capacity"] == 33
    (m,) = l2["unavailable"]
    assert m["starts_local"] == "2027-10-31T06:00:00+01:00"
    assert m["ends_local"] == "2027-11-01T06:00:00+01:00"
    page = text_of(web_office.get(f"/manage/resources/{l2_id}").text)
    assert "06:00 Europe/Berlin" in page  # the days begin at 06:00 Berlin time
    # the inspection, on the site's clock as the reader writes dates (trialapp16)
    assert "Oct 31, 2027, 6:00 AM (Germany (Berlin) Time, UTC+01:00)" in page, page

    # ---- the telescopes: 12-hour days and nights from 08:00 local; both sites' clocks go
    # back on 4 April 2027 (southern autumn), so the night of 3 to 4 April lasts 13 hours
    scope = {"unit": "session", "slot_hours": 12, "day_start_hour": 8,
             "period_start": "2027-03-29", "period_end": "2027-04-08"}  # fmt: skip
    res = f"/api/v1/facilities/{sites['id']}/resources"
    chile = stn.post(res, {**scope, "name": "Cerro 1m", "time_zone": "America/Santiago",
                           "amount": 22})  # fmt: skip
    aus = stn.post(res, {**scope, "name": "Siding Spring 2m", "time_zone": "Australia/Sydney",
                         "amount": 21})  # fmt: skip
    assert chile["calendar"]["slot_capacity"] == aus["calendar"]["slot_capacity"] == 22
    # a Sydney outage given with its offset is that instant, shown back on the site's clock
    out = stn.post(f"/api/v1/resources/{aus['id']}/unavailable", {
        "starts_at": "2027-04-06T20:00:00+10:00", "ends_at": "2027-04-07T08:00:00+10:00",
        "reason": "dome repair"})  # fmt: skip
    assert out["slot_capacity"] == 21
    assert out["unavailable"][0]["starts_local"] == "2027-04-06T20:00:00+10:00"

    # ---- the calls: the deadline typed as the facility states it, "15 January 17:00"
    common = {"cycle": "2027A", "anonymity": "single",
              "opens_at": (now - dt.timedelta(days=1)).isoformat(),
              "closes_at": "2027-01-15T17:00:00",
              "review_settings": {"reviewers_per_proposal": 2, "max_load": 40},
              "allocation_policy": {"award_mode": "whole"}}  # fmt: skip
    # a date without an offset and without a zone is refused, nothing made
    r = elf.post("/api/v1/calls", {**common, "provider": "elf", "facility": "elf-lasers",
                                   "slug": "elf-27a", "code": "ELF", "title": "Laser shifts"},
                 status=400)  # fmt: skip
    assert "time zone" in r["detail"], r
    r = elf.post("/api/v1/calls", {**common, "provider": "elf", "facility": "elf-lasers",
                                   "slug": "elf-27a", "code": "ELF", "title": "Laser shifts",
                                   "time_zone": "CET+1"}, status=400)  # fmt: skip
    assert "CET+1" in r["detail"], r
    got = elf.post("/api/v1/calls", {**common, "provider": "elf", "facility": "elf-lasers",
                                     "slug": "elf-27a", "code": "ELF", "title": "Laser shifts",
                                     "time_zone": "Europe/Berlin"})  # fmt: skip
    assert dt.datetime.fromisoformat(got["closes_at"]) == dt.datetime(2027, 1, 15, 16, tzinfo=UTC)
    assert got["time_zone"] == "Europe/Berlin"
    assert got["closes_local"] == "2027-01-15T17:00:00+01:00"
    got = stn.post("/api/v1/calls", {**common, "provider": "stn", "facility": "stn-sites",
                                     "slug": "stn-27a", "code": "STN",
                                     "title": "Southern nights", "time_zone": "America/Santiago"})  # fmt: skip
    # Santiago is on summer time (UTC-3) in January
    assert dt.datetime.fromisoformat(got["closes_at"]) == dt.datetime(2027, 1, 15, 20, tzinfo=UTC)
    elf.post("/api/v1/calls/elf-27a/pools",
             {"pool_id": l1["id"], "amount": 39, "max_per_request": 12})  # fmt: skip
    stn.post("/api/v1/calls/stn-27a/pools",
             {"pool_id": chile["id"], "amount": 22, "max_per_request": 6})  # fmt: skip
    stn.post("/api/v1/calls/stn-27a/pools",
             {"pool_id": aus["id"], "amount": 21, "max_per_request": 6})  # fmt: skip
    for office, slug in ((elf, "elf-27a"), (stn, "stn-27a")):
        office.post(f"/api/v1/calls/{slug}/transition", {"target": "open"})
    # open, the deadline moved by an hour and back, typed in the call's zone
    got = elf.send("PATCH", "/api/v1/calls/elf-27a", {"closes_at": "2027-01-15T18:00:00"})
    assert got["closes_local"] == "2027-01-15T18:00:00+01:00", got
    got = elf.send("PATCH", "/api/v1/calls/elf-27a", {"closes_at": "2027-01-15T17:00:00"})
    assert dt.datetime.fromisoformat(got["closes_at"]) == dt.datetime(2027, 1, 15, 16, tzinfo=UTC)

    # ---- an applicant in Tokyo reads the deadline in UTC, in Tokyo and as the facility
    # states it
    tokyo = account(web, "pi0@applicants.example", "Applicant 0", country_iso3="JPN",
                    institution="University of Tokyo")  # fmt: skip
    with web.factory() as s:
        u = s.scalar(select(User).where(User.email == "pi0@applicants.example"))
        assert u is not None
        u.time_zone = "Asia/Tokyo"
        s.commit()
    page = text_of(signed_in(web, "pi0@applicants.example").get("/calls/elf-27a").text)
    assert "Jan 16, 2027, 1:00 AM (Japan Time, UTC+09:00)" in page, page  # trialapp16
    assert "Jan 15, 2027, 5:00 PM (Germany (Berlin) Time, UTC+01:00)" in page, page
    page = text_of(web.client().get("/calls/stn-27a").text)
    assert "Jan 15, 2027, 5:00 PM (Chile (Santiago) Time, UTC-03:00)" in page, page

    reviewers = []
    for i, iso3 in enumerate(["FRA", "ITA", "ARG", "NZL"]):
        address = f"rev{i}@panel.example"
        reviewers.append(account(web, address, f"Reviewer {i}", country_iso3=iso3,
                                 institution=f"Panel Institute {i}"))  # fmt: skip
        for slug, office in (("elf", elf), ("stn", stn)):
            office.post(f"/api/v1/providers/{slug}/roles",
                        {"email": address, "role": "reviewer"})  # fmt: skip

    # ---- applicants: 36 of the 39 shifts asked, so every award is placed; one cannot
    # come on Sunday 28 March (a day of the site: Berlin's, not UTC's)
    laser_pis: dict[str, int] = {}
    for i, n in enumerate([4, 5, 6, 6, 7, 8]):
        ac = tokyo if i == 0 else account(
            web, f"pi{i}@applicants.example", f"Applicant {i}",
            country_iso3=["JPN", "KEN", "IND", "BRA", "POL", "VNM"][i],
            institution=f"University {i}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": "elf-27a", "title": f"Warm dense matter {i}",
            "abstract": "Shots.", "science_case": "Fusion."})  # fmt: skip
        extra = {"impossible_dates": [["2027-03-28", "2027-03-28"]]} if i == 1 else {}
        ask(ac, p["id"], l1["id"], n, **extra)
        p = ac.post(f"/api/v1/proposals/{p['id']}/submit")
        assert p["status"] == "submitted", p
        laser_pis[p["code"]] = p["id"]
    for i, (pool, n) in enumerate([(chile, 5), (chile, 6), (aus, 4), (aus, 6), (chile, 4)]):
        ac = account(web, f"astro{i}@applicants.example", f"Astronomer {i}",
                     country_iso3=["CHL", "ZAF", "AUS", "IDN", "PER"][i],
                     institution=f"Observatory {i}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": "stn-27a", "title": f"Transients {i}",
            "abstract": "Nights.", "science_case": "Kilonovae."})  # fmt: skip
        ask(ac, p["id"], pool["id"], n)
        assert ac.post(f"/api/v1/proposals/{p['id']}/submit")["status"] == "submitted"

    # ---- review, award and schedule both calls
    for office, slug in ((elf, "elf-27a"), (stn, "stn-27a")):
        close_and_assign(web, office, slug)
        reviews(reviewers, slug)
        calibrate_to_schedule(web, office, slug)
        office.post(f"/api/v1/calls/{slug}/release")
        assert office.post(f"/api/v1/calls/{slug}/publish")["status"] == "published"

    # ---- the laser shifts keep Berlin's wall clock: every one starts and ends at 00:00,
    # 08:00 or 16:00 local; 8 hours long, but the night of 28 March: 7 hours
    awards = web.client().get("/api/v1/calls/elf-27a/awards?limit=200").json()["items"]
    awarded = sum(a["amount"] for a in awards)
    assert awarded == 36, awards
    shifts = slots_of(web, "elf-27a")
    assert len(shifts) == awarded
    dst_night = dt.datetime(2027, 3, 27, 23, tzinfo=UTC)  # 28 March 00:00 CET
    for e in shifts:
        assert e.start is not None and e.end is not None
        s0, s1 = local(e.start, BERLIN), local(e.end, BERLIN)
        assert (s0.hour, s0.minute) in ((0, 0), (8, 0), (16, 0)), s0
        assert (s1.hour, s1.minute) in ((0, 0), (8, 0), (16, 0)), s1
        assert e.end - e.start == (7 * H if e.start == dst_night else 8 * H), (s0, s1)
        # never in the maintenance day, typed in local time
        assert e.end <= dt.datetime(2027, 3, 30, 6, tzinfo=UTC) or e.start >= dt.datetime(
            2027, 3, 31, 6, tzinfo=UTC
        )
    assert len({e.start for e in shifts}) == len(shifts)
    # the applicant who cannot come on 28 March (Berlin) has no shift that local day
    pid_1 = sorted(laser_pis.values())[1]
    for e in shifts:
        if e.proposal_id == pid_1 and e.start is not None and e.end is not None:
            assert local(e.start, BERLIN).date() != dt.date(2027, 3, 28), e.start
            assert local(e.end - dt.timedelta(seconds=1), BERLIN).date() != dt.date(2027, 3, 28)

    # the staff calendar lists the 7-hour night in the site's time, with its two offsets
    office_web = signed_in(web, "office@elf.example")
    page = text_of(office_web.get(f"/manage/calls/elf-27a/resources/{l1['id']}/calendar").text)
    assert (
        "Mar 28, 2027, 12:00 AM (Germany (Berlin) Time, UTC+01:00) – "
        "Mar 28, 2027, 8:00 AM (Germany (Berlin) Time, UTC+02:00)" in page
    ), page
    # the CSV of the schedule carries the site's zone and local times with their offsets
    r = office_web.get("/manage/calls/elf-27a/schedule?format=csv")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    slot_rows = [x for x in rows if x["kind"] == "slot"]
    assert len(slot_rows) == awarded
    for x in slot_rows:
        assert x["time_zone"] == "Europe/Berlin"
        assert x["local_start"][11:16] in ("00:00", "08:00", "16:00"), x
        assert x["local_start"].endswith(("+01:00", "+02:00")), x
    # iCalendar: local times with the zone's VTIMEZONE; the UIDs stay those of UTC
    ics = office_web.get(f"/manage/calls/elf-27a/resources/{l1['id']}/calendar.ics").text
    assert "BEGIN:VTIMEZONE" in ics and "TZID:Europe/Berlin" in ics
    assert "DTSTART;TZID=Europe/Berlin:20270328T000000" in ics
    assert "DTEND;TZID=Europe/Berlin:20270328T080000" in ics
    assert f"elf-27a-{l1['id']}-20270327T230000Z@opencall" in ics
    public = web.client().get(f"/calls/elf-27a/resources/{l1['id']}/calendar.ics").text
    assert "TZID:Europe/Berlin" in public
    for code in laser_pis:
        assert code not in public
    # the team's own pages and file: the site's local time beside UTC (and beside the
    # reader's own zone, Tokyo)
    pi0 = signed_in(web, "pi0@applicants.example")
    pid_0 = sorted(laser_pis.values())[0]
    first = min((e for e in shifts if e.proposal_id == pid_0), key=lambda e: e.start or now)
    assert first.start is not None
    site = " ".join(local_when(first.start, BERLIN).split())  # as text_of reads it
    mine = text_of(pi0.get(f"/proposals/{pid_0}/slots").text)
    assert site in mine and "Japan Time" in mine, mine  # the reader's zone, named (trialapp16)
    outcome = text_of(pi0.get(f"/proposals/{pid_0}/outcome").text)
    assert site in outcome, outcome
    page = text_of(office_web.get("/manage/calls/elf-27a/schedule").text)
    assert "(Germany (Berlin) Time, UTC+0" in page
    ics = pi0.get(f"/proposals/{pid_0}/slots.ics").text
    assert (
        "DTSTART;TZID=Europe/Berlin:" + local(first.start, BERLIN).strftime("%Y%m%dT%H%M%S") in ics
    )

    # ---- the telescope nights keep 08:00/20:00 local at each site; the night of 3 to
    # 4 April lasts 13 hours at both (their clocks go back), every other slot 12
    nights = slots_of(web, "stn-27a")
    awards = web.client().get("/api/v1/calls/stn-27a/awards?limit=200").json()["items"]
    assert len(nights) == sum(a["amount"] for a in awards) > 0
    zones = {chile["id"]: "America/Santiago", aus["id"]: "Australia/Sydney"}
    for e in nights:
        assert e.start is not None and e.end is not None and e.pool_id in zones
        tz = zoneinfo.ZoneInfo(zones[e.pool_id])
        s0, s1 = local(e.start, tz), local(e.end, tz)
        assert (s0.hour, s1.hour) in ((8, 20), (20, 8)) and s0.minute == s1.minute == 0, (s0, s1)
        long_night = s0.date() == dt.date(2027, 4, 3) and s0.hour == 20
        assert e.end - e.start == (13 * H if long_night else 12 * H), (zones[e.pool_id], s0, s1)
        if e.pool_id == aus["id"]:  # the dome repair night is never booked
            assert not (s0.date() == dt.date(2027, 4, 6) and s0.hour == 20)
    # each site's calendar shows that 13-hour night on its own clock
    stn_web = signed_in(web, "office@stn.example")
    page = text_of(stn_web.get(f"/manage/calls/stn-27a/resources/{chile['id']}/calendar").text)
    assert (
        "Apr 3, 2027, 8:00 PM (Chile (Santiago) Time, UTC-03:00) – "
        "Apr 4, 2027, 8:00 AM (Chile (Santiago) Time, UTC-04:00)" in page
    ), page
    page = text_of(stn_web.get(f"/manage/calls/stn-27a/resources/{aus['id']}/calendar").text)
    assert (
        "Apr 3, 2027, 8:00 PM (Australia (Sydney) Time, UTC+11:00) – "
        "Apr 4, 2027, 8:00 AM (Australia (Sydney) Time, UTC+10:00)" in page
    ), page

    # ---- the next call, made on the web form: its dates typed in the facility's zone
    # (summer time by then); a misspelt zone is refused beside the field, nothing made
    form = {"csrf_token": csrf(office_web), "facility_id": str(lasers["id"]),
            "slug": "elf-27b", "code": "ELFB", "title": "Laser shifts, autumn",
            "cycle": "2027B", "opens_at": "2027-05-01 09:00", "closes_at": "2027-06-01 17:00",
            "anonymity": "single"}  # fmt: skip
    r = office_web.post("/manage/calls/new", data={**form, "time_zone": "Europe/Berln"})
    assert r.status_code == 400 and 'id="err-time_zone"' in r.text, r.text[-3000:]
    assert "Europe/Berln" in text_of(r.text)
    r = office_web.post("/manage/calls/new", data={**form, "time_zone": "Europe/Berlin"})
    assert r.status_code == 303, r.text[-3000:]
    got = elf.get("/api/v1/calls/elf-27b")
    assert dt.datetime.fromisoformat(got["closes_at"]) == dt.datetime(2027, 6, 1, 15, tzinfo=UTC)
    assert dt.datetime.fromisoformat(got["opens_at"]) == dt.datetime(2027, 5, 1, 7, tzinfo=UTC)
    # the edit form gives them back as typed, in the call's zone
    page = office_web.get("/manage/calls/elf-27b/edit").text
    assert 'value="2027-06-01 17:00"' in page and 'value="Europe/Berlin"' in page
