"""An ice-core archive lending destructive subsamples, set up by its operator through the
JSON API and the pages on a fresh install.

What is lent is cut from a core and melted in the analysis: it never comes back. Each
core section is a resource counted in grams (the built-in unit ``g``), followed after the
award as sample loans (shipped, received, consumed). Two calls in a row draw on one
section: the second may offer only what the first did not award, because what was
awarded is gone. Applicants from least-developed, low-, middle- and high-income
countries (titles in Arabic and Chinese), review, allocation with a share for LDCs,
release, publication; then the loans, the award pages, the public pages, the office's
report (page, CSV, PDF) and the outcomes in every language, each figure in grams.
"""

from __future__ import annotations

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

pytestmark = pytest.mark.filterwarnings("ignore")

FIELDS = [
    {"key": "depth", "type": "text", "required": True, "max_length": 40,
     "labels": {"en": "Depth interval (m)", "fr": "Intervalle de profondeur (m)",
                "es": "Intervalo de profundidad (m)", "zh": "深度区间（米）"}},
    {"key": "analysis", "type": "choice", "required": True,
     "options": ["water isotopes", "gases", "dust", "microbes"],
     "labels": {"en": "Analysis (destroys the sample)"}},
]  # fmt: skip
# (country, title, grams asked); LDCs: NPL, ETH, BGD
APPLICANTS = [
    ("NPL", "Himalayan dust in the Dome C record", 60),
    ("ETH", "Monsoon variability from Antarctic dust", 40),
    ("BGD", "Sea-salt aerosol and cyclone records", 50),
    ("EGY", "النظائر المستقرة في لب الجليد والمناخ القديم", 80),
    ("CHN", "冰芯气体记录中的甲烷变化", 100),
    ("IND", "Volcanic sulphate in the Holocene", 70),
    ("BRA", "Microbial life in deep ice", 50),
    ("FRA", "Water isotopes across Termination II", 90),
    ("USA", "CO2 at high resolution, MIS 5", 100),
]  # fmt: skip
SECTION = 1000  # grams of the Dome C section the archive may give away, ever
OFFER_1 = 400  # grams offered to the first call


