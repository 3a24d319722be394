"""A training course followed past the award: its participants' follow-up figures
(people they trained, demonstration sites, area and yield) recorded on the award and
reported by income group, UN region and LDC status like the other results."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from opencall.allocation.models import Award, Decision
from opencall.calls import services as call_services
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.facilities import services as fs
from opencall.outcomes import queries as oq
from opencall.proposals import services as ps
from opencall.results import queries as rq
from opencall.results import services as rs
from tests import factories as f

FIGURES = {  # PI country: (people trained, demonstration sites, area in ha, yield, baseline)
    "ETH": (40, 2, 12.5, 5.0, 4.0),
    "NPL": (10, 1, 3.0, None, None),
    "DEU": (0, 0, 0.0, None, None),
}


def test_a_course_follow_up_is_recorded_and_reported_by_group(db: Session) -> None:
    prov = fs.create_provider(db, name="Agri Training", slug="agri", country_iso3="CHN")
    fac = fs.create_facility(
        db, prov, name="Juncao course", slug="juncao", kind="custom", attributes={}
    )
    seats = fs.create_resource(db, fac, name="Course seats", unit="seat", amount=30)
    call = call_services.create_call(
        db, fac,
        {"slug": "juncao-2027", "code": "JC27", "title": "Juncao course", "cycle": "2027",
         "opens_at": f.NOW - dt.timedelta(days=30), "closes_at": f.NOW + dt.timedelta(days=30)},
    )  # fmt: skip
    call_services.offer_pool(db, call, seats, 30)
    cycle.transition_call(db, call, "open", now=f.NOW)
    props = {}
    for iso3 in FIGURES:
        pi = f.user(db, country=iso3)
        p = ps.create_proposal(
            db, call, pi, title=f"Juncao in {iso3}", abstract="a", science_case="b", now=f.NOW
        )
        ps.add_request(db, p, "custom", {"amount": 2}, pool_id=seats.id, now=f.NOW)
        ps.submit(db, p, actor_id=pi.id, now=f.NOW)
        props[iso3] = p
    ps.close_call(db, call, now=f.NOW + dt.timedelta(days=31), reason="test")
    for p in props.values():
        db.add(Decision(call_id=call.id, proposal_id=p.id, outcome="awarded", explanation="x"))
        db.add(Award(call_id=call.id, proposal_id=p.id, request_id=p.requests[0].id,
                     pool_id=seats.id, amount=2.0))  # fmt: skip
    call.decisions_released_at = f.NOW + dt.timedelta(days=60)
    db.flush()
    # a course seat, even on an operator's resource, is followed like a preset course
    assert rq.record_kinds(db, props["ETH"].id) == ["course", "followup", "other"]
    before = f.table_counts(db)
    for bad, says in (
        ({"participant": "x", "followed_up_on": "2028-05-01", "people_trained": -1}, "people"),
        ({"participant": "x", "followed_up_on": "2028-05-01", "yield_t_ha": 5}, "baseline"),
        ({"participant": "x"}, "followed_up_on"),
    ):
        with pytest.raises(DomainError, match=says):
            rs.add_record(db, props["ETH"], "followup", bad, actor_id=None)
    assert f.table_counts(db) == before
    for iso3, (people, sites, area, y, base) in FIGURES.items():
        rs.add_record(db, props[iso3], "course", {"participant": "P", "attended": True,
                                                  "completed": True}, actor_id=None)  # fmt: skip
        if iso3 == "DEU":
            continue  # no follow-up reported yet
        rs.add_record(db, props[iso3], "followup", {
            "participant": "P", "followed_up_on": "2028-05-01", "people_trained": people,
            "demo_sites": sites, "area_ha": area, "yield_t_ha": y, "baseline_t_ha": base,
        }, actor_id=None)  # fmt: skip
    # a follow-up report does not hold the award back from "completed"
    stages = rq.stages_of_call(db, call)
    assert all(st["used"] and st["completed"] for st in stages.values())
    assert stages[props["ETH"].id]["follow_up"]["people_trained"] == 40
    fu = oq.report(db, call)["after_award"]["follow_up"]
    assert set(fu) == {"income_group", "un_region", "ldc"}
    by_ldc = {r["group"]: r for r in fu["ldc"]}
    assert (by_ldc["all"]["awarded"], by_ldc["all"]["reporting"]) == (3, 2)
    assert by_ldc["all"]["people_trained"] == 50 and by_ldc["all"]["demo_sites"] == 3
    assert by_ldc["all"]["area_ha"] == 15.5 and by_ldc["all"]["median_yield_ratio"] == 1.25
    ldc = by_ldc["LDC"]  # Ethiopia and Nepal
    assert (ldc["awarded"], ldc["reporting"], ldc["people_trained"]) == (2, 2, 50)
    high = {r["group"]: r for r in fu["income_group"]}["high"]
    assert (high["awarded"], high["reporting"], high["people_trained"]) == (1, 0, 0)
