"""A partial award of a project asking for several resources (usage23).

Under ``award_mode: partial`` every resource a proposal asks for is a request of its own
(``allocation.services.build_problem``: one fraction per request), so one project may be
given 40 % of its core-hours and 60 % of its GPU-hours: the policy's sentence says awards
may be partial "down to X % of a request", and requests marked as one bundle are never
cut. This is intended (a partition fuller than another cuts only its own requests), but
the applicant must be able to read it: the call's policy says that each resource is cut
on its own, and the decision names the resource each fraction is of (it said "custom
resource: awarded 40.0% ...; custom resource: awarded 60.0% ...")."""

from __future__ import annotations

from collections import defaultdict

import pytest

from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_hpc_centre_journey import CORE, GPU, ask
from tests.api.test_operator_journey import open_call, open_facility, signed_in, text_of
from tests.api.test_seed_shipments_journey import applicant, submitted
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")

# (PI's country, core-hours, GPU-hours): the core-hours half as tight as the GPU-hours
ASKED = [("KEN", 400_000, 4_000), ("PER", 300_000, 6_000), ("VNM", 500_000, 2_000),
         ("MAR", 200_000, 8_000)]  # fmt: skip


def test_each_resource_cut_on_its_own_is_said_to_the_applicant(web: Web, one_loop: None) -> None:
    _admin, office, fac = open_facility(
        web, "phpc", "Partial HPC", "ZAF", {"name": "Cluster", "slug": "pcl", "kind": "custom"}
    )
    res = f"/api/v1/facilities/{fac['id']}/resources"
    core = office.post(res, {"name": "CPU cluster", "unit": "core-hour", "unit_labels": CORE,
                             "amount": 1_000_000, "whole_units": True})["id"]  # fmt: skip
    gpu = office.post(res, {"name": "GPU partition", "unit": "gpu-hour", "unit_labels": GPU,
                            "amount": 12_000, "whole_units": True})["id"]  # fmt: skip
    slug = "phpc-2027"
    reviewers = open_call(web, office,
                          {"provider": "phpc", "facility": "pcl", "slug": slug, "code": "PH27",
                           "cycle": "2027", "title": "Partial allocations 2027"},
                          {"award_mode": "partial", "min_fraction": 0.1},
                          [("p1@panel.example", "Panel One", "JPN"),
                           ("p2@panel.example", "Panel Two", "FRA")])  # fmt: skip
    team: dict[str, tuple[int, str]] = {}
    for i, (iso3, ch, gh) in enumerate(ASKED):
        address = f"pi{i}@uni.example"
        ac, pid = applicant(web, address, iso3, slug, f"Simulations {i}")
        ask(ac, pid, core, ch)
        ask(ac, pid, gpu, gh)
        team[submitted(ac, pid)] = (pid, address)
    review_and_publish(web, office, slug, reviewers)
    policy = text_of(web.client().get(f"/calls/{slug}/awarded").text)

    awards = web.client().get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    asked = {code: dict(zip(("CPU cluster", "GPU partition"), ASKED[i][1:], strict=True))
             for i, code in enumerate(team)}  # fmt: skip
    fraction: dict[str, dict[str, float]] = defaultdict(
        lambda: {"CPU cluster": 0.0, "GPU partition": 0.0}
    )
    for a in awards:
        fraction[a["proposal_code"]][a["pool"]] = a["amount"] / asked[a["proposal_code"]][a["pool"]]
    cut = [c for c, f in fraction.items() if len(set(round(v, 3) for v in f.values())) > 1]
    assert cut, fraction  # a project cut by a different fraction on each resource
    assert "Each resource a proposal asks for is cut on its own" in policy, policy
    for code in cut:
        pid, address = team[code]
        page = text_of(signed_in(web, address).get(f"/proposals/{pid}/outcome").text)
        for pool, f in fraction[code].items():
            said = (
                f"{pool}: awarded in full"
                if f == 1
                else f"{pool}: awarded {f:.1%} of the request"
                if f > 0
                else f"{pool}: "  # not awarded, said why under its own name
            )
            assert said in page, (
                said,
                page[page.find("partly awa") : page.find("partly awa") + 400],
            )
