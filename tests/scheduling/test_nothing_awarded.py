"""A call whose allocation awarded nothing (every proposal under the quality threshold):
the scheduling step says so, not "run the allocation first", which it was (found by
tests/api/test_random_facilities.py, seed 332), and its job ends as done with that
explanation, not as a failure; the decisions are released and the call published all the
same."""

from __future__ import annotations

import pytest

from tests.api.test_operator_journey import (
    account,
    close_and_assign,
    open_call,
    open_facility,
    run_jobs,
)
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def test_scheduling_a_call_that_awarded_nothing_says_so(web: Web, one_loop: None) -> None:
    _admin, office, fac = open_facility(
        web, "lab", "Lab", "FRA", {"name": "Lab", "slug": "lab", "kind": "custom"}
    )
    pool = office.post(f"/api/v1/facilities/{fac['id']}/resources",
                       {"name": "Bench time", "unit": "h", "amount": 20})  # fmt: skip
    slug = "lab-1"
    (rev,) = open_call(web, office, {
        "provider": "lab", "facility": "lab", "slug": slug, "code": "LB", "cycle": "1",
        "title": "Lab call"}, {"award_mode": "whole", "quality_threshold": 4.5},
        [("rev@panel.example", "Reviewer One", "DEU")])  # fmt: skip
    ac = account(web, "pi@app.example", "Applicant One", country_iso3="KEN",
                 institution="Nairobi Lab")  # fmt: skip
    pid = ac.post("/api/v1/proposals", {"call": slug, "title": "A study",
                                        "abstract": "A.", "science_case": "B."})["id"]  # fmt: skip
    version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
    ac.post(f"/api/v1/proposals/{pid}/requests", {
        "version": version, "kind": "custom", "pool_id": pool["id"], "details": {"amount": 5}})  # fmt: skip
    ac.post(f"/api/v1/proposals/{pid}/submit")
    close_and_assign(web, office, slug)
    for a in rev.get("/api/v1/assignments", limit=200)["items"]:
        rev.post(f"/api/v1/assignments/{a['id']}/respond", {"accept": True})
        rev.post(f"/api/v1/assignments/{a['id']}/review",
                 {"grade": 2.0, "confidence": 4, "comments_to_applicants": "Weak."})  # fmt: skip
    for step, target in (("calibration", "ranking"), (None, "allocation")):
        if step:
            office.post(f"/api/v1/calls/{slug}/steps/{step}", {"seed": 1})
            run_jobs(web)
        office.post(f"/api/v1/calls/{slug}/transition", {"target": target})
        if target == "ranking":
            office.post(f"/api/v1/calls/{slug}/ranking/freeze")
    job = office.post(f"/api/v1/calls/{slug}/steps/allocation", {"seed": 1})
    run_jobs(web)
    assert office.get(f"/api/v1/jobs/{job['id']}")["status"] == "done"
    assert office.get(f"/api/v1/calls/{slug}/awards", limit=10)["items"] == []
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "scheduling"})
    job = office.post(f"/api/v1/calls/{slug}/steps/scheduling", {"seed": 1})
    run_jobs(web)
    done = office.get(f"/api/v1/jobs/{job['id']}")
    assert "run the allocation first" not in str(done), done
    # done, not failed: nothing to schedule is the step's answer, not an error
    assert done["status"] == "done" and not done["error"], done
    assert "awarded nothing, so there is nothing to schedule" in done["message"], done
    office.post(f"/api/v1/calls/{slug}/release")
    assert office.post(f"/api/v1/calls/{slug}/publish")["status"] == "published"
