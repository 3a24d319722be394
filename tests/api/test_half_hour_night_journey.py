"""A high-altitude observatory whose nights begin at half past the hour on a half-hour
clock, set up by its operator through the JSON API and the pages on a fresh install
(branch trialfac19).

The 2-m telescope at Hanle keeps India Standard Time (``Asia/Kolkata``, UTC+05:30): its
grid is 12-hour slots from 18:30 on the site's clock (``day_start_hour`` 18.5), so the
night runs 18:30-06:30 IST, 13:00-01:00 UTC. The daytime slots are closed by a daily rule
(06:30 for 12 hours), and the mirror is re-aluminised over three nights typed in local
time. October and November 2027 then hold 58 nights. Teams from Nepal, Bhutan, Sri Lanka,
Bangladesh, Mongolia and Kazakhstan ask for nights (one names nights it cannot use);
review, allocation, schedule, release, publication; then each booked night is read on the
site's clock, at 18:30, in the API, the schedule CSV, the staff calendar, the team's
calendar file and its slots page.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_operator_journey import account, open_call, open_facility, signed_in, text_of
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

ZONE = "Asia/Kolkata"
IST = ZoneInfo(ZONE)
FIRST, LAST = dt.date(2027, 10, 1), dt.date(2027, 11, 30)
NIGHTS = (LAST - FIRST).days + 1  # 61
COATING = ("2027-11-08T18:30:00", "2027-11-11T06:30:00")  # three nights, local time
# (country, nights, impossible dates)
TEAMS = [
    ("NPL", 10, []), ("BTN", 8, [["2027-10-20", "2027-10-25"]]), ("LKA", 12, []),
    ("BGD", 9, []), ("MNG", 10, []), ("KAZ", 14, []),
]  # fmt: skip


def test_a_telescope_on_a_half_hour_clock_books_nights_from_18_30_local(
    web: Web, one_loop: None
) -> None:
    _admin, office, fac = open_facility(
        web, "iiap", "Indian Astronomical Observatory", "IND",
        {"name": "Himalayan Chandra Telescope", "slug": "hct", "kind": "custom"},
    )  # fmt: skip
    scope = office.post(f"/api/v1/facilities/{fac['id']}/resources", {
        "name": "HCT 2-m", "unit": "night", "whole_units": True,
        "unit_labels": {"en": {"one": "night", "other": "nights"},
                        "fr": {"one": "nuit", "other": "nuits"},
                        "es": {"one": "noche", "other": "noches"},
                        "zh": {"one": "夜", "other": "夜"}},
        "amount": NIGHTS - 3, "slot_hours": 12, "day_start_hour": 18.5, "time_zone": ZONE,
        "period_start": FIRST.isoformat(), "period_end": LAST.isoformat(),
        "unavailable": [{"starts_at": COATING[0], "ends_at": COATING[1],
                         "reason": "mirror re-aluminising"}]})  # fmt: skip
    assert scope["calendar"]["starts_at"].startswith("2027-10-01T13:00:00"), scope["calendar"]
    cal = office.post(f"/api/v1/resources/{scope['id']}/unavailable/rule", {
        "rule": "FREQ=DAILY", "start_time": "06:30", "hours": 12, "reason": "daytime"})  # fmt: skip
    # 61 nights, less the three of the coating; every daytime slot closed
    assert cal["slot_capacity"] == NIGHTS - 3, cal
    coating = tuple(dt.datetime.fromisoformat(x).replace(tzinfo=IST) for x in COATING)

    slug = "hct-2027b"
    reviewers = open_call(web, office, {
        "provider": "iiap", "facility": "hct", "slug": slug, "code": "HCT27B",
        "cycle": "2027B", "title": "HCT nights, October-November 2027"},
        {"award_mode": "whole"},
        [("astro1@panel.example", "Stellar astronomer", "JPN"),
         ("astro2@panel.example", "Galactic astronomer", "ZAF")],
        [{"pool_id": scope["id"], "amount": NIGHTS - 3}])  # fmt: skip
    pis: dict[str, tuple[int, str, list[list[str]]]] = {}
    for i, (iso3, nights, impossible) in enumerate(TEAMS):
        address = f"observer{i}@uni.example"
        ac = account(web, address, f"Observer {iso3}", country_iso3=iso3,
                     institution=f"Observatory of {iso3}")  # fmt: skip
        pid = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Variable stars seen from {iso3}",
            "abstract": "Photometry.", "science_case": "Pulsation."})["id"]  # fmt: skip
        version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
        details: dict[str, object] = {"amount": nights}
        if impossible:
            details["impossible_dates"] = impossible
        ac.post(f"/api/v1/proposals/{pid}/requests", {
            "version": version, "kind": "custom", "pool_id": scope["id"], "details": details})  # fmt: skip
        code = ac.post(f"/api/v1/proposals/{pid}/submit")["code"]
        pis[code] = (pid, address, impossible)

    review_and_publish(web, office, slug, reviewers)
    got = {a["proposal_code"]: a["amount"]
           for a in office.get(f"/api/v1/calls/{slug}/awards", limit=50)["items"]}  # fmt: skip
    assert got and sum(got.values()) <= NIGHTS - 3, got

    # ---- each booked night: 18:30-06:30 IST, outside the coating and the team's dates
    booked: dict[str, int] = {}
    seen: set[dt.datetime] = set()
    for e in office.get(f"/api/v1/calls/{slug}/schedule", limit=200)["items"]:
        start = dt.datetime.fromisoformat(e["start"].replace("Z", "+00:00")).astimezone(IST)
        end = dt.datetime.fromisoformat(e["end"].replace("Z", "+00:00")).astimezone(IST)
        for k in range(round((end - start) / dt.timedelta(hours=12))):
            s = start + dt.timedelta(hours=12 * k)
            assert (s.hour, s.minute) == (18, 30), ("not a night from 18:30 IST", e)
            assert not coating[0] <= s < coating[1], ("during the coating", e)
            for a, b in pis[e["proposal_code"]][2]:
                # a night overlaps a date when it begins on it or runs into it
                assert not (s.date() <= dt.date.fromisoformat(b) and (s + dt.timedelta(hours=12)).date()
                            >= dt.date.fromisoformat(a)), ("on an impossible date", e)  # fmt: skip
            assert s not in seen, ("two teams on one night", e)
            seen.add(s)
            booked[e["proposal_code"]] = booked.get(e["proposal_code"], 0) + 1
    assert booked == {c: int(n) for c, n in got.items()}, (booked, got)

    staff = signed_in(web, "office@iiap.example")
    r = staff.get(f"/manage/calls/{slug}/schedule?format=csv")
    rows = [x for x in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))) if x["start"]]
    assert len(rows) == sum(booked.values())
    for x in rows:
        assert x["time_zone"] == ZONE and x["local_start"][11:16] == "18:30", x
        assert x["start"][11:16] == "13:00", x
    page = text_of(staff.get(f"/manage/calls/{slug}/resources/{scope['id']}/calendar").text)
    # the office (in India) reads its own zone's times, and the table's heading says so
    assert "Slots (times in Asia/Kolkata)" in page and "Slots (UTC)" not in page, page[:3000]
    assert page.count("6:30 PM (India Time, UTC+05:30)") >= 2 * sum(booked.values()), page[:3000]
    code = sorted(got)[0]
    pid, address, _imp = pis[code]
    team = signed_in(web, address)
    ics = team.get(f"/proposals/{pid}/slots.ics")
    assert ics.status_code == 200 and f"TZID={ZONE}" in ics.text, ics.text[:1500]
    events = list(Calendar.from_ical(ics.content).walk("VEVENT"))
    assert len(events) == got[code]
    for ev in events:
        s = ev.decoded("dtstart").astimezone(IST)
        assert (s.hour, s.minute) == (18, 30), ev
        assert ev.decoded("dtend") - ev.decoded("dtstart") == dt.timedelta(hours=12), ev
    page = text_of(team.get(f"/proposals/{pid}/slots").text)
    assert page.count("6:30 PM") >= got[code], page[:3000]
