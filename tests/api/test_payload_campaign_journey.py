"""A parabolic-flight campaign, set up by its operator through the JSON API on a fresh
install: three flights out of Bordeaux (``Europe/Paris``) on their own dates, each
offering its own payload mass (kg), rack volume (litres) and electrical power (W).

An experiment needs its mass, volume and power at once, on one flight: it asks for the
three of that flight as one all-or-nothing bundle (the operator makes each resource of a
flight require the next, so a mass without its volume and power is refused at submission),
and fits only if all three fit. An experiment that may fly on either of two flights lists
both bundles, the preferred first, under a policy of one award per PI (a bundle counts
once); one that must be repeated asks for both flights in one bundle. Power is not used
up over the campaign: each flight has its own. Review, allocation, explanations, schedule,
release, publication, the public page, the decisions CSV and the outcome figures are
checked against what each flight can carry.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

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
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

PARIS = ZoneInfo("Europe/Paris")
UNITS: dict[str, dict[str, Any]] = {
    "kg": {"en": {"one": "kilogram", "other": "kilograms"}, "zh": {"one": "千克", "other": "千克"},
           "fr": {"one": "kilogramme", "other": "kilogrammes"},
           "es": {"one": "kilogramo", "other": "kilogramos"}},
    "l": {"en": {"one": "litre", "other": "litres"}, "zh": {"one": "升", "other": "升"},
          "fr": {"one": "litre", "other": "litres"}, "es": {"one": "litro", "other": "litros"}},
    "w": {"en": {"one": "watt", "other": "watts"}, "zh": {"one": "瓦", "other": "瓦"},
          "fr": {"one": "watt", "other": "watts"}, "es": {"one": "vatio", "other": "vatios"}},
}  # fmt: skip
DIMENSIONS = {"kg": "mass", "l": "volume", "w": "power"}
FLIGHTS = {"F1": "2028-05-09", "F2": "2028-05-11", "F3": "2028-05-13"}
CAPACITY = {"kg": 250.0, "l": 400.0, "w": 1500.0}  # per flight
# (country, kg, litres, W, flights, mode): "any" flies on one of the flights (the first
# preferred), "repeat" needs every flight listed
EXPERIMENTS = [
    ("KEN", 80, 150, 400, ["F1", "F2"], "any"),
    ("IND", 60, 100, 900, ["F1"], "any"),
    ("BRA", 90, 120, 300, ["F1", "F3"], "any"),
    ("DEU", 50, 80, 700, ["F1", "F2"], "repeat"),
    ("FRA", 100, 150, 200, ["F2"], "any"),
    ("NPL", 40, 60, 500, ["F2", "F3"], "any"),
    ("USA", 70, 140, 1200, ["F3"], "any"),
    ("CHN", 30, 50, 600, ["F2", "F3"], "repeat"),
    ("ETH", 120, 110, 100, ["F3", "F1"], "any"),
    ("JPN", 60, 90, 800, ["F1"], "any"),
    ("MEX", 110, 60, 100, ["F2"], "any"),
    ("EGY", 20, 30, 1400, ["F3"], "any"),
]


def test_a_parabolic_flight_campaign_packs_mass_volume_and_power_per_flight(
    web: Web, one_loop: None
) -> None:
    with web.factory() as s:
        income = {c.iso3: c.income_group for c in s.scalars(select(Country))}
    _admin, office, fac = open_facility(
        web, "pfc", "Parabolic Flight Consortium", "FRA",
        {"name": "Parabolic flights, spring 2028", "slug": "flights", "kind": "custom"},
        office_name="Campaign Office",
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    pool: dict[tuple[str, str], int] = {}  # (flight, unit) -> resource id
    for flight, day in FLIGHTS.items():
        for unit, dim in DIMENSIONS.items():
            r = office.post(res, {"name": f"{flight} {dim}", "unit": unit,
                                  "unit_labels": UNITS[unit], "amount": CAPACITY[unit],
                                  "period_start": day, "period_end": day,
                                  "time_zone": "Europe/Paris"})  # fmt: skip
            assert r["unit_label_other"] == UNITS[unit]["en"]["other"], r
            pool[flight, unit] = r["id"]
        # a flight's mass needs its volume, its volume its power: all three or nothing
        for unit, needs in (("kg", "l"), ("l", "w")):
            r = office.send("PATCH", f"/api/v1/resources/{pool[flight, unit]}",
                            {"bundle_with": [pool[flight, needs]]})  # fmt: skip
            assert r["bundle_with"] == [pool[flight, needs]], r

    slug = "pfc-2028"
    reviewers = open_call(web, office, {
        "provider": "pfc", "facility": "flights", "slug": slug, "code": "PF28",
        "cycle": "2028", "title": "Parabolic flights, spring 2028 campaign"},
        {"award_mode": "whole", "pi_cap_awards": 1},
        [(f"zero-g{i}@panel.example", f"Microgravity Expert {i}", iso3)
         for i, iso3 in enumerate(["NLD", "CAN"])])  # fmt: skip

    pis: dict[str, tuple[int, Client, str]] = {}
    asked: dict[str, tuple[str, int, int, int, list[str], str]] = {}
    for i, (iso3, kg, litres, watts, flights, mode) in enumerate(EXPERIMENTS):
        address = f"pi{i}@experimenters.example"
        ac = account(web, address, f"Experimenter {i}", country_iso3=iso3,
                     institution=f"Microgravity Lab of {iso3}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Fluid physics in weightlessness, rig {i}",
            "abstract": "A convection rig flown through parabolas.",
            "science_case": "Twenty seconds of 0 g per parabola."})  # fmt: skip
        pid = p["id"]

        def ask(flight: str, unit: str, amount: float, bundle: str | None) -> Any:
            version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]  # noqa: B023
            body = {"version": version, "kind": "custom", "pool_id": pool[flight, unit],
                    "bundle": bundle, "details": {"amount": amount}}  # fmt: skip
            return ac.post(f"/api/v1/proposals/{pid}/requests", body)  # noqa: B023

        if i == 0:  # the mass alone, outside a bundle: refused at submission
            ask(flights[0], "kg", kg, None)
            r = ac.post(f"/api/v1/proposals/{pid}/submit", status=400)
            assert "F1 volume" in r["detail"], r
            full = ac.get(f"/api/v1/proposals/{pid}/full")
            assert full["status"] == "draft"
            req = full["requests"][0]["id"]
            ac.send("DELETE", f"/api/v1/proposals/{pid}/requests/{req}?version={full['version']}")
        for flight in flights:
            bundle = flight if mode == "any" else "repeat"
            for unit, amount in (("kg", kg), ("l", litres), ("w", watts)):
                ask(flight, unit, amount, bundle)
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        assert p["status"] == "submitted", p
        pis[p["code"]] = (pid, ac, address)
        asked[p["code"]] = (iso3, kg, litres, watts, flights, mode)

    review_and_publish(web, office, slug, reviewers)

    # ---- awards: every experiment flies with its mass, volume and power on the same
    # flight(s), within what each flight carries; power counted per flight
    anyone = web.client()
    awards = anyone.get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    load: dict[tuple[str, str], float] = defaultdict(float)
    flown: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    unit_of = {"mass": "kg", "volume": "l", "power": "w"}
    for a in awards:
        flight, dim = a["pool"].split()
        assert a["unit"] == unit_of[dim], a
        load[flight, a["unit"]] += a["amount"]
        flown[a["proposal_code"]][flight, a["unit"]] = a["amount"]
    for (flight, unit), got in load.items():
        assert got <= CAPACITY[unit] + 1e-9, (flight, unit, got)
    for code, got in flown.items():
        iso3, kg, litres, watts, flights, mode = asked[code]
        on = sorted({f for f, _u in got})
        assert len(got) == 3 * len(on), (code, got)  # all three dimensions, or none
        for f in on:
            assert (got[f, "kg"], got[f, "l"], got[f, "w"]) == (kg, litres, watts), (code, got)
        assert on == sorted(flights) if mode == "repeat" else len(on) == 1, (code, on)
    power = sum(v for (_f, u), v in load.items() if u == "w")
    assert power > CAPACITY["w"], load  # more than one flight's power over the campaign
    assert {c for c, (*_x, mode) in asked.items() if mode == "repeat"} & set(flown), flown

    # ---- the explanations: an experiment that did not fly names the dimension that did
    # not fit on its flight; one that flew, its bundle
    decisions = {d["proposal_code"]: d for d in
                 office.get(f"/api/v1/calls/{slug}/decisions", limit=200)["items"]}  # fmt: skip
    assert set(decisions) == set(asked)
    for code, d in decisions.items():
        assert d["outcome"].startswith("awarded") == (code in flown), d
        iso3, *need, flights, mode = asked[code]
        if code in flown or len(flights) > 1:
            continue
        # it names the dimensions that were full, each of which is full in the end too
        # ("F3 power (100 of 1,500 watts left)", or, when a lower-ranked experiment took
        # the room, "pool(s) F1 power exhausted by the best combination of awards ...":
        # which of the two depends on how ties fall, and so on the rows' ids)
        # (a request's sentence is said under its resource's name, "F1 volume: ...", since
        # usage23: a name followed by ": " heads a sentence, it is not the reason)
        named = [
            u
            for u in DIMENSIONS
            if re.search(rf"{flights[0]} {DIMENSIONS[u]}(?!: )", d["explanation"])
        ]
        assert named, d["explanation"]
        for u in named:
            assert load[flights[0], u] + need[list(DIMENSIONS).index(u)] > CAPACITY[u], (code, u)
    # power ran out on F3 while its mass and volume had room
    assert "F3 power (" in decisions["PF28-0012"]["explanation"]
    assert "F3 mass (" not in decisions["PF28-0012"]["explanation"]

    # ---- the schedule: each flown experiment on its flight's date, a Bordeaux day
    sched = office.get(f"/api/v1/calls/{slug}/schedule", limit=200)["items"]
    assert len(sched) == len(awards)
    for e in sched:
        code, _dot, pool_name = e["label"].partition(" · ")
        flight, dim = pool_name.split()
        start = dt.datetime.fromisoformat(e["start"].replace("Z", "+00:00")).astimezone(PARIS)
        end = dt.datetime.fromisoformat(e["end"].replace("Z", "+00:00")).astimezone(PARIS)
        assert (start.date().isoformat(), start.hour, end - start) == (
            FLIGHTS[flight], 0, dt.timedelta(days=1)), e  # fmt: skip
        assert e["amount"] == flown[code][flight, unit_of[dim]], e

    # ---- the decisions CSV: each experiment's mass, volume and power by flight, in the
    # unit's words; the explanation in words too (no request kind, no unit key), each
    # bundle's sentence once
    staff = signed_in(web, "office@pfc.example")
    r = staff.get(f"/manage/calls/{slug}/decisions?format=csv")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == len(EXPERIMENTS)
    words = {"kg": ("kilogram", "kilograms"), "l": ("litre", "litres"), "w": ("watt", "watts")}
    for row in rows:
        got = flown.get(row["proposal"], {})
        want = "; ".join(f"{f} {DIMENSIONS[u]}: {int(v)} {words[u][v != 1]}"
                         for (f, u), v in got.items())  # fmt: skip
        assert sorted(filter(None, row["awarded"].split("; "))) == sorted(
            filter(None, want.split("; "))
        ), row
        expl = row["explanation"]
        assert "custom" not in expl and " w left" not in expl, expl
        sentences = expl.split("; ")
        assert len(sentences) == len(set(sentences)), expl
        if "power (" in expl:
            assert "watts left" in expl, expl
        # the API says the same words as the CSV (it gave the stored text: "custom: ...",
        # "w left", each bundle's sentence three times)
        assert decisions[row["proposal"]]["explanation"] == expl

    # ---- the public list: an experiment's power is per flight, never added up over the
    # campaign (a repeat at 700 W flies 700 W twice, not 1400 W)
    public = anyone.get(f"/calls/{slug}/awarded", headers={"Accept-Language": "fr"}).text
    page = text_of(public)
    for code, got in flown.items():
        if len({f for f, _u in got}) > 1:
            watts = got[next(f for f, _u in got), "w"]
            assert f"{int(2 * watts)} watts" not in page, (code, page[:3000])
            for f in sorted({f for f, _u in got}):
                assert f"{f} power : {int(watts)} watts" in page or (
                    f"{f} power: {int(watts)} watts" in page
                ), (code, page[:3000])
    assert "kilogrammes" in page and "litres" in page and "kilograms" not in page

    # ---- who benefits: mass, volume and power by income group, matching the awards
    report = office.get(f"/api/v1/calls/{slug}/report")
    assert report["call"]["units"] == ["kg", "l", "w"]
    awarded_rows = {r["group"]: r for r in report["funnels"]["income_group"]
                    if r["stage"] == "awarded"}  # fmt: skip
    for unit in DIMENSIONS:
        total = sum(v for (_f, u), v in load.items() if u == unit)
        assert awarded_rows["all"]["amounts"][unit] == pytest.approx(total)
        by_group = sum(r["amounts"].get(unit, 0) for g, r in awarded_rows.items() if g != "all")
        assert by_group == pytest.approx(total)
    for group in {income[asked[c][0]] for c in flown}:
        n = sum(1 for c in flown if income[asked[c][0]] == group)
        assert awarded_rows[group]["count"] == n, (group, awarded_rows[group])
    page = text_of(staff.get(f"/manage/calls/{slug}/report").text)
    assert "kilograms" in page and "litres" in page and "watts" in page
