"""A satellite ground station selling antenna passes, set up from nothing through the JSON
API: two antennas, each a resource of 15-minute passes over one day (UTC), a unit the
operator names in four languages ("pass"), whole passes only, one pass kept free between
two teams (re-pointing the dish), and a maintenance window on one antenna. Applicants (the
operators of small university satellites) ask for passes on one antenna; after review,
allocation and scheduling, every booked pass is one 15-minute slot inside the day, outside
the maintenance window, no two teams' passes on one antenna back to back, and each team
gets the passes it was awarded."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
from icalendar import Calendar

from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_operator_journey import account, open_call, open_facility, signed_in, text_of
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

PASS = {
    "en": {"one": "pass", "other": "passes"},
    "zh": {"one": "次过境", "other": "次过境"},
    "fr": {"one": "passage", "other": "passages"},
    "es": {"one": "pase", "other": "pases"},
}
DAY = "2028-09-04"
MAINTENANCE = ("2028-09-04T06:00:00+00:00", "2028-09-04T12:00:00+00:00")
# (country, antenna, passes)
APPLICANTS = [
    ("KEN", "Antenna A", 6), ("NPL", "Antenna A", 8), ("BTN", "Antenna A", 4),
    ("RWA", "Antenna B", 10), ("PHL", "Antenna B", 6), ("CRI", "Antenna B", 5),
]  # fmt: skip


def test_a_ground_station_books_antenna_passes(web: Web, one_loop: None) -> None:
    _admin, office, fac = open_facility(
        web, "gstation", "Equatorial Ground Station", "KEN",
        {"name": "Ground station", "slug": "antennas", "kind": "custom"},
    )  # fmt: skip
    antenna: dict[str, int] = {}
    for name in ("Antenna A", "Antenna B"):
        body = {"name": name, "unit": "pass", "unit_labels": PASS, "whole_units": True,
                "amount": 72 if name == "Antenna A" else 96, "period_start": DAY, "period_end": DAY, "slot_hours": 0.25,
                "changeover_slots": 1}  # fmt: skip
        if name == "Antenna A":
            body["unavailable"] = [
                {"starts_at": MAINTENANCE[0], "ends_at": MAINTENANCE[1], "reason": "feed"}
            ]
        r = office.post(f"/api/v1/facilities/{fac['id']}/resources", body)
        assert r["calendar"]["slot_capacity"] == (72 if name == "Antenna A" else 96), r
        antenna[name] = r["id"]
    slug = "gs-2028"
    reviewers = open_call(web, office, {
        "provider": "gstation", "facility": "antennas", "slug": slug, "code": "GS28",
        "cycle": "2028", "title": "Antenna passes, September 2028"},
        {"award_mode": "whole"},
        [(f"space{i}@panel.example", f"Space engineer {i}", iso3)
         for i, iso3 in enumerate(["JPN", "BRA"])])  # fmt: skip
    asked: dict[str, tuple[str, int]] = {}
    team: dict[str, tuple[int, str]] = {}
    for i, (iso3, ant, passes) in enumerate(APPLICANTS):
        ac = account(web, f"sat{i}@uni.example", f"CubeSat team {iso3}", country_iso3=iso3,
                     institution=f"Space Lab of {iso3}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"CubeSat downlink for {iso3}",
            "abstract": "Telemetry and imagery downlink.",
            "science_case": "Earth observation from a 3U CubeSat."})  # fmt: skip
        version = ac.get(f"/api/v1/proposals/{p['id']}/full")["version"]
        ac.post(f"/api/v1/proposals/{p['id']}/requests", {
            "version": version, "kind": "custom", "pool_id": antenna[ant],
            "details": {"amount": passes}})  # fmt: skip
        # half a pass is refused: whole passes only
        bad = ac.post(f"/api/v1/proposals/{p['id']}/requests", {
            "version": ac.get(f"/api/v1/proposals/{p['id']}/full")["version"], "kind": "custom",
            "pool_id": antenna[ant], "details": {"amount": 1.5}}, status=400)  # fmt: skip
        assert "whole" in bad["detail"].lower(), bad
        p = ac.post(f"/api/v1/proposals/{p['id']}/submit")
        asked[p["code"]] = (ant, passes)
        team[p["code"]] = (p["id"], f"sat{i}@uni.example")

    review_and_publish(web, office, slug, reviewers)

    awards = office.get(f"/api/v1/calls/{slug}/awards", limit=200)["items"]
    assert awards, "nothing awarded"
    got: dict[str, float] = defaultdict(float)
    for a in awards:
        assert a["pool"] == asked[a["proposal_code"]][0], a
        got[a["proposal_code"]] += a["amount"]
    for code, amount in got.items():
        assert amount == asked[code][1], (code, amount)  # whole awards
    sched = office.get(f"/api/v1/calls/{slug}/schedule", limit=200)["items"]
    booked: dict[str, list[tuple[dt.datetime, dt.datetime, str]]] = defaultdict(list)
    count: dict[str, int] = defaultdict(int)
    m0, m1 = (dt.datetime.fromisoformat(x) for x in MAINTENANCE)
    day0 = dt.datetime.fromisoformat(DAY + "T00:00:00+00:00")
    for e in sched:
        start = dt.datetime.fromisoformat(e["start"].replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(e["end"].replace("Z", "+00:00"))
        assert day0 <= start < end <= day0 + dt.timedelta(days=1), e
        ant = asked[e["proposal_code"]][0]
        if ant == "Antenna A":
            assert end <= m0 or start >= m1, ("in the maintenance window", e)
        booked[ant].append((start, end, e["proposal_code"]))
        count[e["proposal_code"]] += round((end - start) / dt.timedelta(minutes=15))
    assert dict(count) == {c: int(v) for c, v in got.items()}, (count, got)
    for ant, items in booked.items():
        items.sort()
        for (_s0, e0, c0), (s1, _e1, c1) in zip(items, items[1:], strict=False):
            assert e0 <= s1, ("overlap", ant, items)
            if c0 != c1:  # a pass kept free to re-point the dish between two teams
                assert s1 - e0 >= dt.timedelta(minutes=15), (ant, c0, c1, e0, s1)

    # the team's calendar file: one event a booked stretch, its passes adding up
    for code in sorted(got)[:3]:
        pid, address = team[code]
        ics = signed_in(web, address).get(f"/proposals/{pid}/slots.ics")
        assert ics.status_code == 200, ics.text[:500]
        events = list(Calendar.from_ical(ics.content).walk("VEVENT"))
        minutes = sum(
            (ev.decoded("dtend") - ev.decoded("dtstart")) / dt.timedelta(minutes=15)
            for ev in events
        )
        assert minutes == got[code], (code, minutes)
        # the outcome in French names the operator's unit, plural for several
        page = text_of(signed_in(web, address, "fr").get(f"/proposals/{pid}/outcome").text)
        assert f"{int(got[code])} passages" in page, page[:3000]
