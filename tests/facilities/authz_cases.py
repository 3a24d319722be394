"""Every route of the resource model (operator pages and JSON API) x every persona
(run by ``tests/facilities/test_web.py``; ``tests/web/test_authz.py`` counts ``ROUTES``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

OFFICE = {"manager"}
RESOURCE = {
    "name": "Talos",
    "unit": "session",
    "amount": "5",
    "period_start": "2027-07-01",
    "period_end": "2027-09-28",
    "slot_hours": "24",
}


@dataclass
class Case:
    method: str
    path: str
    allowed: set[str]
    data: dict[str, Any] = field(default_factory=dict)
    api: bool = False
    json: dict[str, Any] | None = None
    anonymous: str = "login"
    params: Callable[[Any], dict[str, Any]] = lambda w: {
        "facility_id": w.facility_id,
        "pool_id": w.krios_id,
        "slug": w.provider_slug,
        "unavailable_id": w.unavailable_id,
        "key": "specimen",
        "proposal_id": w.proposal_id,
    }


CASES: list[Case] = [
    Case("POST", "/proposals/{proposal_id}/bundle", {"applicant"}, data={"bundle": "pair"}),
    Case("POST", "/proposals/{proposal_id}/language", {"applicant"}, data={"language": "es"}),
    Case("GET", "/manage/facilities/{facility_id}", OFFICE),
    Case("POST", "/manage/facilities/{facility_id}/resources", OFFICE, data=RESOURCE),
    Case("GET", "/manage/resources/{pool_id}", OFFICE),
    Case("GET", "/manage/resources/{pool_id}/edit", OFFICE),
    Case("POST", "/manage/resources/{pool_id}", OFFICE, data={**RESOURCE, "name": "Krios"}),
    Case(
        "POST",
        "/manage/resources/{pool_id}/unavailable",
        OFFICE,
        data={"first_day": "2027-09-01", "last_day": "2027-09-02", "reason": "x"},
    ),
    Case(
        "POST",
        "/manage/resources/{pool_id}/unavailable/rule",
        OFFICE,
        data={"rule": "FREQ=YEARLY;BYMONTH=9;BYMONTHDAY=20", "start_time": "00:00", "hours": "24"},
    ),
    Case("POST", "/manage/resources/{pool_id}/unavailable/{unavailable_id}/remove", OFFICE),
    Case(
        "POST",
        "/manage/resources/{pool_id}/fields",
        OFFICE,
        data={"key": "notes", "type": "text", "flabel_en": "Notes"},
    ),
    Case("POST", "/manage/resources/{pool_id}/fields/{key}/remove", OFFICE),
    Case("GET", "/api/v1/providers/{slug}/facilities", OFFICE, api=True),
    Case(
        "POST",
        "/api/v1/providers/{slug}/facilities",
        OFFICE,
        api=True,
        json={"name": "Second", "slug": "second", "kind": "custom"},
    ),
    Case("GET", "/api/v1/facilities/{facility_id}", OFFICE, api=True),
    Case(
        "POST",
        "/api/v1/facilities/{facility_id}/resources",
        OFFICE,
        api=True,
        json={"name": "Arctica", "unit": "day", "amount": 3},
    ),
    Case(
        "POST",
        "/api/v1/facilities/{facility_id}/pools",
        OFFICE,
        api=True,
        # a custom facility: its manager is refused (400, "ok"), the others get 404
        json={"name": "Seats", "pool_type": "seats", "amount": 3},
    ),
    Case("GET", "/api/v1/resources/{pool_id}", OFFICE, api=True),
    Case("PATCH", "/api/v1/resources/{pool_id}", OFFICE, api=True, json={"name": "Krios G4i"}),
    Case(
        "PUT",
        "/api/v1/resources/{pool_id}/request-fields",
        OFFICE,
        api=True,
        json={"fields": []},
    ),
    Case("GET", "/api/v1/resources/{pool_id}/calendar", OFFICE, api=True),
    Case(
        "POST",
        "/api/v1/resources/{pool_id}/unavailable",
        OFFICE,
        api=True,
        json={"starts_at": "2027-09-10T00:00:00Z", "ends_at": "2027-09-11T00:00:00Z"},
    ),
    Case(
        "POST",
        "/api/v1/resources/{pool_id}/unavailable/rule",
        OFFICE,
        api=True,
        json={"rule": "FREQ=YEARLY;BYMONTH=9;BYMONTHDAY=21", "start_time": "00:00", "hours": 24},
    ),
    Case("DELETE", "/api/v1/resources/{pool_id}/unavailable/{unavailable_id}", OFFICE, api=True),
]
ROUTES = {(c.method, c.path) for c in CASES}
