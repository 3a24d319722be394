"""A post-award record keeps whether its use happened and is over (``used``,
``complete``: ``domain.is_used`` and ``is_complete`` of its kind and data) on every write,
so that the stages of a facility's cycles are summed from two small columns, not read
from every record's JSON; migration ``outscale14_01`` fills them in for the records
already there. The stages summed by the database equal ``domain.proposal_stages``
computed from the records' data (bench/README.md, "Outcomes at a provider's scale")."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session

from opencall import migrate
from opencall.db import make_sessionmaker
from opencall.results import domain as d
from opencall.results import queries as rq
from opencall.results import services as rs
from opencall.results.models import PostAwardRecord
from tests import factories as F
from tests.results.awards_world import telescope_cycles

#: records of every kind, used or not, complete or not (each a kind and its data)
SAMPLES: list[tuple[str, dict[str, Any]]] = [
    ("loan", {"received_on": "2026-01-02", "returned_on": None, "consumed": False}),
    ("loan", {"received_on": "2026-01-02", "returned_on": "2026-03-01"}),
    ("loan", {"received_on": None, "consumed": True}),
    ("shipment", {"delivered_on": "2026-02-01", "customs_status": "cleared"}),
    ("shipment", {"delivered_on": "2026-02-01", "customs_status": "held"}),
    ("shipment", {"delivered_on": None}),
    ("berth", {"arrived_on": "2026-04-01", "sailed_on": "2026-04-20"}),
    ("berth", {"arrived_on": "2026-04-01", "sailed_on": None}),
    ("session", {"observed_hours": 3.5, "completed": False}),
    ("session", {"observed_hours": 0, "completed": True}),
    ("course", {"attended": True, "completed": True}),
    ("course", {"attended": False, "completed": False}),
    ("followup", {"people_trained": 4}),
    ("followup", {"people_trained": 0}),
    ("package", {"planted_on": "2026-05-01", "yield_t_ha": 6.1}),
    ("package", {"planted_on": "2026-05-01", "yield_t_ha": None}),
    ("other", {"used_amount": 2, "completed": True}),
    ("other", {"used_amount": 0, "completed": False}),
]


def _awards(s: Session, n: int) -> tuple[Any, list[Any]]:
    pis = [(F.user(s, country="KEN"), True) for _ in range(n)]
    call, props = telescope_cycles(s, [pis])[0]
    return call, props


def _flags(s: Session) -> dict[int, tuple[bool, bool]]:
    rows = s.execute(select(PostAwardRecord.id, PostAwardRecord.used, PostAwardRecord.complete))
    return {rid: (bool(u), bool(c)) for rid, u, c in rows}


def test_flags_are_kept_by_the_orm_and_by_a_bulk_insert(db: Session) -> None:
    call, props = _awards(db, 2)
    p = props[0]
    # through the service (the ORM): a session observed but not the final one
    rec = rs.add_record(
        db, p, "session", {"observed_on": "2026-03-01", "observed_hours": 3}, actor_id=None
    )
    db.flush()
    assert _flags(db)[rec.id] == (True, False)
    rs.update_record(
        db,
        rec,
        {"observed_on": "2026-03-01", "observed_hours": 3, "completed": True},
        actor_id=None,
    )
    db.flush()
    assert _flags(db)[rec.id] == (True, True)
    rs.update_record(db, rec, {"observed_on": "2026-03-01", "observed_hours": 0}, actor_id=None)
    db.flush()
    assert _flags(db)[rec.id] == (False, False)
    # a bulk insert that leaves the flags out (the demo, the benches) gets them right
    db.execute(insert(PostAwardRecord), [
        {"call_id": call.id, "proposal_id": props[1].id, "kind": k, "data": data,
         "reminders_sent": 0}
        for k, data in SAMPLES
    ])  # fmt: skip
    db.flush()
    got = [flags for rid, flags in sorted(_flags(db).items()) if rid != rec.id]
    assert got == [(d.is_used(k, data), d.is_complete(k, data)) for k, data in SAMPLES]
    assert {u for u, _c in got} == {True, False} and {c for _u, c in got} == {True, False}


def test_stages_summed_by_the_database_equal_those_computed_from_the_data(db: Session) -> None:
    """Forty awards with 0 to 5 records each, of mixed kinds: the stages the public page
    and the trend read (``figures=False``, from the flags) equal ``proposal_stages`` of
    each award's records' data, and those of the report (``figures=True``)."""
    call, props = _awards(db, 40)
    rng = random.Random(14)
    mine: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    rows = []
    for p in props:
        kinds = rng.sample(["loan", "shipment", "session", "course", "other"], 2)
        recs = [rng.choice([s for s in SAMPLES if s[0] in kinds]) for _ in range(rng.randrange(6))]
        mine[p.id] = recs
        rows += [
            {"call_id": call.id, "proposal_id": p.id, "kind": k, "data": data,
             "reminders_sent": 0}
            for k, data in recs
        ]  # fmt: skip
    db.execute(insert(PostAwardRecord), rows)
    db.flush()
    expected = {pid: d.proposal_stages(recs, 0) for pid, recs in mine.items()}
    assert {st["completed"] for st in expected.values()} == {True, False}
    assert {st["used"] for st in expected.values()} == {True, False}
    light = rq.stages_of_calls(db, [call], figures=False)[call.id]
    full = rq.stages_of_calls(db, [call])[call.id]
    for pid, st in expected.items():
        for key in ("used", "completed"):
            assert light[pid][key] == st[key] == full[pid][key], (pid, key, mine[pid])


def test_the_migration_fills_in_the_flags_of_the_records_there(engine: Engine) -> None:
    factory = make_sessionmaker(engine)
    with factory() as s:
        call, props = _awards(s, 1)
        ids = (call.id, props[0].id)
        s.commit()
    migrate.downgrade(engine, "mend13_01")
    try:
        with engine.begin() as c:
            for k, data in SAMPLES:
                c.execute(
                    text(
                        "INSERT INTO postaward_records (call_id, proposal_id, kind, data,"
                        " reminders_sent, created_at, updated_at)"
                        " VALUES (:c, :p, :k, :d, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"c": ids[0], "p": ids[1], "k": k, "d": __import__("json").dumps(data)},
                )
    finally:
        migrate.upgrade(engine)
    assert migrate.drift(engine) == []
    with factory() as s:
        got = [flags for _rid, flags in sorted(_flags(s).items())]
    assert got == [(d.is_used(k, data), d.is_complete(k, data)) for k, data in SAMPLES]
