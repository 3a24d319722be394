"""A national GPU allocation run by quarters, set up by its operator through the JSON API.

Each quarter is a resource of its own, counted in node-hours (a unit the operator names in
four languages, whole), with the quarter as its period, and a call of its own: the call
offers the quarter with the smallest and the largest allocation a project may get
(`min_per_request`, `max_per_request`). Half of each quarter is reserved for first-time
users from low-income countries: a share rule for the intersection of two groups,
``"low+first_time"`` (a PI of a low-income country who holds no award of an earlier call of
the facility). The first quarter awards a Ugandan PI; in the second, that PI is a repeat
user and does not count toward the share, two new PIs from Malawi and Niger do and are
awarded whatever their grades, and the published policy says the group in words. A share
naming a group the platform does not know is refused when the call is made (before, it was
stored and the allocation failed on it once the policy was locked).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pytest

from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_operator_journey import Client, account, open_facility, text_of
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

NODE_HOURS = {
    "en": {"one": "GPU node-hour", "other": "GPU node-hours"},
    "zh": {"one": "GPU节点时", "other": "GPU节点时"},
    "fr": {"one": "heure-nœud GPU", "other": "heures-nœud GPU"},
    "es": {"one": "hora-nodo GPU", "other": "horas-nodo GPU"},
}
MIN, MAX = 5_000, 15_000
SHARE = {"group": "low+first_time", "min_share": 0.5}
PANEL = [
    ("hpc1@panel.example", "HPC expert 1", "JPN"),
    ("hpc2@panel.example", "HPC expert 2", "BRA"),
]


def quarter_call(office: Client, slug: str, cycle: str, pool: int, amount: int,
                 opens: dt.datetime, status: int | None = None) -> Any:  # fmt: skip
    """The quarter's call (single-anonymous, two reviews a proposal, whole awards, half of
    the quarter to first-time users from low-income countries), offering ``amount`` of the
    quarter ``pool`` between MIN and MAX a project, opened."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    r = office.post("/api/v1/calls", {
        "provider": "nhpc", "facility": "gpu", "slug": slug, "code": slug.upper(),
        "cycle": cycle, "title": f"GPU allocations, {cycle}", "anonymity": "single",
        "allocation_policy": {"award_mode": "whole", "group_shares": [SHARE]},
        "opens_at": opens.isoformat(), "closes_at": (now + dt.timedelta(days=30)).isoformat(),
        "review_settings": {"reviewers_per_proposal": 2, "max_load": 40}}, status=status)  # fmt: skip
    if status is not None:
        return r
    office.post(f"/api/v1/calls/{slug}/pools", {
        "pool_id": pool, "amount": amount, "min_per_request": MIN, "max_per_request": MAX})  # fmt: skip
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "open"})
    return r


def apply(ac: Client, slug: str, pool: int, amount: int, who: str) -> dict[str, Any]:
    p = ac.post("/api/v1/proposals", {
        "call": slug, "title": f"Training a crop-disease model ({who})",
        "abstract": "GPU training of a vision model.", "science_case": "Food security."})  # fmt: skip
    version = ac.get(f"/api/v1/proposals/{p['id']}/full")["version"]
    # a project above the largest allocation, or below the smallest, is refused with the figures
    for too, figure in ((MAX + 5_000, "15,000"), (MIN - 4_000, "5,000")):
        r = ac.post(f"/api/v1/proposals/{p['id']}/requests", {
            "version": version, "kind": "custom", "pool_id": pool, "details": {"amount": too}},
            status=400)  # fmt: skip
        assert figure in r["detail"], r
    ac.post(f"/api/v1/proposals/{p['id']}/requests", {
        "version": version, "kind": "custom", "pool_id": pool, "details": {"amount": amount}})  # fmt: skip
    return ac.post(f"/api/v1/proposals/{p['id']}/submit")


