"""An operator says, through the JSON API, that two resources share one instrument
(``exclusive_group``, trialfac21b): a beamline's multibunch and single-bunch shifts. Read
back, audited, kept through an edit, refused where it means nothing (a resource without
slots, a shared slot), and cleared."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from opencall import auditlog
from tests.api import test_operator_journey as oj
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore")]

SHIFTS: dict[str, Any] = {
    "unit": "shift", "slot_hours": 8, "period_start": "2027-08-02",
    "period_end": "2027-08-08", "day_start_hour": 8, "time_zone": "America/Sao_Paulo",
}  # fmt: skip


def test_two_modes_share_one_beamline_through_the_api(web: Web) -> None:
    _admin, office, fac = oj.open_facility(
        web, "lnls-x", "Light source", "BRA",
        {"name": "Beamline", "slug": "beamline", "kind": "custom"},
    )  # fmt: skip
    res = f"/api/v1/facilities/{fac['id']}/resources"
    multi = office.post(res, {**SHIFTS, "name": "Multibunch", "amount": 21,
                              "exclusive_group": "  CATERETE  beamline "})  # fmt: skip
    assert multi["exclusive_group"] == "CATERETE beamline"
    single = office.post(res, {**SHIFTS, "name": "Single-bunch", "amount": 21})
    assert single["exclusive_group"] == ""
    single = office.send(
        "PATCH", f"/api/v1/resources/{single['id']}", {"exclusive_group": "CATERETE beamline"}
    )
    assert single["exclusive_group"] == "CATERETE beamline"
    # an edit of something else keeps the group
    # the capacity: 21 shifts each, the same 21 shifts of the beamline, counted once
    cal = office.get(f"/api/v1/resources/{multi['id']}")["calendar"]
    assert (cal["slot_capacity"], cal["instrument_hours"]) == (21, 21 * 8), cal
    assert single["calendar"]["instrument_hours"] == 21 * 8
    single = office.send("PATCH", f"/api/v1/resources/{single['id']}", {"amount": 20})
    assert office.get(f"/api/v1/resources/{single['id']}")["exclusive_group"] == "CATERETE beamline"
    # where it means nothing: no slots, or a slot shared by several groups
    bad = office.post(res, {"name": "Hours", "unit": "h", "amount": 5,
                            "exclusive_group": "CATERETE beamline"}, status=400)  # fmt: skip
    assert "in slots" in str(bad["detail"]), bad
    bad = office.send(
        "PATCH", f"/api/v1/resources/{single['id']}", {"groups_per_slot": 4}, status=400
    )
    assert "in slots" in str(bad["detail"]), bad
    with web.factory() as s:
        events = s.scalars(
            select(auditlog.AuditEvent).where(auditlog.AuditEvent.entity == "capacity_pool")
        ).all()
        said = [(e.action, e.data.get("exclusive_group")) for e in events]
    assert ("pool.created", "CATERETE beamline") in said, said
    assert ("pool.edited", "CATERETE beamline") in said, said
    cleared = office.send("PATCH", f"/api/v1/resources/{single['id']}", {"exclusive_group": ""})
    assert cleared["exclusive_group"] == ""
    assert cleared["calendar"]["instrument_hours"] is None
