"""An equipment loan pool lending ocean gliders to teams abroad, set up by its operator
through the JSON API on a fresh install (branch trialfac17).

Two gliders, each a resource of its own counted in weeks (a unit the operator names in four
languages, 168-hour slots from Monday 00:00 in Cape Town, ``Africa/Johannesburg``) over
26 weeks of 2027, with two weeks kept free between two teams (``changeover_slots``: the
glider is shipped back, refurbished and ballasted again) and followed after the award with
loans and shipments (``record_kinds``). Teams from Mozambique, Senegal, Bangladesh,
Tanzania (least-developed), Fiji and Peru ask for weeks of one glider; review, allocation
with a share for LDCs, schedule and publication.

After the award the pool records what it lends: a glider is an item, not a sample by mass
(a loan without ``mass_mg``, named by its serial number in ``item``). The next team's loan
of a glider waits for its return: recording it while the glider is still out is refused,
naming the loan it waits for. A glider comes back damaged (``condition``: it is returned,
the damage recorded) or is lost at sea (``condition: "lost"``: the loan is closed, never
overdue, and the lost glider cannot be lent again; the loan's weeks from the day it was
lost, ``lost_on``, to its due day count as lost to an outage in the award's use figures,
outcomes18), and the lost glider's resource is out of service from that day to the end
of its season, the later bookings on it flagged for rescheduling (trialop19; an outage
recorded by hand that leaves less room than the calls hold is still refused).
"""

from __future__ import annotations

import pytest

from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_operator_journey import account, open_call, open_facility
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

WEEKS = {
    "en": {"one": "glider week", "other": "glider weeks"},
    "zh": {"one": "滑翔机周", "other": "滑翔机周"},
    "fr": {"one": "semaine de planeur", "other": "semaines de planeur"},
    "es": {"one": "semana de planeador", "other": "semanas de planeador"},
}
FIELDS = [
    {"key": "region", "type": "text", "required": True, "max_length": 120,
     "labels": {"en": "Deployment region"}},
    {"key": "site", "type": "coordinates", "required": True, "labels": {"en": "Launch point"}},
]  # fmt: skip
# (country, glider, weeks); LDCs: MOZ, SEN, BGD, TZA
TEAMS = [("MOZ", "412", 6), ("SEN", "412", 8), ("TZA", "412", 4),
         ("BGD", "517", 6), ("FJI", "517", 8), ("PER", "517", 6)]  # fmt: skip