def test_a_gpu_centre_reserves_quarters_for_first_time_low_income_users(
    web: Web, one_loop: None
) -> None:
    _admin, office, fac = open_facility(
        web, "nhpc", "National AI Compute Centre", "ZAF",
        {"name": "GPU cluster", "slug": "gpu", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    q1 = office.post(res, {"name": "GPU 2027 Q1", "unit": "gpu-node-hour", "whole_units": True,
                           "unit_labels": NODE_HOURS, "amount": 40_000,
                           "period_start": "2027-01-01", "period_end": "2027-03-31"})  # fmt: skip
    q2 = office.post(res, {"name": "GPU 2027 Q2", "unit": "gpu-node-hour", "whole_units": True,
                           "unit_labels": NODE_HOURS, "amount": 40_000,
                           "period_start": "2027-04-01", "period_end": "2027-06-30"})  # fmt: skip
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    # a share for a group the platform does not know is refused, naming the groups it knows
    for bad in ("first-timers", "low+nobody", "LDC"):
        r = office.post("/api/v1/calls", {
            "provider": "nhpc", "facility": "gpu", "slug": "bad", "code": "BAD", "cycle": "x",
            "title": "Bad", "anonymity": "single",
            "allocation_policy": {"group_shares": [{"group": bad, "min_share": 0.2}]},
            "opens_at": now.isoformat(), "closes_at": (now + dt.timedelta(days=3)).isoformat()},
            status=400)  # fmt: skip
        assert "first_time" in r["detail"] and "ldc" in r["detail"], r
    # first-time users are not a nationality: a nationality-blind call may reserve for them
    blind = office.post("/api/v1/calls", {
        "provider": "nhpc", "facility": "gpu", "slug": "blind", "code": "BLIND", "cycle": "x",
        "title": "Blind", "anonymity": "single",
        "allocation_policy": {"nationality_blind": True,
                              "group_shares": [{"group": "first_time", "min_share": 0.2}]},
        "opens_at": now.isoformat(), "closes_at": (now + dt.timedelta(days=3)).isoformat()})  # fmt: skip
    assert blind["status"] == "draft"
    r = office.post("/api/v1/calls", {
        "provider": "nhpc", "facility": "gpu", "slug": "blind2", "code": "BLIND2", "cycle": "x",
        "title": "Blind", "anonymity": "single",
        "allocation_policy": {"nationality_blind": True,
                              "group_shares": [{"group": "low+first_time", "min_share": 0.2}]},
        "opens_at": now.isoformat(), "closes_at": (now + dt.timedelta(days=3)).isoformat()},
        status=400)  # fmt: skip
    assert "nationality" in r["detail"], r

    # ---- the first quarter: a Ugandan and a German PI, both awarded
    reviewers = [
        account(web, a, n, country_iso3=c, institution=f"Institute of {n}") for a, n, c in PANEL
    ]
    for address, _n, _c in PANEL:
        office.post("/api/v1/providers/nhpc/roles", {"email": address, "role": "reviewer"})
    quarter_call(office, "gpu-27q1", "2027Q1", q1["id"], 30_000, now - dt.timedelta(days=2))
    pis = {iso3: account(web, f"pi-{iso3.lower()}@uni.example", f"PI of {iso3}",
                         country_iso3=iso3, institution=f"University of {iso3}")
           for iso3 in ("UGA", "DEU", "MWI", "NER", "USA", "IND")}  # fmt: skip
    for iso3 in ("UGA", "DEU"):
        apply(pis[iso3], "gpu-27q1", q1["id"], 12_000, iso3)
    review_and_publish(web, office, "gpu-27q1", reviewers)
    first = office.get("/api/v1/calls/gpu-27q1/awards", limit=50)["items"]
    assert len(first) == 2, first

    # ---- the second quarter: the Ugandan PI again (a repeat user), four new PIs
    quarter_call(office, "gpu-27q2", "2027Q2", q2["id"], 40_000, now - dt.timedelta(days=1))
    asks = {"UGA": 15_000, "DEU": 15_000, "USA": 15_000, "IND": 12_000, "MWI": 12_000,
            "NER": 10_000}  # fmt: skip
    code_of = {
        iso3: apply(pis[iso3], "gpu-27q2", q2["id"], n, iso3)["code"] for iso3, n in asks.items()
    }
    review_and_publish(web, office, "gpu-27q2", reviewers)
    awarded: dict[str, float] = defaultdict(float)
    for a in office.get("/api/v1/calls/gpu-27q2/awards", limit=50)["items"]:
        awarded[a["proposal_code"]] += a["amount"]
    assert sum(awarded.values()) <= 40_000
    # half of the 40,000 to first-time low-income PIs: Malawi's and Niger's (22,000 asked)
    # are both needed, whatever their grades; Uganda's does not count toward it
    assert awarded[code_of["MWI"]] == 12_000 and awarded[code_of["NER"]] == 10_000, awarded
    decisions = office.get("/api/v1/calls/gpu-27q2/decisions", limit=50)["items"]
    assert {d["proposal_code"] for d in decisions} == set(code_of.values())

    # the published policy names the group in words, in the reader's language
    page = text_of(web.client().get("/calls/gpu-27q2/awarded").text)
    assert "Low income and first-time users" in page, page[:3000]
    fr = text_of(web.client("fr").get("/calls/gpu-27q2/awarded").text)
    assert "Revenu faible et nouveaux utilisateurs" in fr, fr[:3000]
