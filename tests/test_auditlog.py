from sqlalchemy import update
from sqlalchemy.orm import Session

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
