"""A resource whose use is a level held, not an amount spent (usage23).

Project storage in TB, a rack slot: each month's report says how much is held (56 TB of
a 70 TB award), and the award is kept while the level stays within it. Such a resource
declares ``usage_kind: occupied``: the peak level recorded counts (not the sum of the
reports) in the check against the award, by hand and by file, in the use figures and in
what an ended award returns. ``consumed`` (the default: core-hours, shifts) sums."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.allocation.models import Award
from opencall.errors import DomainError
from opencall.facilities import services as fs
from opencall.facilities.models import CapacityPool
from opencall.people import services as people_services
from opencall.proposals.models import Proposal
from opencall.results import ends
from opencall.results import queries as rq
from opencall.results import services as rs
from opencall.results.models import PostAwardRecord
from tests import factories as f
from tests.api.test_operator_journey import open_facility
from tests.results.test_record_kinds import _awarded as awarded
from tests.web.conftest import Web

TB = {lg: {"one": "TB", "other": "TB"} for lg in ("en", "fr", "es", "zh")}


def _awarded(db: Session, pool: CapacityPool, amount: float) -> tuple[Proposal, Award]:
    """One proposal awarded ``amount`` of ``pool``, decisions released, and its award."""
    p = awarded(db, pool, "store", amount)
    return p, db.scalars(select(Award).where(Award.proposal_id == p.id)).one()


def _storage(db: Session, **kw: object) -> CapacityPool:
    prov = fs.create_provider(db, name="HPC Centre", slug="hpc", country_iso3="ZAF")
    fac = fs.create_facility(db, prov, name="Centre", slug="hc", kind="custom", attributes={})
    return fs.create_resource(db, fac, name="Project storage", unit="tb", amount=2000,
                              unit_labels=TB, **kw)  # type: ignore[arg-type]  # fmt: skip


def _month(db: Session, p: Proposal, award: Award, tb: float, month: int) -> None:
    rs.add_record(db, p, "other", {"description": f"month {month}", "used_amount": tb,
                                   "started_on": f"2027-0{month}-01"},
                  actor_id=None, award_id=award.id)  # fmt: skip


def test_storage_held_each_month_counts_its_peak(db: Session) -> None:
    pool = _storage(db, usage_kind="occupied")
    assert pool.usage_kind == "occupied"
    p, award = _awarded(db, pool, 70)
    for month, tb in ((1, 56), (2, 56), (3, 61.5)):
        _month(db, p, award, tb, month)  # three reports of 56-61.5 TB on a 70 TB award
    use = rq.stages_of_call(db, p.call, [p.id])[p.id]["use"]
    assert use["used:tb"] == pytest.approx(61.5), use
    # a level above the award is refused, and changes nothing
    before = db.scalars(select(PostAwardRecord.id)).all()
    with pytest.raises(DomainError) as err:
        _month(db, p, award, 70.5, 4)
    assert "the use recorded against it would come to 70.5 TB" in str(err.value)
    assert db.scalars(select(PostAwardRecord.id)).all() == before
    # an ended award returns what its peak left unused
    parts = ends.returned_parts(db, p)
    assert [(x["used"], x["returned"]) for x in parts] == [(61.5, 8.5)]


def test_a_file_of_monthly_levels_is_taken_and_one_above_refused(db: Session) -> None:
    pool = _storage(db, usage_kind="occupied")
    p, award = _awarded(db, pool, 70)
    office = f.user(db, email="office@store.example")
    people_services.grant_role(db, office.id, "call_manager", provider_id=p.call.provider_id)
    rows = "".join(
        f"{p.code},other,{award.id},m{m},{tb}\n" for m, tb in ((1, 56), (2, 56), (3, 60))
    )
    text = "award,kind,award_id,description,used_amount\n" + rows
    new = rs.import_call_records(db, p.call, office, "use.csv", text)
    assert len(new) == 3
    with pytest.raises(DomainError, match="would come to 71 TB"):
        rs.import_call_records(db, p.call, office, "use.csv",
                               text.splitlines()[0] + f"\n{p.code},other,{award.id},m4,71\n")  # fmt: skip


def test_core_hours_still_add_up_and_an_unknown_kind_is_refused(db: Session) -> None:
    pool = _storage(db)
    assert pool.usage_kind == "consumed"
    p, award = _awarded(db, pool, 70)
    _month(db, p, award, 56, 1)
    with pytest.raises(DomainError, match="would come to 112 TB"):
        _month(db, p, award, 56, 2)
    with pytest.raises(DomainError, match="consumed or occupied"):
        fs.update_resource(db, pool, usage_kind="peak")
    assert pool.usage_kind == "consumed"
    fs.update_resource(db, pool, usage_kind="occupied")
    _month(db, p, award, 56, 2)
    assert rq.stages_of_call(db, p.call, [p.id])[p.id]["use"]["used:tb"] == pytest.approx(56)


def test_the_api_declares_changes_and_refuses_a_usage_kind(web: Web) -> None:
    _admin, office, fac = open_facility(
        web, "store", "Storage Centre", "ZAF",
        {"name": "Storage", "slug": "st", "kind": "custom"},
    )  # fmt: skip
    base = {"name": "Project storage", "unit": "tb", "unit_labels": TB, "amount": 2000}
    made = office.post(
        f"/api/v1/facilities/{fac['id']}/resources", base | {"usage_kind": "occupied"}
    )
    assert office.get(f"/api/v1/resources/{made['id']}")["usage_kind"] == "occupied"
    plain = office.post(f"/api/v1/facilities/{fac['id']}/resources", base | {"name": "Scratch"})
    assert plain["usage_kind"] == "consumed"
    office.send("PATCH", f"/api/v1/resources/{made['id']}", {"usage_kind": "peak"}, status=422)
    assert office.send("PATCH", f"/api/v1/resources/{made['id']}", {"name": "Storage 2"})[
        "usage_kind"
    ] == "occupied"  # fmt: skip
    assert office.send("PATCH", f"/api/v1/resources/{made['id']}", {"usage_kind": "consumed"})[
        "usage_kind"
    ] == "consumed"  # fmt: skip
