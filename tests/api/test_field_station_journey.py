"""A network of agricultural field stations running a demonstration programme, set up by
its operator through the JSON API on a fresh install.

Three sites in three time zones: Apia (Samoa, UTC+13, west of the date line by its own
choice) and Tabwakea on Kiritimati (Kiribati, UTC+14, the first place on Earth to start a
day), which lend demonstration plots for a season, and Ames (Iowa, US Central time, with
daylight saving), which lends plots and runs 24-hour field days. Plots are counted in a
unit the operator names ("plot-season"), in whole units only. The operator gives each
closure in the site's local time: the offset is kept as an instant, stored and shown in
UTC, also across the change to daylight saving time. A policy allows partial awards (down
to half a request: always a whole number of plot-seasons) and gives at least 40 % of the
plot-seasons to applicants from least-developed countries; applicants from the Pacific,
Africa, Asia and America; review, calibration, allocation, schedule, release,
publication, and the outcomes by income group, UN region and LDC status.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from opencall.people import services as people_services
from opencall.people.models import Country
from tests.api.test_operator_journey import (
    PASSWORD,
    Client,
    account,
    calibrate_to_schedule,
    close_and_assign,
    text_of,
)
from tests.web.conftest import Web, csrf, said_to

# the journey's resources have periods in 2028 and its calls open "now": on a pinned clock,
# not the real date, which will one day pass them (tests/conftest.py, --clock-ahead)
pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

APIA, KIRITIMATI, AMES = (ZoneInfo(z) for z in ("Pacific/Apia", "Pacific/Kiritimati",
                                                 "America/Chicago"))  # fmt: skip
PLOT_SEASONS = {
    "en": {"one": "plot-season", "other": "plot-seasons"},
    "zh": {"one": "个地块季", "other": "个地块季"},
    "fr": {"one": "parcelle-saison", "other": "parcelles-saisons"},
    "es": {"one": "parcela-temporada", "other": "parcelas-temporada"},
}
FIELD_DAYS = {
    "en": {"one": "field day", "other": "field days"},
    "zh": {"one": "田间日", "other": "田间日"},
    "fr": {"one": "journée au champ", "other": "journées au champ"},
    "es": {"one": "día de campo", "other": "días de campo"},
}
FIELDS = [
    {"key": "crop", "type": "choice", "required": True,
     "options": ["taro", "breadfruit", "cassava", "maize", "sorghum"],
     "labels": {"en": "Crop", "fr": "Culture"}},
    {"key": "design", "type": "text", "max_length": 200, "labels": {"en": "Trial design"}},
]  # fmt: skip
# applicants: (country, site, plot-seasons asked); LDCs: KIR, TUV, SLB, ETH, BGD
APPLICANTS = [
    ("KIR", "kiritimati", 2), ("TUV", "apia", 3), ("SLB", "apia", 2), ("ETH", "ames", 3),
    ("BGD", "ames", 2), ("WSM", "apia", 3), ("FJI", "kiritimati", 2), ("USA", "ames", 3),
]  # fmt: skip
OFFERED = {"apia": 6, "kiritimati": 3, "ames": 5}
LDC_SHARE = 0.4


def local(zone: ZoneInfo, *args: int) -> str:
    """An instant given in a site's local time, as an operator types it (ISO with offset)."""
    return dt.datetime(*args, tzinfo=zone).isoformat()  # type: ignore[misc]


