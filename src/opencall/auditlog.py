"""The append-only, hash-chained audit log every service writes to.

Each event stores the hash of the previous event; :func:`verify` recomputes
the chain and reports the first event whose content or link was altered, so
tampering with any row (or deleting one) is detectable.

A hash chain alone can be rewritten by anyone who can write the database (change
a row, recompute every later hash). So each event also carries a MAC:
``HMAC(audit key, previous MAC + hash)``, with a key kept outside the database
(``OPENCALL_AUDIT_KEY``; sessions carry it in ``session.info["audit_key"]``, see
``db.make_sessionmaker``). Rewriting history then needs the key. Deleting the
last events leaves a valid chain, which a signed :func:`checkpoint` (head hash,
count, time) published or stored elsewhere detects (:func:`verify_checkpoint`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import ForeignKey, Integer, String, Text, func, select, text
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
    # HMAC(audit key, previous MAC + hash): None for events written without a key
    mac: Mapped[str | None] = mapped_column(String(64), nullable=True)


# what an event says (hashed, exported): who did what to which entity, in which call, why
_FIELDS = ("actor_id", "action", "entity", "entity_id", "call_id", "reason", "data")


def _canonical(ev: AuditEvent) -> bytes:
    at = ev.at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    body = {"at": at, **{f: getattr(ev, f) for f in _FIELDS}, "prev": ev.prev_hash}
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
    event = EventInput(action, entity, entity_id, actor_id, call_id, reason, data)
    return record_many(session, [event])[0]


class _Stored(Protocol):
    @property
    def id(self) -> Any: ...


Row = TypeVar("Row", bound=_Stored)


def count_of(session: Session, action: str, entity: str, entity_id: object) -> int:
    """How many events of ``action`` name the one entity (a bound on a repeated act)."""
    n = session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.action == action,
            AuditEvent.entity == entity,
            AuditEvent.entity_id == str(entity_id),
        )
    )
    return int(n or 0)


def record_new(
    session: Session,
    row: Row,
    action: str,
    entity: str,
    *,
    actor_id: int | None = None,
    call_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> Row:
    """Store a new row (flushed, so that it has its id) and record its creation as an
    event on it; returns the row."""
    session.add(row)
    session.flush()
    record(session, action, entity, row.id, actor_id=actor_id, call_id=call_id, data=data)
    return row


@dataclass(frozen=True)
class EventInput:
    """The arguments of one :func:`record` call, for :func:`record_many`."""

    action: str
    entity: str
    entity_id: object
    actor_id: int | None = None
    call_id: int | None = None
    reason: str = ""
    data: dict[str, Any] | None = None


#: ``session.info`` key of the head :func:`record_many` left: (the transaction, hash, MAC)
_HEAD = "auditlog.head"


def chain_head(session: Session) -> tuple[str, str | None]:
    """Serialise writers of the chain (PostgreSQL: so that it never forks), flush what
    is pending, and read the chain's head: the last event's hash (:data:`GENESIS` when
    there is none) and its MAC. A caller that then writes events itself (not through
    :func:`record_many`) makes the session forget the head it remembered."""
    session.info.pop(_HEAD, None)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7262001)"))
    session.flush()
    head = session.execute(
        select(AuditEvent.hash, AuditEvent.mac).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return (head.hash, head.mac) if head else (GENESIS, None)


def chained(e: EventInput, prev_hash: str, prev_mac: str | None, key: str) -> AuditEvent:
    """``e`` as the event after the one of ``prev_hash`` and ``prev_mac``, stamped now:
    hashed, and MACed when there is a ``key`` (not added to any session)."""
    ev = AuditEvent(
        at=utcnow(),
        actor_id=e.actor_id,
        action=e.action,
        entity=e.entity,
        entity_id=str(e.entity_id),
        call_id=e.call_id,
        reason=e.reason,
        data=json.loads(json.dumps(e.data or {}, default=str)),
        prev_hash=prev_hash,
    )
    ev.hash = hashlib.sha256(_canonical(ev)).hexdigest()
    ev.mac = _mac(key, prev_mac or "", ev.hash) if key else None
    return ev


def record_many(session: Session, events: Sequence[EventInput]) -> list[AuditEvent]:
    """:func:`record` for each event in turn: the same rows, chain and MACs, with one lock,
    one read of the chain's head and one flush."""
    if not events:
        return []
    prev, prev_mac = _remembered_head(session) or chain_head(session)
    key = audit_key(session)
    out = []
    for e in events:
        ev = chained(e, prev, prev_mac, key)
        session.add(ev)
        out.append(ev)
        prev, prev_mac = ev.hash, ev.mac
    session.flush()
    session.info[_HEAD] = (_innermost_transaction(session), prev, prev_mac)
    return out


