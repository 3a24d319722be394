"""Every route of the slot calendars x every persona (run by
``tests/scheduling/test_slot_pages.py``; ``tests/web/test_authz.py`` counts ``ROUTES``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

STAFF = {"chair", "manager"}
TEAM = {"pi", "coi"}
PERSONAS = ("anonymous", "pi", "coi", "other", "chair", "manager", "other_manager")
# who may see the PI's name: the team itself and the user office (a chair of a dual-anonymous
# call may not before the ranking is frozen)
SEES_PI = {"pi", "coi", "manager"}


@dataclass
class Case:
    method: str
    path: str
    allowed: set[str]
    anonymous: str = "login"
    params: Callable[[Any], dict[str, Any]] = lambda w: {
        "slug": w.slug,
        "pool_id": w.pools["b"],
        "proposal_id": w.bundle,
    }


CASES: list[Case] = [
    Case("GET", "/manage/calls/{slug}/resources/{pool_id}/calendar", STAFF),
    Case("GET", "/manage/calls/{slug}/resources/{pool_id}/calendar.ics", STAFF),
    # a resource that is not slot-based has no calendar: 404 for everyone
    Case(
        "GET",
        "/manage/calls/{slug}/resources/{pool_id}/calendar",
        set(),
        params=lambda w: {"slug": w.slug, "pool_id": w.pools["samples"]},
    ),
    # public busy/free: only once the call is published (it is not, here: 404 for everyone;
    # the published case is in test_slot_pages)
    Case("GET", "/calls/{slug}/resources/{pool_id}/calendar.ics", set(), anonymous="404"),
    Case("GET", "/proposals/{proposal_id}/slots", TEAM),
    Case("GET", "/proposals/{proposal_id}/slots.ics", TEAM),
]

ROUTES = {(c.method, c.path) for c in CASES}