def test_an_ice_core_archive_lends_subsamples_that_never_come_back(
    web: Web, one_loop: None
) -> None:
    with web.factory() as s:
        ldc = {c.iso3 for c in s.scalars(select(Country)) if c.ldc}
    assert {"NPL", "ETH", "BGD"} <= ldc
    _admin, office, fac = open_facility(
        web, "ica", "Ice Core Archive", "FRA",
        {"name": "Deep ice-core archive", "slug": "cores", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    dome = office.post(res, {
        "name": "Dome C, 1,000-1,200 m", "unit": "g", "amount": SECTION,
        "request_fields": FIELDS, "record_kinds": ["loan", "shipment"]})  # fmt: skip
    assert dome["record_kinds"] == ["loan", "shipment"], dome

    panel = [("glac1@panel.example", "Glaciologist One", "DEU"),
             ("glac2@panel.example", "Glaciologist Two", "JPN")]  # fmt: skip
    slug = "ice-2028"
    call = {"provider": "ica", "facility": "cores", "slug": slug, "code": "IC28",
            "cycle": "2028", "title": "Subsamples of the Dome C core, 2028"}  # fmt: skip
    office.post("/api/v1/calls", {
        **call, "anonymity": "single",
        "opens_at": "2026-01-01T00:00:00Z", "closes_at": "2099-01-01T00:00:00Z",
        "review_settings": {"reviewers_per_proposal": 2, "max_load": 40},
        "allocation_policy": {"award_mode": "whole",
                              "group_shares": [{"group": "ldc", "min_share": 0.3}]}})  # fmt: skip
    office.post(f"/api/v1/calls/{slug}/pools", {"pool_id": dome["id"], "amount": OFFER_1})
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "open"})
    reviewers: list[Client] = []
    for address, name, iso3 in panel:
        reviewers.append(account(web, address, name, country_iso3=iso3,
                                 institution=f"Institute of {name}"))  # fmt: skip
        office.post("/api/v1/providers/ica/roles", {"email": address, "role": "reviewer"})

    country_of: dict[str, str] = {}
    pis: dict[str, tuple[int, Client, str]] = {}
    for i, (iso3, title, grams) in enumerate(APPLICANTS):
        address = f"ice{i}@applicants.example"
        ac = account(web, address, "فاطمة الزهراء" if iso3 == "EGY" else f"Researcher {i}",
                     country_iso3=iso3, institution=f"Polar Institute of {iso3}")  # fmt: skip
        pid = ac.post("/api/v1/proposals", {
            "call": slug, "title": title, "abstract": "Melted in the analysis.",
            "science_case": "Past climate."})["id"]  # fmt: skip
        version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
        body: dict[str, Any] = {"version": version, "kind": "custom", "pool_id": dome["id"],
                                "details": {"amount": grams, "depth": "1050-1052",
                                            "analysis": "gases"}}  # fmt: skip
        if i == 0:  # more than the call offers, no analysis: refused, nothing changes
            before = ac.get(f"/api/v1/proposals/{pid}/full")
            too_much = {**body, "details": {**body["details"], "amount": OFFER_1 + 1}}
            ac.post(f"/api/v1/proposals/{pid}/requests", too_much, status=400)
            r = ac.post(f"/api/v1/proposals/{pid}/requests",
                        {**body, "details": {"amount": 5, "depth": "1"}}, status=400)  # fmt: skip
            assert "Analysis (destroys the sample)" in r["detail"], r
            assert ac.get(f"/api/v1/proposals/{pid}/full") == before
        ac.post(f"/api/v1/proposals/{pid}/requests", body)
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        assert p["status"] == "submitted", p
        country_of[p["code"]] = iso3
        pis[p["code"]] = (pid, ac, address)

    review_and_publish(web, office, slug, reviewers)

    # ---- the awards: grams of one section, within the offer, the LDC share kept
    anyone = web.client()
    awards = anyone.get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    by_code: dict[str, float] = defaultdict(float)
    for a in awards:
        assert a["unit"] == "g" and a["pool"] == dome["name"], a
        by_code[a["proposal_code"]] += a["amount"]
    awarded = sum(by_code.values())
    assert 0 < awarded <= OFFER_1
    assert sum(v for c, v in by_code.items() if country_of[c] in ldc) >= 0.3 * awarded
    page = text_of(anyone.get(f"/calls/{slug}/awarded", headers={"Accept-Language": "zh"}).text)
    assert "冰芯气体记录中的甲烷变化" in page or "CHN" not in {country_of[c] for c in by_code}

    # ---- after the award: each subsample shipped, received and melted (consumed)
    for code, grams in sorted(by_code.items()):
        pid, ac, _address = pis[code]
        got = ac.get(f"/api/v1/awards/{pid}")
        assert got["kinds"][:2] == ["loan", "shipment"], got
        # a consumed sample cannot come back: refused, nothing recorded
        ac.post(f"/api/v1/awards/{pid}/records", {"kind": "loan", "data": {
            "sample": "Dome C bag 1051", "mass_mg": grams * 1000, "shipped_on": "2028-09-01",
            "received_on": "2028-09-10", "returned_on": "2028-12-01", "consumed": True}},
            status=400)  # fmt: skip
        ac.post(f"/api/v1/awards/{pid}/records", {"kind": "loan", "data": {
            "sample": "Dome C bag 1051", "mass_mg": grams * 1000, "shipped_on": "2028-09-01",
            "received_on": "2028-09-10", "consumed": True}})  # fmt: skip
        use = ac.get(f"/api/v1/awards/{pid}")["summary"]["use"]
        # the grams used are the grams awarded, in the award's own unit
        assert use["awarded:g"] == grams and use["used:g"] == grams, use
        page = text_of(signed_in(web, _address, "fr").get(f"/awards/{pid}").text)
        assert f"{grams:g} / {grams:g}" in page, page[:3000]
    stages = office.get(f"/api/v1/calls/{slug}/postaward", limit=200)["items"]
    assert len(stages) == len(by_code) and all(x["used"] and x["completed"] for x in stages)

    # ---- the report: grams awarded and used by LDC status, in grams everywhere
    report = office.get(f"/api/v1/calls/{slug}/report")
    assert report["call"]["units"] == ["g"]
    funnel = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert funnel["all"]["amounts"]["g"] == awarded
    staff = signed_in(web, "office@ica.example", "es")
    page = text_of(staff.get(f"/manage/calls/{slug}/report").text)
    assert " g" in page and " mg" not in page, page[:3000]
    csv_text = staff.get(f"/manage/calls/{slug}/report.csv").text
    stages_csv = {line.split(",")[2] for line in csv_text.splitlines()[1:]}
    assert {"use:awarded:g", "use:used:g"} <= stages_csv and "use:used:mg" not in stages_csv
    pdf = staff.get(f"/manage/calls/{slug}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    # ---- a second call on the same section: what was awarded is gone for good
    slug2 = "ice-2029"
    office.post("/api/v1/calls", {
        **call, "slug": slug2, "code": "IC29", "cycle": "2029",
        "title": "Subsamples of the Dome C core, 2029", "anonymity": "single",
        "opens_at": "2026-01-01T00:00:00Z", "closes_at": "2099-01-01T00:00:00Z",
        "review_settings": {"reviewers_per_proposal": 2, "max_load": 40},
        "allocation_policy": {"award_mode": "whole"}})  # fmt: skip
    left = SECTION - awarded
    r = office.post(f"/api/v1/calls/{slug2}/pools",
                    {"pool_id": dome["id"], "amount": left + 1}, status=400)  # fmt: skip
    assert f"{left:g}" in r["detail"], r
    office.post(f"/api/v1/calls/{slug2}/pools", {"pool_id": dome["id"]})
    offered = office.get(f"/api/v1/calls/{slug2}")["pools"]
    assert [p["amount"] for p in offered] == [left], offered
