"""A beamline's two machine modes offered in full by one call (branch trialfac22b): both
modes can run on any shift of the week, so each mode's resource has the beamline's 21
shifts, but the beamline has 21 shifts, not 42. The operator offers both modes in full
(an applicant may ask for either; 18 single-bunch shifts, the most a timing run needs); the allocation awards no more across the two modes
than the beamline's shifts (``capacity_pools.exclusive_group``), so the schedule books
every award, and a request left out reads that the shared instrument's shifts are taken.
A second call can no longer offer the beamline's shifts that the first call holds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.api import test_operator_journey as oj
from tests.api.test_genebank_journey import review_and_publish
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

SHIFTS: dict[str, Any] = {
    "unit": "shift", "slot_hours": 8, "period_start": "2027-09-06", "period_end": "2027-09-12",
    "day_start_hour": 8, "time_zone": "America/Sao_Paulo", "exclusive_group": "EMA",
}  # fmt: skip
# (country, multibunch shifts, single-bunch shifts): 30 and 18 asked of 21 shifts
TEAMS = [("BRA", 6, 0), ("ARG", 0, 6), ("BGD", 6, 0), ("MOZ", 0, 6), ("SEN", 6, 0),
         ("MEX", 6, 0), ("CHL", 0, 6), ("COL", 6, 0)]  # fmt: skip


def test_two_modes_of_one_beamline_offered_in_full(web: Web, one_loop: None) -> None:
    _admin, office, fac = oj.open_facility(
        web, "lnls2", "Brazilian Synchrotron Light Laboratory", "BRA",
        {"name": "Sirius beamline EMA", "slug": "ema", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    multi = office.post(res, {**SHIFTS, "name": "Multibunch shifts", "amount": 21})
    single = office.post(res, {**SHIFTS, "name": "Single-bunch shifts", "amount": 21})
    cal = office.get(f"/api/v1/resources/{multi['id']}")["calendar"]
    assert (cal["slot_capacity"], cal["instrument_hours"]) == (21, 21 * 8), cal

    slug = "ema-2027b"
    reviewers = oj.open_call(web, office, {
        "provider": "lnls2", "facility": "ema", "slug": slug, "code": "EMA27B",
        "cycle": "2027-II", "title": "EMA, second run 2027"},
        {"award_mode": "whole"},
        [("xr1@panel.example", "Crystallographer", "DEU"),
         ("xr2@panel.example", "Ultrafast physicist", "IND")],
        [{"pool_id": multi["id"], "amount": 21}, {"pool_id": single["id"], "amount": 18}])  # fmt: skip
    # another call cannot offer the beamline's shifts this call holds, in either mode:
    # three single-bunch shifts are not offered, but the beamline's 168 hours are held
    office.post("/api/v1/calls", {
        "provider": "lnls2", "facility": "ema", "slug": "ema-rapid", "code": "EMARA",
        "cycle": "2027-II", "title": "EMA rapid access", "allocation_policy": {},
        "offer_all_pools": False, "opens_at": "2027-01-01T00:00:00+00:00",
        "closes_at": "2027-02-01T00:00:00+00:00"})  # fmt: skip
    r = office.post("/api/v1/calls/ema-rapid/pools", {"pool_id": single["id"], "amount": 3},
                    status=400)  # fmt: skip
    assert "EMA" in str(r["detail"]) and "168" in str(r["detail"]), r
    assert office.get("/api/v1/calls/ema-rapid")["pools"] == []

    code_of: dict[str, str] = {}
    for i, (iso3, m, s) in enumerate(TEAMS):
        ac, pid = oj.applicant_draft(web, slug, f"ema-team{i}@uni.example", iso3, f"EMA {iso3}")
        pool, amount = (multi, m) if m else (single, s)
        oj.ask_for(ac, pid, pool["id"], {"amount": amount})
        code_of[iso3] = ac.post(f"/api/v1/proposals/{pid}/submit")["code"]

    review_and_publish(web, office, slug, reviewers)

    awards = office.get(f"/api/v1/calls/{slug}/awards", limit=50)["items"]
    got = {a["proposal_code"]: a["amount"] for a in awards}
    # the beamline's 21 shifts, shared by the two modes: three requests of 6 at most
    assert sum(got.values()) <= 21, got
    assert len(got) == 3, got
    # a request left out reads that the beamline's shifts are taken, not the solver's gap
    decisions = office.get(f"/api/v1/calls/{slug}/decisions", limit=50)["items"]
    left_out = [d["explanation"] for d in decisions if d["proposal_code"] not in got]
    assert len(left_out) == len(TEAMS) - 3, decisions
    assert all("EMA (Multibunch shifts + Single-bunch shifts)" in e for e in left_out), left_out
    booked = 0
    for e in office.get(f"/api/v1/calls/{slug}/schedule", limit=200)["items"]:
        assert e["proposal_code"] in got, e
        start = dt.datetime.fromisoformat(e["start"].replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(e["end"].replace("Z", "+00:00"))
        booked += round((end - start) / dt.timedelta(hours=8))
    # every awarded shift is booked (before: 42 awarded, half of them left unplaced)
    assert booked == sum(got.values()), (booked, got)
