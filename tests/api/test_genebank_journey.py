"""A gene bank lending seed accessions, set up by its operator through the JSON API and
the pages, on a fresh install.

Accessions are countable (a unit the operator names in en/zh/fr/es, whole numbers only),
every loan ships to a destination country and is never returned. The phytosanitary
rules differ by crop and destination: the operator states, per resource, the countries
it may be shipped to (a choice field), so a request for a destination under quarantine
is refused naming the field, and the import permit is a file field the submission waits
for. Applicants from ten countries; review, allocation with a share for least-developed
countries, release, and the shipments recorded after the award.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

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
from tests.pdf_samples import plain_pdf
from tests.web.conftest import Web, csrf

pytestmark = pytest.mark.filterwarnings("ignore")

ACCESSIONS = {
    "en": {"one": "accession", "other": "accessions"},
    "zh": {"one": "份种质", "other": "份种质"},
    "fr": {"one": "accession", "other": "accessions"},
    "es": {"one": "accesión", "other": "accesiones"},
}
# sorghum ships anywhere but Australia (quarantine); teff only within the region
SORGHUM_TO = ["ETH", "KEN", "NGA", "IND", "BRA", "USA", "FRA", "PER", "NPL", "MLI"]
TEFF_TO = ["ETH", "KEN", "UGA", "TZA", "RWA"]
APPLICANTS = ["ETH", "KEN", "NGA", "IND", "BRA", "USA", "FRA", "PER", "NPL", "MLI", "AUS"]


def fields(destinations: list[str]) -> list[dict[str, Any]]:
    return [
        {"key": "destination", "type": "choice", "required": True, "options": destinations,
         "labels": {"en": "Destination country", "fr": "Pays de destination",
                    "es": "País de destino", "zh": "目的国"}},
        {"key": "seeds", "type": "number", "integer": True, "min": 50, "max": 200,
         "labels": {"en": "Seeds per accession"}},
        {"key": "purpose", "type": "choice", "options": ["research", "breeding", "training"],
         "labels": {"en": "Purpose"}, "required": True},
        {"key": "permit", "type": "file", "labels": {"en": "Import permit"}},
    ]  # fmt: skip


def ask(ac: Client, pid: int, pool: int, amount: float, status: int | None = None,
        **details: Any) -> Any:  # fmt: skip
    version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
    body = {"version": version, "kind": "custom", "pool_id": pool,
            "details": {"amount": amount, "purpose": "breeding", **details}}  # fmt: skip
    return ac.post(f"/api/v1/proposals/{pid}/requests", body, status=status)


def signed_in(web: Web, email: str, lang: str) -> Any:
    c = web.client(lang)
    r = c.post("/login", data={"csrf_token": csrf(c), "email": email, "password": PASSWORD})
    assert r.status_code == 303
    return c


def give_reviews(
    reviewers: list[Client], grade: Callable[[dict[str, Any], int], float] | None = None
) -> None:
    """Every assignment of each reviewer not yet reviewed (of an earlier call, it is done)
    accepted and reviewed: graded ``grade(assignment, k)`` (``k``: the reviewer's place),
    or spread over 3.0-4.6."""
    for k, rc in enumerate(reviewers):
        for a in rc.get("/api/v1/assignments", limit=200)["items"]:
            if a["status"] == "submitted":
                continue
            rc.post(f"/api/v1/assignments/{a['id']}/respond", {"accept": True})
            rc.post(f"/api/v1/assignments/{a['id']}/review", {
                "grade": grade(a, k) if grade else 3.0 + ((a["id"] + k) % 5) * 0.4,
                "confidence": 4, "comments_to_applicants": "Clear plan."})  # fmt: skip


def review_and_publish(web: Web, office: Client, slug: str, reviewers: list[Client]) -> None:
    """The call's cycle from the close to publication, every review accepted and given."""
    close_and_assign(web, office, slug)
    give_reviews(reviewers)
    calibrate_to_schedule(web, office, slug)
    office.post(f"/api/v1/calls/{slug}/release")
    assert office.post(f"/api/v1/calls/{slug}/publish")["status"] == "published"


def test_a_gene_bank_lends_accessions_through_the_api(web: Web, one_loop: None) -> None:
    with web.factory() as s:
        ldc = {c.iso3 for c in s.scalars(select(Country)) if c.ldc}
        root, _link = people_services.create_site_admin(
            s, email="root@gb.example", name="Site Admin", password=PASSWORD
        )
        _t, raw = people_services.create_api_token(s, root, "setup")
        s.commit()
    admin = Client(web, raw)
    admin.post(
        "/api/v1/providers", {"name": "Highland Gene Bank", "slug": "hgb", "country_iso3": "ETH"}
    )
    office = account(web, "office@hgb.example", "Office Head", country_iso3="ETH")
    admin.post(
        "/api/v1/providers/hgb/roles", {"email": "office@hgb.example", "role": "provider_admin"}
    )
    fac = office.post(
        "/api/v1/providers/hgb/facilities",
        {"name": "Seed and germplasm collection", "slug": "seeds", "kind": "custom"},
    )
    res = f"/api/v1/facilities/{fac['id']}/resources"
    # an unknown unit without its words in four languages is refused
    r = office.post(res, {"name": "Sorghum", "unit": "accession", "amount": 300}, status=400)
    assert "accession" in r["detail"]
    sorghum = office.post(res, {
        "name": "Sorghum accessions", "unit": "accession", "unit_labels": ACCESSIONS,
        "whole_units": True, "amount": 300, "request_fields": fields(SORGHUM_TO)})  # fmt: skip
    r = office.post(res, {
        "name": "Teff accessions", "unit": "accession", "unit_labels": ACCESSIONS,
        "whole_units": True, "amount": 80.5, "request_fields": fields(TEFF_TO)}, status=400)  # fmt: skip
    assert "80.5" in r["detail"] and "whole" in r["detail"]
    teff = office.post(res, {
        "name": "Teff accessions", "unit": "accession", "unit_labels": ACCESSIONS,
        "whole_units": True, "amount": 80, "request_fields": fields(TEFF_TO)})  # fmt: skip
    assert sorghum["whole_units"] and sorghum["unit_label_other"] == "accessions"

    # the resource page shows the operator the declared form, in their language
    fr = signed_in(web, "office@hgb.example", "fr")
    page = text_of(fr.get(f"/manage/resources/{teff['id']}").text)
    assert "Pays de destination" in page and "accessions" in page

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    office.post("/api/v1/calls", {
        "provider": "hgb", "facility": "seeds", "slug": "seeds-2028", "code": "GB28",
        "cycle": "2028", "title": "Germplasm loans 2028",
        "opens_at": (now - dt.timedelta(days=1)).isoformat(),
        "closes_at": (now + dt.timedelta(days=30)).isoformat(), "anonymity": "single",
        "review_settings": {"reviewers_per_proposal": 2, "max_load": 80},
        "allocation_policy": {"award_mode": "whole",
                              "group_shares": [{"group": "ldc", "min_share": 0.3}]}})  # fmt: skip
    r = office.post(
        "/api/v1/calls/seeds-2028/pools", {"pool_id": sorghum["id"], "amount": 60.5}, status=400
    )
    assert "whole" in r["detail"]
    office.post("/api/v1/calls/seeds-2028/pools",
                {"pool_id": sorghum["id"], "amount": 60, "max_per_request": 20})  # fmt: skip
    office.post("/api/v1/calls/seeds-2028/pools", {"pool_id": teff["id"], "amount": 20})
    office.post("/api/v1/calls/seeds-2028/transition", {"target": "open"})
    reviewers = []
    for i, iso3 in enumerate(["DEU", "JPN", "MEX"]):
        reviewers.append(account(web, f"rev{i}@panel.example", f"Reviewer {i}",
                                 country_iso3=iso3, institution=f"Panel Institute {i}"))  # fmt: skip
        office.post("/api/v1/providers/hgb/roles",
                    {"email": f"rev{i}@panel.example", "role": "reviewer"})  # fmt: skip

    # ---- applicants: sorghum to their own country; teff within the region only
    country_of: dict[str, str] = {}
    pis: dict[str, tuple[int, Client, str]] = {}
    for i, iso3 in enumerate(APPLICANTS):
        address = f"seed{i:02d}@applicants.example"
        ac = account(web, address, f"Breeder {i}", country_iso3=iso3,
                     institution=f"Crop Institute {i} of {iso3}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": "seeds-2028", "title": f"Drought tolerance of landraces, {iso3}",
            "abstract": "Screening.", "science_case": "Field trials."})  # fmt: skip
        pid = p["id"]
        before = ac.get(f"/api/v1/proposals/{pid}/full")
        # fractional accessions, too many, too many seeds: refused, nothing changed
        if i == 0:
            for bad in (0, -2, 2.5, 21):
                ask(ac, pid, sorghum["id"], bad, status=400, destination=iso3)
            r = ask(ac, pid, sorghum["id"], 5, status=400, destination=iso3, seeds=500)
            assert "Seeds per accession" in r["detail"]
            assert ac.get(f"/api/v1/proposals/{pid}/full") == before
        if iso3 == "AUS":
            # quarantine: sorghum may not be shipped to Australia; the field is named
            r = ask(ac, pid, sorghum["id"], 5, status=400, destination="AUS")
            assert "Destination country" in r["detail"] and "AUS" not in str(SORGHUM_TO)
            assert ac.get(f"/api/v1/proposals/{pid}/full") == before
            continue
        if iso3 in ("USA", "BRA"):  # teff leaves the region only under another agreement
            r = ask(ac, pid, teff["id"], 3, status=400, destination=iso3)
            assert "Destination country" in r["detail"]
        p = ask(ac, pid, sorghum["id"], 10 + i, destination=iso3, seeds=100, permit="permit.pdf")
        if iso3 in TEFF_TO:
            p = ask(ac, pid, teff["id"], 6, destination=iso3)
        if i == 1:  # the import permit named but not attached: submission waits for it
            r = ac.post(f"/api/v1/proposals/{pid}/submit", status=400)
            assert "Import permit" in r["detail"] and "permit.pdf" in r["detail"]
        r = ac.http.post(
            f"/api/v1/proposals/{pid}/attachments", headers=ac.headers,
            data={"version": str(p["version"])},
            files={"file": ("permit.pdf", plain_pdf(), "application/pdf")},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        assert p["status"] == "submitted", p
        country_of[p["code"]] = iso3
        pis[p["code"]] = (pid, ac, address)

    # ---- the cycle
    slug = "seeds-2028"
    review_and_publish(web, office, slug, reviewers)

    # ---- awards: whole accessions, within the offers, the LDC share kept
    anyone = web.client()
    awards = anyone.get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    by_pool: dict[str, float] = defaultdict(float)
    ldc_sorghum = 0.0
    for a in awards:
        assert a["amount"] == int(a["amount"]) and a["unit"] == "accession"
        by_pool[a["pool"]] += a["amount"]
        if a["pool"] == "Sorghum accessions" and country_of[a["proposal_code"]] in ldc:
            ldc_sorghum += a["amount"]
    assert 0 < by_pool["Sorghum accessions"] <= 60 and by_pool["Teff accessions"] <= 20
    assert ldc_sorghum >= 0.3 * by_pool["Sorghum accessions"]
    # the public list, in each reader's words for the unit
    page = text_of(anyone.get(f"/calls/{slug}/awarded", headers={"Accept-Language": "es"}).text)
    # (a PI holding accessions of both crops reads each resource as the operator named it)
    for own in ("Sorghum accessions", "Teff accessions"):
        page = page.replace(own, "")
    assert "accesiones" in page and "accessions" not in page
    page = text_of(anyone.get(f"/calls/{slug}/awarded", headers={"Accept-Language": "zh"}).text)
    assert "份种质" in page

    # ---- after the award: each loan shipped, never returned, recorded by the team
    awarded_codes = sorted({a["proposal_code"] for a in awards})
    for code in awarded_codes:
        pid, ac, _address = pis[code]
        got = ac.get(f"/api/v1/awards/{pid}")
        assert got["kinds"] == ["other"]
        n = sum(a["amount"] for a in awards if a["proposal_code"] == code)
        ac.post(f"/api/v1/awards/{pid}/records", {
            "kind": "other", "data": {"description": f"shipped to {country_of[code]}",
                                      "used_amount": n, "started_on": "2028-09-01",
                                      "completed": True}})  # fmt: skip
    stage_page = office.get(f"/api/v1/calls/{slug}/postaward", limit=200)  # one page holds them all
    assert stage_page["page"]["next_cursor"] is None
    stages = stage_page["items"]
    assert len(stages) == len(awarded_codes) and all(x["completed"] for x in stages)
    report = office.get(f"/api/v1/calls/{slug}/report")
    assert report["call"]["units"] == ["accession"]
    funnel = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert funnel["all"]["amounts"]["accession"] == sum(by_pool.values())
    assert funnel["LDC"]["amounts"]["accession"] >= ldc_sorghum
    # the outcome of a proposal with two requests, said in French: both sentences
    # (awarded or not: each request has its sentence; the allocation's ties may fall
    # either way between backends)
    code = min(c for c in country_of if country_of[c] in TEFF_TO and country_of[c] != "KEN")
    pid, ac, address = pis[code]
    page = text_of(signed_in(web, address, "fr").get(f"/proposals/{pid}/outcome").text)
    assert "Sorghum accessions" in page and "accessions" in page
    assert "awarded in full" not in page and "custom" not in page, page
    # the loans have no dates: the schedule says so rather than inventing them
    sched = office.get(f"/api/v1/calls/{slug}/schedule")["items"]
    assert {(e["kind"], e["start"]) for e in sched} == {("period", None)}
