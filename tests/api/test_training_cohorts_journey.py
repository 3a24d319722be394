"""A training programme, set up by its operator through the JSON API on a fresh install,
runs three cohorts a year at three sites (Nairobi, Hanoi, Lima), each with a number of
seats, and a travel-grant budget counted in money (a unit the operator names: US
dollars, with cents).

An applicant names a preferred cohort and, if they wish, an acceptable one: each cohort
is an all-or-nothing bundle of a seat and, for those who travel, a travel grant, and the
policy allows one award per PI (a bundle counts once), so nobody gets two cohorts.
Grants may be cut (partial awards down to half of what was asked): money is then
awarded in whole cents, the budget never exceeded. Applicants from least-developed,
lower-middle-, upper-middle- and high-income countries; review, calibration,
allocation, schedule, release, publication, course records and their follow-up, and
the outcomes by income group, UN region and LDC status; every figure a user reads is
checked (seats within each cohort, dollars within the budget, in the reader's words).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import select

from opencall.people.models import Country
from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_operator_journey import (
    Client,
    account,
    open_facility,
    signed_in,
    text_of,
)
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

USD = {
    "en": {"one": "US dollar", "other": "US dollars"},
    "zh": {"one": "美元", "other": "美元"},
    "fr": {"one": "dollar US", "other": "dollars US"},
    "es": {"one": "dólar estadounidense", "other": "dólares estadounidenses"},
}
COHORTS = {  # site: (first day, last day, seats offered)
    "Nairobi": ("2028-05-08", "2028-05-19", 4),
    "Hanoi": ("2028-07-03", "2028-07-14", 3),
    "Lima": ("2028-09-04", "2028-09-15", 3),
}
BUDGET = 10_000.0
# (country, preferred cohort, acceptable cohort or None, travel grant asked in dollars or
# 0 for a local applicant); LDCs: ETH, UGA, NPL, BGD, HTI; low/lower-middle: KEN, VNM, BOL
APPLICANTS = [
    ("KEN", "Nairobi", None, 0), ("ETH", "Nairobi", "Hanoi", 1250.50),
    ("UGA", "Nairobi", None, 980.0), ("NPL", "Hanoi", "Nairobi", 1460.25),
    ("VNM", "Hanoi", None, 0), ("BGD", "Hanoi", "Lima", 1320.0),
    ("BOL", "Lima", "Nairobi", 640.0), ("HTI", "Lima", None, 1100.0),
    ("PER", "Lima", None, 0), ("BRA", "Lima", "Hanoi", 720.0),
    ("ZAF", "Nairobi", "Lima", 1500.0), ("DEU", "Nairobi", "Hanoi", 1890.0),
    ("GBR", "Hanoi", None, 2100.0),
]  # fmt: skip


def test_a_training_programme_fills_its_cohorts_within_its_travel_budget(
    web: Web, one_loop: None
) -> None:
    with web.factory() as s:
        countries = {c.iso3: c for c in s.scalars(select(Country))}
    ldc = {k for k, c in countries.items() if c.ldc}
    assert {"ETH", "UGA", "NPL", "BGD", "HTI"} <= ldc
    _admin, office, fac = open_facility(
        web, "shtp", "Soil Health Training Programme", "KEN",
        {"name": "Soil health courses", "slug": "courses", "kind": "custom"},
        office_name="Programme Office",
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    seat_of: dict[str, int] = {}
    for site, (first, last, _n) in COHORTS.items():
        r = office.post(res, {"name": f"{site} cohort seats", "unit": "seat", "amount": 12,
                              "period_start": first, "period_end": last})  # fmt: skip
        assert r["whole_units"] and r["unit_label_other"] == "seats", r
        assert r["record_kinds"] == [] or "course" in r["record_kinds"], r
        seat_of[site] = r["id"]
    travel = office.post(res, {"name": "Travel grants", "unit": "usd", "unit_labels": USD,
                               "amount": BUDGET})  # fmt: skip
    assert not travel["whole_units"] and travel["unit_label_other"] == "US dollars"

    # ---- the call: one award per PI, grants cut down to half when the budget is short
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    slug = "shtp-2028"
    office.post("/api/v1/calls", {
        "provider": "shtp", "facility": "courses", "slug": slug, "code": "SH28",
        "cycle": "2028", "title": "Soil health courses, 2028 cohorts",
        "opens_at": (now - dt.timedelta(days=1)).isoformat(),
        "closes_at": (now + dt.timedelta(days=30)).isoformat(), "anonymity": "single",
        "review_settings": {"reviewers_per_proposal": 2, "max_load": 40},
        "allocation_policy": {"award_mode": "partial", "min_fraction": 0.5,
                              "pi_cap_awards": 1}})  # fmt: skip
    for site, (_f, _l, n) in COHORTS.items():
        office.post(f"/api/v1/calls/{slug}/pools", {"pool_id": seat_of[site], "amount": n,
                                                    "max_per_request": 1})  # fmt: skip
    office.post(f"/api/v1/calls/{slug}/pools",
                {"pool_id": travel["id"], "amount": BUDGET, "max_per_request": 2500})  # fmt: skip
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "open"})
    reviewers = []
    for i, iso3 in enumerate(["NLD", "IND"]):
        reviewers.append(account(web, f"soil{i}@panel.example", f"Soil Scientist {i}",
                                 country_iso3=iso3, institution=f"Soil Institute {i}"))  # fmt: skip
        office.post("/api/v1/providers/shtp/roles",
                    {"email": f"soil{i}@panel.example", "role": "reviewer"})  # fmt: skip

    country_of: dict[str, str] = {}
    pis: dict[str, tuple[int, Client, str]] = {}
    asked: dict[str, tuple[str, str | None, float]] = {}
    for i, (iso3, first_choice, second, grant) in enumerate(APPLICANTS):
        address = f"trainee{i}@applicants.example"
        ac = account(web, address, f"Extension Officer {i}", country_iso3=iso3,
                     institution=f"Soil Service of {iso3}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Soil carbon practice in {iso3}",
            "abstract": "Extension work on soil carbon.",
            "science_case": "Farmers in the district need a trained officer."})  # fmt: skip
        pid = p["id"]

        def ask(amount: Any, pool: int, bundle: str | None, status: int | None = None) -> Any:
            version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]  # noqa: B023
            body = {"version": version, "kind": "custom", "pool_id": pool, "bundle": bundle,
                    "details": {"amount": amount}}  # fmt: skip
            return ac.post(f"/api/v1/proposals/{pid}/requests", body, status=status)  # noqa: B023

        if i == 0:  # half a seat, two seats, a grant above the limit: refused, unchanged
            before = ac.get(f"/api/v1/proposals/{pid}/full")
            r = ask(0.5, seat_of[first_choice], None, status=400)
            assert "0.5 is not a whole number of seats" in r["detail"], r
            ask(2, seat_of[first_choice], None, status=400)
            ask(2600, travel["id"], None, status=400)
            assert ac.get(f"/api/v1/proposals/{pid}/full") == before
        for site in (first_choice, second):
            if site is None:
                continue
            bundle = site if grant else None  # a seat and its grant: both or neither
            ask(1, seat_of[site], bundle)
            if grant:
                ask(grant, travel["id"], bundle)
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        assert p["status"] == "submitted", p
        country_of[p["code"]] = iso3
        pis[p["code"]] = (pid, ac, address)
        asked[p["code"]] = (first_choice, second, grant)

    # ---- close, review (LDC applicants graded a little lower), allocate, schedule
    review_and_publish(web, office, slug, reviewers)

    # ---- awards: whole seats within each cohort, one cohort per person, whole cents
    # within the budget; a grant only with its seat
    anyone = web.client()
    awards = anyone.get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    by_pool: dict[str, float] = defaultdict(float)
    by_code: dict[str, dict[str, float]] = defaultdict(dict)
    for a in awards:
        if a["unit"] == "seat":
            assert a["amount"] == 1, a
        else:
            assert a["unit"] == "usd", a
            assert round(a["amount"], 2) == a["amount"], a  # dollars and cents
        by_pool[a["pool"]] += a["amount"]
        by_code[a["proposal_code"]][a["pool"]] = a["amount"]
    for site, (_f, _l, n) in COHORTS.items():
        assert by_pool[f"{site} cohort seats"] <= n, by_pool
    assert 0 < by_pool["Travel grants"] <= BUDGET + 1e-9, by_pool
    for code, got in by_code.items():
        seats = [p for p in got if p.endswith("cohort seats")]
        assert len(seats) == 1, (code, got)  # one cohort, never two
        first_choice, second, grant = asked[code]
        assert seats[0].split()[0] in (first_choice, second), (code, got)
        if grant:
            assert grant / 2 - 1e-9 <= got.get("Travel grants", 0) <= grant, (code, got)
        else:
            assert "Travel grants" not in got, (code, got)

    # the preferred cohort whenever it had a seat left: an acceptable one only instead
    for code, got in by_code.items():
        first_choice, second, _grant = asked[code]
        if second is not None and f"{second} cohort seats" in got:
            full = by_pool[f"{first_choice} cohort seats"] >= COHORTS[first_choice][2]
            assert full, (code, "given its acceptable cohort, the preferred had room", got)

    # ---- the schedule: each seat holds its cohort's dates; money has no dates
    sched = office.get(f"/api/v1/calls/{slug}/schedule", limit=200)["items"]
    for e in sched:
        got = by_code[e["proposal_code"]]
        (site,) = (p.split()[0] for p in got if p.endswith("cohort seats"))
        if e["start"] is None:  # the grant: money, no dates
            assert e["amount"] == got["Travel grants"], e
        else:  # the seat: the cohort's days
            first, last, _n = COHORTS[site]
            assert (e["start"], e["amount"]) == (first + "T00:00:00Z", 1), e
            end = dt.date.fromisoformat(last) + dt.timedelta(days=1)
            assert e["end"] == end.isoformat() + "T00:00:00Z", e
    assert len([e for e in sched if e["start"]]) == sum(len(v) > 0 for v in by_code.values())
    staff = signed_in(web, "office@shtp.example")
    r = staff.get(f"/manage/calls/{slug}/decisions?format=csv")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    for row in rows:
        for part in filter(None, row["awarded"].split("; ")):
            pool, _sep, said = part.partition(": ")
            number, _sp, unit = said.partition(" ")
            assert float(number) == by_code[row["proposal"]][pool], (row, part)
            assert unit in ("seat", "US dollar", "US dollars"), part

    # ---- the public list and the team's outcome, in each reader's words for the units
    for lang, words, not_words in (
        ("fr", ("dollars US", "1 place"), ("US dollars", "usd", "seat")),
        ("es", ("dólares estadounidenses",), ("US dollars", "usd")),
        ("zh", ("美元",), ("US dollars", "usd")),
    ):
        page = text_of(anyone.get(f"/calls/{slug}/awarded",
                                  headers={"Accept-Language": lang}).text)  # fmt: skip
        for w in words:
            assert w in page, (lang, w, page[:3000])
        # the resources' names are the operator's own words ("Nairobi cohort seats"): a
        # call offering several resources of one unit names each award's (trialfac21); the
        # units beside the numbers are what must be in the reader's language
        units = re.sub(r"\S+ cohort seats|Travel grants", "", page)
        for w in not_words:
            assert w not in units, (lang, w)

    # a trainee's outcome in Spanish: the seat and the grant (a bundle), in their words
    code = next(c for c in sorted(by_code) if "Travel grants" in by_code[c])
    pid, _ac, address = pis[code]
    page = text_of(signed_in(web, address, "es").get(f"/proposals/{pid}/outcome").text)
    assert "dólares estadounidenses" in page and "Travel grants" in page, page[:3000]
    for english in ("US dollars", "awarded in full", "bundle", "requests"):
        assert english not in page, (english, page[:3000])

    # ---- after the award: each trainee attends and completes, and reports back
    awarded_codes = sorted(c for c in by_code if by_code[c])
    for code in awarded_codes:
        pid, ac, _address = pis[code]
        got = ac.get(f"/api/v1/awards/{pid}")
        assert "course" in got["kinds"], got
        ac.post(f"/api/v1/awards/{pid}/records", {
            "kind": "course", "data": {"participant": f"Officer {code}", "gender": "female",
                                       "attended": True, "completed": True}})  # fmt: skip
        ac.post(f"/api/v1/awards/{pid}/records", {
            "kind": "followup", "data": {"participant": f"Officer {code}",
                                         "followed_up_on": "2028-12-01",
                                         "people_trained": 25}})  # fmt: skip
    stages = office.get(f"/api/v1/calls/{slug}/postaward", limit=200)["items"]
    assert len(stages) == len(awarded_codes) and all(x["completed"] for x in stages), stages

    # ---- who benefits: seats and dollars by income group, region and LDC status
    report = office.get(f"/api/v1/calls/{slug}/report")
    assert sorted(report["call"]["units"]) == ["seat", "usd"]
    funnel = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert funnel["all"]["amounts"]["seat"] == len(awarded_codes)
    assert funnel["all"]["amounts"]["usd"] == pytest.approx(by_pool["Travel grants"])
    ldc_usd = sum(v.get("Travel grants", 0) for c, v in by_code.items() if country_of[c] in ldc)
    assert funnel["LDC"]["amounts"].get("usd", 0) == pytest.approx(ldc_usd)
    regions = {r["group"] for r in report["funnels"]["un_region"]}
    assert {"Africa", "Asia", "Americas", "Europe"} <= regions, regions
    page = text_of(staff.get(f"/manage/calls/{slug}/report").text)
    assert "US dollars" in page, page[:2000]
    # trialop20: the travel grants are paid, not scheduled: their dollars read under
    # "Awarded" and never under "Scheduled" (before, the grant's dateless schedule entry
    # counted its dollars as scheduled), and the report says so in words
    scheduled = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "scheduled"}
    assert not scheduled["all"]["amounts"].get("usd"), scheduled["all"]
    assert scheduled["all"]["amounts"]["seat"] == len(awarded_codes)
    assert report["call"]["money_units"] == ["usd"]
    assert "paid, not scheduled" in page, page[:3000]
