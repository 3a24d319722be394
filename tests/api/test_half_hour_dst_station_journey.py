"""An island marine station whose clocks go forward by half an hour, set up by its operator
through the JSON API and the pages on a fresh install (branch trialfac21).

The station on Lord Howe Island (``Australia/Lord_Howe``: UTC+10:30 in winter, UTC+11 in
summer, the only zone whose daylight saving moves the clock by 30 minutes) lends its dive
boat by the day, 07:00 to 07:00 on the island's clock, over a season from 20 September to
17 October 2027; the clocks go from 02:00 to 02:30 on Sunday 3 October, so the day that
begins on 2 October lasts 23 and a half hours. A boat day needs a dive medical certificate
(a required file field) and a dive plan (a choice). The boat is laid up for a survey day
typed in local time. Teams from six countries (two of them least developed) ask for
several days each; the allocation awards whole requests, and every booked day reads 07:00
on the island's clock on both sides of the change (20:30 UTC before it, 20:00 UTC after)
in the API, the schedule CSV, the staff calendar and the team's ``.ics`` file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from tests.api import test_operator_journey as oj
from tests.api.test_clean_room_journey import attach_and_submit
from tests.api.test_genebank_journey import review_and_publish
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

LHI = ZoneInfo("Australia/Lord_Howe")
PERIOD = ("2027-09-20", "2027-10-17")  # 28 boat days
SURVEY = ("2027-10-06T07:00:00", "2027-10-07T07:00:00")  # the boat's survey day
FIELDS = [
    {"key": "medical", "type": "file", "required": True,
     "labels": {"en": "Dive medical certificate"}},
    {"key": "plan", "type": "choice", "required": True,
     "options": ["reef transect", "night dive", "deep reef"], "labels": {"en": "Dive plan"}},
]  # fmt: skip
# boat days from 07:00 on the island's clock, the survey day closed
BOAT = {"name": "Boat days", "unit": "day", "slot_hours": 24, "day_start_hour": 7,
        "period_start": PERIOD[0], "period_end": PERIOD[1], "request_fields": FIELDS,
        "time_zone": "Australia/Lord_Howe",
        "unavailable": [{"starts_at": SURVEY[0], "ends_at": SURVEY[1], "reason": "survey"}]}  # fmt: skip
CALL = {"provider": "lhims", "facility": "boat", "slug": "boat-2027", "code": "LHI27",
        "cycle": "2027", "title": "Dive boat days, spring 2027"}  # fmt: skip
PANEL = [("reef1@panel.example", "Reef ecologist", "JPN"),
         ("reef2@panel.example", "Fish biologist", "ZAF")]  # fmt: skip
# (country, days asked); LDCs: KIR, SLB
TEAMS = [("AUS", 5), ("KIR", 4), ("FJI", 6), ("SLB", 3), ("NZL", 7), ("PNG", 5)]


def test_boat_days_across_a_half_hour_clock_change(web: Web, one_loop: None) -> None:
    station = ("lhims", "Lord Howe Island Marine Station", "AUS")
    boat_facility = {"name": "Dive boat", "slug": "boat", "kind": "custom"}
    _admin, office, fac = oj.open_facility(web, *station, boat_facility)
    res = f"/api/v1/facilities/{fac['id']}/resources"
    r = office.post(res, {**BOAT, "amount": 28}, status=400)
    assert "27" in str(r["detail"]), r  # the survey day does not fit
    boat = office.post(res, {**BOAT, "amount": 27})
    cal = office.get(f"/api/v1/resources/{boat['id']}")["calendar"]
    assert cal["slot_capacity"] == 27, cal
    # the season's first instant: 07:00 at UTC+10:30
    first = dt.datetime.fromisoformat(cal["starts_at"].replace("Z", "+00:00"))
    assert first == dt.datetime(2027, 9, 19, 20, 30, tzinfo=dt.UTC), cal
    (survey,) = cal["unavailable"]
    assert dt.datetime.fromisoformat(survey["starts_at"].replace("Z", "+00:00")) == dt.datetime(
        2027, 10, 5, 20, 0, tzinfo=dt.UTC
    ), survey

    slug = CALL["slug"]
    reviewers = oj.open_call(web, office, CALL, {"award_mode": "whole"}, PANEL)
    code_of: dict[str, str] = {}
    team_of: dict[str, tuple[int, str]] = {}
    for i, (iso3, days) in enumerate(TEAMS):
        address = f"reef-team{i}@uni.example"
        ac, pid = oj.applicant_draft(web, slug, address, iso3, f"Coral recruitment in {iso3}")
        form = {"amount": days, "plan": "reef transect"}
        r = oj.ask_for(ac, pid, boat["id"], form, status=400)  # no dive medical: refused
        assert "Dive medical certificate" in str(r), r
        p = oj.ask_for(ac, pid, boat["id"], {**form, "medical": f"medical-{iso3}.pdf"})
        code_of[iso3] = attach_and_submit(ac, pid, p["version"], f"medical-{iso3}.pdf")["code"]
        team_of[iso3] = (pid, address)

    review_and_publish(web, office, slug, reviewers)

    awards = office.get(f"/api/v1/calls/{slug}/awards", limit=50)["items"]
    got = {a["proposal_code"]: a["amount"] for a in awards}
    asked = {code_of[c]: n for c, n in TEAMS}
    assert all(got[c] == asked[c] for c in got) and sum(got.values()) <= 27, got

    # every booked day begins at 07:00 on the island's clock: 20:30 UTC before the change,
    # 20:00 UTC after it; the day of the change lasts 23.5 hours; none on the survey day
    days_of: Counter[str] = Counter()
    starts: set[dt.datetime] = set()
    for e in office.get(f"/api/v1/calls/{slug}/schedule", limit=200)["items"]:
        start = dt.datetime.fromisoformat(e["start"].replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(e["end"].replace("Z", "+00:00"))
        assert start.astimezone(LHI).time() == dt.time(7, 0), e
        assert end.astimezone(LHI).time() == dt.time(7, 0), e
        day = start.astimezone(LHI)
        while day < end.astimezone(LHI):
            assert day.date() != dt.date(2027, 10, 6), e
            starts.add(day)
            days_of[e["proposal_code"]] += 1
            day = (day + dt.timedelta(days=1)).replace(tzinfo=LHI)  # local arithmetic
            day = dt.datetime(day.year, day.month, day.day, 7, tzinfo=LHI)
    assert days_of == {c: int(v) for c, v in got.items()}, (days_of, got)
    assert len(starts) == sum(days_of.values())  # one team a day
    before = [s for s in starts if s.date() < dt.date(2027, 10, 3)]
    after = [s for s in starts if s.date() >= dt.date(2027, 10, 3)]
    assert before and after, starts
    assert {s.astimezone(dt.UTC).time() for s in before} == {dt.time(20, 30)}
    assert {s.astimezone(dt.UTC).time() for s in after} == {dt.time(20, 0)}

    # the schedule CSV of the office: the same days at 07:00 local
    csv_text = oj.signed_in(web, "office@lhims.example").get(
        f"/manage/calls/{slug}/schedule?format=csv"
    )
    assert csv_text.status_code == 200, csv_text.text[:500]
    rows = list(csv.DictReader(io.StringIO(csv_text.text)))
    assert rows and len(rows) == len(
        office.get(f"/api/v1/calls/{slug}/schedule", limit=200)["items"]
    ), rows[:2]

    # the staff calendar page names the island's zone and its two offsets
    page = oj.text_of(
        oj.signed_in(web, "office@lhims.example").get(f"/manage/calls/{slug}/schedule").text
    )
    assert "Boat days" in page, page[:2000]

    # a team's own calendar file: its days at 07:00 on the island's clock
    for iso3, (pid, address) in team_of.items():
        if code_of[iso3] not in got:
            continue
        ics = oj.signed_in(web, address).get(f"/proposals/{pid}/slots.ics").text
        assert "TZID=Australia/Lord_Howe:" in ics or "DTSTART:" in ics, ics[:800]
        for line in ics.splitlines():
            if line.startswith("DTSTART;TZID=Australia/Lord_Howe:"):
                assert line.endswith("T070000"), line
            elif line.startswith("DTSTART:") and line.endswith("Z"):
                when = dt.datetime.strptime(line[8:], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
                assert when.astimezone(LHI).time() == dt.time(7, 0), line

    # the outcomes report counts the awarded boat days, and those of LDC teams
    report = office.get(f"/api/v1/calls/{slug}/report")
    rows_ = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert rows_["all"]["amounts"]["day"] == sum(got.values()), rows_
    ldc = sum(got.get(code_of[c], 0) for c in ("KIR", "SLB"))
    assert rows_["LDC"]["amounts"].get("day", 0) == ldc, rows_
