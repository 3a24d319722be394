"""A facility of a kind no preset has, run through the JSON API on a fresh install.

A cryo-electron-microscopy centre with two microscopes that offer 24-hour sessions
over three months, one of them down for a maintenance week; a dual-anonymous call
with a policy of at most 3 sessions per PI and at least 30 % of the sessions to
applicants from low- and lower-middle-income countries graded above a quality
threshold; six reviewers recruited by invitation; 30 applicants from more than 20
countries, some asking for screening on one microscope plus data collection on the
other as one all-or-nothing bundle. Then review, rank, allocate, schedule into
sessions, release, publish, and read the who-benefits report.

Outside the API, as in ``test_operator_journey``: the first administrator (its
service), accounts and tokens, e-mailed links and the job worker.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import select

from opencall.people import services as people_services
from opencall.people.models import Country
from opencall.scheduling.models import ScheduleEntry
from tests.api.test_operator_journey import (
    APPLICANTS,
    PASSWORD,
    Client,
    account,
    mail_links,
    run_jobs,
    run_step,
)
from tests.web.conftest import Web

# the journey's resources have periods in 2028 and its calls open "now": on a pinned clock,
# not the real date, which will one day pass them (tests/conftest.py, --clock-ahead)
pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

START, END = dt.date(2028, 1, 3), dt.date(2028, 4, 2)  # three months: 91 days, inclusive
MAINTENANCE = (
    dt.datetime(2028, 2, 7, tzinfo=dt.UTC),
    dt.datetime(2028, 2, 14, tzinfo=dt.UTC),
)
KRIOS_OFFERED = 40.0  # sessions this call offers of the data-collection microscope
GLACIOS_OFFERED = 20.0  # ... and of the screening microscope
PI_CAP = 3.0
THRESHOLD = 2.5  # the share counts proposals graded at least this (1-5, higher is better)
SESSION_LABELS = {
    "en": {"one": "session", "other": "sessions"},
    "fr": {"one": "séance", "other": "séances"},
    "zh": {"one": "时段", "other": "时段"},
    "es": {"one": "sesión", "other": "sesiones"},
}
FIELDS = [
    {"key": "specimen", "type": "text", "labels": {"en": "Specimen"}, "required": True},
    {
        "key": "grid",
        "type": "choice",
        "labels": {"en": "Grid type"},
        "options": ["Quantifoil", "C-flat", "UltrAuFoil"],
        "required": True,
    },
    {
        "key": "particle_nm",
        "type": "number",
        "labels": {"en": "Particle size"},
        "unit": "nm",
        "min": 1,
        "max": 1000,
    },
]


def microscope(name: str, unavailable: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "unit": "session",
        "unit_labels": SESSION_LABELS,
        "amount": 91 - 7 * len(unavailable),
        "period_start": START.isoformat(),
        "period_end": END.isoformat(),
        "slot_hours": 24,
        "unavailable": unavailable,
        "request_fields": FIELDS,
    }


def request(version: int, pool_id: int, sessions: int, bundle: str | None = None) -> dict[str, Any]:
    return {
        "version": version,
        "kind": "custom",
        "pool_id": pool_id,
        "details": {
            "amount": sessions,
            "specimen": "apoferritin in vitreous ice",
            "grid": "Quantifoil",
            "particle_nm": 12,
            **({"bundle_together": True} if bundle else {}),
        },
        "bundle": bundle,
    }


def test_a_cryo_em_centre_through_the_api(web: Web, one_loop: None) -> None:
    with web.factory() as s:
        income = {c.iso3: c.income_group for c in s.scalars(select(Country))}
        root, _link = people_services.create_site_admin(
            s, email="root@cryo.example", name="Site Admin", password=PASSWORD
        )
        _t, raw = people_services.create_api_token(s, root, "setup")
        s.commit()
    admin = Client(web, raw)
    admin.post(
        "/api/v1/providers", {"name": "Cryo-EM Centre", "slug": "cryo", "country_iso3": "ZAF"}
    )
    office = account(web, "office@cryo.example", "Office Head", country_iso3="ZAF")
    admin.post(
        "/api/v1/providers/cryo/roles", {"email": "office@cryo.example", "role": "provider_admin"}
    )

    # ---- the facility, a kind no preset has: two microscopes, 24-hour sessions
    fac = office.post(
        "/api/v1/providers/cryo/facilities",
        {"name": "National Cryo-EM Centre", "slug": "cryo-em", "kind": "custom"},
    )
    maintenance = {
        "starts_at": MAINTENANCE[0].isoformat(),
        "ends_at": MAINTENANCE[1].isoformat(),
        "reason": "annual maintenance of the autoloader",
    }
    # bad input changes nothing: an unknown unit, overlapping maintenance, a field out of range
    bad_unit = {**microscope("Krios G4", []), "unit": "parsec", "unit_labels": None}
    r = office.post(f"/api/v1/facilities/{fac['id']}/resources", bad_unit, status=400)
    assert "unit" in r["detail"].lower()
    overlapping = microscope("Glacios", [maintenance, {**maintenance, "reason": "again"}])
    r = office.post(f"/api/v1/facilities/{fac['id']}/resources", overlapping, status=400)
    assert "overlap" in r["detail"].lower()
    assert office.get(f"/api/v1/facilities/{fac['id']}")["resources"] == []
    krios = office.post(f"/api/v1/facilities/{fac['id']}/resources", microscope("Krios G4", []))
    glacios = office.post(
        f"/api/v1/facilities/{fac['id']}/resources", microscope("Glacios", [maintenance])
    )
    cal = office.get(f"/api/v1/resources/{glacios['id']}/calendar")
    assert cal["slot_capacity"] == 84 and cal["unavailable"][0]["reason"].startswith("annual")
    assert krios["unit_label_one"] == "session" and krios["unit_label_other"] == "sessions"

    # ---- a dual-anonymous call offering part of each microscope, with the policy
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    call_body = {
        "provider": "cryo",
        "facility": "cryo-em",
        "slug": "cryo-2028",
        "code": "CE28",
        "title": "Cryo-EM sessions, first quarter 2028",
        "cycle": "2028Q1",
        "opens_at": (now - dt.timedelta(days=1)).isoformat(),
        "closes_at": (now + dt.timedelta(days=30)).isoformat(),
        "anonymity": "dual",
        "review_settings": {"reviewers_per_proposal": 3, "max_load": 25},
        "allocation_policy": {
            "award_mode": "whole",
            "pi_cap_amount": PI_CAP,
            "group_shares": [{"group": "low_lmic", "min_share": 0.3, "min_quality": THRESHOLD}],
        },
    }
    office.post("/api/v1/calls", call_body)
    office.post("/api/v1/calls/cryo-2028/pools", {"pool_id": krios["id"], "amount": KRIOS_OFFERED})
    office.post(
        "/api/v1/calls/cryo-2028/pools", {"pool_id": glacios["id"], "amount": GLACIOS_OFFERED}
    )
    # a second call may not over-commit a microscope
    office.post("/api/v1/calls", {**call_body, "slug": "cryo-2028-b", "code": "CE28B"})
    r = office.post(
        "/api/v1/calls/cryo-2028-b/pools", {"pool_id": krios["id"], "amount": 60.0}, status=400
    )
    assert "Krios G4" in r["detail"]
    assert office.get("/api/v1/resources/{}".format(krios["id"]))["committed"] == KRIOS_OFFERED
    office.post("/api/v1/calls/cryo-2028/transition", {"target": "open"})

    chair = account(web, "chair@cryo.example", "Panel Chair", country_iso3="FRA")
    office.post(
        "/api/v1/providers/cryo/roles",
        {"email": "chair@cryo.example", "role": "chair", "call": "cryo-2028"},
    )
    reviewers = {
        f"rev{i}@panel.example": account(
            web,
            f"rev{i}@panel.example",
            f"Reviewer {i}",
            country_iso3=["ITA", "IND", "BRA", "KEN", "JPN", "CAN"][i],
            institution=f"Panel University {i}",
        )
        for i in range(6)
    }
    chair.post("/api/v1/calls/cryo-2028/reviewer-invitations", {"emails": sorted(reviewers)})
    run_jobs(web)
    links = mail_links(web, r"/review/invitations/(\S+)")
    for addr, rc in reviewers.items():
        rc.post(
            "/api/v1/review-invitations/answer",
            {"token": links[addr], "accept": True, "max_load": 25},
        )
    pool = chair.get("/api/v1/calls/cryo-2028/reviewer-pool")["items"]
    assert {m["email"] for m in pool} == set(reviewers)

    # ---- 30 applicants; every third asks for a screening + data-collection bundle
    pi_of: dict[str, int] = {}
    country_of: dict[str, str] = {}
    bundles: set[str] = set()
    for i, (iso3, twice) in enumerate(APPLICANTS):
        ac = account(
            web,
            f"pi{i:02d}@applicants.example",
            f"Applicant{i:02d} Surname{i:02d}",
            country_iso3=iso3,
            institution=f"Institute {i:02d} of {iso3}",
        )
        for k in range(2 if twice else 1):
            p = ac.post(
                "/api/v1/proposals",
                {
                    "call": "cryo-2028",
                    "title": f"Structure of a membrane transporter, study {i}-{k}",
                    "abstract": "Single-particle analysis of a transporter in nanodiscs.",
                    "science_case": "The structure explains how the drug is exported.",
                },
            )
            if i % 3 == 0 and k == 0:
                p = ac.post(
                    f"/api/v1/proposals/{p['id']}/requests",
                    request(p["version"], glacios["id"], 1, bundle="screen-collect"),
                )
                p = ac.post(
                    f"/api/v1/proposals/{p['id']}/requests",
                    request(p["version"], krios["id"], 2, bundle="screen-collect"),
                )
                bundles.add(p["code"])
            else:
                # a field out of range is refused, naming it, and adds nothing
                bad = request(p["version"], krios["id"], 2)
                bad["details"]["particle_nm"] = 5000
                r = ac.post(f"/api/v1/proposals/{p['id']}/requests", bad, status=400)
                assert "Particle size" in r["detail"]
                p = ac.post(
                    f"/api/v1/proposals/{p['id']}/requests",
                    request(p["version"], krios["id"], 2),
                )
            assert len(p["requests"]) in (1, 2)
            p = ac.post(f"/api/v1/proposals/{p['id']}/submit")
            assert p["status"] == "submitted", p
            pi_of[p["code"]] = i
            country_of[p["code"]] = iso3
    assert len(pi_of) == 35 and len(set(country_of.values())) >= 20 and len(bundles) == 10

    # ---- close, review, rank, allocate, schedule
    office.post(
        "/api/v1/calls/cryo-2028/transition", {"target": "closed", "reason": "all proposals in"}
    )
    office.post("/api/v1/calls/cryo-2028/transition", {"target": "review"})
    for step in ("conflicts", "affinity", "assignment"):
        job = chair.post(f"/api/v1/calls/cryo-2028/steps/{step}", {"seed": 1})
        run_jobs(web)
        assert chair.get(f"/api/v1/jobs/{job['id']}")["status"] == "done"
    grade_of = {
        c: (3.0 if income[country_of[c]] in ("low", "lower-middle") else 4.4) + (pi_of[c] % 5) * 0.1
        for c in pi_of
    }
    for rc in reviewers.values():
        for a in rc.get("/api/v1/assignments", limit=200)["items"]:
            rc.post(f"/api/v1/assignments/{a['id']}/respond", {"accept": True})
            rc.post(
                f"/api/v1/assignments/{a['id']}/review",
                {
                    "grade": grade_of[a["proposal_code"]],
                    "confidence": 4,
                    "comments_to_applicants": "A clear plan for the sessions asked for.",
                },
            )
    run_step(web, chair, "cryo-2028", "calibration")
    office.post("/api/v1/calls/cryo-2028/transition", {"target": "ranking"})
    chair.post("/api/v1/calls/cryo-2028/ranking/freeze")
    office.post("/api/v1/calls/cryo-2028/transition", {"target": "allocation"})
    run_step(web, chair, "cryo-2028", "allocation")
    office.post("/api/v1/calls/cryo-2028/transition", {"target": "scheduling"})
    run_step(web, chair, "cryo-2028", "scheduling")
    chair.post("/api/v1/calls/cryo-2028/release")
    assert office.post("/api/v1/calls/cryo-2028/publish")["status"] == "published"

    # ---- the awards: units, cap, share, bundles
    anyone = web.client()
    awards = anyone.get("/api/v1/calls/cryo-2028/awards?limit=200").json()["items"]
    assert awards and all(a["unit"] == "session" for a in awards)
    amount_of: dict[str, float] = defaultdict(float)
    by_pool: dict[str, float] = defaultdict(float)
    pools_of: dict[str, set[str]] = defaultdict(set)
    for a in awards:
        amount_of[a["proposal_code"]] += a["amount"]
        by_pool[a["pool"]] += a["amount"]
        pools_of[a["proposal_code"]].add(a["pool"])
    assert by_pool["Krios G4"] <= KRIOS_OFFERED + 1e-9
    assert by_pool["Glacios"] <= GLACIOS_OFFERED + 1e-9
    per_pi: Counter[int] = Counter()
    for c, v in amount_of.items():
        per_pi[pi_of[c]] += int(v)
    assert max(per_pi.values()) <= PI_CAP  # at most 3 sessions per PI
    total = sum(amount_of.values())
    low = sum(v for c, v in amount_of.items() if income[country_of[c]] in ("low", "lower-middle"))
    assert low / total >= 0.3 - 1e-9  # the share, above the threshold (all low are >= 3.0)
    for c in bundles:  # screening and data collection together, or neither
        assert pools_of.get(c, set()) in (set(), {"Glacios", "Krios G4"}), c
    assert any(pools_of.get(c) for c in bundles), "no bundle was awarded"

    # ---- the schedule: 24-hour sessions, none in the maintenance week
    with web.factory() as s:
        slots = list(s.scalars(select(ScheduleEntry).where(ScheduleEntry.kind == "slot")))
    assert slots and sum(1 for _ in slots) == int(total)
    for e in slots:
        assert e.start is not None and e.end is not None
        assert e.end - e.start == dt.timedelta(hours=24)
        if e.pool_id == glacios["id"]:
            assert e.end <= MAINTENANCE[0] or e.start >= MAINTENANCE[1], e.start
    ics = anyone.get(f"/calls/cryo-2028/resources/{glacios['id']}/calendar.ics")
    assert ics.status_code == 200
    for ev in Calendar.from_ical(ics.content).walk("VEVENT"):
        start, end = ev.decoded("DTSTART"), ev.decoded("DTEND")
        if "maintenance" not in str(ev.get("SUMMARY", "")).lower():
            assert end <= MAINTENANCE[0] or start >= MAINTENANCE[1]

    # ---- published pages and the who-benefits report speak of sessions, never seats
    page = anyone.get("/calls/cryo-2028/awarded")
    assert page.status_code == 200
    assert "session" in page.text and "seat" not in page.text.lower()
    report = office.get("/api/v1/calls/cryo-2028/report")
    assert report["call"]["units"] == ["session"]
    rows = {r["group"]: r for r in report["funnels"]["income_group"] if r["stage"] == "awarded"}
    assert rows["all"]["amount_awarded"] == pytest.approx(total)
    assert "seat" not in str(report).lower()
