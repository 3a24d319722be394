"""A facility no preset was built for, through the JSON API on a fresh install:
a light source that offers two beamlines in 8-hour shifts (one of them down for a
maintenance week) and, beside them, a cluster's core-hours, a large continuous
amount with no calendar, counted in a unit the operator names in en/zh/fr/es.

Its shape differs from ``test_cryo_em_journey``: shifts of 8 hours rather than
24-hour sessions, a continuous resource without a calendar in the same call,
all-or-nothing bundles that mix two beamlines with core-hours, applicants from
least-developed countries, the request form's edge cases (a number at its limit
and past it, an empty optional choice, a huge target list, a file field, impossible
dates inside the maintenance week), a second call that may not over-commit, and
the public pages and exports checked for what they must not show.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import select

from opencall.people import services as people_services
from opencall.people.models import Country
from opencall.scheduling.models import ScheduleEntry
from tests.api.test_operator_journey import PASSWORD, Client, account, run_jobs, run_step
from tests.pdf_samples import plain_pdf
from tests.web.conftest import Web

# the journey's resources have periods in 2028 and its calls open "now": on a pinned clock,
# not the real date, which will one day pass them (tests/conftest.py, --clock-ahead)
pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

START, END = dt.date(2028, 1, 3), dt.date(2028, 3, 26)  # 12 weeks: 252 shifts of 8 h
MAINTENANCE = (dt.datetime(2028, 2, 7, tzinfo=dt.UTC), dt.datetime(2028, 2, 14, tzinfo=dt.UTC))
CORE_HOURS = {
    "en": {"one": "core-hour", "other": "core-hours"},
    "zh": {"one": "核时", "other": "核时"},
    "fr": {"one": "heure-cœur", "other": "heures-cœur"},
    "es": {"one": "hora-núcleo", "other": "horas-núcleo"},
}
FIELDS: list[dict[str, Any]] = [
    {"key": "sample", "type": "text", "labels": {"en": "Sample", "fr": "Échantillon"},
     "required": True, "max_length": 200},
    {"key": "energy", "type": "number", "labels": {"en": "Photon energy"}, "unit": "keV",
     "min": 5, "max": 30},
    {"key": "technique", "type": "choice", "labels": {"en": "Technique"},
     "options": ["SAXS", "WAXS", "XAS"]},
    {"key": "origin", "type": "coordinates", "labels": {"en": "Where the sample was taken"}},
    {"key": "grid", "type": "target_list", "labels": {"en": "Positions"}, "max_items": 1000},
    {"key": "safety", "type": "file", "labels": {"en": "Safety sheet"}},
]  # fmt: skip
APPLICANTS = ["ETH", "BGD", "NPL", "MWI", "SEN", "HTI", "KEN", "IND", "BOL", "BRA", "DEU", "FRA"]


def beamline(name: str, shifts: int, unavailable: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "unit": "shift",
        "amount": shifts,
        "period_start": START.isoformat(),
        "period_end": END.isoformat(),
        "slot_hours": 8,
        "unavailable": unavailable,
        "request_fields": FIELDS,
    }


def ask(
    ac: Client,
    pid: int,
    pool: int,
    amount: float,
    bundle: str | None = None,
    status: int | None = None,
    **details: Any,
) -> Any:
    """Add a request to proposal ``pid`` (at its current version)."""
    version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
    body = {
        "version": version, "kind": "custom", "pool_id": pool, "bundle": bundle,
        "details": {"amount": amount, "sample": "lateritic soil", **details},
    }  # fmt: skip
    return ac.post(f"/api/v1/proposals/{pid}/requests", body, status=status)


def test_a_light_source_with_a_cluster_through_the_api(web: Web) -> None:
    with web.factory() as s:
        ldc = {c.iso3 for c in s.scalars(select(Country)) if c.ldc}
        root, _link = people_services.create_site_admin(
            s, email="root@ls.example", name="Site Admin", password=PASSWORD
        )
        _t, raw = people_services.create_api_token(s, root, "setup")
        s.commit()
    admin = Client(web, raw)
    admin.post("/api/v1/providers", {"name": "Light Source", "slug": "ls", "country_iso3": "BRA"})
    office = account(web, "office@ls.example", "Office Head", country_iso3="BRA")
    admin.post(
        "/api/v1/providers/ls/roles", {"email": "office@ls.example", "role": "provider_admin"}
    )
    fac = office.post(
        "/api/v1/providers/ls/facilities",
        {"name": "Light Source and Cluster", "slug": "lsc", "kind": "custom"},
    )
    res = f"/api/v1/facilities/{fac['id']}/resources"
    maintenance = {
        "starts_at": MAINTENANCE[0].isoformat(),
        "ends_at": MAINTENANCE[1].isoformat(),
        "reason": "maintenance week",
    }
    # 252 shifts less the 21 of the maintenance week: one more is refused with the figures
    r = office.post(res, beamline("SAXS-1", 232, [maintenance]), status=400)
    assert "231" in r["detail"]
    saxs = office.post(res, beamline("SAXS-1", 231, [maintenance]))
    xas = office.post(res, beamline("XAS-2", 252, []))
    # the cluster: an operator-named unit, labels in four languages, no calendar
    r = office.post(
        res, {"name": "Cluster", "unit": "core-h", "amount": 5e7, "unit_labels": None}, status=400
    )
    assert "unit" in r["detail"].lower()
    cluster = office.post(
        res,
        {"name": "Cluster", "unit": "core-h", "unit_labels": CORE_HOURS, "amount": 5e7,
         "request_fields": [FIELDS[0]]},
    )  # fmt: skip
    assert cluster["calendar"]["slot_capacity"] is None
    assert cluster["unit_label_other"] == "core-hours"

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    call_body = {
        "provider": "ls", "facility": "lsc", "slug": "ls-2028", "code": "LS28",
        "title": "Beamtime and computing, first quarter 2028", "cycle": "2028Q1",
        "opens_at": (now - dt.timedelta(days=1)).isoformat(),
        "closes_at": (now + dt.timedelta(days=30)).isoformat(),
        "anonymity": "single",
        "review_settings": {"reviewers_per_proposal": 2, "max_load": 30},
        "allocation_policy": {"award_mode": "whole"},
    }  # fmt: skip
    office.post("/api/v1/calls", call_body)
    offers = {saxs["id"]: 12.0, xas["id"]: 12.0, cluster["id"]: 4e6}
    for pool_id, amount in offers.items():
        office.post("/api/v1/calls/ls-2028/pools", {"pool_id": pool_id, "amount": amount})
    # offering the same resource twice is refused, not a server error, and changes nothing
    r = office.post("/api/v1/calls/ls-2028/pools", {"pool_id": saxs["id"], "amount": 1}, status=400)
    assert "SAXS-1" in r["detail"]
    # a second call may take what is left of a beamline, and no more
    office.post("/api/v1/calls", {**call_body, "slug": "ls-2028-b", "code": "LS28B"})
    r = office.post(
        "/api/v1/calls/ls-2028-b/pools", {"pool_id": saxs["id"], "amount": 220}, status=400
    )
    assert "at most 219" in r["detail"]
    office.post("/api/v1/calls/ls-2028-b/pools", {"pool_id": saxs["id"]})  # what is left: 219
    assert office.get(f"/api/v1/resources/{saxs['id']}")["committed"] == 231
    r = office.post("/api/v1/calls/ls-2028-b/pools", {"pool_id": saxs["id"]}, status=400)
    assert "SAXS-1" in r["detail"]
    office.post("/api/v1/calls/ls-2028/transition", {"target": "open"})

    reviewers = {
        f"rev{i}@panel.example": account(
            web, f"rev{i}@panel.example", f"Reviewer {i}",
            country_iso3=["ITA", "IND", "KEN", "JPN"][i], institution=f"Panel University {i}",
        )
        for i in range(4)
    }  # fmt: skip
    for addr in reviewers:
        office.post(
            "/api/v1/providers/ls/roles", {"email": addr, "role": "reviewer", "call": "ls-2028"}
        )

    # ---- applicants: every third asks for a shift on each beamline and core-hours,
    # all or nothing; the others for shifts on one beamline
    country_of: dict[str, str] = {}
    bundles: set[str] = set()
    for i, iso3 in enumerate(APPLICANTS):
        ac = account(
            web, f"pi{i:02d}@applicants.example", f"Applicant{i:02d} Surname{i:02d}",
            country_iso3=iso3, institution=f"Institute {i:02d} of {iso3}",
        )  # fmt: skip
        p = ac.post(
            "/api/v1/proposals",
            {"call": "ls-2028", "title": f"Soil minerals of region {i}",
             "abstract": "Scattering on soil samples.", "science_case": "Fertility."},
        )  # fmt: skip
        pid = p["id"]

        if i == 0:  # the form's edge cases, each refused naming its field, changing nothing
            before = ac.get(f"/api/v1/proposals/{pid}/full")
            r = ask(ac, pid, saxs["id"], 2, status=400, energy=30.5)
            assert "Photon energy" in r["detail"] and "30" in r["detail"]
            r = ask(ac, pid, saxs["id"], 2, status=400, technique="XRD")
            assert "Technique" in r["detail"]
            r = ask(ac, pid, saxs["id"], 2, status=400, grid=[f"p{k}" for k in range(1001)])
            assert "Positions" in r["detail"] and "1000" in r["detail"]
            r = ask(ac, pid, saxs["id"], 2, status=400, origin={"lat": 91, "lon": 38})
            assert "latitude" in r["detail"]
            r = ask(ac, pid, saxs["id"], 1.5, status=400)
            assert "whole number" in r["detail"]
            r = ask(ac, pid, saxs["id"], 13, status=400)
            assert "12" in r["detail"]
            r = ask(
                ac,
                pid,
                cluster["id"],
                1000,
                status=400,
                impossible_dates=[["2028-02-08", "2028-02-09"]],
            )
            assert "slots" in r["detail"]
            assert ac.get(f"/api/v1/proposals/{pid}/full") == before
        if i % 3 == 0:
            ask(ac, pid, saxs["id"], 1, bundle="multi", energy=30, technique="", origin={"lat": 9.03, "lon": 38.74},
                grid=[{"name": f"p{k}", "ra_deg": k * 0.3, "dec_deg": -5} for k in range(1000)],
                impossible_dates=[["2028-02-08", "2028-02-10"]])  # fmt: skip
            ask(ac, pid, xas["id"], 1, bundle="multi", safety="msds.pdf", bundle_together=True)
            p = ask(ac, pid, cluster["id"], 250_000.5, bundle="multi")
            bundles.add(p["code"])
            if i == 0:  # the file field names a file not attached yet: submission waits
                r = ac.post(f"/api/v1/proposals/{pid}/submit", status=400)
                assert "Safety sheet" in r["detail"] and "msds.pdf" in r["detail"]
            r = ac.http.post(
                f"/api/v1/proposals/{pid}/attachments",
                headers=ac.headers,
                data={"version": str(p["version"])},
                files={"file": ("msds.pdf", plain_pdf(), "application/pdf")},
            )
            assert r.status_code == 201, r.text
        else:
            p = ask(ac, pid, [saxs, xas][i % 2]["id"], 2, energy=5, technique="SAXS")
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        assert p["status"] == "submitted", p
        country_of[p["code"]] = iso3
    assert len(bundles) == 4

    # ---- close, review, rank, allocate, schedule, release, publish
    office.post("/api/v1/calls/ls-2028/transition", {"target": "closed", "reason": "deadline"})
    office.post("/api/v1/calls/ls-2028/transition", {"target": "review"})
    for step in ("conflicts", "affinity", "assignment"):
        job = office.post(f"/api/v1/calls/ls-2028/steps/{step}", {"seed": 1})
        run_jobs(web)
        assert office.get(f"/api/v1/jobs/{job['id']}")["status"] == "done"
    for k, rc in enumerate(reviewers.values()):
        for a in rc.get("/api/v1/assignments", limit=200)["items"]:
            rc.post(f"/api/v1/assignments/{a['id']}/respond", {"accept": True})
            grade = 4.5 if a["proposal_code"] in bundles else 3.0 + (k % 2) * 0.5
            rc.post(
                f"/api/v1/assignments/{a['id']}/review",
                {"grade": grade, "confidence": 4, "comments_to_applicants": "Sound plan."},
            )
    run_step(web, office, "ls-2028", "calibration")
    office.post("/api/v1/calls/ls-2028/transition", {"target": "ranking"})
    office.post("/api/v1/calls/ls-2028/ranking/freeze")
    office.post("/api/v1/calls/ls-2028/transition", {"target": "allocation"})
    run_step(web, office, "ls-2028", "allocation")
    office.post("/api/v1/calls/ls-2028/transition", {"target": "scheduling"})
    run_step(web, office, "ls-2028", "scheduling")
    office.post("/api/v1/calls/ls-2028/release")
    assert office.post("/api/v1/calls/ls-2028/publish")["status"] == "published"

    # ---- awards: within what the call offers, in each resource's unit, bundles whole
    anyone = web.client()
    awards = anyone.get("/api/v1/calls/ls-2028/awards?limit=200").json()["items"]
    by_pool: dict[str, float] = defaultdict(float)
    pools_of: dict[str, set[str]] = defaultdict(set)
    for a in awards:
        by_pool[a["pool"]] += a["amount"]
        pools_of[a["proposal_code"]].add(a["pool"])
        assert a["unit"] == ("core-h" if a["pool"] == "Cluster" else "shift")
    assert by_pool["SAXS-1"] <= 12 and by_pool["XAS-2"] <= 12 and by_pool["Cluster"] <= 4e6
    for c in bundles:
        assert pools_of.get(c, set()) in (set(), {"SAXS-1", "XAS-2", "Cluster"}), c
    assert any(pools_of.get(c) for c in bundles), "no bundle was awarded"

    # ---- schedule: 8-hour shifts, none in the maintenance week nor on impossible dates
    with web.factory() as s:
        slots = list(s.scalars(select(ScheduleEntry).where(ScheduleEntry.kind == "slot")))
    shifts = by_pool["SAXS-1"] + by_pool["XAS-2"]
    assert len(slots) == shifts
    for e in slots:
        assert e.end - e.start == dt.timedelta(hours=8)
        if e.pool_id == saxs["id"]:
            assert e.end <= MAINTENANCE[0] or e.start >= MAINTENANCE[1], e.start

    # ---- the unit in every language, and the report by income, region and LDC status
    page = anyone.get("/calls/ls-2028/awarded", headers={"Accept-Language": "zh"})
    assert page.status_code == 200 and "250,000.5 核时" in page.text  # never 250000 core-h
    report = office.get("/api/v1/calls/ls-2028/report")
    assert sorted(report["call"]["units"]) == ["core-h", "shift"]
    assert {"income_group", "un_region", "ldc"} <= set(report["funnels"])
    awarded = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert awarded["all"]["amounts"]["shift"] == pytest.approx(shifts)
    assert ldc & set(country_of.values())
