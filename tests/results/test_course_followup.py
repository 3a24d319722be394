"""A training course followed past the award: its participants' follow-up figures
(people they trained, demonstration sites, area and yield) recorded on the award and
reported by income group, UN region and LDC status like the other results."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from opencall.errors import DomainError
from opencall.outcomes import queries as oq
from opencall.results import queries as rq
from opencall.results import services as rs
from tests import factories as f
from tests.results.course_world import course_world

FIGURES = {  # PI country: (people trained, demonstration sites, area in ha, yield, baseline)
    "ETH": (40, 2, 12.5, 5.0, 4.0),
    "NPL": (10, 1, 3.0, None, None),
    "DEU": (0, 0, 0.0, None, None),
}


def test_a_course_follow_up_is_recorded_and_reported_by_group(db: Session) -> None:
    call, props = course_world(db, FIGURES)
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
