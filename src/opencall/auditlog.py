"""The append-only, hash-chained audit log every service writes to.

Each event stores the hash of the previous event; :func:`verify` recomputes
the chain and reports the first event whose content or link was altered, so
tampering with any row (or deleting one) is detectable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from opencall.db import Base, JSONType, UTCDateTime, utcnow

GENESIS = "0" * 64


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    action: Mapped[str] = mapped_column(String(80), nullable=False, index=True)
    entity: Mapped[str] = mapped_column(String(40), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(64), nullable=False)
    call_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)


def _canonical(ev: AuditEvent) -> bytes:
    at = ev.at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    body = {
        "at": at,
        "actor_id": ev.actor_id,
        "action": ev.action,
        "entity": ev.entity,
        "entity_id": ev.entity_id,
        "call_id": ev.call_id,
        "reason": ev.reason,
        "data": ev.data,
        "prev": ev.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def record(
    session: Session,
    action: str,
    entity: str,
    entity_id: object,
    *,
    actor_id: int | None = None,
    call_id: int | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event; the caller's unit of work commits it with the change."""
    if session.get_bind().dialect.name == "postgresql":
        # serialise writers so that the chain never forks
        session.execute(text("SELECT pg_advisory_xact_lock(7262001)"))
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    ev = AuditEvent(
        at=utcnow(),
        actor_id=actor_id,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        call_id=call_id,
        reason=reason,
        data=json.loads(json.dumps(data or {}, default=str)),
        prev_hash=prev or GENESIS,
    )
    ev.hash = hashlib.sha256(_canonical(ev)).hexdigest()
    session.add(ev)
    session.flush()
    return ev


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    events: int
    problems: list[str]


def verify(session: Session) -> VerifyReport:
    problems: list[str] = []
    prev = GENESIS
    n = 0
    for ev in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        n += 1
        if ev.prev_hash != prev:
            problems.append(f"event {ev.id}: link broken (an earlier event was removed or altered)")
        expected = hashlib.sha256(_canonical(ev)).hexdigest()
        if expected != ev.hash:
            problems.append(f"event {ev.id}: content does not match its hash (tampered)")
        prev = ev.hash
    return VerifyReport(ok=not problems, events=n, problems=problems)


def events_for_call(session: Session, call_id: int, limit: int = 500) -> list[AuditEvent]:
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.call_id == call_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))