def test_a_field_station_network_runs_a_demonstration_programme(web: Web, one_loop: None) -> None:
    with web.factory() as s:
        ldc = {c.iso3 for c in s.scalars(select(Country)) if c.ldc}
        root, _link = people_services.create_site_admin(
            s, email="root@fsn.example", name="Site Admin", password=PASSWORD
        )
        _t, raw = people_services.create_api_token(s, root, "setup")
        s.commit()
    assert {"KIR", "TUV", "SLB", "ETH", "BGD"} <= ldc and not {"WSM", "FJI", "USA"} & ldc
    admin = Client(web, raw)
    admin.post("/api/v1/providers",
               {"name": "Pacific-Prairie Field Stations", "slug": "ppfs", "country_iso3": "WSM"})  # fmt: skip
    office = account(web, "office@ppfs.example", "Office Head", country_iso3="WSM")
    admin.post(
        "/api/v1/providers/ppfs/roles", {"email": "office@ppfs.example", "role": "provider_admin"}
    )
    fac = office.post(
        "/api/v1/providers/ppfs/facilities",
        {"name": "Demonstration plots and field days", "slug": "plots", "kind": "custom"},
    )
    res = f"/api/v1/facilities/{fac['id']}/resources"

    def plots(name: str, amount: float, **kw: Any) -> dict[str, Any]:
        return {"name": name, "unit": "plot-season", "unit_labels": PLOT_SEASONS,
                "whole_units": True, "amount": amount, "request_fields": FIELDS,
                "period_start": "2028-03-01", "period_end": "2028-10-31", **kw}  # fmt: skip

    # half a plot-season is refused, naming the operator's own unit
    r = office.post(res, plots("Apia plots", 11.5), status=400)
    assert "11.5" in r["detail"] and "plot-seasons" in r["detail"]
    # Apia's independence day, 1 June local (UTC+13), begins on 31 May in UTC: before
    # the period's first UTC day, so it is refused, with the UTC instant, and nothing is made
    holiday = {"starts_at": local(APIA, 2028, 3, 1), "ends_at": local(APIA, 2028, 3, 2),
               "reason": "Independence day"}  # fmt: skip
    r = office.post(res, plots("Apia plots", 12, unavailable=[holiday]), status=400)
    assert "2028-02-29 11:00" in r["detail"] and "inside the resource" in r["detail"], r
    assert office.get(f"/api/v1/facilities/{fac['id']}")["resources"] == []
    holiday = {"starts_at": local(APIA, 2028, 6, 1), "ends_at": local(APIA, 2028, 6, 2),
               "reason": "Independence day"}  # fmt: skip
    apia = office.post(res, plots("Apia plots", 12, unavailable=[holiday]))
    assert apia["calendar"]["unavailable"][0]["starts_at"] == "2028-05-31T11:00:00Z"
    kiri = office.post(res, plots("Tabwakea plots", 4))
    # the Kiritimati day (UTC+14) ends ten hours before the UTC one begins
    office.post(f"/api/v1/resources/{kiri['id']}/unavailable", {
        "starts_at": local(KIRITIMATI, 2028, 7, 1), "ends_at": local(KIRITIMATI, 2028, 7, 3),
        "reason": "supply ship"})  # fmt: skip
    cal = office.get(f"/api/v1/resources/{kiri['id']}/calendar")
    assert [(u["starts_at"], u["ends_at"]) for u in cal["unavailable"]] == [
        ("2028-06-30T10:00:00Z", "2028-07-02T10:00:00Z")
    ]
    # Ames closes from Saturday 11 March to Monday 13 March local: daylight saving time
    # starts on Sunday 12 March 2028, so the closure lasts 47 hours, not 48
    flood = {"starts_at": local(AMES, 2028, 3, 11), "ends_at": local(AMES, 2028, 3, 13),
             "reason": "spring flooding"}  # fmt: skip
    ames = office.post(res, plots("Ames plots", 8, unavailable=[flood]))
    (u,) = ames["calendar"]["unavailable"]
    assert (u["starts_at"], u["ends_at"]) == ("2028-03-11T06:00:00Z", "2028-03-13T05:00:00Z")
    # the field days at Ames: 24-hour slots in March, closed on Friday 10 March (a
    # market day) and on Sunday 12 March (the day of the change) in local time
    days = office.post(res, {
        "name": "Ames field days", "unit": "field-day", "unit_labels": FIELD_DAYS,
        "amount": 1, "period_start": "2028-03-01", "period_end": "2028-03-31", "slot_hours": 24,
        "request_fields": FIELDS, "unavailable": [
            {"starts_at": local(AMES, 2028, 3, 10), "ends_at": local(AMES, 2028, 3, 11),
             "reason": "market day"},
            {"starts_at": local(AMES, 2028, 3, 12), "ends_at": local(AMES, 2028, 3, 13),
             "reason": "Sunday"},
        ]})  # fmt: skip
    fits = days["calendar"]["slot_capacity"]
    # the operator declares every field day the calendar says fits, and not one more
    r = office.send("PATCH", f"/api/v1/resources/{days['id']}", {"amount": fits + 1}, status=400)
    assert f"at most {fits} fit" in r["detail"]
    office.send("PATCH", f"/api/v1/resources/{days['id']}", {"amount": fits})

    # the operator's page shows the closures in the reader's zone and language, the zone
    # named (trialapp16; before: in UTC, labelled so)
    web_office = web.client()
    login = {"csrf_token": csrf(web_office), "email": "office@ppfs.example", "password": PASSWORD}
    assert web_office.post("/login", data=login).status_code == 303
    page = text_of(web_office.get(f"/manage/resources/{ames['id']}").text)
    for at in (
        dt.datetime(2028, 3, 11, 6, tzinfo=dt.UTC),
        dt.datetime(2028, 3, 13, 5, tzinfo=dt.UTC),
    ):
        assert said_to(web.factory, "office@ppfs.example", at) in page, page

    # ---- the call: open for a month, 40 % of the plot-seasons to LDC applicants
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    office.post("/api/v1/calls", {
        "provider": "ppfs", "facility": "plots", "slug": "plots-2028", "code": "PL28",
        "cycle": "2028", "title": "Demonstration plots, 2028 season",
        "opens_at": (now - dt.timedelta(days=1)).isoformat(),
        "closes_at": (now + dt.timedelta(days=30)).isoformat(), "anonymity": "single",
        "review_settings": {"reviewers_per_proposal": 2, "max_load": 40},
        "allocation_policy": {"award_mode": "partial", "min_fraction": 0.5,
                              "group_shares": [{"group": "ldc", "min_share": LDC_SHARE}]}})  # fmt: skip
    pools = "/api/v1/calls/plots-2028/pools"
    site_pool = {"apia": apia["id"], "kiritimati": kiri["id"], "ames": ames["id"]}
    r = office.post(pools, {"pool_id": apia["id"], "amount": 5.5}, status=400)
    assert "whole" in r["detail"]
    for site, pid in site_pool.items():  # Apia first: the share is measured on plot-seasons
        office.post(pools, {"pool_id": pid, "amount": OFFERED[site], "max_per_request": 3})
    office.post(pools, {"pool_id": days["id"], "amount": fits})
    office.post("/api/v1/calls/plots-2028/transition", {"target": "open"})
    reviewers = []
    for i, iso3 in enumerate(["AUS", "KEN"]):
        reviewers.append(account(web, f"agro{i}@panel.example", f"Agronomist {i}",
                                 country_iso3=iso3, institution=f"Agronomy Institute {i}"))  # fmt: skip
        office.post("/api/v1/providers/ppfs/roles",
                    {"email": f"agro{i}@panel.example", "role": "reviewer"})  # fmt: skip

    country_of: dict[str, str] = {}
    for i, (iso3, site, n) in enumerate(APPLICANTS):
        ac = account(web, f"farm{i}@applicants.example", f"Extension Officer {i}",
                     country_iso3=iso3, institution=f"Ministry of Agriculture of {iso3}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": "plots-2028", "title": f"Salt-tolerant {FIELDS[0]['options'][i % 5]}, {iso3}",
            "abstract": "Demonstration of a salt-tolerant variety.",
            "science_case": "Farmers see the variety grow beside their own."})  # fmt: skip
        pid = p["id"]

        def ask(amount: Any, pool: int, status: int | None = None, **details: Any) -> Any:
            version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]  # noqa: B023
            body = {"version": version, "kind": "custom", "pool_id": pool,
                    "details": {"amount": amount, "crop": "taro", **details}}  # fmt: skip
            return ac.post(f"/api/v1/proposals/{pid}/requests", body, status=status)  # noqa: B023

        if i == 0:  # a part of a plot, nothing, more than the call's limit: refused, unchanged
            before = ac.get(f"/api/v1/proposals/{pid}/full")
            for bad in (1.5, 0, 4):
                ask(bad, site_pool[site], status=400)
            r = ask(2, site_pool[site], status=400, crop="rice")
            assert "Crop" in r["detail"]
            assert ac.get(f"/api/v1/proposals/{pid}/full") == before
        p = ask(n, site_pool[site], design="randomised blocks")
        if site == "ames" and iso3 != "USA":  # two teams also ask for field days
            p = ask(fits // 2 + fits % 2 if iso3 == "ETH" else fits // 2, days["id"])
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        assert p["status"] == "submitted", p
        country_of[p["code"]] = iso3

    # ---- close, review (LDC teams graded lower: the share must bring them in), allocate
    slug = "plots-2028"
    close_and_assign(web, office, slug)
    for rc in reviewers:
        for a in rc.get("/api/v1/assignments", limit=200)["items"]:
            rc.post(f"/api/v1/assignments/{a['id']}/respond", {"accept": True})
            low = country_of[a["proposal_code"]] in ldc
            rc.post(f"/api/v1/assignments/{a['id']}/review", {
                "grade": (3.0 if low else 4.5) + (a["id"] % 3) * 0.1, "confidence": 4,
                "comments_to_applicants": "A useful demonstration."})  # fmt: skip
    calibrate_to_schedule(web, office, slug)
    office.post(f"/api/v1/calls/{slug}/release")
    assert office.post(f"/api/v1/calls/{slug}/publish")["status"] == "published"

    # ---- awards: whole plot-seasons, within each site's offer, the LDC share kept
    anyone = web.client()
    awards = anyone.get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    by_pool: dict[str, float] = defaultdict(float)
    ldc_plots = 0.0
    for a in awards:
        assert a["amount"] == int(a["amount"]), a
        by_pool[a["pool"]] += a["amount"]
        if a["unit"] == "plot-season" and country_of[a["proposal_code"]] in ldc:
            ldc_plots += a["amount"]
    plots_awarded = sum(v for k, v in by_pool.items() if k != "Ames field days")
    assert by_pool["Apia plots"] <= 6 and by_pool["Tabwakea plots"] <= 3
    assert by_pool["Ames plots"] <= 5 and by_pool["Ames field days"] == fits
    assert plots_awarded > 0 and ldc_plots >= LDC_SHARE * plots_awarded - 1e-9

    # ---- the schedule: plots hold their season; every field day awarded is placed,
    # each a 24-hour slot clear of both local closures
    sched = office.get(f"/api/v1/calls/{slug}/schedule", limit=200)["items"]
    season = ("2028-03-01T00:00:00Z", "2028-11-01T00:00:00Z")
    closures = [(u["starts_at"], u["ends_at"]) for u in days["calendar"]["unavailable"]]
    slots = [e for e in sched if e["kind"] == "slot"]
    unplaced = [e for e in sched if e["start"] is None]
    assert not unplaced, unplaced
    assert len(slots) == fits and len({e["start"] for e in slots}) == fits
    for e in sched:
        if e["kind"] == "period":
            assert (e["start"], e["end"]) == season, e
    for e in slots:
        start, end = (dt.datetime.fromisoformat(e[k]) for k in ("start", "end"))
        assert end - start == dt.timedelta(hours=24)
        for u0, u1 in closures:
            assert end <= dt.datetime.fromisoformat(u0) or start >= dt.datetime.fromisoformat(u1)

    # ---- the public list, in the reader's words for the unit
    page = text_of(anyone.get(f"/calls/{slug}/awarded", headers={"Accept-Language": "fr"}).text)
    assert "parcelles-saisons" in page or "parcelle-saison" in page

    # ---- who benefits: by income group, UN region and LDC status, matching the awards
    report = office.get(f"/api/v1/calls/{slug}/report")
    assert sorted(report["call"]["units"]) == ["field-day", "plot-season"]
    funnel = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert funnel["all"]["amounts"]["plot-season"] == plots_awarded
    assert funnel["LDC"]["amounts"]["plot-season"] == ldc_plots
    regions = {r["group"] for r in report["funnels"]["un_region"]}
    assert {"Oceania", "Africa", "Asia"} <= regions, regions
    incomes = {r["group"] for r in report["funnels"]["income_group"] if r["stage"] == "awarded"}
    assert "all" in incomes and len(incomes) >= 3
