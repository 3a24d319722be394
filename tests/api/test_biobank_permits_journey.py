"""A biobank of ice cores and tissue lending destructive subsamples, some of them under
export permits that name the countries they may go to, set up by its operator through the
JSON API on a fresh install.

Two core sections are resources counted in grams: an open one, and a restricted one whose
export permit does not cover two countries (`"country_rules": {"barred": [...]}`). What
is cut is consumed: a second call is offered only what the first did not award. A team
whose PI is in a country the permit does not cover is told before it submits (the
submission refused, naming the section and the country; its other request kept), and a
permit narrowed after the submissions (the office's `PATCH`) keeps the section from the
teams it no longer covers at the allocation ("not feasible: ... cannot go to a team from
..."), the open section still theirs. Loans are recorded with the day they are due back
(a report-back deadline), the consumed ones as consumed.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_operator_journey import (
    Client,
    account,
    open_call,
    open_facility,
    signed_in,
    text_of,
)
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")

FIELDS = [
    {"key": "analysis", "type": "choice", "required": True,
     "options": ["water isotopes", "gases", "dust", "DNA"],
     "labels": {"en": "Analysis (destroys the sample)"}},
]  # fmt: skip
OPEN, RESTRICTED = "Section A, 400-600 m (open)", "Section B, 1,800-1,900 m (permit)"
# (country, grams of the open section, grams of the restricted one); LDCs: NPL, ETH, MOZ
APPLICANTS = [
    ("NPL", 40, 30),
    ("ETH", 30, 20),
    ("MOZ", 0, 25),
    ("CHN", 50, 40),
    ("USA", 60, 30),
    ("FRA", 30, 0),
    ("BRA", 40, 30),
]
BARRED = ["CHN", "USA"]  # the permit the biobank holds covers neither


def test_a_biobank_lends_restricted_sections_only_where_its_permit_covers(
    web: Web, one_loop: None
) -> None:
    _admin, office, fac = open_facility(
        web, "pbb", "Polar Biobank", "NOR",
        {"name": "Ice and tissue archive", "slug": "archive", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    open_ = office.post(res, {"name": OPEN, "unit": "g", "amount": 600,
                              "request_fields": FIELDS, "record_kinds": ["loan", "shipment"]})  # fmt: skip
    restricted = office.post(res, {
        "name": RESTRICTED, "unit": "g", "amount": 150, "request_fields": FIELDS,
        "record_kinds": ["loan", "shipment"],
        "country_rules": {"barred": [c.lower() for c in BARRED[:1]]}})  # fmt: skip
    assert restricted["country_rules"] == {"barred": ["CHN"]}, restricted
    # the operator's page shows the rule
    page = text_of(signed_in(web, "office@pbb.example").get(
        f"/manage/resources/{restricted['id']}").text)  # fmt: skip
    assert "CHN" in page, page[:3000]

    slug = "cores-2028"
    call = {"provider": "pbb", "facility": "archive", "slug": slug, "code": "PB28",
            "cycle": "2028", "title": "Subsamples 2028"}  # fmt: skip
    reviewers = open_call(web, office, call, {"award_mode": "whole"},
                          [("bio1@panel.example", "Panel One", "DEU"),
                           ("bio2@panel.example", "Panel Two", "JPN")],
                          [{"pool_id": open_["id"], "amount": 300},
                           {"pool_id": restricted["id"], "amount": 100}])  # fmt: skip

    code_of: dict[str, str] = {}
    team: dict[str, tuple[int, Client]] = {}
    for i, (iso3, grams_open, grams_restricted) in enumerate(APPLICANTS):
        ac = account(web, f"bio{i}@applicants.example", f"Researcher {iso3}",
                     country_iso3=iso3, institution=f"Polar Institute of {iso3}")  # fmt: skip
        pid = ac.post("/api/v1/proposals", {
            "call": slug, "title": f"Past climate from {iso3}", "abstract": "Melted.",
            "science_case": "Climate."})["id"]  # fmt: skip
        for pool, grams in ((restricted["id"], grams_restricted), (open_["id"], grams_open)):
            if grams:
                version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
                ac.post(f"/api/v1/proposals/{pid}/requests", {
                    "version": version, "kind": "custom", "pool_id": pool,
                    "details": {"amount": grams, "analysis": "gases"}})  # fmt: skip
        if iso3 == "CHN":
            # the permit does not cover China: the team is told before it submits, and
            # nothing changes; it removes the request and submits the open section's
            before = ac.get(f"/api/v1/proposals/{pid}/full")
            r = ac.post(f"/api/v1/proposals/{pid}/submit", status=400)
            assert RESTRICTED in r["detail"] and "CHN" in r["detail"], r
            assert ac.get(f"/api/v1/proposals/{pid}/full") == before
            gone = next(q for q in before["requests"] if q["pool_id"] == restricted["id"])
            ac.send(
                "DELETE",
                f"/api/v1/proposals/{pid}/requests/{gone['id']}?version={before['version']}",
            )
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        assert p["status"] == "submitted", p
        code_of[iso3] = p["code"]
        team[iso3] = (pid, ac)

    # the permit is narrowed after the submissions: the United States are no longer
    # covered (a rule whose code is unknown is refused, nothing changes)
    r = office.send("PATCH", f"/api/v1/resources/{restricted['id']}",
                    {"country_rules": {"barred": ["CHN", "UNITED STATES"]}}, status=400)  # fmt: skip
    assert "UNITED STATES" in r["detail"], r
    office.send(
        "PATCH", f"/api/v1/resources/{restricted['id']}", {"country_rules": {"barred": BARRED}}
    )

    review_and_publish(web, office, slug, reviewers)

    awards = web.client().get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    by_code: dict[str, dict[str, float]] = defaultdict(dict)
    for a in awards:
        by_code[a["proposal_code"]][a["pool"]] = a["amount"]
    # nothing of the restricted section went where the permit does not reach
    for iso3 in BARRED:
        assert RESTRICTED not in by_code.get(code_of[iso3], {}), by_code
    assert sum(a.get(RESTRICTED, 0) for a in by_code.values()) <= 100
    assert sum(a.get(OPEN, 0) for a in by_code.values()) <= 300
    decisions = {d["proposal_code"]: d for d in
                 office.get(f"/api/v1/calls/{slug}/decisions", limit=50)["items"]}  # fmt: skip
    usa = decisions[code_of["USA"]]
    assert (f"{RESTRICTED} cannot go to a team from United States of America") in usa[
        "explanation"
    ], usa
    pid, ac = team["USA"]
    outcome = ac.get(f"/api/v1/proposals/{pid}/outcome")
    assert "cannot go to a team from" in outcome["explanation"], outcome

    # after the award: each loan shipped with the day it is due back (its report-back
    # deadline), consumed in the analysis
    for iso3, (pid, ac) in team.items():
        if code_of[iso3] not in by_code:
            continue
        for pool, grams in by_code[code_of[iso3]].items():
            ac.post(f"/api/v1/awards/{pid}/records", {"kind": "loan", "data": {
                "sample": pool, "mass_mg": grams * 1000, "shipped_on": "2028-09-01",
                "received_on": "2028-09-10", "due_on": "2029-03-01", "consumed": True}})  # fmt: skip
        use = ac.get(f"/api/v1/awards/{pid}")["summary"]["use"]
        assert use["used:g"] == sum(by_code[code_of[iso3]].values()), use

    # what was awarded is gone: the next call is offered what is left, and no more
    awarded_restricted = sum(a.get(RESTRICTED, 0) for a in by_code.values())
    slug2 = "cores-2029"
    office.post("/api/v1/calls", {
        **call, "slug": slug2, "code": "PB29", "cycle": "2029", "title": "Subsamples 2029",
        "anonymity": "single", "opens_at": "2026-01-01T00:00:00Z",
        "closes_at": "2099-01-01T00:00:00Z",
        "review_settings": {"reviewers_per_proposal": 2, "max_load": 40},
        "allocation_policy": {"award_mode": "whole"}})  # fmt: skip
    left = 150 - awarded_restricted
    r = office.post(f"/api/v1/calls/{slug2}/pools",
                    {"pool_id": restricted["id"], "amount": left + 1}, status=400)  # fmt: skip
    assert f"{left:g}" in r["detail"], r
