"""Every route of the post-award feature x every persona (run by
``tests/results/test_web.py``; ``tests/web/test_authz.py`` counts ``ROUTES``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

OFFICE = {"manager"}
AWARD = {"pi", "coi", "manager"}
PI = {"pi"}  # declining the award: its PI alone
EVERYONE = {"anonymous", "pi", "coi", "other", "manager", "other_manager"}
LOAN = {
    "kind": "loan",
    "sample": "CE-5 regolith",
    "mass_mg": "100",
    "shipped_on": "2027-06-01",
    "received_on": "2027-06-10",
    "due_on": "2028-06-01",
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
    params: Callable[[Any], dict[str, Any]] = lambda a: {
        "proposal_id": a.awarded,
        "slug": a.slug,
        "record_id": a.ids.get("record", 0),
        "output_id": a.ids.get("output", 0),
        "part_id": a.ids.get("part", 0),
    }


CASES: list[Case] = [
    Case("GET", "/awards/{proposal_id}", AWARD),
    Case("POST", "/awards/{proposal_id}/records", AWARD, data=LOAN),
    Case(
        "POST",
        "/awards/{proposal_id}/records/{record_id}",
        AWARD,
        data={k: v for k, v in LOAN.items() if k != "kind"},
    ),
    Case("POST", "/awards/{proposal_id}/outputs", AWARD, data={"title": "T", "year": "2028"}),
    # a record kept in error, not removed without a reason (trialout13)
    Case("POST", "/awards/{proposal_id}/records/{record_id}/remove", AWARD, data={"reason": ""}),
    Case("POST", "/awards/{proposal_id}/outputs/import", AWARD, data={"text": ""}),
    # a result retracted, then the retraction undone (trialout13)
    Case(
        "POST",
        "/awards/{proposal_id}/outputs/{output_id}/retract",
        AWARD,
        data={"retracted_on": "2029-01-01", "note": "Retracted by the journal"},
    ),
    Case("POST", "/awards/{proposal_id}/outputs/{output_id}/restore", AWARD),
    Case(
        "PUT",
        "/api/v1/awards/{proposal_id}/outputs/{output_id}/retraction",
        AWARD,
        api=True,
        json={"retracted_on": "2029-01-01", "note": "Retracted by the journal"},
    ),
    Case("DELETE", "/api/v1/awards/{proposal_id}/outputs/{output_id}/retraction", AWARD, api=True),
    # without its reason: refused (400) for those who may, 404 for the others
    Case("DELETE", "/api/v1/awards/{proposal_id}/records/{record_id}", AWARD, api=True),
    # a result corrected, or withdrawn without its reason (refused): outcomes15
    Case(
        "POST",
        "/awards/{proposal_id}/outputs/{output_id}",
        AWARD,
        data={"kind": "publication", "title": "T", "year": "2028"},
    ),
    Case("POST", "/awards/{proposal_id}/outputs/{output_id}/remove", AWARD, data={"reason": ""}),
    Case(
        "PUT",
        "/api/v1/awards/{proposal_id}/outputs/{output_id}",
        AWARD,
        api=True,
        json={"title": "T", "year": 2028},
    ),
    Case("DELETE", "/api/v1/awards/{proposal_id}/outputs/{output_id}", AWARD, api=True),
    Case("GET", "/manage/calls/{slug}/postaward", OFFICE),
    Case("POST", "/manage/calls/{slug}/postaward/import", OFFICE, data={"text": ""}),
    # the office ends an award its PI returned (outcomes22): unconfirmed here, so the
    # office is answered 400 and nothing changes
    Case(
        "POST",
        "/manage/calls/{slug}/awards/{proposal_id}/end",
        OFFICE,
        data={"reason": "visa", "note": "returned"},
    ),  # fmt: skip
    Case(
        "POST",
        "/api/v1/calls/{slug}/awards/{proposal_id}/end",
        OFFICE,
        api=True,
        json={"reason": "visa", "note": "returned"},
    ),
    # a multi-period award's later parts (outcomes24): the office holds one in a later call
    # it manages and answers its progress report; refused here (no call named, no
    # decision), so the office is answered 400 and nothing changes
    Case(
        "POST",
        "/manage/calls/{slug}/awards/{proposal_id}/later-parts",
        OFFICE,
        data={"later_call": "", "resource_id": "1", "amount": "1"},
    ),
    Case(
        "POST",
        "/manage/calls/{slug}/awards/{proposal_id}/later-parts/{part_id}/progress",
        OFFICE,
        data={"decision": "", "note": "x"},
    ),
    Case(
        "POST",
        "/api/v1/calls/{slug}/awards/{proposal_id}/later-parts",
        OFFICE,
        api=True,
        json={"later_call": "no-such-call", "resource_id": 1, "amount": 1},
    ),
    Case(
        "POST",
        "/api/v1/calls/{slug}/awards/{proposal_id}/later-parts/{part_id}/progress",
        OFFICE,
        api=True,
        json={"accept": True, "note": ""},
    ),
    Case("GET", "/calls/{slug}/after-award", EVERYONE),
    Case("GET", "/api/v1/awards/{proposal_id}", AWARD, api=True),
    Case(
        "POST",
        "/api/v1/awards/{proposal_id}/records",
        AWARD,
        api=True,
        json={"kind": "loan", "data": {"sample": "x", "mass_mg": 5}},
    ),
    Case(
        "PUT",
        "/api/v1/awards/{proposal_id}/records/{record_id}",
        AWARD,
        api=True,
        json={"data": {"sample": "x", "mass_mg": 6}},
    ),
    Case(
        "POST",
        "/api/v1/awards/{proposal_id}/outputs",
        AWARD,
        api=True,
        json={"title": "T", "year": 2028},
    ),
    Case(
        "POST",
        "/api/v1/awards/{proposal_id}/outputs/import",
        AWARD,
        api=True,
        json={
            "format": "csl-json",
            "content": '[{"title": "U", "issued": {"date-parts": [[2029]]}}]',
        },
    ),
    Case("GET", "/api/v1/calls/{slug}/postaward", OFFICE, api=True),
    # the earlier award a proposal continues (outcomes19): its team (refused here, 400,
    # the proposal being decided) and its user office (who may at any time)
    Case(
        "PUT",
        "/api/v1/proposals/{proposal_id}/continues",
        AWARD,
        api=True,
        json={"continues": None},
    ),
    Case("GET", "/proposals/{proposal_id}/continues", AWARD),
    Case("POST", "/proposals/{proposal_id}/continues", AWARD, data={"continues": ""}),
    # declining (refused here for the PI too: the award has a record, so is in use)
    Case("GET", "/awards/{proposal_id}/decline", PI),
    Case("POST", "/awards/{proposal_id}/decline", PI, data={"reason": "visa", "confirm": "yes"}),
    Case(
        "POST",
        "/api/v1/awards/{proposal_id}/decline",
        PI,
        api=True,
        json={"reason": "visa", "confirm": True},
    ),
    # the chair's side (the call's staff; here its user office): nothing declined yet
    Case("GET", "/manage/calls/{slug}/declines", OFFICE),
    Case(
        "POST",
        "/manage/calls/{slug}/declines/{proposal_id}/offer",
        OFFICE,
        data={"reason": "next in line"},
        params=lambda a: {"proposal_id": a.rejected, "slug": a.slug},
    ),
    Case("GET", "/api/v1/calls/{slug}/declines", OFFICE, api=True),
    # the TAC chair's reserve list takes the freed capacity (trialtac19): nothing declined
    # yet, so the staff are refused with 400
    Case("POST", "/manage/calls/{slug}/tac/reserve/offer", OFFICE),
    Case("POST", "/api/v1/calls/{slug}/tac/reserve/offer", OFFICE, api=True),
    Case(
        "POST",
        "/api/v1/calls/{slug}/declines/{proposal_id}/offer",
        OFFICE,
        api=True,
        json={"reason": "next in line"},
        params=lambda a: {"proposal_id": a.rejected, "slug": a.slug},
    ),
    # a node's awards, bookings and records: the user office sees every node's (the staff
    # of one node: tests/api/test_isotope_network_journey.py)
    Case("GET", "/api/v1/calls/{slug}/node/awards", OFFICE, api=True),
    Case("GET", "/api/v1/calls/{slug}/node/bookings", OFFICE, api=True),
    # each provider's figures (a joint call's partners: tests/api/test_joint_call_journey.py)
    Case("GET", "/api/v1/calls/{slug}/node/providers", OFFICE, api=True),
    Case("GET", "/node/calls/{slug}", OFFICE),
    Case("GET", "/node/calls/{slug}/bookings.csv", OFFICE),
    Case(
        "POST",
        "/api/v1/calls/{slug}/node/awards/{award_id}/records",
        OFFICE,
        api=True,
        json={"kind": "loan", "data": {"sample": "x", "mass_mg": 5}},
        params=lambda a: {"slug": a.slug, "award_id": a.award_id},
    ),
    Case(
        "PUT",
        "/api/v1/calls/{slug}/node/records/{record_id}",
        OFFICE,
        api=True,
        json={"data": {"sample": "x", "mass_mg": 7}},
    ),
    Case(
        "POST",
        "/api/v1/calls/{slug}/outputs/import",
        OFFICE,
        api=True,
        json={"format": "bibtex", "content": "@article{a, title={T}, year={2029}, award={X}}"},
    ),
    Case(
        "POST",
        "/api/v1/calls/{slug}/records/import",
        OFFICE,
        api=True,
        json={"content": "award,kind,description\nX,other,Thin sections\n"},
    ),
]
ROUTES = {(c.method, c.path) for c in CASES}