def _innermost_transaction(session: Session) -> Any:
    return session.get_nested_transaction() or session.get_transaction()


def _remembered_head(session: Session) -> tuple[str, str | None] | None:
    """The head this session's last :func:`record_many` wrote, while still in the same
    (innermost) transaction: no other writer can have added to the chain since, because
    that transaction holds the chain's lock (PostgreSQL: the advisory lock until its
    end; SQLite: the write lock its events' insert took), and nothing of it was rolled
    back (a savepoint's rollback or release, a commit or a rollback end the transaction
    it was remembered in). Saves a lock and a read of the head per event after the
    first of a transaction; None when the head must be read."""
    remembered = session.info.get(_HEAD)
    if remembered is None:
        return None
    transaction, prev, prev_mac = remembered
    current = _innermost_transaction(session)
    if current is None or current is not transaction or not current.is_active:
        return None
    session.flush()  # what chain_head does first: the pending changes before the event
    return prev, prev_mac


def audit_key(session: Session) -> str:
    return str(session.info.get("audit_key") or "")


def _mac(key: str, prev_mac: str, event_hash: str) -> str:
    return hmac.new(key.encode(), f"{prev_mac}:{event_hash}".encode(), hashlib.sha256).hexdigest()


#: the action of the event that hands the chain's MACs on to a new key (:func:`rotate_key`)
KEY_ROTATED = "audit.key_rotated"


def key_id(key: str) -> str:
    """A key's fingerprint, as a rotation event names the next key (reveals nothing of it)."""
    return hmac.new(key.encode(), b"opencall audit key id", hashlib.sha256).hexdigest()[:16]


def rotate_key(session: Session, new_key: str) -> AuditEvent:
    """Hand the log on to ``new_key``: one event, MACed with the session's (current) key,
    naming the new key's fingerprint. Every event after it is MACed with the new key, so
    the processes must be given it before they write again (`serve` and `worker` refuse
    the old one from then on, :func:`key_mismatch`)."""
    ids = {"key": key_id(audit_key(session)), "next_key": key_id(new_key)}
    return record(session, KEY_ROTATED, "audit_log", "key", data=ids)


