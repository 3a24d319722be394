"""A continuous call's resource limit (``resource_limits.<pool>.max_total``) is the
call's: a later batch is offered what the earlier ones left, which may be less than the
limit, and its allocation runs (it was refused as an invalid policy, "70 is more than the
40 h that ... offers", and the batch could go no further: random facility seed 1); the
limit holds across the batches, as the caps per PI do."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from opencall.people import services as people_services
from tests.api.test_continuous_call_journey import allocate_and_release, review_and_rank
from tests.api.test_operator_journey import PASSWORD, Client, account
from tests.api.test_rapid_access_journey import ask
from tests.factories import PINNED_NOW
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

C1 = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
CLOSE = dt.datetime(2027, 2, 1, tzinfo=dt.UTC)


def test_a_batch_offered_less_than_a_limit_allocates_within_the_limit_left(
    web: Web, one_loop: None
) -> None:
    with web.factory() as s:
        root, _link = people_services.create_site_admin(
            s, email="root@lim.example", name="Site Admin", password=PASSWORD
        )
        raw = people_services.create_api_token(s, root, "setup")[1]
        s.commit()
    admin = Client(web, raw)
    admin.post("/api/v1/providers", {"name": "Lab", "slug": "lab", "country_iso3": "ZAF"})
    office = account(web, "office@lim.example", "Office", country_iso3="ZAF")
    admin.post("/api/v1/providers/lab/roles",
               {"email": "office@lim.example", "role": "provider_admin"})  # fmt: skip
    fac = office.post("/api/v1/providers/lab/facilities",
                      {"name": "Microscopes", "slug": "em", "kind": "custom"})  # fmt: skip
    pool = office.post(f"/api/v1/facilities/{fac['id']}/resources",
                       {"name": "Krios hours", "unit": "h", "amount": 100})["id"]  # fmt: skip
    office.post("/api/v1/calls", {
        "provider": "lab", "facility": "em", "slug": "rolling", "code": "RL", "cycle": "2027",
        "title": "Rolling access", "anonymity": "single", "mode": "continuous",
        "opens_at": (PINNED_NOW - dt.timedelta(days=1)).isoformat(),
        "closes_at": CLOSE.isoformat(), "cutoffs": [C1.isoformat()], "decision_days": 21,
        "review_settings": {"reviewers_per_proposal": 1, "max_load": 40},
        "allocation_policy": {"award_mode": "whole",
                              "resource_limits": {str(pool): {"max_total": 70}}}})  # fmt: skip
    office.post("/api/v1/calls/rolling/pools", {"pool_id": pool, "amount": 100})
    office.post("/api/v1/calls/rolling/transition", {"target": "open"})
    reviewer = account(web, "rev@panel.example", "Reviewer", country_iso3="FRA",
                       institution="Panel Institute")  # fmt: skip
    office.post("/api/v1/providers/lab/roles", {"email": "rev@panel.example", "role": "reviewer"})

    def submitted(i: int, hours: float) -> None:
        ac = account(web, f"pi{i}@lab.example", f"Applicant {i}", country_iso3="KEN",
                     institution=f"Institute {i}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {"call": "rolling", "title": f"Study {i}",
                                          "abstract": "A.", "science_case": "B."})  # fmt: skip
        ask(ac, p["id"], pool, hours)
        assert ac.post(f"/api/v1/proposals/{p['id']}/submit")["status"] == "submitted"

    for i in range(3):  # batch 1: 60 hours, within the limit of 70
        submitted(i, 20)
    with time_machine.travel(C1 + dt.timedelta(hours=1), tick=True):
        office.post("/api/v1/calls/rolling/batches")
        for i in (3, 4):  # batch 2: two of 10 hours; 10 are left of the limit
            submitted(i, 10)
        review_and_rank(web, office, "rolling-b1", [reviewer])
        first = allocate_and_release(web, office, "rolling-b1")
        assert sum(a["amount"] for a in first) == 60
    with time_machine.travel(CLOSE + dt.timedelta(hours=1), tick=True):
        office.post("/api/v1/calls/rolling/transition", {"target": "closed"})
        review_and_rank(web, office, "rolling-b2", [reviewer])
        # batch 2 is offered the 40 hours left, less than the limit: it allocates
        second = allocate_and_release(web, office, "rolling-b2")
    assert [p["amount"] for p in office.get("/api/v1/calls/rolling-b2")["pools"]] == [40]
    # within the call's limit across both batches: 10 hours of it were left
    assert [a["amount"] for a in second] == [10]
