"""The record kinds an operator's resource is followed with are data: a gene bank
lending seed accessions declares loans and shipments, a supercomputer keeps the
operator-defined use (node-hours) and its results include software. Nothing assumes one
of the demo facilities."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from opencall.allocation.models import Award, Decision
from opencall.calls import services as call_services
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.facilities import services as fs
from opencall.facilities.models import CapacityPool
from opencall.outcomes import queries as oq
from opencall.proposals import services as ps
from opencall.proposals.models import Proposal
from opencall.results import queries as rq
from opencall.results import services as rs
from tests import factories as f


def _awarded(db: Session, pool: CapacityPool, slug: str, amount: float = 2) -> Proposal:
    """One awarded proposal for ``pool`` in a call of its facility (``amount`` asked and
    awarded), decisions released."""
    call = call_services.create_call(
        db, pool.facility,
        {"slug": slug, "code": slug.upper()[:8], "title": slug, "cycle": "2027",
         "opens_at": f.NOW - dt.timedelta(days=30), "closes_at": f.NOW + dt.timedelta(days=30)},
    )  # fmt: skip
    call_services.offer_pool(db, call, pool, 100)
    cycle.transition_call(db, call, "open", now=f.NOW)
    pi = f.user(db, country="ETH")
    p = ps.create_proposal(db, call, pi, title="t", abstract="a", science_case="b", now=f.NOW)
    ps.add_request(db, p, "custom", {"amount": amount}, pool_id=pool.id, now=f.NOW)
    ps.submit(db, p, actor_id=pi.id, now=f.NOW)
    ps.close_call(db, call, now=f.NOW + dt.timedelta(days=31), reason="test")
    db.add(Decision(call_id=call.id, proposal_id=p.id, outcome="awarded", explanation="x"))
    db.add(Award(call_id=call.id, proposal_id=p.id, request_id=p.requests[0].id,
                 pool_id=pool.id, amount=float(amount)))  # fmt: skip
    call.decisions_released_at = f.NOW + dt.timedelta(days=60)
    db.flush()
    return p


def _labels(one: str, other: str) -> dict[str, dict[str, str]]:
    return {lg: {"one": one, "other": other} for lg in ("en", "fr", "es", "zh")}


def test_a_resource_declares_the_records_kept_after_the_award(db: Session) -> None:
    prov = fs.create_provider(db, name="Seed Bank", slug="seeds", country_iso3="KEN")
    fac = fs.create_facility(db, prov, name="Gene bank", slug="gb", kind="custom", attributes={})
    seeds = fs.create_resource(
        db, fac, name="Seed accessions", unit="accession", amount=500, whole_units=True,
        unit_labels=_labels("accession", "accessions"),
        record_kinds=["shipment", "loan", "loan"],
    )  # fmt: skip
    assert seeds.record_kinds == ["shipment", "loan"]  # as listed, each once
    p = _awarded(db, seeds, "gb-2027")
    assert rq.record_kinds(db, p.id) == ["shipment", "loan", "other"]
    rs.add_record(db, p, "loan", {"sample": "ACC-1", "mass_mg": 5000}, actor_id=None)
    with pytest.raises(DomainError, match="does not fit this award"):
        rs.add_record(db, p, "session", {"observed_on": "2028-01-01", "observed_hours": 1},
                      actor_id=None)  # fmt: skip
    # refused whole: an unknown kind changes nothing
    before = f.table_counts(db)
    with pytest.raises(DomainError, match="Unknown record kind 'harvest'"):
        fs.update_resource(db, seeds, record_kinds=["loan", "harvest"])
    assert f.table_counts(db) == before and seeds.record_kinds == ["shipment", "loan"]
    fs.update_resource(db, seeds, record_kinds=[])  # back to what its unit implies
    assert rq.record_kinds(db, p.id) == ["other"]


def test_a_supercomputer_records_node_hours_and_software(db: Session) -> None:
    prov = fs.create_provider(db, name="HPC Centre", slug="hpc", country_iso3="ZAF")
    fac = fs.create_facility(db, prov, name="Cluster", slug="cl", kind="custom", attributes={})
    hours = fs.create_resource(
        db, fac, name="Node-hours", unit="node_hour", amount=1e6,
        unit_labels=_labels("node-hour", "node-hours"),
    )  # fmt: skip
    p = _awarded(db, hours, "hpc-2027")
    assert rq.record_kinds(db, p.id) == ["other"]
    rs.add_record(db, p, "other", {"description": "Climate runs", "used_amount": 80_000},
                  actor_id=None)  # fmt: skip
    sw = rs.add_output(db, p, {"kind": "software", "title": "climsim", "year": 2028,
                               "doi": "10.5281/zenodo.1"}, actor_id=None)  # fmt: skip
    new, _ = rs.import_outputs(
        db, p, "code.json",
        '[{"type": "software", "title": "climsim-io", "issued": {"date-parts": [[2028]]}}]',
        actor_id=None,
    )  # fmt: skip
    assert sw.kind == "software" and [o.kind for o in new] == ["software"]
    s = rq.summary(db, p, dt.date(2029, 1, 1))
    assert (s["software"], s["publications"], s["datasets"]) == (2, 0, 0)
    assert s["used"] and s["produced_results"]
    # the report's after-award section counts each kind of result by group
    res = oq.report(db, p.call)["after_award"]["results"]
    rows = {r["group"]: r for r in res["income_group"]}
    assert (rows["all"]["software"], rows["all"]["publications"], rows["all"]["datasets"]) == (
        2, 0, 0
    )  # fmt: skip
    assert rows["low"]["software"] == 2 and rows["low"]["with_results"] == 1
    assert {r["group"] for r in res["ldc"]} == {"LDC", "all"}
