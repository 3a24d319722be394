"""An Antarctic deep-field programme lending ski-equipped aircraft days over one austral
summer, set up by its operator through the JSON API and the pages on a fresh install
(branch trialfac19).

The season crosses New Year: the aircraft flies from 1 November 2027 to 29 February 2028
(a leap day at its end), one party a day, days from 06:00 on the station's clock
(``Antarctica/McMurdo``, New Zealand daylight time, UTC+13, all season long), so the
season's first instant is 31 October at 17:00 UTC. The station stands down over Christmas
and over New Year (two closures typed in local time, the second one across the change of
year). Each field party flies only inside its weather window (a ``date_range`` field on the
request form), and lists the days outside it as impossible (``impossible_dates``, ranges
that cross New Year too). A party whose window holds fewer flying days than it asks is not
awarded, and told why. Applicants from Chile, South Africa, India, Malaysia, Bangladesh
and Ecuador; review, allocation, schedule, release, publication; then the schedule read as
the station reads it (the CSV, the staff calendar month by month, the team's calendar file)
on the station's clock, across the change of year.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from tests.api.test_coral_mesocosm_journey import favourite_left_out, outside
from tests.api.test_operator_journey import account, open_call, open_facility, signed_in, text_of
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

ZONE = "Antarctica/McMurdo"
MCMURDO = ZoneInfo(ZONE)
FIRST, LAST = dt.date(2027, 11, 1), dt.date(2028, 2, 29)
SEASON_DAYS = (LAST - FIRST).days + 1  # 121
STAND_DOWN = [("2027-12-24T06:00:00", "2027-12-26T06:00:00", "Christmas stand-down"),
              ("2027-12-31T06:00:00", "2028-01-02T06:00:00", "New Year stand-down")]  # fmt: skip
FIELDS = [
    {"key": "window", "type": "date_range", "required": True,
     "labels": {"en": "Weather window", "fr": "Fenêtre météo", "es": "Ventana meteorológica",
                "zh": "天气窗口"}},
    {"key": "camp", "type": "coordinates", "required": True, "labels": {"en": "Field camp"}},
]  # fmt: skip
# (country, days, window first, window last); BGD is least developed
TEAMS = [
    ("ZAF", 30, "2027-11-01", "2027-12-10"),
    ("MYS", 15, "2027-11-20", "2027-12-23"),
    ("CHL", 18, "2027-12-15", "2028-01-15"),  # across New Year
    ("IND", 25, "2028-01-05", "2028-02-29"),  # to the leap day
    ("BGD", 12, "2028-02-01", "2028-02-29"),
    ("ECU", 40, "2027-12-28", "2028-01-20"),  # 21 flying days in its window
]  # fmt: skip


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=MCMURDO)


def test_a_polar_field_season_across_new_year_books_each_party_in_its_window(
    web: Web, one_loop: None
) -> None:
    _admin, office, fac = open_facility(
        web, "polar", "Antarctic Field Programme", "NZL",
        {"name": "Deep-field aircraft", "slug": "aircraft", "kind": "custom"},
    )  # fmt: skip
    plane = office.post(f"/api/v1/facilities/{fac['id']}/resources", {
        "name": "Twin Otter ZK-FLD", "unit": "day", "amount": SEASON_DAYS - 4,
        "period_start": FIRST.isoformat(), "period_end": LAST.isoformat(),
        "day_start_hour": 6, "time_zone": ZONE, "request_fields": FIELDS,
        "unavailable": [{"starts_at": a, "ends_at": b, "reason": why}
                        for a, b, why in STAND_DOWN]})  # fmt: skip
    cal = plane["calendar"]
    # 121 days less the four of the two stand-downs; the first day begins at 06:00 NZDT
    assert cal["slot_capacity"] == SEASON_DAYS - 4, cal
    assert cal["starts_at"].startswith("2027-10-31T17:00:00"), cal
    assert cal["ends_at"].startswith("2028-02-29T17:00:00"), cal
    stand = [
        (dt.datetime.fromisoformat(u["starts_at"].replace("Z", "+00:00")),
         dt.datetime.fromisoformat(u["ends_at"].replace("Z", "+00:00")))
        for u in office.get(f"/api/v1/resources/{plane['id']}")["calendar"]["unavailable"]
    ]  # fmt: skip
    # the closures typed in local time are the station's instants, across the change of year
    assert sorted(stand) == [(local(a), local(b)) for a, b, _w in STAND_DOWN], stand

    slug = "deepfield-2027-28"
    reviewers = open_call(web, office, {
        "provider": "polar", "facility": "aircraft", "slug": slug, "code": "DF2728",
        "cycle": "2027-28", "title": "Deep-field support, austral summer 2027-28"},
        {"award_mode": "whole"},
        [("ice1@panel.example", "Glaciologist", "NOR"),
         ("ice2@panel.example", "Polar geologist", "AUS")])  # fmt: skip
    code_of: dict[str, str] = {}
    window_of: dict[str, tuple[dt.date, dt.date]] = {}
    team_of: dict[str, tuple[int, str]] = {}
    for i, (iso3, days, first, last) in enumerate(TEAMS):
        address = f"field-party{i}@uni.example"
        ac = account(web, address, f"Field party {iso3}", country_iso3=iso3,
                     institution=f"Polar institute of {iso3}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Subglacial hydrology traverse ({iso3})",
            "abstract": "Radar and seismic survey.", "science_case": "Ice-sheet stability."})  # fmt: skip
        version = ac.get(f"/api/v1/proposals/{p['id']}/full")["version"]
        ac.post(f"/api/v1/proposals/{p['id']}/requests", {
            "version": version, "kind": "custom", "pool_id": plane["id"],
            "details": {"amount": days, "window": [first, last],
                        "camp": {"lat": -79.5 - i * 0.3, "lon": 155.0 + i},
                        "impossible_dates": outside(first, last, (FIRST, LAST))}})  # fmt: skip
        code = ac.post(f"/api/v1/proposals/{p['id']}/submit")["code"]
        code_of[iso3] = code
        window_of[code] = (dt.date.fromisoformat(first), dt.date.fromisoformat(last))
        team_of[iso3] = (p["id"], address)

    # the panel's favourite is the party whose window is too short: 28 December to
    # 20 January, days from the 28th to the 19th (the one that begins on the 20th ends on the
    # 21st), less the New Year stand-down's two: 21 days, 40 asked
    got = favourite_left_out(web, office, slug, reviewers, code_of["ECU"], (
        "not feasible: only 21 slots of Twin Otter ZK-FLD are usable outside the dates the "
        "request declares impossible (40 asked)"))  # fmt: skip
    for iso3, days, *_rest in TEAMS:
        if iso3 != "ECU":
            assert got.get(code_of[iso3]) == days, (iso3, got)

    booked: dict[str, int] = defaultdict(int)
    taken: set[dt.datetime] = set()
    years: dict[str, set[int]] = defaultdict(set)
    for e in office.get(f"/api/v1/calls/{slug}/schedule", limit=200)["items"]:
        start = dt.datetime.fromisoformat(e["start"].replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(e["end"].replace("Z", "+00:00"))
        w0, w1 = window_of[e["proposal_code"]]
        for k in range((end - start) // dt.timedelta(days=1)):
            s = (start + dt.timedelta(days=k)).astimezone(MCMURDO)
            assert s.hour == 6, e
            assert w0 <= s.date() < w1, ("outside the weather window", e)
            assert not any(a <= s < b for a, b in stand), ("during a stand-down", e)
            assert s not in taken, ("two parties on one day", e)
            taken.add(s)
            booked[e["proposal_code"]] += 1
            years[e["proposal_code"]].add(s.year)
    assert dict(booked) == {c: int(v) for c, v in got.items()}, (booked, got)
    assert years[code_of["CHL"]] == {2027, 2028}, years  # the Chilean party flies over New Year

    # ---- the station reads its schedule on its own clock, across the change of year
    staff = signed_in(web, "office@polar.example")
    r = staff.get(f"/manage/calls/{slug}/schedule?format=csv")
    assert r.status_code == 200, r.text[:500]
    rows = [x for x in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))) if x["start"]]
    assert sum(1 for x in rows if x["proposal"] == code_of["CHL"]) == got[code_of["CHL"]]
    for x in rows:
        assert x["time_zone"] == ZONE and x["local_start"][11:16] == "06:00", x
    assert {x["local_start"][:4] for x in rows} == {"2027", "2028"}
    page = text_of(staff.get(f"/manage/calls/{slug}/resources/{plane['id']}/calendar").text)
    # the season's period, and the New Year stand-down on the station's clock, across the year
    # the office's country (New Zealand) has two zones: its pages are in UTC, and say so
    assert "Slots (UTC)" in page, page[:2000]
    assert "Period Nov 1, 2027 – Feb 29, 2028" in page, page[:2000]
    assert ("Dec 31, 2027, 6:00 AM (Antarctica (McMurdo Station) Time, UTC+13:00) – Jan 2, "
            "2028, 6:00 AM (Antarctica (McMurdo Station) Time, UTC+13:00)): New Year stand-down"
            ) in page, page[:2000]  # fmt: skip
    assert (
        f"{int(sum(got.values()))} booked, {SEASON_DAYS - 4 - int(sum(got.values()))} free" in page
    )
    ics = staff.get(f"/manage/calls/{slug}/resources/{plane['id']}/calendar.ics").text
    assert f"TZID:{ZONE}" in ics and "BEGIN:VTIMEZONE" in ics, ics[:1500]

    office.post(f"/api/v1/calls/{slug}/release")
    assert office.post(f"/api/v1/calls/{slug}/publish")["status"] == "published"
    # the Chilean party's calendar file: its days at 06:00 on the station's clock, both years
    pid, address = team_of["CHL"]
    ics = signed_in(web, address).get(f"/proposals/{pid}/slots.ics")
    assert ics.status_code == 200 and f"TZID={ZONE}" in ics.text, ics.text[:1500]
    events = list(Calendar.from_ical(ics.content).walk("VEVENT"))
    assert len(events) == got[code_of["CHL"]]
    starts = sorted(ev.decoded("dtstart").astimezone(MCMURDO) for ev in events)
    assert all(s.hour == 6 for s in starts) and {s.year for s in starts} == {2027, 2028}
    # the Ecuadorian party reads why, in its language
    pid, address = team_of["ECU"]
    page = text_of(signed_in(web, address, "es").get(f"/proposals/{pid}/outcome").text)
    assert "Twin Otter ZK-FLD" in page and "21" in page, page[:3000]
