"""A space-station experiment rack, set up from nothing through the JSON API on a fresh
install: one increment's crew hours, the rack's electrical power, the up-mass of two cargo
launches on fixed dates and the down-mass of one return capsule.

What differs from the parabolic-flight campaign: crew time and power are the increment's,
shared by every experiment whichever launch carries it up (no dates: a stock of crew hours
and the rack's watts, drawn at once over the increment), while mass rides a launch on its
own date; and an experiment that needs its samples back also asks for down-mass on the
return capsule. The operator makes each launch's up-mass require crew time, crew time
require power, and the down-mass require the up-mass of one launch or the other, so that an
experiment asks for all it needs in one all-or-nothing bundle. An experiment that may fly on
either launch lists one bundle per launch, the preferred first, under one award per PI.
Review, allocation, schedule, release, publication, the public page (in Chinese), the
applicant's outcome and the report by income group and resource are read back.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import select

from opencall.people.models import Country
from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_operator_journey import (
    Client,
    account,
    open_call,
    open_facility,
    signed_in,
    text_of,
)
from tests.api.test_payload_campaign_journey import UNITS  # kg and W in four languages
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

LAUNCHES = {"L1": "2027-04-10", "L2": "2027-06-20"}
RETURN = "2027-08-15"


def _fr_day(iso: str) -> str:
    """A day as a French page writes it ("10 avr. 2027")."""
    from babel.dates import format_date

    return format_date(dt.date.fromisoformat(iso), "medium", locale="fr")


CREW_H, POWER_W, UP_KG, DOWN_KG = 120.0, 2000.0, 150.0, 40.0
# (country, crew h, W, kg up, kg down (0: none), launches in preference order)
EXPERIMENTS = [
    ("KEN", 20, 400, 40, 10, ["L1", "L2"]),
    ("IND", 30, 600, 50, 0, ["L1"]),
    ("BRA", 15, 300, 30, 15, ["L2", "L1"]),
    ("NPL", 10, 200, 20, 5, ["L1", "L2"]),
    ("DEU", 25, 500, 60, 20, ["L2"]),
    ("JPN", 20, 450, 45, 0, ["L1", "L2"]),
    ("EGY", 15, 350, 35, 10, ["L2"]),
    ("MEX", 20, 300, 50, 0, ["L1"]),
    ("ETH", 10, 250, 25, 10, ["L2", "L1"]),
]


def test_a_station_rack_shares_crew_and_power_and_flies_mass_on_launches(
    web: Web, one_loop: None
) -> None:
    with web.factory() as s:
        income = {c.iso3: c.income_group for c in s.scalars(select(Country))}
    _admin, office, fac = open_facility(
        web, "orbital", "Orbital Research Rack Programme", "JPN",
        {"name": "Station experiment rack, increment 71", "slug": "rack-71", "kind": "custom"},
        office_name="Payload Office",
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    crew = office.post(res, {"name": "Crew time", "unit": "h", "amount": CREW_H})
    power = office.post(res, {"name": "Rack power", "unit": "w", "unit_labels": UNITS["w"],
                              "amount": POWER_W})  # fmt: skip
    assert crew["calendar"]["slot_capacity"] is None and power["unit_label_other"] == "watts"
    up = {
        launch: office.post(
            res,
            {
                "name": f"{launch} up-mass",
                "unit": "kg",
                "unit_labels": UNITS["kg"],
                "amount": UP_KG,
                "period_start": day,
                "period_end": day,
                "bundle_with": [crew["id"]],
            },
        )["id"]  # fmt: skip
        for launch, day in LAUNCHES.items()
    }
    down = office.post(res, {
        "name": "R1 down-mass", "unit": "kg", "unit_labels": UNITS["kg"], "amount": DOWN_KG,
        "period_start": RETURN, "period_end": RETURN,
        "bundle_with": [up["L1"], up["L2"]]})["id"]  # fmt: skip
    r = office.send("PATCH", f"/api/v1/resources/{crew['id']}", {"bundle_with": [power["id"]]})
    assert r["bundle_with"] == [power["id"]], r

    slug = "rack-71"
    reviewers = open_call(web, office, {
        "provider": "orbital", "facility": "rack-71", "slug": slug, "code": "RK71",
        "cycle": "Increment 71", "title": "Experiments on the station rack, increment 71"},
        {"award_mode": "whole", "pi_cap_awards": 1},
        [(f"space{i}@panel.example", f"Space Biologist {i}", iso3)
         for i, iso3 in enumerate(["CAN", "ITA"])])  # fmt: skip

    asked: dict[str, tuple[Any, ...]] = {}
    pis: dict[str, tuple[int, Client, str]] = {}
    for i, (iso3, hours, watts, kg_up, kg_down, launches) in enumerate(EXPERIMENTS):
        address = f"pi{i}@experimenters.example"
        ac = account(web, address, f"Space Experimenter {i}", country_iso3=iso3,
                     institution=f"Space Life Sciences Lab of {iso3}")  # fmt: skip
        pid = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Plant roots in microgravity, rig {i}",
            "abstract": "Root growth without gravity.",
            "science_case": "Ninety days in orbit, samples returned."})["id"]  # fmt: skip

        def ask(pool: int, amount: float, bundle: str | None) -> Any:
            version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]  # noqa: B023
            body = {"version": version, "kind": "custom", "pool_id": pool,
                    "bundle": bundle, "details": {"amount": amount}}  # fmt: skip
            return ac.post(f"/api/v1/proposals/{pid}/requests", body)  # noqa: B023

        if i == 0:  # up-mass without crew time is refused at submission, naming both
            ask(up["L1"], kg_up, None)
            r = ac.post(f"/api/v1/proposals/{pid}/submit", status=400)
            assert "L1 up-mass" in r["detail"] and "Crew time" in r["detail"], r
            full = ac.get(f"/api/v1/proposals/{pid}/full")
            ac.send("DELETE", f"/api/v1/proposals/{pid}/requests/"
                    f"{full['requests'][0]['id']}?version={full['version']}")  # fmt: skip
        for launch in launches:
            ask(up[launch], kg_up, launch)
            ask(crew["id"], hours, launch)
            ask(power["id"], watts, launch)
            if kg_down:
                ask(down, kg_down, launch)
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        assert p["status"] == "submitted", p
        asked[p["code"]] = (iso3, hours, watts, kg_up, kg_down, launches)
        pis[p["code"]] = (pid, ac, address)

    review_and_publish(web, office, slug, reviewers)

    # ---- awards: crew, power and one launch's up-mass together, down-mass with them when
    # asked; every pool within what it has
    anyone = web.client()
    awards = anyone.get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    got: dict[str, dict[str, float]] = defaultdict(dict)
    load: dict[str, float] = defaultdict(float)
    for a in awards:
        got[a["proposal_code"]][a["pool"]] = a["amount"]
        load[a["pool"]] += a["amount"]
    capacity = {"Crew time": CREW_H, "Rack power": POWER_W, "L1 up-mass": UP_KG,
                "L2 up-mass": UP_KG, "R1 down-mass": DOWN_KG}  # fmt: skip
    for pool, used in load.items():
        assert used <= capacity[pool] + 1e-9, (pool, used)
    for code, pools in got.items():
        iso3, hours, watts, kg_up, kg_down, launches = asked[code]
        flown = [launch for launch in launches if f"{launch} up-mass" in pools]
        assert len(flown) == 1, (code, pools)
        want = {"Crew time": hours, "Rack power": watts, f"{flown[0]} up-mass": kg_up}
        if kg_down:
            want["R1 down-mass"] = kg_down
        assert pools == want, (code, pools)
    assert len(got) >= 4, got

    # ---- the schedule: mass on its launch's and the capsule's dates; crew time and
    # power, which have no dates, are not scheduled
    sched = office.get(f"/api/v1/calls/{slug}/schedule", limit=200)["items"]
    dates = {**{f"{k} up-mass": v for k, v in LAUNCHES.items()}, "R1 down-mass": RETURN}
    placed = 0
    for e in sched:
        code, _dot, pool = e["label"].partition(" · ")
        if pool in dates and e["start"] is not None:
            assert e["start"].startswith(dates[pool]), e
            placed += 1
    assert placed == sum(1 for pools in got.values() for p in pools if p in dates), sched

    # ---- what each persona reads: the public list in Chinese, the units in its words,
    # the amounts held resource by resource (up- and down-mass never added up)
    page = text_of(anyone.get(f"/calls/{slug}/awarded", headers={"Accept-Language": "zh"}).text)
    assert "千克" in page and "瓦" in page and "kilograms" not in page
    for code, pools in got.items():
        row = page[page.index(code) :][:400]
        if "R1 down-mass" in pools:  # "L1 up-mass: 40 千克; R1 down-mass: 10 千克"
            for p in pools:
                if p.endswith("mass"):
                    assert f"{p}: {int(pools[p])} 千克" in row, (code, row)
    code = next(iter(got))
    pid, _ac, address = pis[code]
    outcome = text_of(signed_in(web, address, "fr").get(f"/proposals/{pid}/outcome").text)
    assert "kilogrammes" in outcome and "watts" in outcome, outcome[:3000]
    # the outcome names the launch (and the capsule) by date: crew time and power have none
    launch = next(k for k in LAUNCHES if f"{k} up-mass" in got[code])
    # (the day as the French reader reads it: trialapp16)
    assert _fr_day(LAUNCHES[launch]) in outcome, outcome[:3000]
    if "R1 down-mass" in got[code]:
        assert _fr_day(RETURN) in outcome, outcome[:3000]
    # the decisions say which of the increment's pools ran out for an experiment left out,
    # in the units' words
    decisions = {d["proposal_code"]: d for d in
                 office.get(f"/api/v1/calls/{slug}/decisions", limit=200)["items"]}  # fmt: skip
    for c, d in decisions.items():
        if c not in got:
            assert "exhausted" in d["explanation"], d
            assert " w left" not in d["explanation"] and " kg left" not in d["explanation"], d

    # ---- who benefits: crew hours by income group; each resource its own row
    report = office.get(f"/api/v1/calls/{slug}/report")
    assert sorted(report["call"]["units"]) == ["h", "kg", "w"]
    awarded_rows = {r["group"]: r for r in report["funnels"]["income_group"]
                    if r["stage"] == "awarded"}  # fmt: skip
    assert awarded_rows["all"]["amounts"]["h"] == pytest.approx(load["Crew time"])
    for group in {income[asked[c][0]] for c in got}:
        n = sum(1 for c in got if income[asked[c][0]] == group)
        assert awarded_rows[group]["count"] == n, (group, awarded_rows[group])
    rows = {(r["resource"], r["group"]): r for r in report["resources"]
            if r["grouping"] == "income_group"}  # fmt: skip
    assert rows["R1 down-mass", "all"]["amount_awarded"] == pytest.approx(load["R1 down-mass"])
    assert rows["L1 up-mass", "all"]["unit"] == "kg"