def key_mismatch(session: Session, key: str) -> int | None:
    """The id of the newest keyed event when ``key`` is not the key it was written with
    (so every event written from now on would break the chain's MACs), else None (the
    key matches, or no event carries a MAC yet). One event checked: cheap at every start.
    After a rotation event, the key it names is the one to continue with."""
    if not key:
        return None
    last = session.scalar(
        select(AuditEvent).where(AuditEvent.mac.is_not(None)).order_by(AuditEvent.id.desc())
    )
    if last is None or last.mac is None:
        return None
    if last.action == KEY_ROTATED:
        return None if last.data.get("next_key") == key_id(key) else last.id
    prev_mac = session.scalar(
        select(AuditEvent.mac)
        .where(AuditEvent.mac.is_not(None), AuditEvent.id < last.id)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    if hmac.compare_digest(last.mac, _mac(key, prev_mac or "", last.hash)):
        return None
    return last.id


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    events: int
    problems: list[str]
    # events written before a key was configured (covered by the hash chain only)
    unkeyed: int = 0
    head_hash: str = GENESIS
    head_id: int = 0
    # keyed events whose MAC does not verify with the key given
    mac_mismatches: int = 0
    # keyed events before a key rotation whose (retired) key was not given: not MAC-checked
    unchecked: int = 0

    @property
    def another_key(self) -> bool:
        """Whether the key is, most likely, not the one the log was written with: every
        keyed event's MAC fails and nothing else does (the hash chain is intact)."""
        keyed = self.events - self.unkeyed - self.unchecked
        return keyed > 0 and self.mac_mismatches == keyed == len(self.problems)


VERIFY_BATCH = 2000  # events read and checked at a time by :func:`verify`


def _stretch_keys(session: Session, key: str, retired: Sequence[str]) -> dict[int, str | None]:
    """The key of each stretch of the log, by the id of the event that ends it (the
    rotation events, then 2**63 for the last stretch): each rotation names, by their
    fingerprints, the key before it and the key after it; the last stretch is checked
    with the current ``key`` whether or not it is the one named (a wrong key is then
    reported). None: a retired key not given (the stretch's MACs unchecked)."""
    rotations = list(
        session.execute(
            select(AuditEvent.id, AuditEvent.data)
            .where(AuditEvent.action == KEY_ROTATED, AuditEvent.mac.is_not(None))
            .order_by(AuditEvent.id)
        )
    )
    if not rotations:
        return {2**63: key}
    given = {key_id(k): k for k in [*retired, key] if k}
    ends = [r.id for r in rotations] + [2**63]
    # each stretch's key as the rotations name it (hashed with them, MACed with the key
    # before): the first stretch's by the first rotation's "key", the others' "next_key"
    names = [str((rotations[0].data or {}).get("key", ""))]
    names += [str((r.data or {}).get("next_key", "")) for r in rotations]
    return {
        end: given.get(name, key if end == 2**63 else None)
        for end, name in zip(ends, names, strict=True)
    }


def verify(session: Session, key: str | None = None, retired: Sequence[str] = ()) -> VerifyReport:
    """Recompute the chain; with the audit key (the session's unless given), the MACs too:
    each stretch between two key rotations with its own key (``retired``: the earlier
    keys; a stretch whose key is not given is counted as unchecked)."""
    key = audit_key(session) if key is None else key
    stretches = iter(_stretch_keys(session, key, retired).items()) if key else iter([])
    end, stretch_key = next(stretches, (2**63, key))
    unchecked = 0
    problems: list[str] = []
    prev = GENESIS
    prev_mac = ""
    keyed = False
    unkeyed = 0
    n = 0
    head_id = 0
    mac_mismatches = 0
    # streamed in batches (a server-side cursor on PostgreSQL): a long history is never
    # all in memory at once
    stmt = select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=VERIFY_BATCH)
    for ev in session.scalars(stmt):
        n += 1
        head_id = ev.id
        if ev.prev_hash != prev:
            problems.append(f"event {ev.id}: link broken (an earlier event was removed or altered)")
        expected = hashlib.sha256(_canonical(ev)).hexdigest()
        if expected != ev.hash:
            problems.append(f"event {ev.id}: content does not match its hash (tampered)")
        prev = ev.hash
        if not key:
            continue
        if ev.mac is None:
            if keyed:
                problems.append(
                    f"event {ev.id}: no MAC after keyed events (written without the audit key, "
                    "or its MAC was removed)"
                )
            else:
                unkeyed += 1
            continue
        keyed = True
        if stretch_key is None:
            unchecked += 1
        elif not hmac.compare_digest(ev.mac, _mac(stretch_key, prev_mac, ev.hash)):
            mac_mismatches += 1
            problems.append(
                f"event {ev.id}: MAC does not match (rewritten without the audit key, "
                "or another key)"
            )
        prev_mac = ev.mac
        if ev.id >= end:  # a rotation event: the next stretch's key from here on
            end, stretch_key = next(stretches, (2**63, key))
    return VerifyReport(
        ok=not problems,
        events=n,
        problems=problems,
        unkeyed=unkeyed,
        head_hash=prev,
        head_id=head_id,
        mac_mismatches=mac_mismatches,
        unchecked=unchecked,
    )


