"""A data-access programme whose capacity is its data stewards' effort, not an instrument's
time, set up by its operator through the JSON API on a fresh install (branch trialfac17).

A national survey archive in Nairobi gives researchers extracts of its restricted microdata.
What is scarce is the stewards' work of preparing, checking and disclosure-reviewing each
extract: a resource counted in steward hours (a unit the operator names in four languages,
fractional: 2.5 hours is a fine request), without a calendar, with a smallest request of
2 hours and a largest of 20. Restricted (tier 2) extracts are analysed only in the secure
enclave: enclave seats (the built-in ``seat``, whole) are a compulsory bundle with the
steward hours (``bundle_with``), so an enclave seat alone is refused before submission.
The request form asks for the tier (a choice) and the data-protection plan (a file the
submission waits for). Applicants from least-developed and low-income countries among
others; a share of the steward hours for LDCs and one award per PI; review, allocation,
publication, and after the award the stewards' hours recorded against each award.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_operator_journey import account, open_call, open_facility, signed_in
from tests.pdf_samples import plain_pdf
from tests.web.conftest import Web, csrf

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

HOURS = {
    "en": {"one": "steward hour", "other": "steward hours"},
    "zh": {"one": "数据管理员工时", "other": "数据管理员工时"},
    "fr": {"one": "heure de gestionnaire de données", "other": "heures de gestionnaire de données"},
    "es": {"one": "hora de custodio de datos", "other": "horas de custodio de datos"},
}
FIELDS = [
    {"key": "tier", "type": "choice", "required": True, "options": ["tier1", "tier2"],
     "labels": {"en": "Data tier"}},
    {"key": "plan", "type": "file", "required": True, "labels": {"en": "Data-protection plan"}},
]  # fmt: skip
# (country, steward hours, tier); LDCs: UGA, NER, SOM, LSO
TEAMS = [("UGA", 12.5, "tier2"), ("NER", 8, "tier1"), ("SOM", 20, "tier2"),
         ("LSO", 2.5, "tier1"), ("KEN", 16, "tier2"), ("IND", 18, "tier1"),
         ("GBR", 20, "tier2"), ("BRA", 15.5, "tier1")]  # fmt: skip


def test_a_data_access_programme_awards_its_stewards_effort(web: Web, one_loop: None) -> None:
    _admin, office, fac = open_facility(
        web, "surveyarchive", "National Survey Data Archive", "KEN",
        {"name": "Restricted microdata access", "slug": "microdata", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    hours = office.post(res, {
        "name": "Steward hours", "unit": "stewardhour", "unit_labels": HOURS, "amount": 60,
        "request_fields": FIELDS, "record_kinds": ["other"]})  # fmt: skip
    assert hours["whole_units"] is False and hours["calendar"]["slot_capacity"] is None, hours
    seats = office.post(res, {"name": "Secure enclave seats", "unit": "seat", "amount": 3,
                              "bundle_with": [hours["id"]]})  # fmt: skip

    slug = "microdata-2027"
    reviewers = open_call(web, office, {
        "provider": "surveyarchive", "facility": "microdata", "slug": slug, "code": "DA27",
        "cycle": "2027", "title": "Restricted microdata, 2027"},
        {"award_mode": "whole", "pi_cap_awards": 1,
         "group_shares": [{"group": "ldc", "min_share": 0.4}]},
        [("data1@panel.example", "Survey statistician", "ZAF"),
         ("data2@panel.example", "Disclosure-control expert", "DEU")],
        [{"pool_id": hours["id"], "amount": 60, "min_per_request": 2,
          "max_per_request": 20},
         {"pool_id": seats["id"], "amount": 3}])  # fmt: skip

    code_of: dict[str, str] = {}
    pid_of: dict[str, int] = {}
    for i, (iso3, h, tier) in enumerate(TEAMS):
        ac = account(web, f"analyst{i}@uni.example", f"Analyst {iso3}", country_iso3=iso3,
                     institution=f"School of public health of {iso3}")  # fmt: skip
        pid = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Household consumption and health in {iso3}",
            "abstract": "Survey microdata.", "science_case": "Poverty mapping."})["id"]  # fmt: skip

        def ask(body: dict[str, Any], status: int | None = None) -> Any:
            version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]  # noqa: B023
            return ac.post(f"/api/v1/proposals/{pid}/requests",  # noqa: B023
                           {"version": version, "kind": "custom", **body}, status)  # fmt: skip

        if i == 0:  # beyond the largest request: refused with the figures, nothing kept
            r = ask({"pool_id": hours["id"], "details": {"amount": 20.5, "tier": tier,
                                                         "plan": "plan.pdf"}}, 400)  # fmt: skip
            assert "20" in r["detail"], r
            assert ac.get(f"/api/v1/proposals/{pid}/full")["requests"] == []
        ask({"pool_id": hours["id"], "bundle": "extract" if tier == "tier2" else None,
             "details": {"amount": h, "tier": tier, "plan": "plan.pdf"}})  # fmt: skip
        if tier == "tier2":
            ask({"pool_id": seats["id"], "bundle": "extract", "details": {"amount": 1}})
        if i == 1:  # the plan named but not attached: the submission waits for it
            r = ac.post(f"/api/v1/proposals/{pid}/submit", status=400)
            assert "Data-protection plan" in r["detail"], r
        version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
        r = ac.http.post(f"/api/v1/proposals/{pid}/attachments", headers=ac.headers,
                         data={"version": str(version)},
                         files={"file": ("plan.pdf", plain_pdf(), "application/pdf")})  # fmt: skip
        assert r.status_code == 201, r.text
        code_of[iso3] = ac.post(f"/api/v1/proposals/{pid}/submit")["code"]
        pid_of[iso3] = pid

    review_and_publish(web, office, slug, reviewers)
    awards = office.get(f"/api/v1/calls/{slug}/awards", limit=50)["items"]
    by_code: dict[str, dict[str, float]] = {}
    for x in awards:
        by_code.setdefault(x["proposal_code"], {})[x["pool"]] = x["amount"]
    # no more steward hours than the stewards have, no more enclave seats than the enclave
    assert sum(v.get("Steward hours", 0) for v in by_code.values()) <= 60 + 1e-9, by_code
    assert sum(v.get("Secure enclave seats", 0) for v in by_code.values()) <= 3, by_code
    # a tier-2 extract is awarded with its enclave seat or not at all; fractions are kept
    for iso3, h, tier in TEAMS:
        got = by_code.get(code_of[iso3])
        if got is None:
            continue
        assert got["Steward hours"] == h, (iso3, got)
        assert ("Secure enclave seats" in got) == (tier == "tier2"), (iso3, got)
    ldc = sum(by_code.get(code_of[c], {}).get("Steward hours", 0)
              for c in ("UGA", "NER", "SOM", "LSO"))  # fmt: skip
    assert ldc >= 0.4 * sum(v["Steward hours"] for v in by_code.values()) - 1e-9, by_code
    assert code_of["LSO"] in by_code and by_code[code_of["LSO"]]["Steward hours"] == 2.5

    # after the award the stewards record the hours each extract took. An award in hours and
    # a seat: an amount used without its award_id is refused, naming the awards to choose
    # from, and nothing is kept (before usecount17 it was kept and counted in neither unit)
    pid = pid_of["UGA"] if code_of["UGA"] in by_code else pid_of["SOM"]
    used = {"kind": "other", "data": {
        "description": "Extract prepared, disclosure review passed", "used_amount": 2.25}}  # fmt: skip
    r = office.post(f"/api/v1/awards/{pid}/records", used, status=400)
    assert "more than one unit" in r["detail"] and "Steward hours" in r["detail"], r
    assert office.get(f"/api/v1/awards/{pid}")["records"] == []
    # the award's page lists its awards, so the steward picks the one of steward hours
    awards = office.get(f"/api/v1/awards/{pid}")["awards"]
    assert sorted(a["unit"] for a in awards) == ["seat", "stewardhour"], awards
    award_id = next(a["id"] for a in awards if a["unit"] == "stewardhour")
    assert f"{award_id} for Steward hours" in r["detail"], r
    office.post(f"/api/v1/awards/{pid}/records", {**used, "award_id": award_id})
    use = office.get(f"/api/v1/awards/{pid}")["summary"]["use"]
    assert use["used:stewardhour"] == 2.25, use
    # a record kept without an amount (a step done) is refused an amount given later
    step = office.post(f"/api/v1/awards/{pid}/records", {"kind": "other", "data": {
        "description": "Request checked", "completed": True}})  # fmt: skip
    r = office.send("PUT", f"/api/v1/awards/{pid}/records/{step['id']}", {"data": {
        "description": "Request checked", "used_amount": 0.5}}, status=400)  # fmt: skip
    assert "more than one unit" in r["detail"], r
    assert office.get(f"/api/v1/awards/{pid}")["records"][-1]["data"]["used_amount"] == 0
    office.send("DELETE", f"/api/v1/awards/{pid}/records/{step['id']}?reason=test", status=204)
    # on the award's page the form asks which award; not chosen, refused and nothing kept
    page = signed_in(web, "office@surveyarchive.example")
    form = page.get(f"/awards/{pid}").text
    assert 'name="award_id"' in form and f'value="{award_id}">Steward hours' in form
    more = {"csrf_token": csrf(page, f"/awards/{pid}"), "kind": "other",
            "description": "Second extract", "used_amount": "1.5"}  # fmt: skip
    r = page.post(f"/awards/{pid}/records", data=more)
    assert r.status_code == 400 and "more than one unit" in r.text, r.status_code
    assert len(office.get(f"/api/v1/awards/{pid}")["records"]) == 1
    r = page.post(f"/awards/{pid}/records", data={**more, "award_id": str(award_id)})
    assert r.status_code == 303, r.text
    assert office.get(f"/api/v1/awards/{pid}")["summary"]["use"]["used:stewardhour"] == 3.75
    # an award in one unit needs no award_id
    lso = pid_of["LSO"]
    office.post(f"/api/v1/awards/{lso}/records", used)
    assert office.get(f"/api/v1/awards/{lso}")["summary"]["use"]["used:stewardhour"] == 2.25
