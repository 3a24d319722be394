"""A shipment's label writes its mass as people write it (``inputs.plain_number``): an
archive lending 12,345,678 mg of one sample type labels the shipment "12345678 mg of ...",
never "1.23457e+07 mg" (the label was written with ``{mg:g}``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.allocation.models import Award, Decision
from opencall.proposals import services as prop_services
from opencall.proposals.models import Request
from opencall.scheduling import services
from opencall.scheduling.models import ScheduleEntry
from tests import factories as F

MASS_MG = 12_345_678.0


def test_a_large_mass_is_labelled_without_an_exponent(db: Session) -> None:
    call, pool = F.samples_call(db)
    call.pools[0].amount = 20_000_000.0
    pi = F.user(db, name="Ana Core", country="KEN", email="ana@ke.example")
    p = prop_services.create_proposal(
        db, call, pi, title="Ice cores of the Rwenzori", abstract="A.", science_case="S.",
        now=F.NOW,
    )  # fmt: skip
    prop_services.add_request(
        db, p, "sample",
        {"sample_type": "CE-5 regolith", "mass_mg": 10.0, "techniques": "SIMS",
         "destructive": False},
        pool_id=pool.id, now=F.NOW,
    )  # fmt: skip
    prop_services.submit(db, p, actor_id=pi.id, now=F.NOW)
    prop_services.close_call(db, call, now=F.NOW + dt.timedelta(days=31), reason="test")
    req = db.scalars(select(Request).where(Request.proposal_id == p.id)).one()
    db.add(Decision(call_id=call.id, proposal_id=p.id, outcome="awarded", explanation="x"))
    db.add(
        Award(call_id=call.id, proposal_id=p.id, request_id=req.id, pool_id=pool.id,
              amount=MASS_MG)
    )  # fmt: skip
    db.flush()
    services.run_schedule(db, call)
    labels = [
        e.label
        for e in db.scalars(select(ScheduleEntry).where(ScheduleEntry.call_id == call.id))
        if e.kind == "shipment"
    ]
    assert labels, "no shipment was planned"
    assert all("e+" not in x for x in labels), labels
    assert "12345678 mg of CE-5 regolith" in labels, labels


def test_an_award_of_nothing_ships_nothing(db: Session) -> None:
    """An award of 0 mg is no loan (mend11b item 2: a loan of nothing, refused when made
    in ``optim.logistics``, made a shipment with no items): the schedule is made, with
    no shipment for it."""
    call, pool = F.samples_call(db)
    pi = F.user(db, name="Ana Core", country="KEN", email="ana@ke.example")
    p = prop_services.create_proposal(
        db, call, pi, title="Ice cores of the Rwenzori", abstract="A.", science_case="S.",
        now=F.NOW,
    )  # fmt: skip
    prop_services.add_request(
        db, p, "sample",
        {"sample_type": "CE-5 regolith", "mass_mg": 10.0, "techniques": "SIMS",
         "destructive": False},
        pool_id=pool.id, now=F.NOW,
    )  # fmt: skip
    prop_services.submit(db, p, actor_id=pi.id, now=F.NOW)
    prop_services.close_call(db, call, now=F.NOW + dt.timedelta(days=31), reason="test")
    req = db.scalars(select(Request).where(Request.proposal_id == p.id)).one()
    db.add(Decision(call_id=call.id, proposal_id=p.id, outcome="awarded", explanation="x"))
    db.add(Award(call_id=call.id, proposal_id=p.id, request_id=req.id, pool_id=pool.id, amount=0.0))
    db.flush()
    run = services.run_schedule(db, call)  # a plan that fails its check raises
    assert run.summary["remaining_mg"] == {str(pool.id): call.pools[0].amount}
    entries = db.scalars(select(ScheduleEntry).where(ScheduleEntry.call_id == call.id)).all()
    assert [e for e in entries if e.kind == "shipment"] == []
