"""A training course offered at three host sites in three countries and time zones, set up
by its operator through the JSON API on a fresh install.

Each site's course is a resource of seats with the course's week as its period, on the
site's clock (`time_zone`), and a request form whose one field is the language of
instruction (each site's own). A participant who needs a visa to reach a site needs it in
time: each site's rules by country (`country_rules`) give the days a participant from a
country needs between the allocation and the course's first day (`lead_days`, `"*"` for
every country not named). Applicants rank the sites they accept by the order of their
requests, under one award per PI. The allocation gives each the first site on their list
with a seat whose visa can come in time, never a site they did not list, and says why a
preferred site was not given ("a team from Ethiopia needs 90 days before ..."). The
schedule puts each seat on its course's week, its first day at 08:00 on the site's clock.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tests.api.test_genebank_journey import give_reviews
from tests.api.test_operator_journey import (
    account,
    calibrate_to_schedule,
    close_and_assign,
    open_call,
    open_facility,
    signed_in,
    text_of,
)
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

# the clock is pinned at 2026-12-01 09:00 UTC (tests.factories.PINNED_NOW)
# (name, time zone, first day, seats, language, visa lead days by country)
SITES = [
    ("Nairobi", "Africa/Nairobi", "2027-01-18", 3, "English", {"*": 14}),
    ("Dakar", "Africa/Dakar", "2027-02-01", 3, "French", {"NPL": 70, "BGD": 45, "*": 7}),
    ("Lima", "America/Lima", "2027-02-15", 2, "Spanish", {"ETH": 90, "NPL": 80, "*": 10}),
]
# (country, the sites listed, the most preferred first); LDCs: ETH, NPL, BGD, SEN, HTI
APPLICANTS = [
    ("ETH", ["Lima", "Dakar"]),  # 90 days for Lima, 76 days ahead: too late, so Dakar
    ("NPL", ["Lima", "Dakar", "Nairobi"]),  # 80 and 70 days: too late for both, so Nairobi
    ("BGD", ["Dakar", "Nairobi"]),  # 45 days for Dakar, 62 days ahead: in time
    ("SEN", ["Dakar"]),
    ("HTI", ["Lima"]),
    ("KEN", ["Nairobi"]),
    ("PER", ["Lima", "Nairobi"]),
]


def test_a_course_at_three_host_sites_seats_each_participant_where_they_accepted_in_time(
    web: Web, one_loop: None
) -> None:
    _admin, office, fac = open_facility(
        web, "agri-ed", "Agroecology Training Network", "KEN",
        {"name": "Soil health field course", "slug": "soil-course", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    # rules by country that name no real country, or a lead time of half a day: refused,
    # nothing made
    for bad, words in (
        ({"lead_days": {"XXX": 10}}, "XXX"),
        ({"lead_days": {"ETH": 0.5}}, "0.5"),
        ({"barred": ["ETH"], "lead_days": {"ETH": 10}}, "ETH"),
        ({"barred": "ETH"}, "barred"),
    ):
        r = office.post(res, {"name": "Bad", "unit": "seat", "amount": 2,
                              "country_rules": bad}, status=400)  # fmt: skip
        assert words in r["detail"], (bad, r)
    assert office.get(f"/api/v1/facilities/{fac['id']}")["resources"] == []

    site_id: dict[str, int] = {}
    zone_of: dict[str, str] = {}
    for name, zone, first, seats, language, leads in SITES:
        last = (dt.date.fromisoformat(first) + dt.timedelta(days=4)).isoformat()
        r = office.post(res, {
            "name": f"Field course, {name}", "unit": "seat", "amount": seats,
            "period_start": first, "period_end": last, "day_start_hour": 8, "time_zone": zone,
            "country_rules": {"lead_days": leads},
            "request_fields": [{"key": "language", "type": "choice", "required": True,
                                "options": [language],
                                "labels": {"en": "Language of instruction"}}]})  # fmt: skip
        assert r["country_rules"] == {"lead_days": dict(sorted(leads.items()))}, r
        site_id[name] = r["id"]
        zone_of[f"Field course, {name}"] = zone
    language = {name: lang for name, _z, _f, _s, lang, _l in SITES}

    slug = "soil-2027"
    reviewers = open_call(web, office, {
        "provider": "agri-ed", "facility": "soil-course", "slug": slug, "code": "SH27",
        "cycle": "2027", "title": "Soil health field course 2027, three sites"},
        {"award_mode": "whole", "pi_cap_awards": 1},
        [("trainer1@panel.example", "Trainer One", "FRA"),
         ("trainer2@panel.example", "Trainer Two", "BRA")])  # fmt: skip
    code_of: dict[str, str] = {}
    listed: dict[str, list[str]] = {}
    team_of: dict[str, tuple[int, str]] = {}
    for i, (iso3, sites) in enumerate(APPLICANTS):
        address = f"trainee{i}@farm.example"
        ac = account(web, address, f"Extension officer {iso3}", country_iso3=iso3,
                     institution=f"Extension service of {iso3}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Soil restoration in {iso3}",
            "abstract": "Cover crops.", "science_case": "Farmers' fields."})  # fmt: skip
        if i == 0:  # a language the site does not teach in: refused naming the field
            version = ac.get(f"/api/v1/proposals/{p['id']}/full")["version"]
            r = ac.post(f"/api/v1/proposals/{p['id']}/requests", {
                "version": version, "kind": "custom", "pool_id": site_id["Lima"],
                "details": {"amount": 1, "language": "English"}}, status=400)  # fmt: skip
            assert "Language of instruction" in r["detail"], r
        for site in sites:  # the order of the requests is the order of preference
            version = ac.get(f"/api/v1/proposals/{p['id']}/full")["version"]
            ac.post(f"/api/v1/proposals/{p['id']}/requests", {
                "version": version, "kind": "custom", "pool_id": site_id[site],
                "details": {"amount": 1, "language": language[site]}})  # fmt: skip
        code = ac.post(f"/api/v1/proposals/{p['id']}/submit")["code"]
        code_of[iso3], listed[code] = code, [f"Field course, {s}" for s in sites]
        team_of[iso3] = (p["id"], address)

    close_and_assign(web, office, slug)
    # every applicant graded alike: the order of preference and the visas decide
    give_reviews(reviewers, lambda a, k: 4.0)
    calibrate_to_schedule(web, office, slug)

    awards = office.get(f"/api/v1/calls/{slug}/awards", limit=50)["items"]
    seat_of: dict[str, list[str]] = {}
    for a in awards:
        seat_of.setdefault(a["proposal_code"], []).append(a["pool"])
    # one seat each, at a site the applicant listed, never more than a site's seats
    for code, pools in seat_of.items():
        assert len(pools) == 1 and pools[0] in listed[code], (code, pools, listed[code])
    for name, _z, _f, seats, _lang, _l in SITES:
        assert sum(p == [f"Field course, {name}"] for p in seat_of.values()) <= seats
    # every applicant seated (19 requests for 8 seats, 7 applicants)
    assert set(seat_of) == set(code_of.values()), seat_of
    # the visas decide where the preferred site is too soon
    assert seat_of[code_of["ETH"]] == ["Field course, Dakar"], seat_of
    assert seat_of[code_of["NPL"]] == ["Field course, Nairobi"], seat_of
    assert seat_of[code_of["BGD"]] == ["Field course, Dakar"], seat_of
    decisions = {d["proposal_code"]: d for d in
                 office.get(f"/api/v1/calls/{slug}/decisions", limit=50)["items"]}  # fmt: skip
    assert "a team from Ethiopia needs 90 days before Field course, Lima begins (on "
    "2027-02-15)" in decisions[code_of["ETH"]]["explanation"], decisions[code_of["ETH"]]

    # the schedule: each seat on its course's week, from 08:00 on the site's clock
    entries = office.get(f"/api/v1/calls/{slug}/schedule", limit=50)["items"]
    pool_of = {c: p[0] for c, p in seat_of.items()}
    assert {e["proposal_code"] for e in entries} == set(pool_of)
    for e in entries:
        zone = ZoneInfo(zone_of[pool_of[e["proposal_code"]]])
        start = dt.datetime.fromisoformat(e["start"].replace("Z", "+00:00")).astimezone(zone)
        assert (start.hour, start.minute) == (8, 0), e

    office.post(f"/api/v1/calls/{slug}/release")
    assert office.post(f"/api/v1/calls/{slug}/publish")["status"] == "published"
    pid, address = team_of["ETH"]
    page = text_of(signed_in(web, address, "fr").get(f"/proposals/{pid}/outcome").text)
    assert "Field course, Dakar" in page, page[:3000]
    # after the course: the participant's attendance, recorded by the team
    ac_eth = signed_in(web, address)
    assert ac_eth.get(f"/awards/{pid}").status_code == 200
    got = office.get(f"/api/v1/awards/{pid}")
    assert "course" in got["kinds"], got
    office.post(f"/api/v1/awards/{pid}/records", {"kind": "course", "data": {
        "participant": "Extension officer ETH", "attended": True, "completed": True}})  # fmt: skip
    assert office.get(f"/api/v1/awards/{pid}")["summary"]["use"]["used:seat"] == 1
