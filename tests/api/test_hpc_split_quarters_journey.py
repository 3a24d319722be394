"""A national supercomputer centre allocating node-hours per quarter on two partitions (CPU
and GPU), set up by its operator through the JSON API on a fresh install (branch trialfac16).

Each partition's quarter is a resource of its own (whole node-hours, the quarter as its
period); one call offers the two quarters of both partitions. A project's award is split
across the quarters as one all-or-nothing bundle of requests (its hours in Q1 and in Q2).
Applicants from low-income and least-developed countries among others, a share for
low- and lower-middle-income countries; review, allocation, publication. After the award
the centre's accounting records each quarter's use against that quarter's award (the node
staff's records, ``/calls/<slug>/node/awards/<id>/records``): a quarter's unused hours
lapse, so use dated after its quarter, or more than it gave, is refused, naming the
quarter, and nothing changes (before, both were kept and counted as use of the award).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_operator_journey import Client, open_facility
from tests.api.test_seed_shipments_journey import applicant, panel_call, submitted
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]


def labels(kind: str, zh: str, fr: str, es: str) -> dict[str, dict[str, str]]:
    return {
        "en": {"one": f"{kind} node-hour", "other": f"{kind} node-hours"},
        "zh": {"one": zh, "other": zh},
        "fr": {"one": f"heure-nœud {fr}", "other": f"heures-nœud {fr}"},
        "es": {"one": f"hora-nodo {es}", "other": f"horas-nodo {es}"},
    }


QUARTERS = {"Q1": ("2027-01-01", "2027-03-31"), "Q2": ("2027-04-01", "2027-06-30")}
PARTITIONS = {"CPU": (60_000, labels("CPU", "CPU节点时", "CPU", "CPU")),
              "GPU": (8_000, labels("GPU", "GPU节点时", "GPU", "GPU"))}  # fmt: skip
# (PI's country, CPU node-hours a quarter, GPU node-hours a quarter); LDCs: MWI, NPL, ETH;
# low income: MWI, ETH, UGA
APPLICANTS = [
    ("MWI", 10_000, 1_000),
    ("NPL", 12_000, 0),
    ("ETH", 8_000, 2_000),
    ("UGA", 10_000, 1_500),
    ("IND", 15_000, 2_000),
    ("BRA", 12_000, 0),
    ("DEU", 20_000, 3_000),
    ("USA", 20_000, 3_000),
]


def test_a_supercomputer_splits_awards_across_quarters_whose_hours_lapse(
    web: Web, one_loop: None
) -> None:
    _admin, office, fac = open_facility(
        web, "nsc", "National Supercomputing Centre", "KEN",
        {"name": "Tier-0 system", "slug": "tier0", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    pool: dict[tuple[str, str], dict[str, Any]] = {}
    for part, (hours, words) in PARTITIONS.items():
        for q, (first, last) in QUARTERS.items():
            pool[part, q] = office.post(res, {
                "name": f"{part} 2027 {q}", "unit": f"{part.lower()}-node-hour",
                "unit_labels": words, "whole_units": True, "amount": hours,
                "period_start": first, "period_end": last, "record_kinds": ["other"]})  # fmt: skip

    slug = "nsc-2027h1"
    call = {"provider": "nsc", "facility": "tier0", "slug": slug, "code": "NSC27",
            "cycle": "2027H1", "title": "Node-hours, first half of 2027"}  # fmt: skip
    policy = {"award_mode": "whole", "group_shares": [{"group": "low_lmic", "min_share": 0.3}]}
    reviewers = panel_call(web, office, call, policy, "hpc")

    code_of: dict[str, str] = {}
    team: dict[str, tuple[int, Client]] = {}
    for i, (iso3, cpu, gpu) in enumerate(APPLICANTS):
        ac, pid = applicant(web, f"hpc{i}@applicants.example", iso3, slug,
                            f"Regional climate runs, {iso3}")  # fmt: skip
        # the award split across the two quarters: all of it or none of it
        for part, n in (("CPU", cpu), ("GPU", gpu)):
            for q in QUARTERS:
                if n:
                    version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
                    ac.post(f"/api/v1/proposals/{pid}/requests", {
                        "version": version, "kind": "custom", "pool_id": pool[part, q]["id"],
                        "details": {"amount": n}, "bundle": "half-year"})  # fmt: skip
        code_of[iso3] = submitted(ac, pid)
        team[iso3] = (pid, ac)

    review_and_publish(web, office, slug, reviewers)

    awards = web.client().get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    by_code: dict[str, dict[str, float]] = defaultdict(dict)
    for a in awards:
        by_code[a["proposal_code"]][a["pool"]] = a["amount"]
    assert by_code, awards
    for part, (hours, _w) in PARTITIONS.items():
        for q in QUARTERS:
            assert sum(g.get(f"{part} 2027 {q}", 0) for g in by_code.values()) <= hours
    # a project's award is split across the quarters, never one quarter without the other
    for iso3, cpu, gpu in APPLICANTS:
        got = by_code.get(code_of[iso3], {})
        if got:
            assert got == {f"{p} 2027 {q}": n for p, n in (("CPU", cpu), ("GPU", gpu)) if n
                           for q in QUARTERS}, (iso3, got)  # fmt: skip
    # the share for low- and lower-middle-income countries is kept
    low_lmic = {"MWI", "NPL", "ETH", "UGA", "IND"}
    cpu_total = sum(g.get("CPU 2027 Q1", 0) for g in by_code.values())
    cpu_low = sum(by_code.get(code_of[c], {}).get("CPU 2027 Q1", 0) for c in low_lmic)
    assert cpu_low >= 0.3 * cpu_total, (cpu_low, cpu_total)

    # ---- after the award: the centre's accounting, quarter by quarter
    node = office.get(f"/api/v1/calls/{slug}/node/awards", limit=200)["items"]
    mine = [a for a in node if a["proposal_code"] in by_code and a["resource"] == "CPU 2027 Q1"]
    assert mine, node
    a = mine[0]
    url = f"/api/v1/calls/{slug}/node/awards/{a['award_id']}/records"

    def use(n: float, on: str, status: int | None = None) -> Any:
        return office.post(url, {"kind": "other", "data": {
            "description": "batch accounting", "used_amount": n, "started_on": on}},
            status=status)  # fmt: skip

    use(a["amount"] * 0.6, "2027-02-10")
    before = office.get(f"/api/v1/calls/{slug}/node/awards", limit=200)["items"]
    # Q1's unused hours lapse: they cannot be used in April
    r = use(a["amount"] * 0.3, "2027-04-02", status=400)
    assert "CPU 2027 Q1" in r["detail"] and "2027-03-31" in r["detail"], r
    # nor can more than the quarter gave be recorded against it
    r = use(a["amount"] * 0.5, "2027-03-20", status=400)
    assert "CPU 2027 Q1" in r["detail"] and f"{a['amount']:g}" in r["detail"].replace(",", ""), r
    assert office.get(f"/api/v1/calls/{slug}/node/awards", limit=200)["items"] == before
    # the PI's award page: 60 % of Q1 used, the rest lapsed with the quarter
    pid, ac = team[next(c for c in code_of if code_of[c] == a["proposal_code"])]
    summary = ac.get(f"/api/v1/awards/{pid}")["summary"]["use"]
    assert summary["used:cpu-node-hour"] == pytest.approx(a["amount"] * 0.6), summary
