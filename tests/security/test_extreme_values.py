"""Dates at the ends of the calendar typed into forms, query strings and API bodies
(dates16). Python's calendar runs from 0001-01-01 to 9999-12-31: a date near either end
overflowed (OverflowError, a 500) where a page took a week from it or read it on a time
zone's clock. Each is now refused where it is read (``opencall.inputs``: the years
1000 to 9000), with a 4xx and nothing changed; a week asked of the schedule page is
read as no week, as an unreadable one is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select

from opencall.calls.models import Call
from opencall.calls.schemas import ReviewSettings
from opencall.facilities.api import ResourcePatch, UnavailableIn
from opencall.facilities.models import CapacityPool, PoolUnavailability
from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from opencall.results.api import RetractIn
from opencall.results.schemas import LoanData
from opencall.reviews.api_write.assignments import ExtensionIn
from opencall.reviews.api_write.phases import StepIn
from tests.web.conftest import Web, World, api_bearer, csrf

pytestmark = pytest.mark.filterwarnings("ignore")


def _manager(web: Web, world: World) -> TestClient:
    return web.login(world.emails["manager"])


def _facility_id(web: Web, world: World) -> int:
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == world.slugs["other_call"])).one()
        return call.facility_id


def _pool_id(web: Web, world: World) -> int:
    fid = _facility_id(web, world)
    with web.factory() as s:
        return s.scalars(select(CapacityPool.id).where(CapacityPool.facility_id == fid)).first()


def _counts(web: Web) -> tuple[int, int]:
    with web.factory() as s:
        return (
            s.scalar(select(func.count()).select_from(Call)) or 0,
            s.scalar(select(func.count()).select_from(PoolUnavailability)) or 0,
        )


def _new_call_form(web: Web, world: World, c: TestClient, when: str) -> Any:
    return c.post(
        "/manage/calls/new",
        data={
            "csrf_token": csrf(c, "/manage/calls/new"),
            "facility_id": str(_facility_id(web, world)),
            "slug": "far-call",
            "code": "FAR",
            "title": "A call far away",
            "cycle": "2029",
            "time_zone": "Pacific/Kiritimati" if when.startswith("0001") else "America/La_Paz",
            "opens_at": "2029-01-01 00:00" if when.startswith("9") else when,
            "closes_at": when if when.startswith("9") else "2029-02-01 00:00",
            "anonymity": "dual",
        },
    )


def _api_call(web: Web, world: World, when: str) -> Any:
    c = web.client()
    head = api_bearer(web, world.emails["manager"], ("manage",))
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == world.slugs["other_call"])).one()
        provider, facility = call.provider.slug, call.facility.slug
    body = {
        "provider": provider,
        "facility": facility,
        "slug": "far-api-call",
        "code": "FARAPI",
        "title": "A call far away",
        "cycle": "2029",
        "time_zone": "America/La_Paz",
        "opens_at": "2029-01-01T00:00:00",
        "closes_at": when,
    }
    return c.post("/api/v1/calls", json=body, headers=head)


def _unavailable(web: Web, world: World, day: str) -> Any:
    pid = _pool_id(web, world)
    with web.factory() as s:  # the manager made an administrator of the resource's provider
        pool = s.get(CapacityPool, pid)
        assert pool is not None
        user = user_by_email(s, world.emails["manager"])
        assert user is not None
        people_services.grant_role(
            s, user.id, "provider_admin", provider_id=pool.facility.provider_id
        )
        s.commit()
    c = _manager(web, world)
    return c.post(
        f"/manage/resources/{pid}/unavailable",
        data={
            "csrf_token": csrf(c, f"/manage/resources/{pid}"),
            "first_day": day,
            "last_day": day,
            "reason": "far",
        },
    )


CASES: dict[str, Callable[[Web, World], Any]] = {
    "schedule week 9999-12-31": lambda w, x: _manager(w, x).get(
        f"/manage/calls/{x.slugs['other_call']}/schedule", params={"week": "9999-12-31"}
    ),
    "schedule week 0001-01-01": lambda w, x: _manager(w, x).get(
        f"/manage/calls/{x.slugs['other_call']}/schedule", params={"week": "0001-01-01"}
    ),
    "new call form closing 9999-12-31 23:59": lambda w, x: _new_call_form(
        w, x, _manager(w, x), "9999-12-31 23:59"
    ),
    "new call form opening 0001-01-01 00:00": lambda w, x: _new_call_form(
        w, x, _manager(w, x), "0001-01-01 00:00"
    ),
    "API call closing 9999-12-31T23:59": lambda w, x: _api_call(w, x, "9999-12-31T23:59:00"),
    "resource closed on 9999-12-31": lambda w, x: _unavailable(w, x, "9999-12-31"),
}


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the reading, not the store
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_date_at_the_end_of_the_calendar_is_no_server_error(
    web: Web, world: World, case: str
) -> None:
    before = _counts(web)
    r = CASES[case](web, world)
    assert r.status_code < 500, (case, r.status_code, r.text[:300])
    if case.startswith("schedule"):
        assert r.status_code == 200  # the schedule's first week, as for an unreadable one
    else:
        assert 400 <= r.status_code < 500, (case, r.status_code)
    assert _counts(web) == before  # nothing made


# bodies whose dates the API stored as they came (a 201) and pages then read on a
# time zone's clock or a day further on: refused by the shared bounded types
BODIES: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (ExtensionIn, {"until": "9999-12-31T23:59:59-12:00"}),
    (ExtensionIn, {"until": "0001-01-01T00:00:00+14:00"}),
    (StepIn, {"start": "9999-12-31"}),
    (UnavailableIn, {"starts_at": "9999-12-31T20:00:00", "ends_at": "9999-12-31T23:00:00"}),
    (ResourcePatch, {"period_start": "2030-01-01", "period_end": "9999-12-31"}),
    (RetractIn, {"retracted_on": "0001-01-01", "note": "withdrawn"}),
    (ReviewSettings, {"review_deadline": "9999-12-31T23:59:59"}),
    (LoanData, {"sample": "rock", "mass_mg": 5, "due_on": "9999-12-31"}),
    (LoanData, {"sample": "rock", "mass_mg": 5, "shipped_on": "0001-01-01"}),
]


@pytest.mark.parametrize(
    ("model", "body"),
    BODIES,
    ids=lambda v: v.__name__ if isinstance(v, type) else "-".join(map(str, v.values()))[:50],
)
def test_a_body_date_at_the_end_of_the_calendar_is_refused(
    model: type[BaseModel], body: dict[str, Any]
) -> None:
    """Before the fix each of these was accepted."""
    with pytest.raises(ValidationError, match="between the years 1000 and 9000"):
        model.model_validate(body)
    # the same body with a date of this century is accepted
    near = {
        k: ("2030-01-02" + v[10:] if k != "sample" and isinstance(v, str) and v[:1] in "09" else v)
        for k, v in body.items()
    }
    model.model_validate(near)
