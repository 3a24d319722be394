"""The user office changes what an open call offers of a resource (trialfac23): a rolling
track's budget raised with the hours a competitive call left unawarded or an ended award
returned, or lowered, within what the resource has and never below what the call's
batches already hold. Before, an offer could be made once and never changed ("This call
already offers ..."), so hours returned to the resource could reach no open call."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from tests.api.test_operator_journey import Client, open_facility, signed_in, text_of
from tests.api.test_seed_shipments_journey import applicant, submitted
from tests.factories import PINNED_NOW
from tests.web.conftest import Web, csrf

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]
CUT = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def rolling_call(office: Client, pools: list[dict[str, Any]], policy: dict[str, Any]) -> None:
    office.post("/api/v1/calls", {
        "provider": "hpc", "facility": "hpc", "slug": "prep", "code": "PA", "cycle": "1",
        "title": "Preparatory access", "anonymity": "single", "mode": "continuous",
        "opens_at": (PINNED_NOW - dt.timedelta(days=1)).isoformat(),
        "closes_at": "2027-06-01T00:00:00Z", "cutoffs": [CUT.isoformat()],
        "review_settings": {"reviewers_per_proposal": 1, "max_load": 40},
        "allocation_policy": {"award_mode": "whole", **policy}})  # fmt: skip
    for body in pools:
        office.post("/api/v1/calls/prep/pools", body)
    office.post("/api/v1/calls/prep/transition", {"target": "open"})


def offered(office: Client, slug: str) -> dict[int, float]:
    return {p["pool_id"]: p["amount"] for p in office.get(f"/api/v1/calls/{slug}")["pools"]}


def test_an_open_calls_offer_is_raised_and_lowered_within_the_resource(
    web: Web, one_loop: None
) -> None:
    _admin, office, fac = open_facility(
        web, "hpc", "HPC Centre", "ZAF", {"name": "HPC", "slug": "hpc", "kind": "custom"}
    )
    res = f"/api/v1/facilities/{fac['id']}/resources"
    core = office.post(res, {"name": "CPU cluster", "unit": "core-hour", "whole_units": True,
                             "unit_labels": {lang: {"one": "core-hour", "other": "core-hours"}
                                             for lang in ("en", "zh", "fr", "es")},
                             "amount": 10_000_000})["id"]  # fmt: skip
    tb = office.post(res, {"name": "Storage", "unit": "g", "amount": 100})["id"]
    rolling_call(office, [{"pool_id": core, "amount": 2_000_000, "max_per_request": 200_000},
                          {"pool_id": tb, "amount": 10}],
                 {"resource_limits": {str(core): {"max_total": 1_500_000}}})  # fmt: skip
    # another call holds 7,000,000 core-hours: 1,000,000 are left on the resource
    office.post("/api/v1/calls", {
        "provider": "hpc", "facility": "hpc", "slug": "main", "code": "MN", "cycle": "1",
        "title": "Main call", "anonymity": "single",
        "opens_at": "2026-01-01T00:00:00Z", "closes_at": "2027-01-01T00:00:00Z"})  # fmt: skip
    office.post("/api/v1/calls/main/pools", {"pool_id": core, "amount": 7_000_000})
    url = f"/api/v1/calls/prep/pools/{core}"

    # raised by what is left: 3,000,000 in all
    got = office.send("PATCH", url, {"amount": 3_000_000})
    assert offered(office, "prep")[core] == 3_000_000, got
    assert office.get(f"/api/v1/resources/{core}")["committed"] == 10_000_000
    # refused, nothing changed: beyond the resource, below the policy's limit, not whole,
    # a resource the call does not offer, nothing
    for body, said in [
        ({"amount": 3_000_001}, "at most 3,000,000"),
        ({"amount": 1_000_000}, "max_total"),
        ({"amount": 2_500_000.5}, "whole number"),
        ({"amount": 0}, "positive"),
    ]:  # fmt: skip
        r = office.send("PATCH", url, body, status=400)
        assert said in r["detail"], (body, r)
    r = office.send("PATCH", "/api/v1/calls/main/pools/" + str(tb), {"amount": 5}, status=400)
    assert "does not offer" in r["detail"], r
    assert offered(office, "prep") == {core: 3_000_000, tb: 10}
    # lowered: the hours go back to the resource, for the main call to take
    office.send("PATCH", url, {"amount": 2_000_000})
    office.send("PATCH", f"/api/v1/calls/main/pools/{core}", {"amount": 8_000_000})
    assert offered(office, "main")[core] == 8_000_000

    # a batch cut: the rolling call cannot go below what its batches hold
    ac, pid = applicant(web, "a@lab.example", "KEN", "prep", "Porting")
    version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
    ac.post(f"/api/v1/proposals/{pid}/requests", {
        "version": version, "kind": "custom", "pool_id": core,
        "details": {"amount": 100_000}})  # fmt: skip
    submitted(ac, pid)
    with time_machine.travel(CUT + dt.timedelta(hours=1), tick=True):
        office.post("/api/v1/calls/prep/batches")
    # the batch (closed, not released) holds its offer, the whole budget
    r = office.send("PATCH", url, {"amount": 1_600_000}, status=400)
    assert "batches" in r["detail"], r
    # a closed call's offers are not changed
    r = office.send("PATCH", f"/api/v1/calls/prep-b1/pools/{core}", {"amount": 5}, status=400)
    assert "draft or open" in r["detail"], r
    # someone else's token: not found
    stranger = applicant(web, "b@lab.example", "FRA", "prep", "Other")[0]
    stranger.send("PATCH", url, {"amount": 2_000_000}, status=404)
    assert offered(office, "prep") == {core: 2_000_000, tb: 10}


def test_the_cockpit_changes_an_offer(web: Web, one_loop: None) -> None:
    """The same on the call's cockpit: its form lists what the call offers; a refusal says
    why and changes nothing."""
    _admin, office, fac = open_facility(
        web, "hpc", "HPC Centre", "ZAF", {"name": "HPC", "slug": "hpc", "kind": "custom"}
    )
    res = f"/api/v1/facilities/{fac['id']}/resources"
    gpu = office.post(res, {"name": "GPU partition", "unit": "h", "amount": 40_000})["id"]
    rolling_call(office, [{"pool_id": gpu, "amount": 10_000}], {})
    browser = signed_in(web, "office@hpc.example")
    page = text_of(browser.get("/manage/calls/prep").text)
    assert "Change what the call offers" in page and "GPU partition (10,000 hours)" in page, page
    r = browser.post("/manage/calls/prep/pools/change",
                     data={"csrf_token": csrf(browser), "pool_id": str(gpu), "amount": "40001"})  # fmt: skip
    assert r.status_code == 400 and "at most the pool" in text_of(r.text), r.text
    assert offered(office, "prep") == {gpu: 10_000}
    r = browser.post("/manage/calls/prep/pools/change",
                     data={"csrf_token": csrf(browser), "pool_id": str(gpu), "amount": "25000"})  # fmt: skip
    assert r.status_code == 303, r.text
    assert offered(office, "prep") == {gpu: 25_000}
