"""A facility is found by its provider and short name (``facilities.queries.
facility_by_slug``) where the API creates a facility and a call: a second facility
with a short name the provider has is refused, and so is a call at a facility the
provider does not have; nothing is created by either."""

from __future__ import annotations

from tests.api.test_operator_journey import open_facility
from tests.web.conftest import Web


def test_a_taken_or_unknown_facility_short_name_is_refused(web: Web) -> None:
    _admin, office, fac = open_facility(
        web, "gstation", "Equatorial Ground Station", "KEN",
        {"name": "Ground station", "slug": "antennas", "kind": "custom"},
    )  # fmt: skip
    again = office.post(
        "/api/v1/providers/gstation/facilities",
        {"name": "Another station", "slug": "antennas", "kind": "custom"},
        status=400,
    )
    assert "already has a facility with that short name" in str(again), again
    call = {"provider": "gstation", "facility": "dishes", "slug": "gs-28", "code": "GS28",
            "cycle": "2028", "title": "Antenna passes", "opens_at": "2028-01-01T00:00:00Z",
            "closes_at": "2028-02-01T00:00:00Z"}  # fmt: skip
    refused = office.post("/api/v1/calls", call, status=400)
    assert "the provider has no facility 'dishes'" in str(refused), refused
    listed = office.get("/api/v1/providers/gstation/facilities")
    assert [f["slug"] for f in listed] == [fac["slug"]]
    office.post("/api/v1/calls", {**call, "facility": "antennas"}, status=201)
