"""The cryo-EM centre of the acceptance scenario, built through the services."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy.orm import Session

from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.facilities import services as fs
from opencall.facilities.models import CapacityPool, Facility
from tests.factories import NOW

_seq = itertools.count(1)
UTC = dt.UTC
MAINTENANCE = {
    "starts_at": dt.datetime(2027, 8, 2, tzinfo=UTC),
    "ends_at": dt.datetime(2027, 8, 9, tzinfo=UTC),
    "reason": "maintenance",
}
FIELDS: list[dict[str, Any]] = [
    {"key": "specimen", "type": "text", "labels": {"en": "Specimen", "fr": "Spécimen"},
     "required": True, "max_length": 200},
    {"key": "grids", "type": "number", "labels": {"en": "Grids"}, "min": 1, "max": 12,
     "integer": True},
    {"key": "mode", "type": "choice", "labels": {"en": "Mode"},
     "options": ["screening", "data collection"], "required": True},
]  # fmt: skip


def cryo_centre(s: Session) -> tuple[Facility, CapacityPool, CapacityPool]:
    n = next(_seq)
    prov = fs.create_provider(s, name=f"Cryo-EM centre {n}", slug=f"cryo-{n}", country_iso3="ZAF")
    fac = fs.create_facility(s, prov, name="Cryo-EM", slug="cryo-em", kind="custom", attributes={})
    common: dict[str, Any] = {
        "unit": "session",
        "period_start": dt.date(2027, 7, 1),
        "period_end": dt.date(2027, 9, 28),
        "slot_hours": 24,
        "request_fields": FIELDS,
    }
    krios = fs.create_resource(s, fac, name="Krios G4", amount=80, **common)
    glacios = fs.create_resource(
        s, fac, name="Glacios", amount=60, unavailable=[MAINTENANCE], **common
    )
    return fac, krios, glacios


def cryo_call(
    s: Session, fac: Facility, pools: list[CapacityPool], amount: float | None = None
) -> Call:
    n = next(_seq)
    call = call_services.create_call(
        s,
        fac,
        {
            "slug": f"cryo-{n}",
            "code": f"C{n}",
            "title": "Cryo-EM sessions",
            "cycle": "2027",
            "opens_at": NOW - dt.timedelta(days=30),
            "closes_at": NOW + dt.timedelta(days=30),
            "anonymity": "dual",
        },
    )
    for p in pools:
        call_services.offer_pool(s, call, p, amount)
    return call


def disjoint_spans(
    lo: dt.datetime, hi: dt.datetime, cuts: list[tuple[int, int]]
) -> list[dict[str, Any]]:
    """Closures from ``cuts`` of (hours after the previous one, hours long): disjoint,
    ordered and inside [``lo``, ``hi``]; the first that would pass ``hi`` and the rest dropped."""
    spans, cursor = [], lo
    for gap, length in cuts:
        s = cursor + dt.timedelta(hours=gap)
        e = s + dt.timedelta(hours=length)
        if e > hi:
            break
        spans.append({"starts_at": s, "ends_at": e, "reason": ""})
        cursor = e
    return spans