def test_an_ocean_glider_pool_lends_each_glider_to_one_team_at_a_time(
    web: Web, one_loop: None
) -> None:
    _admin, office, fac = open_facility(
        web, "gliderpool", "Southern Ocean Glider Pool", "ZAF",
        {"name": "Ocean gliders", "slug": "gliders", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    glider = {}
    for serial in ("412", "517"):
        glider[serial] = office.post(res, {
            "name": f"Glider SG-{serial}", "unit": "gliderweek", "unit_labels": WEEKS,
            "amount": 26, "slot_hours": 168, "period_start": "2027-03-01",
            "period_end": "2027-08-29", "time_zone": "Africa/Johannesburg",
            "changeover_slots": 2, "record_kinds": ["loan", "shipment"],
            "request_fields": FIELDS})  # fmt: skip
        assert glider[serial]["calendar"]["slot_capacity"] == 26, glider[serial]

    slug = "gliders-2027"
    reviewers = open_call(web, office, {
        "provider": "gliderpool", "facility": "gliders", "slug": slug, "code": "OG27",
        "cycle": "2027", "title": "Glider loans, 2027 season"},
        {"award_mode": "whole", "group_shares": [{"group": "ldc", "min_share": 0.4}]},
        [("ocean1@panel.example", "Physical oceanographer", "AUS"),
         ("ocean2@panel.example", "Marine engineer", "NOR")],
        [{"pool_id": g["id"], "amount": 26} for g in glider.values()])  # fmt: skip
    pid_of: dict[str, int] = {}
    code_of: dict[str, str] = {}
    for i, (iso3, serial, weeks) in enumerate(TEAMS):
        ac = account(web, f"ocean-team{i}@uni.example", f"Ocean team {iso3}",
                     country_iso3=iso3, institution=f"Marine institute of {iso3}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Shelf currents off {iso3}",
            "abstract": "Glider transects.", "science_case": "Upwelling and fisheries."})  # fmt: skip
        version = ac.get(f"/api/v1/proposals/{p['id']}/full")["version"]
        ac.post(f"/api/v1/proposals/{p['id']}/requests", {
            "version": version, "kind": "custom", "pool_id": glider[serial]["id"],
            "details": {"amount": weeks, "region": f"Shelf of {iso3}",
                        "site": {"lat": -20.5, "lon": 35.1}}})  # fmt: skip
        code_of[iso3] = ac.post(f"/api/v1/proposals/{p['id']}/submit")["code"]
        pid_of[iso3] = p["id"]

    review_and_publish(web, office, slug, reviewers)
    awards = office.get(f"/api/v1/calls/{slug}/awards", limit=50)["items"]
    got = {x["proposal_code"]: x["amount"] for x in awards}
    # the weeks and two weeks between two teams fit each glider's 26: every team gets its own
    assert got == {code_of[c]: w for c, _s, w in TEAMS}, got

    def loan(iso3: str, **data: object) -> dict[str, object]:
        serial = next(s for c, s, _w in TEAMS if c == iso3)
        return {"kind": "loan", "data": {"sample": "Slocum G3 glider", "item": f"SG-{serial}",
                                         **data}}  # fmt: skip

    # a glider is lent as an item: no mass (a glider of 60 kg is no sample by the milligram)
    first = office.post(f"/api/v1/awards/{pid_of['MOZ']}/records", loan(
        "MOZ", shipped_on="2027-02-15", received_on="2027-02-26", due_on="2027-04-30"))  # fmt: skip
    assert "mass_mg" not in first["data"] or first["data"]["mass_mg"] is None, first
    # the next team's loan of SG-412 waits for its return: refused, naming the loan out
    early = office.post(f"/api/v1/awards/{pid_of['SEN']}/records",
                        loan("SEN", shipped_on="2027-05-10"), status=400)  # fmt: skip
    assert "SG-412" in early["detail"] and code_of["MOZ"] in early["detail"], early
    assert len(office.get(f"/api/v1/awards/{pid_of['SEN']}")["records"]) == 0
    # it comes back with a cracked wing: returned, the damage recorded
    back = office.send("PUT", f"/api/v1/awards/{pid_of['MOZ']}/records/{first['id']}", {
        "data": {**loan("MOZ")["data"], "shipped_on": "2027-02-15", "received_on": "2027-02-26",
                 "due_on": "2027-04-30", "returned_on": "2027-05-06", "condition": "damaged",
                 "condition_note": "port wing cracked on recovery"}})  # fmt: skip
    assert back["data"]["condition"] == "damaged", back
    # an unknown condition, or a lost glider said to be returned, is refused
    for bad in ({"condition": "sunk"}, {"condition": "lost", "returned_on": "2027-05-06"}):
        office.post(f"/api/v1/awards/{pid_of['SEN']}/records",
                    loan("SEN", shipped_on="2027-05-10", **bad), status=400)  # fmt: skip
    # now the next team's loan is recorded
    office.post(f"/api/v1/awards/{pid_of['SEN']}/records",
                loan("SEN", shipped_on="2027-05-10", due_on="2027-07-15"))  # fmt: skip

    # SG-517 is lost at sea with the Bangladeshi team: the loan is closed, not overdue
    lost = office.post(f"/api/v1/awards/{pid_of['BGD']}/records", loan(
        "BGD", shipped_on="2027-02-15", received_on="2027-02-25", due_on="2027-04-20",
        condition="lost", condition_note="lost off the Sundarbans", lost_on="2027-04-02"))  # fmt: skip
    assert lost["data"]["condition"] == "lost"
    summary = office.get(f"/api/v1/awards/{pid_of['BGD']}")["summary"]
    assert summary["loans_out"] == 0 and summary["loans_closed"] == 1, summary
    assert summary["use"]["loans_lost"] == 1, summary["use"]
    # the 18 days from its loss to its due day are capacity lost to an outage (outcomes18)
    assert summary["use"]["lost_weeks:outage"] == pytest.approx(18 / 7), summary["use"]
    # a lost glider cannot be lent again
    gone = office.post(f"/api/v1/awards/{pid_of['FJI']}/records",
                       loan("FJI", shipped_on="2027-05-01"), status=400)  # fmt: skip
    assert "SG-517" in gone["detail"] and "lost" in gone["detail"], gone
    # and SG-517's resource is out of service from that day to the end of its season
    # (trialop19), the teams booked on it after the loss flagged for rescheduling
    cal = office.get(f"/api/v1/resources/{glider['517']['id']}/calendar")
    out = [u for u in cal["unavailable"] if "SG-517" in u["reason"]]
    assert len(out) == 1 and out[0]["starts_at"].startswith("2027-04-0"), cal["unavailable"]
    sched = office.get(f"/api/v1/calls/{slug}/schedule", limit=200)["items"]
    flagged = {e["proposal_code"] for e in sched
               if e["pool_id"] == glider["517"]["id"] and e["needs_rescheduling"]}  # fmt: skip
    assert flagged and all(e["pool"] == "Glider SG-517" for e in sched if e["pool_id"]
                           == glider["517"]["id"]), sched  # fmt: skip
