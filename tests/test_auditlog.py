from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from opencall import auditlog
from tests import factories as f


def test_chain_verifies_and_tampering_is_detected(db: Session) -> None:
    call = f.fast_call(db)
    f.full_proposal(db, call)
    db.commit()
    rep = auditlog.verify(db)
    assert rep.ok and rep.events > 10
    ev = db.scalars(auditlog.select(auditlog.AuditEvent).order_by(auditlog.AuditEvent.id)).all()[5]
    db.execute(
        update(auditlog.AuditEvent)
        .where(auditlog.AuditEvent.id == ev.id)
        .values(reason="edited later")
    )
    db.commit()
    db.expire_all()
    rep = auditlog.verify(db)
    assert not rep.ok
    assert any(f"event {ev.id}" in p and "tampered" in p for p in rep.problems)


def test_deleting_an_event_breaks_the_chain(db: Session) -> None:
    f.fast_call(db)
    db.commit()
    evs = db.scalars(auditlog.select(auditlog.AuditEvent).order_by(auditlog.AuditEvent.id)).all()
    assert len(evs) > 4 and auditlog.verify(db).ok
    gone, after = evs[3].id, evs[4].id
    db.delete(evs[3])
    db.commit()
    rep = auditlog.verify(db)
    # exactly the event after the gap is reported: its link points at the removed one
    assert not rep.ok and rep.events == len(evs) - 1
    assert rep.problems == [
        f"event {after}: link broken (an earlier event was removed or altered)"
    ], (gone, rep.problems)


def test_the_chain_holds_across_savepoints_commits_and_other_writers(
    factory: sessionmaker[Session],
) -> None:
    """record_many remembers the head it wrote for the rest of its transaction: events of
    a rolled-back savepoint, another session's commit between two transactions and
    events written outside record_many (after chain_head, as demo.bulk does) must each
    make it read the head again, or the chain forks."""
    with factory() as s1:
        auditlog.record(s1, "t.a", "t", 1)
        auditlog.record(s1, "t.b", "t", 2)
        with s1.begin_nested() as savepoint:
            auditlog.record(s1, "t.gone", "t", 3)
            savepoint.rollback()
        auditlog.record(s1, "t.c", "t", 4)
        s1.commit()
        with factory() as s2:
            auditlog.record(s2, "t.other", "t", 5)
            s2.commit()
        auditlog.record(s1, "t.d", "t", 6)
        with s1.begin_nested():
            auditlog.record(s1, "t.kept", "t", 7)
        auditlog.record(s1, "t.e", "t", 8)
        prev, prev_mac = auditlog.chain_head(s1)
        s1.add(
            auditlog.chained(
                auditlog.EventInput("t.outside", "t", 9), prev, prev_mac, auditlog.audit_key(s1)
            )
        )
        s1.flush()
        auditlog.record(s1, "t.f", "t", 10)
        s1.commit()
    with factory() as s:
        events = s.scalars(select(auditlog.AuditEvent).order_by(auditlog.AuditEvent.id)).all()
        assert [e.action for e in events] == [
            "t.a",
            "t.b",
            "t.c",
            "t.other",
            "t.d",
            "t.kept",
            "t.e",
            "t.outside",
            "t.f",
        ]
        assert [e.prev_hash for e in events] == [auditlog.GENESIS] + [e.hash for e in events[:-1]]
        assert auditlog.verify(s).ok


def test_verify_holds_a_batch_of_events_at_a_time(
    factory: sessionmaker[Session], monkeypatch
) -> None:
    """``opencall audit verify`` read the whole log into memory before checking it (every
    event an ORM object at once: 150 MB for 35,000 events, growing with the history);
    it streams the log in batches, and still names a tampered event."""
    import weakref

    from sqlalchemy import event

    monkeypatch.setattr(auditlog, "VERIFY_BATCH", 50, raising=False)
    with factory() as s:
        auditlog.record_many(
            s, [auditlog.EventInput("test.event", "thing", i, data={"i": i}) for i in range(600)]
        )
        s.commit()
    alive: weakref.WeakSet = weakref.WeakSet()
    most = 0

    def loaded(target, _ctx) -> None:
        nonlocal most
        alive.add(target)
        most = max(most, len(alive))

    event.listen(auditlog.AuditEvent, "load", loaded)
    try:
        with factory() as s:
            report = auditlog.verify(s)
    finally:
        event.remove(auditlog.AuditEvent, "load", loaded)
    assert report.ok and report.events == 600
    assert most <= 2 * 50, most
    with factory() as s:
        ev = s.scalars(
            select(auditlog.AuditEvent).where(auditlog.AuditEvent.entity_id == "321")
        ).one()
        s.execute(
            update(auditlog.AuditEvent)
            .where(auditlog.AuditEvent.id == ev.id)
            .values(action="test.altered")
        )
        s.commit()
        report = auditlog.verify(s)
    assert not report.ok and any(f"event {ev.id}:" in p for p in report.problems)
