"""A research reactor's irradiation position, set up by its operator through the JSON API.

The reactor runs 8-hour shifts around the clock from Monday 06:00 to Saturday 06:00 on
the site's clock (Africa/Johannesburg, `day_start_hour: 6`), and shuts down at weekends:
each weekend is an unavailable period typed in local time. Two weeks hold 30 shifts. The
request form asks for the sample's matrix and its expected activity at the end of the
irradiation (at most 10 GBq: more is refused naming the field). The radiation protection
officer is the call's technical reviewer: a sample they judge unsafe (a uranium-bearing
ore) is vetoed, not awarded whatever its grades, and its team reads why. Every awarded
shift lies on a weekday shift of the site's grid; the teams record the return shipment
after the cool-down.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest

from tests.api.test_genebank_journey import give_reviews
from tests.api.test_operator_journey import (
    account,
    calibrate_to_schedule,
    close_and_assign,
    open_call,
    open_facility,
    signed_in,
    text_of,
)
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

SAST = ZoneInfo("Africa/Johannesburg")
WEEKENDS = [("2027-03-06T06:00:00", "2027-03-08T06:00:00")]
FIELDS = [
    {"key": "matrix", "type": "choice", "required": True,
     "options": ["geological", "biological", "environmental", "metallurgical"],
     "labels": {"en": "Sample matrix", "fr": "Matrice", "es": "Matriz", "zh": "样品基质"}},
    {"key": "activity_gbq", "type": "number", "unit": "GBq", "min": 0, "max": 10,
     "required": True, "labels": {"en": "Expected activity at end of irradiation"}},
    {"key": "samples", "type": "number", "integer": True, "min": 1, "max": 40,
     "labels": {"en": "Number of capsules"}},
]  # fmt: skip
# (country, shifts, matrix, activity, what the sample is)
APPLICANTS = [
    ("ZMB", 6, "geological", 2.5, "Copper-belt ores"),
    ("NAM", 7, "geological", 8.0, "Uranium-bearing ore from Rossing"),  # vetoed
    ("MOZ", 5, "environmental", 0.4, "Mangrove sediments"),
    ("GHA", 4, "biological", 0.1, "Cassava leaves"),
    ("KEN", 6, "metallurgical", 1.2, "Steel alloys"),
    ("BWA", 4, "environmental", 0.3, "Kalahari dust"),
]  # fmt: skip


def test_a_research_reactor_vetoes_an_unsafe_sample_and_books_weekday_shifts(
    web: Web, one_loop: None
) -> None:
    _admin, office, fac = open_facility(
        web, "necsa", "Research Reactor Centre", "ZAF",
        {"name": "Research reactor", "slug": "reactor", "kind": "custom"},
    )  # fmt: skip
    body = {"name": "Irradiation position B2", "unit": "shift", "amount": 31,
            "period_start": "2027-03-01", "period_end": "2027-03-12", "slot_hours": 8,
            "day_start_hour": 6, "time_zone": "Africa/Johannesburg", "request_fields": FIELDS,
            "record_kinds": ["shipment"],
            "unavailable": [{"starts_at": a, "ends_at": b, "reason": "weekend shutdown"}
                            for a, b in WEEKENDS]}  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    # 12 days of 3 shifts less a weekend of 6: 30 shifts, and not one more
    r = office.post(res, body, status=400)
    assert "30" in r["detail"], r
    pos = office.post(res, {**body, "amount": 30})
    cal = office.get(f"/api/v1/resources/{pos['id']}/calendar")
    assert cal["slot_capacity"] == 30 and cal["time_zone"] == "Africa/Johannesburg", cal
    slug = "b2-2027"
    reviewers = open_call(web, office, {
        "provider": "necsa", "facility": "reactor", "slug": slug, "code": "B2",
        "cycle": "2027-03", "title": "Neutron irradiation, March 2027"},
        {"award_mode": "whole"},
        [("nuc1@panel.example", "Nuclear chemist", "FRA"),
         ("nuc2@panel.example", "Geochemist", "ARG")])  # fmt: skip
    rpo = account(web, "rpo@necsa.example", "Radiation Protection Officer", country_iso3="ZAF")
    office.post("/api/v1/providers/necsa/roles",
                {"email": "rpo@necsa.example", "role": "technical_reviewer"})  # fmt: skip

    code_of: dict[str, str] = {}
    pi_of: dict[str, tuple[int, str]] = {}
    client_of = {}
    for i, (iso3, shifts, matrix, activity, what) in enumerate(APPLICANTS):
        address = f"pi{i}@uni.example"
        ac = account(web, address, f"PI of {iso3}", country_iso3=iso3,
                     institution=f"University of {iso3}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Neutron activation analysis: {what}",
            "abstract": what, "science_case": "Trace elements by NAA."})  # fmt: skip
        version = ac.get(f"/api/v1/proposals/{p['id']}/full")["version"]
        req = {"version": version, "kind": "custom", "pool_id": pos["id"],
               "details": {"amount": shifts, "matrix": matrix, "activity_gbq": activity}}  # fmt: skip
        if i == 0:  # too hot for the position: refused, naming the field
            bad = {**req, "details": {**req["details"], "activity_gbq": 37}}
            r = ac.post(f"/api/v1/proposals/{p['id']}/requests", bad, status=400)
            assert "Expected activity at end of irradiation" in r["detail"], r
        ac.post(f"/api/v1/proposals/{p['id']}/requests", req)
        code_of[iso3] = ac.post(f"/api/v1/proposals/{p['id']}/submit")["code"]
        pi_of[iso3] = (p["id"], address)
        client_of[iso3] = ac

    close_and_assign(web, office, slug)
    # the radiation protection officer vetoes the uranium-bearing ore
    items = rpo.get(f"/api/v1/technical/calls/{slug}", limit=50)["items"]
    assert len(items) == len(APPLICANTS)
    for it in items:
        unsafe = it["code"] == code_of["NAM"]
        rpo.post(f"/api/v1/technical/proposals/{it['proposal_id']}", {
            "verdict": "not_feasible" if unsafe else "feasible",
            "notes_to_applicants": "Fissile material is not accepted in position B2."
            if unsafe else ""})  # fmt: skip
    # the panel loves the uranium-bearing ore
    give_reviews(reviewers, lambda a, k: 5.0 if a["proposal_code"] == code_of["NAM"]
                 else 2.5 + ((a["id"] + k) % 4) * 0.5)  # fmt: skip
    calibrate_to_schedule(web, office, slug)

    decisions = {d["proposal_code"]: d for d in
                 office.get(f"/api/v1/calls/{slug}/decisions", limit=50)["items"]}  # fmt: skip
    vetoed = decisions[code_of["NAM"]]
    assert vetoed["outcome"] != "awarded", vetoed
    assert "technical review" in str(vetoed), vetoed
    awards = office.get(f"/api/v1/calls/{slug}/awards", limit=50)["items"]
    assert awards and all(a["proposal_code"] != code_of["NAM"] for a in awards)
    assert sum(a["amount"] for a in awards) <= 30
    got = {a["proposal_code"]: a["amount"] for a in awards}

    # every booked shift is one of the grid's: 06:00, 14:00 or 22:00 in Johannesburg, on a
    # weekday's run (Monday 06:00 to Saturday 06:00), 8 hours; none overlap
    booked: dict[str, int] = defaultdict(int)
    seen: set[dt.datetime] = set()
    for e in office.get(f"/api/v1/calls/{slug}/schedule", limit=200)["items"]:
        start = dt.datetime.fromisoformat(e["start"].replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(e["end"].replace("Z", "+00:00"))
        assert (end - start) % dt.timedelta(hours=8) == dt.timedelta(0), e
        for k in range((end - start) // dt.timedelta(hours=8)):
            s = (start + dt.timedelta(hours=8 * k)).astimezone(SAST)
            assert s.hour in (6, 14, 22), e
            run_day = (s - dt.timedelta(hours=6)).date()  # the shift's day begins at 06:00
            assert run_day.weekday() < 5, ("a weekend shift", e)
            assert s not in seen, ("overlap", e)
            seen.add(s)
            booked[e["proposal_code"]] += 1
    assert dict(booked) == {c: int(n) for c, n in got.items()}, (booked, got)

    office.post(f"/api/v1/calls/{slug}/release")
    assert office.post(f"/api/v1/calls/{slug}/publish")["status"] == "published"
    # the vetoed team reads why, in its own language
    pid, address = pi_of["NAM"]
    page = text_of(signed_in(web, address).get(f"/proposals/{pid}/outcome").text)
    assert "not feasible" in page and "Fissile material is not accepted" in page, page[:3000]
    out = client_of["NAM"].get(f"/api/v1/proposals/{pid}/outcome")
    assert out["technical_notes"] == "Fissile material is not accepted in position B2.", out
    # a team the officer wrote nothing to reads no technical section
    other = text_of(
        signed_in(web, pi_of["ZMB"][1]).get(f"/proposals/{pi_of['ZMB'][0]}/outcome").text
    )
    assert "Technical review" not in other and "Fissile" not in other
    # an awarded team records the return of its capsules after the cool-down
    iso3 = next(c for c, v in code_of.items() if v in got)
    pid, _address = pi_of[iso3]
    rec = client_of[iso3].post(f"/api/v1/awards/{pid}/records", {
        "kind": "shipment", "data": {"description": "capsules returned after 14 days' decay",
                                     "shipped_on": "2027-04-09", "delivered_on": "2027-04-13"}})  # fmt: skip
    assert rec["kind"] == "shipment", rec
