"""A boundary-layer wind tunnel whose test section is re-rigged between two teams, set up by
its operator through the JSON API on a fresh install.

The tunnel is one resource of whole days (`"unit": "day"` with a period: 24-hour slots
from 07:00 on the site's clock, Europe/Lisbon) over six weeks, with a fan maintenance week
and every Sunday off (a recurring unavailable period). Re-rigging the test section for
another team takes a day (`"changeover_slots": 1`). Each team asks for a campaign of
several days, as one request. The allocation counts the changeover days between
campaigns inside the offer, so it awards no more campaigns than fit with them; the
schedule keeps a day free between two teams, books nothing in the maintenance week or on
a Sunday, and keeps each campaign's days together where the calendar allows (a Sunday
off splits a run: the campaign resumes on Monday with no other team in between).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_operator_journey import account, open_call, open_facility, signed_in, text_of
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

LISBON = ZoneInfo("Europe/Lisbon")
PERIOD = ("2027-04-05", "2027-05-16")  # six weeks from a Monday, 42 days
MAINTENANCE = ("2027-04-26T07:00:00", "2027-05-03T07:00:00")  # a week: fan bearings
FIELDS = [
    {"key": "model", "type": "text", "required": True, "max_length": 120,
     "labels": {"en": "Model under test"}},
    {"key": "speed_ms", "type": "number", "unit": "m/s", "min": 1, "max": 40, "required": True,
     "labels": {"en": "Highest wind speed"}},
]  # fmt: skip
# (country, days of the campaign); LDCs: BGD, MOZ, HTI
TEAMS = [("BGD", 5), ("MOZ", 4), ("HTI", 3), ("PHL", 6), ("VNM", 4), ("PRT", 5), ("JPN", 6)]


def test_a_wind_tunnel_keeps_a_day_for_re_rigging_between_two_teams(
    web: Web, one_loop: None
) -> None:
    _admin, office, fac = open_facility(
        web, "lnec", "Coastal Wind Laboratory", "PRT",
        {"name": "Boundary-layer wind tunnel", "slug": "tunnel", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    tunnel = office.post(res, {
        "name": "Test section 1", "unit": "day", "amount": 29,
        "period_start": PERIOD[0], "period_end": PERIOD[1], "day_start_hour": 7,
        "time_zone": "Europe/Lisbon", "changeover_slots": 1, "request_fields": FIELDS,
        "unavailable": [{"starts_at": MAINTENANCE[0], "ends_at": MAINTENANCE[1],
                         "reason": "fan maintenance"}]})  # fmt: skip
    # Sundays off, from 07:00 to 07:00 on the site's clock
    cal = office.post(f"/api/v1/resources/{tunnel['id']}/unavailable/rule", {
        "rule": "FREQ=WEEKLY;BYDAY=SU", "start_time": "07:00", "hours": 24,
        "reason": "Sunday"})  # fmt: skip
    # 42 days, less 7 of maintenance and the 5 Sundays outside it: 30 usable days
    assert cal["slot_capacity"] == 30, cal
    assert office.get(f"/api/v1/resources/{tunnel['id']}")["calendar"]["changeover_slots"] == 1

    slug = "tunnel-2027"
    reviewers = open_call(web, office, {
        "provider": "lnec", "facility": "tunnel", "slug": slug, "code": "WT27",
        "cycle": "2027", "title": "Wind tunnel campaigns, spring 2027"},
        {"award_mode": "whole", "pi_cap_awards": 1},
        [("wind1@panel.example", "Aerodynamicist", "DEU"),
         ("wind2@panel.example", "Structural engineer", "CHL")],
        [{"pool_id": tunnel["id"], "amount": 29}])  # fmt: skip
    code_of: dict[str, str] = {}
    team_of: dict[str, tuple[int, str]] = {}
    for i, (iso3, days) in enumerate(TEAMS):
        address = f"wind-team{i}@uni.example"
        ac = account(web, address, f"Wind team {iso3}", country_iso3=iso3,
                     institution=f"Engineering school of {iso3}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Cyclone loads on low-rise housing in {iso3}",
            "abstract": "Scale models.", "science_case": "Safer roofs."})  # fmt: skip
        version = ac.get(f"/api/v1/proposals/{p['id']}/full")["version"]
        ac.post(f"/api/v1/proposals/{p['id']}/requests", {
            "version": version, "kind": "custom", "pool_id": tunnel["id"],
            "details": {"amount": days, "model": "1:50 house", "speed_ms": 30}})  # fmt: skip
        code_of[iso3] = ac.post(f"/api/v1/proposals/{p['id']}/submit")["code"]
        team_of[iso3] = (p["id"], address)

    review_and_publish(web, office, slug, reviewers)

    awards = office.get(f"/api/v1/calls/{slug}/awards", limit=50)["items"]
    got = {a["proposal_code"]: a["amount"] for a in awards}
    asked = {code_of[c]: d for c, d in TEAMS}
    # whole campaigns, and no more than fit with a changeover day between two of them
    assert all(got[c] == asked[c] for c in got), got
    assert sum(got.values()) + len(got) - 1 <= 29, got
    assert len(got) < len(TEAMS)  # 33 days asked: not all fit
    decisions = {d["proposal_code"]: d for d in
                 office.get(f"/api/v1/calls/{slug}/decisions", limit=50)["items"]}  # fmt: skip
    left_out = [d for c, d in decisions.items() if c not in got]
    assert left_out and all(d["outcome"] != "awarded" for d in left_out), left_out

    # the schedule: every awarded day booked, none in the maintenance week or on a Sunday,
    # a day free between two teams, each campaign's days never split by another team
    days: list[tuple[dt.datetime, str]] = []
    for e in office.get(f"/api/v1/calls/{slug}/schedule", limit=200)["items"]:
        assert not e["needs_rescheduling"], e
        start = dt.datetime.fromisoformat(e["start"].replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(e["end"].replace("Z", "+00:00"))
        for k in range(round((end - start) / dt.timedelta(days=1))):
            day = (start + dt.timedelta(days=k)).astimezone(LISBON)
            assert day.hour == 7, e
            assert day.weekday() != 6, ("a Sunday", e)
            assert not (dt.date(2027, 4, 26) <= day.date() < dt.date(2027, 5, 3)), e
            days.append((day, e["proposal_code"]))
    days.sort()
    booked: dict[str, int] = {}
    for _day, code in days:
        booked[code] = booked.get(code, 0) + 1
    assert booked == {c: int(v) for c, v in got.items()}, (booked, got)
    for (d0, c0), (d1, c1) in zip(days, days[1:], strict=False):
        if c0 != c1:  # another team: at least one day between them for the re-rigging
            assert (d1.date() - d0.date()).days >= 2, (d0, c0, d1, c1)
    order = [c for _d, c in days]
    for code in got:  # a campaign is one stretch of the tunnel's time: no team inside it
        first, last = order.index(code), len(order) - 1 - order[::-1].index(code)
        assert set(order[first : last + 1]) == {code}, (code, order)

    # the team reads its days on the site's clock, and records the campaign after it
    code = next(iter(sorted(got)))
    iso3 = next(c for c, v in code_of.items() if v == code)
    pid, address = team_of[iso3]
    page = text_of(signed_in(web, address).get(f"/proposals/{pid}/outcome").text)
    assert "Test section 1" in page, page[:3000]
    slots = text_of(signed_in(web, address).get(f"/proposals/{pid}/slots").text)
    # (as trialapp16 writes times: the reader's language, the zone named)
    assert "(Portugal (Lisbon) Time, UTC" in slots and "7:00 AM" in slots, slots[:3000]
    office.post(f"/api/v1/awards/{pid}/records", {"kind": "other", "data": {
        "description": "Campaign run, 3 configurations", "used_amount": got[code]}})  # fmt: skip
    assert office.get(f"/api/v1/awards/{pid}")["summary"]["use"]["used:day"] == got[code]
