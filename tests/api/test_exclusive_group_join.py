"""mend22b: trialfac22b refused an offer that takes the calls past an instrument's shared
hours (``capacity_pools.exclusive_group``), but putting a resource into a group was not
checked: two calls each offering one of a beamline's two modes in full (21 shifts each)
could then share its 21 shifts, 42 held of 21. Refused, with the same kind of message,
and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api import test_operator_journey as oj
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

SHIFTS: dict[str, Any] = {
    "unit": "shift", "slot_hours": 8, "period_start": "2027-09-06", "period_end": "2027-09-12",
    "day_start_hour": 8, "time_zone": "America/Sao_Paulo",
}  # fmt: skip


def _call(office: oj.Client, slug: str, pool_id: int, amount: int) -> None:
    office.post("/api/v1/calls", {
        "provider": "lnls3", "facility": "ema", "slug": slug, "code": slug.upper()[:6],
        "cycle": "2027-II", "title": f"EMA {slug}", "allocation_policy": {},
        "offer_all_pools": False, "opens_at": "2027-01-01T00:00:00+00:00",
        "closes_at": "2027-02-01T00:00:00+00:00"})  # fmt: skip
    office.post(f"/api/v1/calls/{slug}/pools", {"pool_id": pool_id, "amount": amount})


def test_joining_a_group_past_the_instruments_hours_is_refused(web: Web) -> None:
    _admin, office, fac = oj.open_facility(
        web, "lnls3", "Brazilian Synchrotron Light Laboratory", "BRA",
        {"name": "Sirius beamline EMA", "slug": "ema", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    multi = office.post(res, {**SHIFTS, "name": "Multibunch shifts", "amount": 21,
                              "exclusive_group": "EMA"})  # fmt: skip
    single = office.post(res, {**SHIFTS, "name": "Single-bunch shifts", "amount": 21})
    _call(office, "ema-main", multi["id"], 21)
    _call(office, "ema-rapid", single["id"], 3)
    r = office.send(
        "PATCH", f"/api/v1/resources/{single['id']}", {"exclusive_group": "EMA"}, status=400
    )
    detail = str(r["detail"])
    assert "EMA" in detail and "168" in detail and "192" in detail, r
    assert office.get(f"/api/v1/resources/{single['id']}")["exclusive_group"] == ""
    # within the instrument's hours a resource joins: a third mode no call offers
    third = office.post(res, {**SHIFTS, "name": "Tomography shifts", "amount": 21})
    office.send("PATCH", f"/api/v1/resources/{third['id']}", {"exclusive_group": "EMA"})
    assert office.get(f"/api/v1/resources/{third['id']}")["exclusive_group"] == "EMA"
