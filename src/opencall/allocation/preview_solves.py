"""The TAC preview's solves, one at a time per problem across requests and web workers
(trialcrowd20). A preview solves the allocation on the request's thread (up to
``tac.PREVIEW_TIME_LIMIT_S`` a solve); the members of a committee opening the same list at
the same moment, served by several threads or several processes, each solved it.

:func:`shared` claims the solve of one problem in the database (a ``tac_preview_solves``
row, claimed in a short transaction under the call's PostgreSQL advisory lock, or SQLite's
write lock), solves it outside any lock and transaction, and writes its awards to the row.
A view that finds the row claimed waits for its awards, polling (the claim's own
transaction is over, so nothing else waits: not the chair's changes, not the applicants'
writes); a solve that fails gives its claim back, and a claim older than :data:`CLAIM_S`
without awards (its worker died) is taken over. The last :data:`KEEP` solves of a call
are kept.

A caller whose SQLite connection already holds the write lock (a transaction that has
written and not committed: a test, a script) would wait on itself; it solves alone, as
before, since no other connection can write meanwhile anyway."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from opencall.allocation.models import TacPreviewSolve
from opencall.db import begin_write, utcnow

Awards = dict[int, dict[int, float]]

#: the longest a claimed solve may take before another view takes it over (the solver's
#: limit is 20 s, ``tac.PREVIEW_TIME_LIMIT_S``; building and writing it, much less)
CLAIM_S = 60.0
#: how often a waiting view looks for the awards
POLL_S = 0.05
#: the solves of a call kept (the calibrated order's and the chair's, for a few versions)
KEEP = 16
#: the first key of the advisory lock of a call's preview solves (PostgreSQL; the second
#: is the call's id)
LOCK_KEY = 7262020


def digest(*parts: Any) -> str:
    """The key of a problem: a digest of ``parts``, the same in every process. ``repr`` of
    a set (a group's proposals) follows its strings' hashes, which each process seeds
    differently (``PYTHONHASHSEED``): sets and mappings are written sorted.

    Writing the whole problem so (:func:`_canonical`) costs a view about 8 times what
    ``pickle`` does (``bench/bench_preview_key.py``); each view builds its problem anew
    from the rows, so the key of a problem met lately in this process is kept (``_MEMO``)
    under a digest of its pickle: the same bytes unpickle to the same problem, so an
    equal problem keyed before is found without writing it again, and any change to it
    (any field, a dict changed in place) changes the bytes and is keyed afresh (mend21).
    The pickle is no key between processes (a set's order follows the hash seed); it only
    finds this process's own earlier answer of :func:`_canonical`'s digest."""
    try:
        quick = hashlib.sha256(pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL)).digest()
    except (pickle.PicklingError, TypeError, AttributeError):
        return _digest_whole(parts)  # a part that cannot be pickled: written whole
    with _MEMO_LOCK:
        kept = _MEMO.get(quick)
        if kept is not None:
            _MEMO.move_to_end(quick)
            return kept
    out = _digest_whole(parts)
    with _MEMO_LOCK:
        _MEMO[quick] = out
        while len(_MEMO) > MEMO_SIZE:
            _MEMO.popitem(last=False)
    return out


def _digest_whole(parts: tuple[Any, ...]) -> str:
    return hashlib.sha256(repr(_canonical(parts)).encode()).hexdigest()


#: the problems keyed lately in this process (a view's one or two, for a few calls)
MEMO_SIZE = 64
#: the key of each, by a digest of its pickle (:func:`digest`)
_MEMO: OrderedDict[bytes, str] = OrderedDict()
_MEMO_LOCK = threading.Lock()


_LEAVES = (str, int, float, bool, type(None))


@functools.cache
def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _canonical(x: Any) -> Any:
    if isinstance(x, _LEAVES):
        return x
    if isinstance(x, list | tuple):
        return tuple(_canonical(v) for v in x)
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return (type(x).__name__, *(_canonical(getattr(x, n)) for n in _names(type(x))))
    if isinstance(x, set | frozenset):
        return ("set", *sorted((_canonical(v) for v in x), key=repr))
    if isinstance(x, Mapping):
        items = ((_canonical(k), _canonical(v)) for k, v in x.items())
        return ("map", *sorted(items, key=repr))
    return x


def _lock(side: Session, call_id: int) -> None:
    if side.connection().dialect.name == "postgresql":
        side.execute(text("SELECT pg_advisory_xact_lock(:k, :c)"), {"k": LOCK_KEY, "c": call_id})
    else:
        begin_write(side)


def _alone(session: Session) -> bool:
    """Whether ``session`` must solve alone: SQLite with the write lock held by it (or a
    database in memory, which no other process reads)."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return False
    raw = conn.connection.dbapi_connection
    memory = conn.engine.url.database in (None, "", ":memory:")
    return memory or bool(raw is not None and raw.in_transaction)


def _encoded(awards: Awards) -> dict[str, dict[str, float]]:
    return {str(p): {str(k): v for k, v in per.items()} for p, per in awards.items()}


def _decoded(stored: dict[str, dict[str, float]]) -> Awards:
    return {int(p): {int(k): float(v) for k, v in per.items()} for p, per in stored.items()}


def _row(side: Session, key: str) -> TacPreviewSolve | None:
    """The row of ``key`` as committed now (not as an earlier poll of this session read it)."""
    q = select(TacPreviewSolve).where(TacPreviewSolve.key == key)
    return side.scalar(q.execution_options(populate_existing=True))


def _claim(side: Session, call_id: int, key: str) -> Awards | None:
    """The awards of ``key`` once solved (waiting for a claim in flight), or None when this
    view has claimed the solve (committed)."""
    while True:
        _lock(side, call_id)
        row = _row(side, key)
        now = utcnow()
        if row is not None and row.solved_at is not None:
            awards = _decoded(row.awards)
            side.commit()
            return awards
        if row is None:
            side.add(TacPreviewSolve(call_id=call_id, key=key, awards={}, claimed_at=now))
            side.commit()
            return None
        if (now - row.claimed_at).total_seconds() > CLAIM_S:
            row.claimed_at = now  # its solver died: taken over
            side.commit()
            return None
        side.commit()  # the lock is let go while waiting
        time.sleep(POLL_S)


def shared(session: Session, call_id: int, key: str, solve: Callable[[], Awards]) -> Awards:
    """``solve()`` of the problem ``key`` of the call ``call_id``, once for all the views
    asking at the same time in any process: the awards of a solve done or in flight, or
    those of ``solve()`` run here (written for the others)."""
    if _alone(session):
        return solve()
    with Session(bind=session.connection().engine, expire_on_commit=False) as side:
        kept = _claim(side, call_id, key)
        if kept is not None:
            return kept
        try:
            awards = solve()
        except BaseException:
            _lock(side, call_id)
            side.execute(
                delete(TacPreviewSolve).where(
                    TacPreviewSolve.key == key, TacPreviewSolve.solved_at.is_(None)
                )
            )
            side.commit()
            raise
        _lock(side, call_id)
        row = _row(side, key)
        if row is None:  # pruned meanwhile by a call's other solves
            row = TacPreviewSolve(call_id=call_id, key=key, claimed_at=utcnow())
            side.add(row)
        row.awards = _encoded(awards)
        row.solved_at = utcnow()
        side.flush()
        old = select(TacPreviewSolve.id).where(
            TacPreviewSolve.call_id == call_id, TacPreviewSolve.solved_at.is_not(None)
        )
        old = old.order_by(TacPreviewSolve.solved_at.desc(), TacPreviewSolve.id.desc())
        stale = list(side.scalars(old.offset(KEEP)))
        if stale:
            side.execute(delete(TacPreviewSolve).where(TacPreviewSolve.id.in_(stale)))
        side.commit()
        return awards
