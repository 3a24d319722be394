"""A polar research station (Antarctic) opening field-season berths to teams worldwide,
set up from nothing through the JSON API on both backends.

The season is the southern summer, crossing a year boundary (1 November 2027 to
29 February 2028, a leap day included). The station's places are counted in
person-days (a team of four for 30 days asks 120), helicopter hours for field camps in
hours; each team asks for both in one all-or-nothing bundle. The medical, psychological
and polar-training clearances are a lead time by country before the season
(``country_rules``). A quarter of the berths is kept for teams from countries without a
polar programme of their own: a share rule over a list of countries the call names
(``{"group": "countries", "countries": [...]}``); before trialfac23c only the fixed
groups (income, LDC, host, first-time) could be named, and such a call was refused.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.api.test_operator_journey import calibrate_to_schedule, close_and_assign, text_of
from tests.journeys import account, open_call, open_facility, resource, signed_in
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

START, END = dt.date(2027, 11, 1), dt.date(2028, 2, 29)  # 121 days, across the new year
BERTHS = 600  # person-days offered
HELI = 100  # helicopter hours
#: countries without a national polar programme (the call's own list)
NO_PROGRAMME = ["KEN", "NPL", "PHL", "BGD", "MNG"]
PERSON_DAY = {
    "en": {"one": "person-day", "other": "person-days"},
    "zh": {"one": "人日", "other": "人日"},
    "fr": {"one": "jour-personne", "other": "jours-personnes"},
    "es": {"one": "persona-día", "other": "personas-día"},
}
# (PI's country, people, days on station, helicopter hours)
TEAMS = [
    ("GBR", 4, 40, 20),
    ("DEU", 4, 40, 20),
    ("USA", 5, 30, 25),
    ("JPN", 3, 50, 15),
    ("KEN", 3, 40, 15),
    ("NPL", 2, 40, 10),
    ("FRA", 4, 30, 20),
]


def test_a_polar_station_keeps_berths_for_countries_without_a_programme(
    web: Web, one_loop: None
) -> None:
    _admin, office, fac = open_facility(
        web, "polar", "Polar Research Institute", "NOR",
        {"name": "Coastal Antarctic station", "slug": "station", "kind": "custom"},
        office_name="Station Office",
    )  # fmt: skip
    berths = resource(office, fac, {
        "name": "Station berths 2027/28", "unit": "person-day", "unit_labels": PERSON_DAY,
        "whole_units": True, "amount": BERTHS,
        "period_start": START.isoformat(), "period_end": END.isoformat(),
        "country_rules": {"lead_days": {"*": 90, "NPL": 150}}})  # fmt: skip
    heli = resource(office, fac, {"name": "Helicopter hours 2027/28", "unit": "h", "amount": HELI,
                                  "whole_units": True})  # fmt: skip
    # the supply ship sails on a fixed day: one resource per departure, in seats
    ship = resource(office, fac, {"name": "Ship seats, sailing 2027-10-25", "unit": "seat",
                                  "amount": 24, "period_start": "2027-10-25",
                                  "period_end": "2027-10-25"})  # fmt: skip
    cal = office.get(f"/api/v1/resources/{berths['id']}/calendar")
    assert cal["period_start"] == START.isoformat() and cal["period_end"] == END.isoformat()

    slug = "polar-2027"
    policy = {"award_mode": "whole", "pi_cap_awards": 1,
              "group_shares": [{"group": "countries", "countries": NO_PROGRAMME,
                                "min_share": 0.25}]}  # fmt: skip
    call = {"provider": "polar", "facility": "station", "slug": slug, "code": "AQ27",
            "cycle": "2027/28", "title": "Antarctic field season 2027/28"}  # fmt: skip
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    dates = {"opens_at": now.isoformat(), "closes_at": (now + dt.timedelta(days=30)).isoformat()}
    # an unknown code in the list is refused, naming it, and no call is made
    r = office.post("/api/v1/calls", {
        **call, **dates, "allocation_policy": {**policy, "group_shares": [
            {"group": "countries", "countries": ["KEN", "XYZ"], "min_share": 0.25}]}},
        status=400)  # fmt: skip
    assert "XYZ" in r["detail"], r
    # the list belongs to the group "countries" alone
    r = office.post("/api/v1/calls", {**call, **dates, "allocation_policy": {
        **policy, "group_shares": [{"group": "ldc", "countries": ["KEN"], "min_share": 0.25}]}},
        status=400)  # fmt: skip
    assert "countries" in r["detail"], r
    reviewers = open_call(web, office, call, policy,
                          [(f"glaciologist{i}@panel.example", f"Glaciologist {i}", iso3)
                           for i, iso3 in enumerate(["NOR", "CHL", "IND"])])  # fmt: skip

    # the call's edit page carries the list (it wrote "countries:0.25", and saving the
    # form then refused the rule as having no list)
    form = signed_in(web, "office@polar.example").get(f"/manage/calls/{slug}/edit").text
    assert "countries(KEN NPL PHL BGD MNG):0.25" in form, form

    asked: dict[str, tuple[str, int]] = {}
    for i, (iso3, people, days, hours) in enumerate(TEAMS):
        ac = account(web, f"pi{i}@polar-{iso3.lower()}.example", f"Team lead {i}",
                     country_iso3=iso3, institution=f"Polar science at {iso3}")  # fmt: skip
        pid = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Ice shelf basal melt, team {i}",
            "abstract": "Hot-water drilling through the ice shelf.",
            "science_case": "Ocean heat under the ice."})["id"]  # fmt: skip
        for pool, amount in ((berths, people * days), (heli, hours), (ship, people)):
            version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
            ac.post(f"/api/v1/proposals/{pid}/requests", {
                "version": version, "kind": "custom", "pool_id": pool["id"],
                "bundle": "field-season", "details": {"amount": amount}})  # fmt: skip
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        assert p["status"] == "submitted", p
        asked[p["code"]] = (iso3, people * days)

    close_and_assign(web, office, slug)
    for k, rc in enumerate(reviewers):
        for a in rc.get("/api/v1/assignments", limit=200)["items"]:
            rc.post(f"/api/v1/assignments/{a['id']}/respond", {"accept": True})
            code = a.get("proposal_code") or ""
            # the panel grades the teams with a programme higher: the share must act
            low = any(code == c for c, (iso3, _n) in asked.items() if iso3 in NO_PROGRAMME)
            rc.post(f"/api/v1/assignments/{a['id']}/review", {
                "grade": (2.6 if low else 4.2) + ((a["id"] + k) % 3) * 0.1, "confidence": 4,
                "comments_to_applicants": "A sound plan."})  # fmt: skip
    calibrate_to_schedule(web, office, slug)
    office.post(f"/api/v1/calls/{slug}/release")
    assert office.post(f"/api/v1/calls/{slug}/publish")["status"] == "published"

    # the published policy names the countries the berths are kept for
    page = text_of(web.client().get(f"/calls/{slug}/awarded").text)
    assert "Teams from the countries the call lists (KEN, NPL, PHL, BGD, MNG)" in page, page
    fr = web.client().get(f"/calls/{slug}/awarded", headers={"Accept-Language": "fr"})
    assert "Équipes des pays que l’appel énumère (KEN, NPL" in text_of(fr.text)
    awards = web.client().get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    berth_awards: dict[str, float] = {}
    for a in awards:
        if "Station berths" in str(a):
            berth_awards[a["proposal_code"]] = a["amount"]
    for code, amount in berth_awards.items():
        assert amount == asked[code][1], (code, amount)  # a team's berths are never cut
    assert sum(berth_awards.values()) <= BERTHS
    kept = sum(v for c, v in berth_awards.items() if asked[c][0] in NO_PROGRAMME)
    assert kept >= 0.25 * sum(berth_awards.values()), (berth_awards, asked)
    assert kept > 0  # without the share rule: 80 of 510 person-days
    # every team awarded its berths sails: seats for each of its people, at most the ship's
    seats = {a["proposal_code"]: a["amount"] for a in awards if "Ship seats" in str(a)}
    assert set(seats) == set(berth_awards), (seats, berth_awards)
    assert sum(seats.values()) <= 24

    # who benefits: the berths by income group, UN region and LDC status
    report = office.get(f"/api/v1/calls/{slug}/report")
    rows = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert rows["all"]["count"] == len({a["proposal_code"] for a in awards})
