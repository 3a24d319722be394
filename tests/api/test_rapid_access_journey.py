"""A light source's rapid-access route beside its general call, and its mail-in service,
set up by the operator through the JSON API and the pages on a fresh install.

What differs from the other journeys: two calls of one facility are open at the same time
on the same beamline (the general call for the period and a rapid-access call, small
requests, a few days from submission to decision), and the rapid call is decided and
scheduled while the beamline's period has already begun and the general call is still
open; a mail-in service measures the applicants' samples at the facility (a unit of the
operator's own, whole samples, no calendar, no travel), followed after the award by the
shipment of the samples *to* the facility and the measurement done there.
An operator checks at each step: the figures and units, shifts only in the future and
never on one the other call booked, nobody shown what they may not see, and the report
by income group, UN region and LDC status.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import select

from opencall.calls.models import Call
from opencall.people.models import Country
from opencall.scheduling.models import ScheduleEntry
from tests.api.test_operator_journey import (
    calibrate_to_schedule,
    close_and_assign,
    run_step,
    text_of,
)
from tests.journeys import (  # noqa: F401  (ask, signed_in: imported from here by others)
    Client,
    account,
    ask,
    open_facility,
    resource,
    signed_in,
)
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")

SAMPLES = {
    "en": {"one": "sample", "other": "samples"},
    "zh": {"one": "个样品", "other": "个样品"},
    "fr": {"one": "échantillon", "other": "échantillons"},
    "es": {"one": "muestra", "other": "muestras"},
}
MAIL_IN_FIELDS: list[dict[str, Any]] = [
    {"key": "composition", "type": "text", "required": True, "max_length": 200,
     "labels": {"en": "Nominal composition", "fr": "Composition nominale"}},
    {"key": "hazard", "type": "choice", "required": True, "options": ["none", "toxic"],
     "labels": {"en": "Hazard class", "fr": "Classe de danger"}},
]  # fmt: skip
BEAM_FIELDS: list[dict[str, Any]] = [
    {"key": "edge", "type": "choice", "required": True, "options": ["Fe K", "Cu K", "Zn K"],
     "labels": {"en": "Absorption edge"}},
]  # fmt: skip
# the rapid route: LDC and low-income applicants among them
RAPID = ["LAO", "KHM", "MMR", "NPL", "BGD", "TLS", "VNM", "IDN", "PHL", "THA", "JPN", "AUS"]
GENERAL = ["LAO", "KHM", "VNM", "IND", "THA", "KOR", "DEU", "MNG"]


def reviews(reviewers: list[Client], slug: str) -> None:
    """Every reviewer accepts and grades what the call ``slug`` assigned them."""
    for rc in reviewers:
        for a in rc.get("/api/v1/assignments", limit=200)["items"]:
            if a["call"] != slug:
                continue
            rc.post(f"/api/v1/assignments/{a['id']}/respond", {"accept": True})
            rc.post(f"/api/v1/assignments/{a['id']}/review", {
                "grade": 3.0 + (a["id"] % 5) * 0.4, "confidence": 4,
                "comments_to_applicants": "Feasible in the time asked."})  # fmt: skip


def slots_of(web: Web, call_slug: str) -> list[ScheduleEntry]:
    with web.factory() as s:
        call_id = s.scalar(select(Call.id).where(Call.slug == call_slug))
        return list(
            s.scalars(
                select(ScheduleEntry).where(
                    ScheduleEntry.call_id == call_id, ScheduleEntry.kind == "slot"
                )
            )
        )


def test_rapid_access_beside_a_general_call_and_mail_in(web: Web, one_loop: None) -> None:
    with web.factory() as s:
        ldc = {c.iso3 for c in s.scalars(select(Country)) if c.ldc}
    _admin, office, fac = open_facility(
        web, "sls", "Siam Light Source", "THA",
        {"name": "Beamlines and mail-in services", "slug": "sls-bl", "kind": "custom"},
        office_name="Office Head",
    )  # fmt: skip

    # ---- the beamline's period has begun a week ago; a maintenance week lies ahead. Its
    # shifts run 08:00-16:00, 16:00-24:00 and 00:00-08:00 in Bangkok (UTC+7): the days
    # of its period begin at 01:00 UTC
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    today = now.date()
    start, end = today - dt.timedelta(days=7), today + dt.timedelta(days=62)
    days = (end - start).days + 1
    m0 = dt.datetime.combine(today + dt.timedelta(days=20), dt.time(1), dt.UTC)
    maintenance = {"starts_at": m0.isoformat(),
                   "ends_at": (m0 + dt.timedelta(days=7)).isoformat(), "reason": "maintenance"}  # fmt: skip
    shifts = 3 * days - 21
    bl = resource(office, fac, {
        "name": "BL1.1 XAS", "unit": "shift", "amount": shifts, "slot_hours": 8,
        "day_start_hour": 1, "period_start": start.isoformat(), "period_end": end.isoformat(),
        "unavailable": [maintenance], "request_fields": BEAM_FIELDS})  # fmt: skip
    assert bl["calendar"]["slot_capacity"] == shifts
    assert bl["calendar"]["day_start_hour"] == 1
    page = text_of(
        signed_in(web, "office@sls.example", "fr").get(f"/manage/resources/{bl['id']}").text
    )
    assert "Les jours commencent à 01:00 UTC" in page
    # the mail-in service: whole samples in a unit of the operator's own, no calendar,
    # followed after the award by the shipment of the samples and the measurement
    r = resource(office, fac, {"name": "Mail-in XRD", "unit": "sample", "unit_labels": SAMPLES,
                               "whole_units": True, "amount": 300.5}, status=400)  # fmt: skip
    assert "whole" in r["detail"]
    mail = resource(office, fac, {
        "name": "Mail-in XRD", "unit": "sample", "unit_labels": SAMPLES, "whole_units": True,
        "amount": 300, "request_fields": MAIL_IN_FIELDS,
        "record_kinds": ["shipment", "other"]})  # fmt: skip
    assert mail["calendar"]["slot_capacity"] is None and mail["unit_label_other"] == "samples"

    # ---- two calls open at once on the same beamline
    general = {
        "provider": "sls", "facility": "sls-bl", "slug": "sls-gup", "code": "GUP",
        "cycle": "2027-1", "title": "General user proposals",
        "opens_at": (now - dt.timedelta(days=2)).isoformat(),
        # the operator types Bangkok time; the call stores and shows the instant in UTC
        "closes_at": (now + dt.timedelta(days=10)).astimezone(
            dt.timezone(dt.timedelta(hours=7))).isoformat(),
        "anonymity": "single",
        "review_settings": {"reviewers_per_proposal": 2, "max_load": 40},
        "allocation_policy": {"award_mode": "whole"},
    }  # fmt: skip
    office.post("/api/v1/calls", general)
    office.post("/api/v1/calls/sls-gup/pools",
                {"pool_id": bl["id"], "amount": 60, "max_per_request": 12})  # fmt: skip
    rapid = {
        **general, "slug": "sls-rapid", "code": "RA", "cycle": "rapid-1",
        "title": "Rapid access: beamtime and mail-in",
        "closes_at": (now + dt.timedelta(days=3)).isoformat(),
        "review_settings": {"reviewers_per_proposal": 1, "max_load": 40},
        "allocation_policy": {"award_mode": "whole",
                              "group_shares": [{"group": "ldc", "min_share": 0.3}]},
    }  # fmt: skip
    office.post("/api/v1/calls", rapid)
    # the beamline's shifts left to the rapid route, of those not begun (the period's
    # first week is over: its shifts are offered to nobody): one more than left is refused
    not_begun = office.get(f"/api/v1/resources/{bl['id']}")["calendar"]["slots_not_begun"]
    assert shifts - 3 * 8 <= not_begun <= shifts - 3 * 7
    left = not_begun - 60
    r = office.post("/api/v1/calls/sls-rapid/pools",
                    {"pool_id": bl["id"], "amount": left + 1}, status=400)  # fmt: skip
    assert f"at most {left}" in r["detail"]
    office.post("/api/v1/calls/sls-rapid/pools",
                {"pool_id": bl["id"], "amount": 12, "max_per_request": 2})  # fmt: skip
    office.post("/api/v1/calls/sls-rapid/pools", {
        "pool_id": mail["id"], "amount": 60, "max_per_request": 10, "min_per_request": 2})  # fmt: skip
    for slug in ("sls-gup", "sls-rapid"):
        office.post(f"/api/v1/calls/{slug}/transition", {"target": "open"})
    anyone = web.client()
    listed = {c["slug"]: c for c in anyone.get("/api/v1/calls").json()["items"]}
    assert {"sls-gup", "sls-rapid"} <= set(listed)
    got = office.get("/api/v1/calls/sls-gup")
    closes = dt.datetime.fromisoformat(got["closes_at"])
    assert closes.utcoffset() == dt.timedelta(0) and closes == now + dt.timedelta(days=10)

    reviewers = []
    for i, iso3 in enumerate(["FRA", "CHN", "BRA", "ZAF"]):
        reviewers.append(account(web, f"rev{i}@panel.example", f"Reviewer {i}",
                                 country_iso3=iso3, institution=f"Panel Institute {i}"))  # fmt: skip
        office.post("/api/v1/providers/sls/roles",
                    {"email": f"rev{i}@panel.example", "role": "reviewer"})  # fmt: skip

    # ---- the rapid route: one or two shifts, or a few mailed-in samples
    country_of: dict[str, str] = {}
    pis: dict[str, tuple[int, Client, str]] = {}
    for i, iso3 in enumerate(RAPID):
        address = f"ra{i:02d}@applicants.example"
        ac = account(web, address, f"Rapid Applicant {i}", country_iso3=iso3,
                     institution=f"University {i} of {iso3}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": "sls-rapid", "title": f"Iron speciation in soils of {iso3}",
            "abstract": "Quick XAS check.", "science_case": "Fertility."})  # fmt: skip
        pid = p["id"]
        if i == 0:  # the route's limits, each refused with its figures, nothing changed
            before = ac.get(f"/api/v1/proposals/{pid}/full")
            r = ask(ac, pid, bl["id"], 3, status=400, edge="Fe K")
            assert "2" in r["detail"]
            r = ask(ac, pid, mail["id"], 1, status=400, composition="Fe2O3", hazard="none")
            assert "2" in r["detail"]
            r = ask(ac, pid, mail["id"], 4.5, status=400, composition="Fe2O3", hazard="none")
            assert "whole" in r["detail"]
            r = ask(ac, pid, mail["id"], 4, status=400, composition="UO2", hazard="radioactive")
            assert "Hazard class" in r["detail"]
            assert ac.get(f"/api/v1/proposals/{pid}/full") == before
        if i % 2 == 0:
            p = ask(ac, pid, bl["id"], 1 + i % 4 // 2, edge="Fe K")
        if i % 2 == 1 or i % 3 == 0:
            p = ask(ac, pid, mail["id"], 4 + i % 5, composition="goethite", hazard="none")
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        assert p["status"] == "submitted", p
        country_of[p["code"]] = iso3
        pis[p["code"]] = (pid, ac, address)

    # the general call's applicants, the first of them also on the rapid route
    general_pis: dict[str, tuple[int, Client, str]] = {}
    for i, iso3 in enumerate(GENERAL):
        address = f"gu{i:02d}@applicants.example"
        if i == 0:
            _pid, ac, address = pis[min(pis)]
        else:
            ac = account(web, address, f"General Applicant {i}", country_iso3=iso3,
                         institution=f"Institute {i} of {iso3}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": "sls-gup", "title": f"Catalyst operando study {i}",
            "abstract": "Operando XAS.", "science_case": "Cheaper fertiliser."})  # fmt: skip
        p = ask(ac, p["id"], bl["id"], 6 + i % 6, edge="Cu K")
        p = ac.post(f"/api/v1/proposals/{p['id']}/submit")
        general_pis[p["code"]] = (p["id"], ac, address)
        country_of[p["code"]] = iso3

    # ---- the rapid call is decided while the general call is still open
    office.post("/api/v1/calls/sls-rapid/transition",
                {"target": "closed", "reason": "rapid round"})  # fmt: skip
    office.post("/api/v1/calls/sls-rapid/transition", {"target": "review"})
    for step in ("conflicts", "affinity", "assignment"):
        run_step(web, office, "sls-rapid", step)
    # the rapid round is closed: a late proposal is refused with the reason, none made
    late = account(web, "late@applicants.example", "Late Applicant", country_iso3="NPL")
    r = late.post("/api/v1/proposals", {"call": "sls-rapid", "title": "Late request",
                                        "abstract": "x", "science_case": "y"}, status=400)  # fmt: skip
    assert "closed" in r["detail"].lower() or "not open" in r["detail"].lower(), r
    assert late.get("/api/v1/proposals")["page"]["total"] == 0
    # the public page of the rapid call: the route's limits in the reader's words
    page = text_of(anyone.get("/calls/sls-rapid", headers={"Accept-Language": "fr"}).text)
    assert "échantillons" in page and "10" in page, page
    reviews(reviewers, "sls-rapid")
    calibrate_to_schedule(web, office, "sls-rapid")
    office.post("/api/v1/calls/sls-rapid/release")
    assert office.post("/api/v1/calls/sls-rapid/publish")["status"] == "published"
    assert office.get("/api/v1/calls/sls-gup")["status"] == "open"

    awards = anyone.get("/api/v1/calls/sls-rapid/awards?limit=200").json()["items"]
    by_pool: dict[str, float] = defaultdict(float)
    for a in awards:
        assert a["amount"] == int(a["amount"])
        assert a["unit"] == ("shift" if a["pool"] == "BL1.1 XAS" else "sample")
        by_pool[a["pool"]] += a["amount"]
    assert 0 < by_pool["BL1.1 XAS"] <= 12 and 0 < by_pool["Mail-in XRD"] <= 60

    # the next rapid round: what round 1 did not award returns to the beamline
    office.post("/api/v1/calls", {**rapid, "slug": "sls-rapid-2", "code": "RA2",
                                  "cycle": "rapid-2", "title": "Rapid access, round 2"})  # fmt: skip
    held = 60 + by_pool["BL1.1 XAS"]
    assert office.get(f"/api/v1/resources/{bl['id']}")["committed"] == held
    got = office.post("/api/v1/calls/sls-rapid-2/pools", {"pool_id": bl["id"]})
    not_begun = office.get(f"/api/v1/resources/{bl['id']}")["calendar"]["slots_not_begun"]
    assert [p["amount"] for p in got["pools"]] == [not_begun - held]

    # the report's trend over the facility's cycles: only calls that have decided (the
    # general call still open and round 2 still a draft have no access figures yet)
    trend = office.get("/api/v1/calls/sls-rapid/report")["trend"]
    # (one entry a cycle and unit: the beamline's shifts and the mail-in samples apart)
    assert sorted((t["cycle"], t["unit"]) for t in trend) == [
        ("rapid-1", "sample"),
        ("rapid-1", "shift"),
    ], trend

    # the rapid shifts: 8 hours each, none already begun, none in the maintenance week
    scheduled = office.get("/api/v1/calls/sls-rapid/schedule", limit=200)["items"]
    rapid_slots = slots_of(web, "sls-rapid")
    assert len(rapid_slots) == by_pool["BL1.1 XAS"]
    for e in rapid_slots:
        assert e.start is not None and e.end is not None
        assert e.end - e.start == dt.timedelta(hours=8)
        assert e.start.hour in (1, 9, 17) and e.start.minute == 0, e.start  # Bangkok's shifts
        assert e.start >= now, f"a shift booked in the past: {e.start}"
        assert e.end <= m0 or e.start >= m0 + dt.timedelta(days=7)
    # the mail-in samples have no dates: one entry without dates, saying why, not "the
    # whole period" of a resource that has none
    period = [e for e in scheduled if e["kind"] == "period"]
    assert {(e["start"], e["explanation"]) for e in period} == {
        (None, "no dates: the resource has no calendar")
    }
    page = text_of(signed_in(web, "office@sls.example", "fr").get(
        "/manage/calls/sls-rapid/schedule").text)  # fmt: skip
    assert "aucune date : la ressource n’a pas de calendrier" in page

    # an awarded team reads its shifts, in UTC, and its samples in its own language
    code = next(c for c in sorted(pis) if any(
        a["proposal_code"] == c and a["pool"] == "BL1.1 XAS" for a in awards))  # fmt: skip
    pid, _ac, address = pis[code]
    fr = signed_in(web, address, "fr")
    outcome = text_of(fr.get(f"/proposals/{pid}/outcome").text)
    assert "BL1.1 XAS" in outcome and "UTC" in outcome, outcome
    mine = fr.get(f"/proposals/{pid}/slots.ics")
    assert mine.status_code == 200
    assert mine.text.count("BEGIN:VEVENT") == sum(
        a["amount"] for a in awards if a["proposal_code"] == code and a["pool"] == "BL1.1 XAS"
    )

    # the public: the units in each reader's words; the calendar says "Booked" only
    page = text_of(anyone.get("/calls/sls-rapid/awarded", headers={"Accept-Language": "es"}).text)
    assert "muestras" in page and "samples" not in page
    ics = anyone.get(f"/calls/sls-rapid/resources/{bl['id']}/calendar.ics")
    assert ics.status_code == 200
    for code in pis:
        assert code not in ics.text
    for i in range(len(RAPID)):
        assert f"Rapid Applicant {i}" not in ics.text

    # ---- after the award: the samples travel to the facility, the facility measures them
    mail_codes = sorted({a["proposal_code"] for a in awards if a["pool"] == "Mail-in XRD"})
    for code in mail_codes:
        pid, ac, _address = pis[code]
        got = ac.get(f"/api/v1/awards/{pid}")
        assert set(got["kinds"]) == {"shipment", "other"}
        n = sum(
            a["amount"] for a in awards if a["proposal_code"] == code and a["pool"] == "Mail-in XRD"
        )
        ac.post(f"/api/v1/awards/{pid}/records", {"kind": "shipment", "data": {
            "description": f"{n:.0f} samples from {country_of[code]} to the facility",
            "shipped_on": str(today), "delivered_on": str(today + dt.timedelta(days=6)),
            "tracking_ref": f"TRK{pid}", "customs_status": "cleared"}})  # fmt: skip
        # the samples measured are of the mail-in award (a team with shifts too names it)
        mail_award = next(a["id"] for a in got["awards"] if a["pool"] == "Mail-in XRD")
        ac.post(f"/api/v1/awards/{pid}/records", {"kind": "other", "award_id": mail_award, "data": {
            "description": "measured at the facility", "used_amount": n,
            "started_on": str(today + dt.timedelta(days=8)), "completed": True}})  # fmt: skip
    # another team's award page is not found, never shown
    other_pid = pis[mail_codes[0]][0]
    stranger = next(ac for code, (pid, ac, _a) in pis.items() if pid != other_pid)
    r = stranger.http.get(f"/api/v1/awards/{other_pid}", headers=stranger.headers)
    assert r.status_code == 404

    # ---- the general call, later: its shifts never on a rapid shift, none in the past
    close_and_assign(web, office, "sls-gup")
    reviews(reviewers, "sls-gup")
    calibrate_to_schedule(web, office, "sls-gup")
    office.post("/api/v1/calls/sls-gup/release")
    office.post("/api/v1/calls/sls-gup/publish")
    general_slots = slots_of(web, "sls-gup")
    taken = {e.start for e in rapid_slots}
    assert general_slots
    for e in general_slots:
        assert e.start is not None and e.start >= now and e.start not in taken
        assert e.start.hour in (1, 9, 17) and e.start.minute == 0, e.start
    # the general call's chair sees the rapid shifts as "booked by another call" only
    cal = signed_in(web, "office@sls.example").get(
        f"/manage/calls/sls-gup/resources/{bl['id']}/calendar"
    )
    assert cal.status_code == 200
    for code in pis:
        assert code not in cal.text
    # a PI of both calls sees their own shifts only
    pid, ac, address = next(iter(general_pis.values()))
    own = signed_in(web, address).get(f"/proposals/{pid}/slots")
    assert own.status_code == 200
    for code in pis:
        assert code not in own.text

    # ---- who benefits: the rapid route's figures in its units, by LDC status
    report = office.get("/api/v1/calls/sls-rapid/report")
    assert sorted(report["call"]["units"]) == ["sample", "shift"]
    # the trend: one entry a cycle and unit (the general call's shifts; the rapid round's
    # shifts and samples apart)
    assert sorted({t["cycle"] for t in report["trend"]}) == ["2027-1", "rapid-1"]
    assert sorted(t["unit"] for t in report["trend"] if t["cycle"] == "rapid-1") == [
        "sample",
        "shift",
    ]
    funnel = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert funnel["all"]["amounts"]["shift"] == by_pool["BL1.1 XAS"]
    assert funnel["all"]["amounts"]["sample"] == by_pool["Mail-in XRD"]
    ldc_samples = sum(a["amount"] for a in awards
                      if a["pool"] == "Mail-in XRD" and country_of[a["proposal_code"]] in ldc)  # fmt: skip
    assert funnel["LDC"]["amounts"].get("sample", 0) == ldc_samples
    stages = office.get("/api/v1/calls/sls-rapid/postaward", limit=200)["items"]
    done = {x["proposal_code"] for x in stages if x["completed"]}
    assert set(mail_codes) <= done
