"""An offer smaller than what the call's policy already allows of the resource is refused
when it is made, naming the policy's field (found by tests/api/test_random_facilities.py,
seed 29: the offer was taken, and the allocation, weeks later and with the policy locked
since the close, refused the call's policy as a failed job)."""

from __future__ import annotations

import json

import pytest

from tests.api.test_operator_journey import open_facility
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        ({"resource_limits": {"{pool}": {"max_per_proposal": 19}}}, "max_per_proposal"),
        ({"resource_limits": {"{pool}": {"max_total": 12}}}, "max_total"),
        ({"pi_cap_amount": {"{pool}": 15}}, "pi_cap_amount"),
        ({"group_caps": [{"per": "country", "max_amount": {"{pool}": 9}}]}, "max_amount"),
    ],
)
def test_an_offer_below_the_policy_is_refused_and_nothing_is_offered(
    web: Web, one_loop: None, policy: dict, field: str
) -> None:
    _admin, office, fac = open_facility(
        web, "lab", "Lab", "FRA", {"name": "Lab", "slug": "lab", "kind": "custom"}
    )
    res = f"/api/v1/facilities/{fac['id']}/resources"
    flasks = office.post(res, {"name": "Flasks", "unit": "g", "amount": 20})
    other = office.post(res, {"name": "Bench", "unit": "g", "amount": 5})
    named = json.loads(json.dumps(policy).replace("{pool}", str(flasks["id"])))
    office.post("/api/v1/calls", {
        "provider": "lab", "facility": "lab", "slug": "lab-1", "code": "LB", "cycle": "1",
        "title": "Lab call", "anonymity": "single",
        "opens_at": "2026-01-01T00:00:00Z", "closes_at": "2099-01-01T00:00:00Z",
        "allocation_policy": {"award_mode": "whole", **named}})  # fmt: skip
    # another resource the policy does not name may be offered first
    office.post("/api/v1/calls/lab-1/pools", {"pool_id": other["id"], "amount": 5})
    r = office.post("/api/v1/calls/lab-1/pools", {"pool_id": flasks["id"], "amount": 7},
                    status=400)  # fmt: skip
    assert field in r["detail"] and "Flasks" in r["detail"], r
    offered = office.get("/api/v1/calls/lab-1")["pools"]
    assert [p["pool_id"] for p in offered] == [other["id"]]
    office.post("/api/v1/calls/lab-1/pools", {"pool_id": flasks["id"], "amount": 20})


def test_a_call_whose_policy_names_a_resource_it_does_not_offer_does_not_open(
    web: Web, one_loop: None
) -> None:
    """The policy is read against the facility's resources while the call offers none,
    and against its offers at the allocation: opening (after which the policy is locked)
    is the last moment to say that it names a resource the call does not offer."""
    _admin, office, fac = open_facility(
        web, "lab", "Lab", "FRA", {"name": "Lab", "slug": "lab", "kind": "custom"}
    )
    res = f"/api/v1/facilities/{fac['id']}/resources"
    flasks = office.post(res, {"name": "Flasks", "unit": "g", "amount": 20})
    bench = office.post(res, {"name": "Bench", "unit": "g", "amount": 5})
    office.post("/api/v1/calls", {
        "provider": "lab", "facility": "lab", "slug": "lab-1", "code": "LB", "cycle": "1",
        "title": "Lab call", "anonymity": "single",
        "opens_at": "2026-01-01T00:00:00Z", "closes_at": "2099-01-01T00:00:00Z",
        "allocation_policy": {"award_mode": "whole", "resource_limits": {
            str(flasks["id"]): {"max_per_proposal": 4}}}})  # fmt: skip
    office.post("/api/v1/calls/lab-1/pools", {"pool_id": bench["id"]})
    r = office.post("/api/v1/calls/lab-1/transition", {"target": "open"}, status=400)
    assert f"resource_limits.{flasks['id']}" in r["detail"] and "not offered" in r["detail"], r
    assert office.get("/api/v1/calls/lab-1")["status"] == "draft"
    office.post("/api/v1/calls/lab-1/pools", {"pool_id": flasks["id"]})
    assert office.post("/api/v1/calls/lab-1/transition", {"target": "open"})["status"] == "open"