# ---------------------------------------------------------------- signed checkpoints


def _sign(key: str, body: dict[str, Any]) -> str:
    payload = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key.encode(), b"checkpoint:" + payload, hashlib.sha256).hexdigest()


def checkpoint(session: Session, key: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """A signed statement of the log's head: its last event, hash and event count.

    Publish it or keep it outside the database; :func:`verify_checkpoint` later tells
    whether the history up to it is still there, unchanged.
    """
    if not key:
        raise ValueError("a checkpoint is signed with the audit key: set OPENCALL_AUDIT_KEY")
    head = session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    count = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    body: dict[str, Any] = {
        "version": 1,
        "count": int(count),
        "head_id": head.id if head else 0,
        "head_hash": head.hash if head else GENESIS,
        "head_mac": (head.mac or "") if head else "",
        "at": (now or utcnow()).astimezone(dt.UTC).isoformat(timespec="seconds"),
    }
    return {**body, "signature": _sign(key, body)}


def verify_checkpoint(
    session: Session, cp: dict[str, Any], key: str, retired: Sequence[str] = ()
) -> list[str]:
    """Problems between the log and a checkpoint (empty: the history it covers is intact).
    Its signature may be the current key's or a retired key's (one taken before a
    rotation, :func:`rotate_key`)."""
    body = {k: v for k, v in cp.items() if k != "signature"}
    if not key:
        return ["no audit key: set OPENCALL_AUDIT_KEY to check a checkpoint"]
    signature = str(cp.get("signature", ""))
    if not any(hmac.compare_digest(signature, _sign(k, body)) for k in [key, *retired] if k):
        return ["the checkpoint's signature does not match (altered, or another audit key)"]
    try:
        head_id, count = int(body["head_id"]), int(body["count"])
        head_hash = str(body["head_hash"])
    except (KeyError, TypeError, ValueError):
        return ["the checkpoint is malformed"]
    problems: list[str] = []
    total = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    if total < count:
        problems.append(
            f"history truncated: the checkpoint of {body.get('at')} counted {count} events, "
            f"the log has {total}"
        )
    if head_id:
        head = session.get(AuditEvent, head_id)
        if head is None:
            problems.append(f"history truncated: event {head_id}, the checkpoint's head, is gone")
        elif head.hash != head_hash:
            problems.append(
                f"history rewritten: event {head_id} no longer has the checkpoint's hash"
            )
        upto = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.id <= head_id)
        )
        if head is not None and upto != count:
            problems.append(
                f"history rewritten: {upto} events up to event {head_id}, the checkpoint "
                f"counted {count}"
            )
    return problems


def event_dict(ev: AuditEvent) -> dict[str, Any]:
    """An event as JSON-ready fields (``opencall audit export``, the CSV download)."""
    return {
        "id": ev.id,
        "at": ev.at.isoformat(),
        **{f: getattr(ev, f) for f in _FIELDS},
        "prev_hash": ev.prev_hash,
        "hash": ev.hash,
    }


def last_event_of_call(session: Session, call_id: int) -> int:
    """The id of the call's last audit event (0 when none): events take their ids in the
    order their writers held the chain's lock, so an event of the call committed later has
    a greater id (a mark of "nothing audited for the call since")."""
    return int(
        session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.call_id == call_id)) or 0
    )


def events_for_call(session: Session, call_id: int, limit: int = 500) -> list[AuditEvent]:
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.call_id == call_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))
