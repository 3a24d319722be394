"""Two facilities no test journey had, through the JSON API on a fresh install.

A research vessel (kind ``custom``): berths (people) on two fixed legs between ports,
each leg a resource with its own period, and ROV dive slots of 24 hours, one a day,
on the second leg; applicants from least-developed countries with a travel-support
field; a share of the berths for LDC applicants.

A plasma device firing "shots" (a unit the operator names in en/zh/fr/es), two
12-hour shot slots on one day: a tiny capacity that draws twenty times more
requests than it holds, with boundary amounts (0, negative, huge, fractional), and
applicants with non-Latin and right-to-left names and titles as long as allowed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import select

from opencall.people import services as people_services
from opencall.people.models import Country
from opencall.scheduling.models import ScheduleEntry
from tests.api.test_operator_journey import PASSWORD, Client, account, run_step
from tests.web.conftest import Web, csrf

# the journey's resources have periods in 2028 and its calls open "now": on a pinned clock,
# not the real date, which will one day pass them (tests/conftest.py, --clock-ahead)
pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

LEG1 = (dt.date(2028, 5, 2), dt.date(2028, 5, 15))  # Sanya -> Manila
LEG2 = (dt.date(2028, 5, 18), dt.date(2028, 5, 31))  # Manila -> Suva: 14 dive days
SHOT_DAY = dt.date(2028, 6, 5)
SHOTS = {
    "en": {"one": "shot", "other": "shots"},
    "zh": {"one": "炮次", "other": "炮次"},
    "fr": {"one": "tir", "other": "tirs"},
    "es": {"one": "disparo", "other": "disparos"},
}
TRAVEL = {
    "key": "travel_support", "type": "choice", "required": True,
    "labels": {"en": "Travel support", "fr": "Aide au voyage", "es": "Ayuda de viaje",
               "zh": "差旅资助"},
    "options": ["none", "partial", "full"],
}  # fmt: skip
PORT = {"key": "port", "type": "choice", "labels": {"en": "Port of embarkation"},
        "options": ["Sanya", "Manila", "Suva"]}  # fmt: skip
SITE = {"key": "site", "type": "coordinates", "labels": {"en": "Dive site"}, "required": True}
DEPTH = {"key": "depth", "type": "number", "labels": {"en": "Depth"}, "unit": "m",
         "min": 0, "max": 6000}  # fmt: skip
# vessel applicants: LDCs first
VESSEL = ["BGD", "MMR", "KIR", "TUV", "SLB", "TLS", "FJI", "PHL", "IDN", "VNM", "CHN", "AUS"]
NAMES = ["فاطمة الزهراء", "王小明", "Nguyễn Thị Hương", "Ṣàngó Adébáyọ̀", "שרה לוי", "Иван Петров"]


def ask(ac: Client, pid: int, pool: int, amount: float, status: int | None = None,
        bundle: str | None = None, **details: Any) -> Any:  # fmt: skip
    version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
    body = {"version": version, "kind": "custom", "pool_id": pool, "bundle": bundle,
            "details": {"amount": amount, **details}}  # fmt: skip
    return ac.post(f"/api/v1/proposals/{pid}/requests", body, status=status)


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def signed_in(web: Web, email: str, lang: str) -> Any:
    c = web.client(lang)
    r = c.post("/login", data={"csrf_token": csrf(c), "email": email, "password": PASSWORD})
    assert r.status_code == 303
    return c


def test_a_vessel_and_a_plasma_device_through_the_api(web: Web, one_loop: None) -> None:
    with web.factory() as s:
        ldc = {c.iso3 for c in s.scalars(select(Country)) if c.ldc}
        root, _link = people_services.create_site_admin(
            s, email="root@ops.example", name="Site Admin", password=PASSWORD
        )
        _t, raw = people_services.create_api_token(s, root, "setup")
        s.commit()
    admin = Client(web, raw)
    admin.post(
        "/api/v1/providers", {"name": "Ocean Institute", "slug": "oi", "country_iso3": "FJI"}
    )
    office = account(web, "office@oi.example", "Office Head", country_iso3="FJI")
    admin.post(
        "/api/v1/providers/oi/roles", {"email": "office@oi.example", "role": "provider_admin"}
    )
    fac = office.post(
        "/api/v1/providers/oi/facilities",
        {"name": "R/V Pacific Star with ROV", "slug": "star", "kind": "custom"},
    )
    res = f"/api/v1/facilities/{fac['id']}/resources"
    legs = []
    for name, (a, b) in (
        ("Leg 1 berths (Sanya - Manila)", LEG1),
        ("Leg 2 berths (Manila - Suva)", LEG2),
    ):
        leg = {"name": name, "unit": "berth", "period_start": a.isoformat(),
               "period_end": b.isoformat(), "request_fields": [TRAVEL, PORT]}  # fmt: skip
        # berths are people: half a berth is refused, naming the figure
        r = office.post(res, {**leg, "amount": 12.5}, status=400)
        assert "12.5" in r["detail"] and "whole" in r["detail"]
        legs.append(office.post(res, {**leg, "amount": 12}))
    leg1, leg2 = legs
    # one ROV dive a day on leg 2: 14 slots of 24 hours; 15 is refused with the figures
    rov = {"name": "ROV dives (leg 2)", "unit": "dive", "slot_hours": 24,
           "period_start": LEG2[0].isoformat(), "period_end": LEG2[1].isoformat(),
           "request_fields": [SITE, DEPTH]}  # fmt: skip
    r = office.post(res, {**rov, "amount": 15}, status=400)
    assert "at most 14 fit" in r["detail"]
    dives = office.post(res, {**rov, "amount": 14})
    assert dives["calendar"]["slot_capacity"] == 14
    # a dive needs a berth on leg 2: the operator makes that bundle compulsory
    r = office.send("PATCH", f"/api/v1/resources/{dives['id']}", {"bundle_with": [dives["id"]]},
                    status=400)  # fmt: skip
    assert "itself" in r["detail"]
    dives = office.send("PATCH", f"/api/v1/resources/{dives['id']}", {"bundle_with": [leg2["id"]]})
    assert dives["bundle_with"] == [leg2["id"]]

    # ---- the plasma device: two 12-hour shot slots on one day, a unit of its own
    dev = office.post(
        "/api/v1/providers/oi/facilities",
        {"name": "Plasma device", "slug": "plasma", "kind": "custom"},
    )
    shots = office.post(f"/api/v1/facilities/{dev['id']}/resources", {
        "name": "Shots", "unit": "shot", "unit_labels": SHOTS, "amount": 2, "slot_hours": 12,
        "period_start": SHOT_DAY.isoformat(), "period_end": SHOT_DAY.isoformat()})  # fmt: skip
    assert shots["calendar"]["slot_capacity"] == 2

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    base = {
        "provider": "oi", "cycle": "2028",
        "opens_at": (now - dt.timedelta(days=1)).isoformat(),
        "closes_at": (now + dt.timedelta(days=30)).isoformat(),
        "anonymity": "dual",
        "review_settings": {"reviewers_per_proposal": 2, "max_load": 80},
    }  # fmt: skip
    # at least 40 % of the berths to applicants from least-developed countries
    office.post("/api/v1/calls", {
        **base, "facility": "star", "slug": "star-2028", "code": "PS28",
        "title": "Berths and ROV dives, May 2028",
        "allocation_policy": {"award_mode": "whole",
                              "group_shares": [{"group": "ldc", "min_share": 0.4}]}})  # fmt: skip
    r = office.post(
        "/api/v1/calls/star-2028/pools", {"pool_id": leg1["id"], "amount": 2.5}, status=400
    )
    assert "whole" in r["detail"]
    for pool in (leg1, leg2):
        office.post("/api/v1/calls/star-2028/pools", {"pool_id": pool["id"], "amount": 8})
    office.post("/api/v1/calls/star-2028/pools", {"pool_id": dives["id"]})
    office.post("/api/v1/calls", {
        **base, "facility": "plasma", "slug": "shots-2028", "code": "SH28",
        "title": "Plasma shots, June 2028", "offer_all_pools": True,
        "review_settings": {"reviewers_per_proposal": 1, "max_load": 80},
        "allocation_policy": {"award_mode": "whole", "pi_cap_awards": 1}})  # fmt: skip
    for slug in ("star-2028", "shots-2028"):
        office.post(f"/api/v1/calls/{slug}/transition", {"target": "open"})

    reviewers = [
        account(
            web, f"rev{i}@panel.example", f"Reviewer {i}",
            country_iso3=["ITA", "IND", "KEN", "JPN"][i], institution=f"Panel University {i}",
        )
        for i in range(4)
    ]  # fmt: skip
    for i in range(4):
        office.post(
            "/api/v1/providers/oi/roles", {"email": f"rev{i}@panel.example", "role": "reviewer"}
        )

    # ---- vessel applicants: two berths each on one leg; every other one ROV dives too
    country_of: dict[str, str] = {}
    pis: dict[str, tuple[int, Client]] = {}
    for i, iso3 in enumerate(VESSEL):
        ac = account(
            web, f"sea{i:02d}@applicants.example", f"{NAMES[i % len(NAMES)]} {i}",
            country_iso3=iso3, institution=f"Marine Institute {i:02d} of {iso3}",
        )  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": "star-2028", "title": f"Seamount fauna of the Pacific, site {i}",
            "abstract": "Biodiversity.", "science_case": "Seamounts."})  # fmt: skip
        pid = p["id"]
        if i == 0:  # each refused with a message, nothing changed
            before = ac.get(f"/api/v1/proposals/{pid}/full")
            for bad in (0, -1, 1.5, 1e12):
                ask(ac, pid, leg1["id"], bad, status=400, travel_support="full")
            r = ask(ac, pid, leg1["id"], 2, status=400)
            assert "Travel support" in r["detail"]
            r = ask(ac, pid, dives["id"], 1, status=400, site={"lat": 95, "lon": 10})
            assert "Dive site" in r["detail"]
            assert ac.get(f"/api/v1/proposals/{pid}/full") == before
            # a dive alone (or with a berth on leg 1) cannot be submitted: the operator's
            # compulsory bundle is named, and the proposal stays a draft
            p = ask(ac, pid, dives["id"], 1, site={"lat": -12.5, "lon": 170.1}, depth=3000)
            r = ac.post(f"/api/v1/proposals/{pid}/submit", status=400)
            assert r["detail"] == (
                "bundle: A request for 'ROV dives (leg 2)' must be in an all-or-nothing "
                "bundle with a request for 'Leg 2 berths (Manila - Suva)'."
            )
            r = ac.get(f"/api/v1/proposals/{pid}/full")
            assert r["status"] == "draft"
            ac.send("DELETE", f"/api/v1/proposals/{pid}/requests/{r['requests'][0]['id']}"
                    f"?version={r['version']}")  # fmt: skip
        # a dive needs a berth on leg 2: the two are one all-or-nothing bundle
        leg, bundle = [(leg1, None), (leg2, "cruise")][i % 2]
        p = ask(ac, pid, leg["id"], 2, bundle=bundle,
                travel_support="full" if iso3 in ldc else "none", port="Manila")  # fmt: skip
        if bundle:
            p = ask(ac, pid, dives["id"], 2, bundle=bundle, site={"lat": -12.5 - i, "lon": 170.1},
                    depth=3000)  # fmt: skip
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        assert p["status"] == "submitted", p
        country_of[p["code"]] = iso3
        pis[p["code"]] = (pid, ac)

    # ---- forty applicants for two shots; a title of the longest length, in Arabic and Chinese
    long_title = "ر" * 100 + " " + "長" * 99
    for i in range(40):
        iso3 = ["NPL", "EGY", "IRN", "CHN", "PAK", "DEU", "BRA", "ETH", "ISR", "RUS"][i % 10]
        ac = account(
            web, f"shot{i:02d}@applicants.example", f"{NAMES[i % len(NAMES)]} {i}",
            country_iso3=iso3, institution=f"Plasma Lab {i:02d}",
        )  # fmt: skip
        title = long_title if i == 0 else f"Edge-localised modes, case {i}"
        if i == 0:
            r = ac.post(
                "/api/v1/proposals", {"call": "shots-2028", "title": title + "!"}, status=400
            )
            assert "200" in r["detail"]
        p = ac.post("/api/v1/proposals", {
            "call": "shots-2028", "title": title, "abstract": "Plasma.", "science_case": "ELMs."})  # fmt: skip
        pid = p["id"]
        if i == 0:
            before = ac.get(f"/api/v1/proposals/{pid}/full")
            for bad in (0, -1, 1.5, 3, 1e300):
                ask(ac, pid, shots["id"], bad, status=400)
            assert ac.get(f"/api/v1/proposals/{pid}/full") == before
        p = ask(ac, pid, shots["id"], 1)
        assert ac.post(f"/api/v1/proposals/{pid}/submit")["status"] == "submitted"
        pis[p["code"]] = (pid, ac)

    # ---- the cycle of both calls
    for slug in ("star-2028", "shots-2028"):
        office.post(f"/api/v1/calls/{slug}/transition", {"target": "closed", "reason": "deadline"})
        office.post(f"/api/v1/calls/{slug}/transition", {"target": "review"})
        for step in ("conflicts", "affinity", "assignment"):
            run_step(web, office, slug, step)
    for rc in reviewers:
        items = rc.get("/api/v1/assignments", limit=200)["items"]
        assert items and not any(n in str(items) for n in NAMES)  # dual-anonymous
        for a in items:
            rc.post(f"/api/v1/assignments/{a['id']}/respond", {"accept": True})
            rc.post(
                f"/api/v1/assignments/{a['id']}/review",
                {"grade": 3.0 + (a["id"] % 5) * 0.4, "confidence": 4,
                 "comments_to_applicants": "Sound plan."},
            )  # fmt: skip
    for slug in ("star-2028", "shots-2028"):
        run_step(web, office, slug, "calibration")
        office.post(f"/api/v1/calls/{slug}/transition", {"target": "ranking"})
        office.post(f"/api/v1/calls/{slug}/ranking/freeze")
        office.post(f"/api/v1/calls/{slug}/transition", {"target": "allocation"})
        run_step(web, office, slug, "allocation")  # the LDC share: berths only, not dives
        office.post(f"/api/v1/calls/{slug}/transition", {"target": "scheduling"})
        run_step(web, office, slug, "scheduling")
        office.post(f"/api/v1/calls/{slug}/release")
        assert office.post(f"/api/v1/calls/{slug}/publish")["status"] == "published"

    # ---- awards within what was offered, the LDC share of the berths kept
    anyone = web.client()
    by_pool: dict[str, float] = defaultdict(float)
    ldc_berths = 0.0
    awarded_codes = set()
    pools_of: dict[str, set[str]] = defaultdict(set)
    for slug in ("star-2028", "shots-2028"):
        for a in anyone.get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]:
            by_pool[a["pool"]] += a["amount"]
            awarded_codes.add(a["proposal_code"])
            pools_of[a["proposal_code"]].add(a["pool"])
            if a["unit"] == "berth" and country_of[a["proposal_code"]] in ldc:
                ldc_berths += a["amount"]
    berths = by_pool[leg1["name"]] + by_pool[leg2["name"]]
    assert by_pool[leg1["name"]] <= 8 and by_pool[leg2["name"]] <= 8 and berths == 16
    assert ldc_berths >= 0.4 * berths
    # nobody dives without a berth on leg 2, and every leg-2 berth holder dives
    assert by_pool["ROV dives (leg 2)"] == by_pool[leg2["name"]] and by_pool["Shots"] == 2
    for code, names in pools_of.items():
        assert (dives["name"] in names) == (leg2["name"] in names), code

    # ---- schedule: dives one a day inside leg 2, shots in the two slots of the day
    with web.factory() as s:
        slots = list(s.scalars(select(ScheduleEntry).where(ScheduleEntry.kind == "slot")))
    dive_days = sorted(e.start for e in slots if e.pool_id == dives["id"])
    assert len(dive_days) == len(set(dive_days)) == by_pool[dives["name"]]
    for e in slots:
        if e.pool_id == dives["id"]:
            assert e.end - e.start == dt.timedelta(hours=24)
            assert LEG2[0] <= e.start.date() and e.end.date() <= LEG2[1] + dt.timedelta(days=1)
    shot_slots = sorted((e.start, e.end) for e in slots if e.pool_id == shots["id"])
    day = dt.datetime.combine(SHOT_DAY, dt.time(), dt.UTC)
    assert shot_slots == [(day + dt.timedelta(hours=h), day + dt.timedelta(hours=h + 12))
                          for h in (0, 12)]  # fmt: skip

    # ---- every unit in the reader's words, never its key nor the English word
    es = signed_in(web, "office@oi.example", "es")
    page = text_of(es.get("/manage/calls/shots-2028/decisions").text)
    assert "de 2 disparos" in page and "2 shot" not in page
    zh = signed_in(web, "office@oi.example", "zh")
    page = text_of(zh.get("/manage/calls/star-2028/report").text)
    # (the report's table per resource names each resource as the operator named it)
    for own in ("Leg 1 berths", "Leg 2 berths", "ROV dives"):
        page = page.replace(own, "")
    assert "铺位" in page and "潜次" in page and not re.search(r"\d berths|\d dives", page)
    csv = zh.get("/manage/calls/star-2028/report.csv").text
    assert "amount:berth,amount:dive" in csv.splitlines()[0]
    page = anyone.get("/calls/shots-2028/awarded", headers={"Accept-Language": "fr"}).text
    assert "1 tir" in page
    # a rejected applicant's outcome, in Spanish
    code = next(c for c in sorted(pis) if c.startswith("SH28") and c not in awarded_codes)
    pid, ac = pis[code]
    email = ac.get(f"/api/v1/proposals/{pid}/full")["members"][0]["email"]
    page = text_of(signed_in(web, email, "es").get(f"/proposals/{pid}/outcome").text)
    assert "de 2 disparos" in page and "2 shot" not in page

    # ---- after the award: the teams record the berths sailed and a publication
    for code in sorted(awarded_codes):
        pid, ac = pis[code]
        got = ac.get(f"/api/v1/awards/{pid}")
        assert got["kinds"] == ["other"]
        # the berth sailed (or the shot fired) is of that award, not of the ROV dives: an
        # award in more than one unit is told which (usecount17), so name it
        award = next((a for a in got["awards"] if a["unit"] != "dive"), got["awards"][0])
        ac.post(f"/api/v1/awards/{pid}/records", {
            "kind": "other", "award_id": award["id"],
            "data": {"description": "sailed / fired", "used_amount": 1, "completed": True}})  # fmt: skip
        if code.startswith("PS28") and country_of[code] in ldc:
            ac.post(f"/api/v1/awards/{pid}/outputs", {
                "title": "Seamount fauna", "year": 2029, "countries": [country_of[code]]})  # fmt: skip
    # one page holds them all
    stage_page = office.get("/api/v1/calls/star-2028/postaward", limit=200)
    assert stage_page["page"]["next_cursor"] is None
    stages = stage_page["items"]
    assert all(x["used"] and x["completed"] for x in stages)
    assert sum(x["produced_results"] for x in stages) == sum(
        country_of[c] in ldc for c in awarded_codes if c.startswith("PS28")
    )

    # ---- the report by income group, region and LDC status adds up to the awards
    report = office.get("/api/v1/calls/star-2028/report")
    assert sorted(report["call"]["units"]) == ["berth", "dive"]
    awarded = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert awarded["all"]["amounts"] == {"berth": berths, "dive": by_pool[dives["name"]]}
    assert awarded["LDC"]["amounts"]["berth"] == ldc_berths
    assert {"income_group", "un_region", "ldc"} <= set(report["funnels"])
