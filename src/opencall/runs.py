"""The record of every optimiser run, below the features.

Each step that calls ``opencall.optim`` (conflicts, affinity, assignment,
calibration, allocation, scheduling) records one :class:`SolverRun`: inputs
hash, parameters, seed, version, status, objective, bound, gap and time, and
an audit event ``solver.<kind>``. A step reports progress through a
:data:`Progress` callback (percent, message); :func:`no_progress` is the
default when nobody listens.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from opencall import auditlog
from opencall.db import Base, JSONType, UTCDateTime, utcnow

VERSION = "opencall-0.1"
Progress = Callable[[int, str], None]


def no_progress(_p: int, _m: str) -> None:
    """The :data:`Progress` callback of a step nobody watches."""
    return None


class SolverRun(Base):
    """A record of one optimiser run: inputs hash, parameters, seed, version, result."""

    __tablename__ = "solver_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    inputs_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    seed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    version: Mapped[str] = mapped_column(String(40), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    objective: Mapped[float | None] = mapped_column(Float, nullable=True)
    bound: Mapped[float | None] = mapped_column(Float, nullable=True)
    gap: Mapped[float | None] = mapped_column(Float, nullable=True)
    wall_s: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class _HasId(Protocol):
    @property
    def id(self) -> int: ...


def inputs_hash(obj: Any) -> str:
    blob = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, default=str, separators=(",", ":")).encode()


def inputs_hash_with_rows(obj: dict[str, Any], key: str, rows: Iterable[list[Any] | bytes]) -> str:
    """``inputs_hash({**obj, key: list(rows)})``, one row at a time: the same bytes are
    hashed without holding the whole matrix as JSON (a conference's affinity matrix is
    130 million numbers). A row given as bytes is taken as its JSON already written (the
    bytes ``json.dumps`` gives the list, compact separators)."""
    h = hashlib.sha256(b"{")
    for n, k in enumerate(sorted([*obj, key])):
        h.update(b"," if n else b"")
        h.update(_dumps(k) + b":")
        if k != key:
            h.update(_dumps(obj[k]))
            continue
        h.update(b"[")
        for i, row in enumerate(rows):
            h.update((b"," if i else b"") + (row if isinstance(row, bytes) else _dumps(row)))
        h.update(b"]")
    h.update(b"}")
    return h.hexdigest()


@dataclass(frozen=True)
class Solve:
    """One optimiser run in the making: its seed, who asked for it, and when it started
    (``time.perf_counter()`` at creation: :func:`record_run` takes its wall time from
    there). Made where a step starts its work, given to :func:`record_run` at the end."""

    seed: int = 0
    actor_id: int | None = None
    started: float = field(default_factory=time.perf_counter)


def record_run(
    session: Session,
    call: _HasId,
    kind: str,
    solve: Solve,
    *,
    inputs: Any,
    parameters: dict[str, Any],
    hashed_inputs: str | None = None,
    status: str = "ok",
    objective: float | None = None,
    bound: float | None = None,
    gap: float | None = None,
    summary: dict[str, Any] | None = None,
) -> SolverRun:
    """Record ``solve`` (its wall time is measured now) and its result, with an audit
    event ``solver.<kind>``."""
    seed, actor_id = solve.seed, solve.actor_id
    wall_s = time.perf_counter() - solve.started
    run = SolverRun(
        call_id=call.id,
        kind=kind,
        # the caller may hash inputs too large to pass whole (inputs_hash_with_rows)
        inputs_hash=inputs_hash(inputs) if hashed_inputs is None else hashed_inputs,
        parameters=json.loads(json.dumps(parameters, default=str)),
        seed=seed,
        version=VERSION,
        status=status,
        objective=objective,
        bound=bound,
        gap=gap,
        wall_s=wall_s,
        summary=json.loads(json.dumps(summary or {}, default=str)),
        created_by=actor_id,
    )
    return auditlog.record_new(
        session,
        run,
        f"solver.{kind}",
        "solver_run",
        actor_id=actor_id,
        call_id=call.id,
        data={"status": status, "objective": objective, "gap": gap, "seed": seed},
    )
