"""The call's public page says when each offered resource runs (branch trialfac21).

A beamline whose shifts run in two machine modes offers each mode as a resource of its own,
closed in the other mode's blocks (tests/api/test_machine_modes_journey.py). The call's
page listed each resource's name and amount and nothing of its dates: an applicant choosing
between multibunch and single-bunch shifts, or planning a visa, could not see that the
single-bunch ones run in the second week and the last four days. Now each resource with a
period lists its spans outside its unavailable periods, on the site's clock, in the
reader's language; a resource without a period lists none, and a long list is cut.
"""

from __future__ import annotations

import pytest

from tests.api.test_operator_journey import open_call, open_facility, text_of
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

BASE = {"unit": "shift", "slot_hours": 8, "period_start": "2027-08-02", "period_end": "2027-08-29",
        "day_start_hour": 8, "time_zone": "America/Sao_Paulo"}  # fmt: skip


def test_the_call_page_lists_when_each_resource_runs(web: Web, one_loop: None) -> None:
    _admin, office, fac = open_facility(
        web, "ring", "Light Source", "BRA", {"name": "Beamline", "slug": "bl", "kind": "custom"}
    )
    res = f"/api/v1/facilities/{fac['id']}/resources"
    office.post(res, {**BASE, "name": "Single-bunch shifts", "amount": 33, "unavailable": [
        {"starts_at": "2027-08-02T08:00:00", "ends_at": "2027-08-09T08:00:00", "reason": "multi"},
        {"starts_at": "2027-08-16T08:00:00", "ends_at": "2027-08-26T08:00:00", "reason": "multi"},
    ]})  # fmt: skip
    weekly = office.post(res, {**BASE, "name": "Timing shifts", "amount": 3,
                               "period_start": "2027-01-04", "period_end": "2027-12-26"})  # fmt: skip
    office.post(f"/api/v1/resources/{weekly['id']}/unavailable/rule", {
        "rule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA", "start_time": "08:00", "hours": 24,
        "reason": "multibunch", "lower_amount": False})  # fmt: skip
    office.post(res, {"name": "Cluster core-hours", "unit": "h", "amount": 1000})
    open_call(web, office, {
        "provider": "ring", "facility": "bl", "slug": "bl-1", "code": "BL", "cycle": "1",
        "title": "Beamline call"}, {"award_mode": "whole"}, [])  # fmt: skip

    page = text_of(web.client("en").get("/calls/bl-1").text)
    assert "When the capacity runs" in page, page[:3000]
    single = page[page.index("Single-bunch shifts:") :]
    single = single[: single.index("Timing shifts:")]
    brt = "(Brazil (São Paulo) Time, UTC-03:00)"
    assert single.split(";") == [
        f"Single-bunch shifts: Aug 9, 2027, 8:00 AM {brt} – Aug 16, 2027, 8:00 AM {brt}",
        f" Aug 26, 2027, 8:00 AM {brt} – Aug 30, 2027, 8:00 AM {brt} ",
    ], single
    # one Sunday a week over a year: 51 spans, 12 listed and the rest counted
    timing = page[page.index("Timing shifts:") :]
    assert f"Timing shifts: Jan 10, 2027, 8:00 AM {brt} – Jan 11, 2027, 8:00 AM" in timing
    assert "and 39 more" in timing, timing[:3000]
    assert "Cluster core-hours:" not in page

    fr = text_of(web.client("fr").get("/calls/bl-1").text)
    assert "Quand la capacité est ouverte" in fr and "et 39 de plus" in fr, fr[:3000]
    assert "9 août 2027" in fr, fr[:3000]
