"""A plant-phenotyping facility's growth chambers, set up by its operator through the JSON
API on a fresh install (branch trialfac17).

Two walk-in chambers in Nairobi (``Africa/Nairobi``, days from 08:00 on the site's clock)
over the first half of 2027, each a resource of whole chamber days (`"unit": "day"` with a
period) with capabilities of its own on its request form: chamber A gives high light for
tropical cereals (photoperiod up to 14 h), chamber B is cool (a set point from 4 to 20 °C)
for vernalising wheat and barley. Chamber A's lamps are replaced for a week in April.
A crop grows from sowing to harvest without a pause: a 120-day sorghum cannot spend a week
in a dark chamber in the middle of its cycle. The operator says so with ``"unbroken":
true`` on each chamber (every award booked as one unbroken run of days, never split by a
closure or another team). So the schedule books each crop in one stretch, and a crop that
fits in no stretch of the chamber is not awarded: the allocation counts the longest run of
free days, and the team reads why. Applicants from least-developed and low-income countries
(Burkina Faso, Nepal, Ethiopia, Malawi, Haiti, Bangladesh) among others; review,
allocation, schedule, publication and the growth runs recorded after the award.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_operator_journey import account, open_call, open_facility, signed_in, text_of
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

NAIROBI = ZoneInfo("Africa/Nairobi")
PERIOD = ("2027-01-04", "2027-07-23")  # 201 days
LAMPS = ("2027-04-15T08:00:00", "2027-04-22T08:00:00")  # chamber A dark for a week
CROP = {"key": "crop", "type": "text", "required": True, "max_length": 80,
        "labels": {"en": "Crop and accession"}}  # fmt: skip
FIELDS_A = [CROP, {"key": "photoperiod_h", "type": "number", "unit": "h", "min": 8, "max": 14,
                   "required": True, "labels": {"en": "Photoperiod"}}]  # fmt: skip
FIELDS_B = [CROP, {"key": "set_point_c", "type": "number", "unit": "°C", "min": 4, "max": 20,
                   "required": True, "labels": {"en": "Temperature set point"}}]  # fmt: skip
# (country, chamber, days from sowing to harvest, crop); LDCs: BFA, NPL, ETH, MWI, HTI, BGD
CROPS = [
    ("BFA", "A", 120, "Sorghum, drought-tolerant landrace"),
    ("NPL", "A", 60, "Finger millet"),
    ("ETH", "A", 30, "Teff seedlings"),
    ("KEN", "A", 45, "Cowpea"),
    ("MWI", "B", 45, "Wheat, vernalisation"),
    ("HTI", "B", 30, "Barley, cold tolerance"),
    ("BGD", "B", 90, "Lentil, cool season"),
    ("NLD", "B", 60, "Winter wheat"),
]


def _days(e: dict[str, str]) -> list[dt.date]:
    start = dt.datetime.fromisoformat(e["start"].replace("Z", "+00:00")).astimezone(NAIROBI)
    end = dt.datetime.fromisoformat(e["end"].replace("Z", "+00:00")).astimezone(NAIROBI)
    assert start.hour == 8 and end.hour == 8, e
    return [start.date() + dt.timedelta(days=k) for k in range((end - start).days)]


def test_growth_chambers_book_each_crop_in_one_unbroken_run(web: Web, one_loop: None) -> None:
    _admin, office, fac = open_facility(
        web, "phenolab", "East African Phenotyping Platform", "KEN",
        {"name": "Growth chambers", "slug": "chambers", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    common = {"unit": "day", "period_start": PERIOD[0], "period_end": PERIOD[1],
              "day_start_hour": 8, "time_zone": "Africa/Nairobi"}  # fmt: skip
    a = office.post(res, {**common, "name": "Chamber A (high light)", "amount": 194,
                          "unbroken": True, "request_fields": FIELDS_A,
                          "unavailable": [{"starts_at": LAMPS[0], "ends_at": LAMPS[1],
                                           "reason": "lamp replacement"}]})  # fmt: skip
    b = office.post(res, {**common, "name": "Chamber B (cool)", "amount": 201,
                          "request_fields": FIELDS_B})  # fmt: skip
    assert a["calendar"]["slot_capacity"] == 194 and a["unbroken"] is True, a
    assert b["unbroken"] is False
    # chamber B's crops cannot pause either: the operator says so afterwards
    assert (
        office.send("PATCH", f"/api/v1/resources/{b['id']}", {"unbroken": True})["unbroken"] is True
    )
    # only true or false, and only on a resource offered in slots
    bad = office.send("PATCH", f"/api/v1/resources/{b['id']}", {"unbroken": "yes"}, 422)
    assert "unbroken" in str(bad), bad
    r = office.post(res, {"name": "Seed store", "unit": "g", "amount": 500, "unbroken": True},
                    status=400)  # fmt: skip
    assert "slots" in r["detail"], r
    assert office.get(f"/api/v1/resources/{b['id']}")["unbroken"] is True

    slug = "chambers-2027"
    reviewers = open_call(web, office, {
        "provider": "phenolab", "facility": "chambers", "slug": slug, "code": "GC27",
        "cycle": "2027", "title": "Growth chamber time, first half of 2027"},
        {"award_mode": "whole", "group_shares": [{"group": "ldc", "min_share": 0.3}]},
        [("plant1@panel.example", "Crop physiologist", "IND"),
         ("plant2@panel.example", "Plant breeder", "BRA")],
        [{"pool_id": a["id"], "amount": 194}, {"pool_id": b["id"], "amount": 201}])  # fmt: skip
    pool = {"A": a, "B": b}
    code_of: dict[str, str] = {}
    team_of: dict[str, tuple[int, str]] = {}
    for i, (iso3, chamber, days, crop) in enumerate(CROPS):
        address = f"grower{i}@uni.example"
        ac = account(web, address, f"Grower {iso3}", country_iso3=iso3,
                     institution=f"Agricultural research institute of {iso3}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"{crop} under controlled climate ({iso3})",
            "abstract": "Phenotyping.", "science_case": "Yield under stress."})  # fmt: skip
        version = ac.get(f"/api/v1/proposals/{p['id']}/full")["version"]
        setting = {"photoperiod_h": 12} if chamber == "A" else {"set_point_c": 6}
        ac.post(f"/api/v1/proposals/{p['id']}/requests", {
            "version": version, "kind": "custom", "pool_id": pool[chamber]["id"],
            "details": {"amount": days, "crop": crop, **setting}})  # fmt: skip
        code_of[iso3] = ac.post(f"/api/v1/proposals/{p['id']}/submit")["code"]
        team_of[iso3] = (p["id"], address)

    review_and_publish(web, office, slug, reviewers)

    awards = office.get(f"/api/v1/calls/{slug}/awards", limit=50)["items"]
    got = {x["proposal_code"]: x["amount"] for x in awards}
    # the 120-day sorghum fits in no stretch of chamber A (101 days before the lamps, 93
    # after): it is not awarded, and its team reads why
    sorghum = code_of["BFA"]
    assert sorghum not in got, got
    decisions = {d["proposal_code"]: d for d in
                 office.get(f"/api/v1/calls/{slug}/decisions", limit=50)["items"]}  # fmt: skip
    assert decisions[sorghum]["outcome"] != "awarded", decisions[sorghum]
    assert "unbroken" in str(decisions[sorghum]), decisions[sorghum]
    # the rest fit, each in one stretch
    assert {code_of[c] for c in ("NPL", "ETH", "KEN", "MWI", "HTI", "BGD")} <= set(got), got

    chamber_of = {code_of[c]: chamber for c, chamber, _d, _crop in CROPS}
    runs: dict[str, list[dt.date]] = {}
    entries: list[dict[str, str]] = []
    while batch := office.get(f"/api/v1/calls/{slug}/schedule", limit=200,
                              offset=len(entries))["items"]:  # fmt: skip
        entries.extend(batch)
    for e in entries:
        assert not e["needs_rescheduling"], e
        runs.setdefault(e["proposal_code"], []).extend(_days(e))
    assert set(runs) == set(got), (runs.keys(), got)
    for code, days in runs.items():
        days.sort()
        assert len(days) == got[code], (code, len(days), got[code])
        # one unbroken run: every day follows the one before
        assert days[-1] - days[0] == dt.timedelta(days=len(days) - 1), (code, days)
        if chamber_of[code] == "A":  # nothing in chamber A while its lamps are replaced
            assert not any(dt.date(2027, 4, 15) <= d < dt.date(2027, 4, 22) for d in days), code

    # the team reads its days on the site's clock, and the facility records the growth run
    pid, address = team_of["NPL"]
    page = text_of(signed_in(web, address).get(f"/proposals/{pid}/outcome").text)
    assert "Chamber A (high light)" in page, page[:3000]
    office.post(f"/api/v1/awards/{pid}/records", {"kind": "other", "data": {
        "description": "Sown 2027-01-04, harvested on day 60", "used_amount": 60}})  # fmt: skip
    assert office.get(f"/api/v1/awards/{pid}")["summary"]["use"]["used:day"] == 60
