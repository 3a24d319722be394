"""Job rows: side effects and long computations, written in the same
transaction as the request that asked for them and run by ``opencall worker``
(or inline in the demo, right after commit).

Claiming uses ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL and an
atomic conditional UPDATE on SQLite. A job whose worker died (lease expired)
is retried up to ``max_attempts`` and then marked failed, never silently lost. So
is a job whose handler raised an error. Both take a back-off: queued again with
``run_after`` set ``RETRY_BASE`` ahead after its first failure, twice as far after each
next one, never more than ``RETRY_CAP`` (a database that went away, a mail server down:
retrying at once would fail the same way and spend the attempts); no worker claims it
before then. One that raised a ``DomainError`` (a refusal of its input or of the call's
state) is marked failed at once, its ``error`` the refusal's sentence.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import traceback
import zlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, or_, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from opencall import logging_setup
from opencall.db import Base, JSONType, UTCDateTime, begin_write, utcnow
from opencall.errors import DomainError

log = logging.getLogger("opencall.jobs")

LEASE = dt.timedelta(minutes=15)
# the wait before a failed job's next attempt: doubled after each failure, bounded
RETRY_BASE = dt.timedelta(seconds=30)
RETRY_CAP = dt.timedelta(minutes=5)


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait before the next attempt of a job that failed its ``attempts``-th."""
    delay: dt.timedelta = RETRY_BASE * 2 ** max(attempts - 1, 0)
    return min(delay, RETRY_CAP)


class Job(Base):
    __tablename__ = "jobs"
    # the queue's order within a status: the next queued job is read by this index, not
    # by walking every job (done ones included) in id order (migration scale_01)
    __table_args__ = (Index("ix_jobs_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(80), nullable=False, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="queued")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    progress: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    call_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # a retried job is not claimed before this (its back-off, :func:`retry_delay`)
    run_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def seed(self) -> int:
        """The seed a solver step's job was queued with (its payload's ``seed``, 0 when
        it has none), read by the handlers of the steps that call an optimiser."""
        return int(self.payload.get("seed", 0))


class JobStepDone(Base):
    """One step of a job done for good (a message of a batch sent), a row of its own: a
    handler records each step with one small insert, whatever the size of the job, and a
    retry skips the steps recorded (:func:`mark_done`, :func:`done_keys`)."""

    __tablename__ = "job_steps_done"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    done_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


def mark_done(session: Session, job: Job, key: str) -> None:
    """Record a step of ``job`` as done (the caller commits); a key recorded twice is an
    error (the primary key), never a silent second step."""
    session.add(JobStepDone(job_id=job.id, key=key))
    session.flush()


def done_keys(session: Session, job: Job) -> set[str]:
    """The keys of the steps of ``job`` recorded as done."""
    return set(session.scalars(select(JobStepDone.key).where(JobStepDone.job_id == job.id)))


Handler = Callable[[Session, Job, Callable[[int, str], None]], None]


class JobRegistry:
    """Explicit wiring of job kinds to handlers (done in app.py / cli.py)."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    call_id: int | None = None,
    created_by: int | None = None,
    max_attempts: int = 3,
) -> Job:
    job = Job(
        kind=kind,
        payload=payload or {},
        call_id=call_id,
        created_by=created_by,
        max_attempts=max_attempts,
        status="queued",
    )
    session.add(job)
    session.flush()
    session.info.setdefault(QUEUED_KEY, []).append(job)
    notify_queued(session)
    return job


#: the PostgreSQL channel a queuing transaction notifies (``opencall.worker`` listens)
CHANNEL = "opencall_jobs"
_NOTIFIED_KEY = "opencall.jobs_notified"


def notify_queued(session: Session) -> None:
    """On PostgreSQL, ``NOTIFY`` the workers' channel in the session's transaction, once
    a transaction: delivered when it commits (the job is then visible to the worker it
    wakes), never when it rolls back. SQLite has no such signal: its workers poll."""
    if session.get_bind().dialect.name != "postgresql":
        return
    tx = session.get_transaction()
    if tx is None or session.info.get(_NOTIFIED_KEY) is tx:
        return
    session.execute(text(f"NOTIFY {CHANNEL}"))
    session.info[_NOTIFIED_KEY] = tx


ACTIVE = ("queued", "running")


def enqueue_once(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    call_id: int,
    created_by: int | None = None,
    max_attempts: int = 3,
) -> Job:
    """:func:`enqueue`, unless a job of ``kind`` for the call ``call_id`` is queued or
    running: then that job (a double click on a step, two chairs, the page and the API
    ask for one run). Requests asking at the same instant are serialised (PostgreSQL: a
    transaction-scoped advisory lock on kind and call; SQLite: the write lock), so that
    the second finds the first one's job."""
    if session.connection().dialect.name == "postgresql":
        key = zlib.crc32(kind.encode()) & 0x7FFFFFFF
        session.execute(text("SELECT pg_advisory_xact_lock(:k, :c)"), {"k": key, "c": call_id})
    else:
        begin_write(session)
    active = session.scalar(
        select(Job)
        .where(Job.kind == kind, Job.call_id == call_id, Job.status.in_(ACTIVE))
        .order_by(Job.id)
        .limit(1)
    )
    if active is not None:
        return active
    return enqueue(
        session, kind, payload, call_id=call_id, created_by=created_by, max_attempts=max_attempts
    )


QUEUED_KEY = "opencall.queued_jobs"


def queued_here(session: Session) -> list[int]:
    """Ids of the jobs this session's unit of work queued and still holds (jobs of a
    rolled-back transaction are no longer persistent and are left out); clears the list."""
    from sqlalchemy import inspect

    held = session.info.pop(QUEUED_KEY, [])
    return [j.id for j in held if inspect(j).persistent]


def _reap_expired(session: Session) -> None:
    """Jobs whose worker died (their lease ran out) are failed attempts like any other:
    queued again after the back-off of :func:`retry_delay` (retrying at once would meet
    what killed the worker, a full memory, a node going down, and spend the attempts),
    or, with no attempts left, failed for good, said in ``error`` and in the log."""
    now = utcnow()
    for job in session.scalars(select(Job).where(Job.status == "running", Job.lease_until < now)):
        job.lease_until = None
        if job.attempts >= job.max_attempts:
            job.status = "failed"
            job.error = (job.error + "\nworker lease expired; no attempts left").strip()
            job.finished_at = now
            job.run_after = None
            log.error(
                "job %s (%s) failed: worker lease expired after %s attempts",
                job.id,
                job.kind,
                job.attempts,
            )
        else:
            job.status = "queued"
            job.error = f"worker lease expired (attempt {job.attempts})"
            job.message = "retrying after the worker stopped responding"
            job.run_after = now + retry_delay(job.attempts)
            log.warning(
                "job %s (%s): worker lease expired, retried after %s",
                job.id,
                job.kind,
                job.run_after,
            )


def claim(
    session: Session,
    kinds: list[str] | None = None,
    *,
    ids: list[int] | None = None,
    lease: dt.timedelta = LEASE,
) -> Job | None:
    """Claim one queued job atomically (of ``ids`` only, when given); returns it in
    status 'running' with a lease of ``lease``."""
    _reap_expired(session)
    session.flush()
    now = utcnow()
    stmt = (
        select(Job)
        .where(Job.status == "queued", or_(Job.run_after.is_(None), Job.run_after <= now))
        .order_by(Job.id)
        .limit(1)
    )
    if kinds:
        stmt = stmt.where(Job.kind.in_(kinds))
    if ids is not None:
        stmt = stmt.where(Job.id.in_(ids))
    if session.get_bind().dialect.name == "postgresql":
        job = session.scalars(stmt.with_for_update(skip_locked=True)).first()
        if job is None:
            return None
        job.status = "running"
    else:
        job = session.scalars(stmt).first()
        if job is None:
            return None
        res = session.execute(
            update(Job)
            .where(Job.id == job.id, Job.status == "queued")
            .values(status="running")
            .execution_options(synchronize_session=False)
        )
        if res.rowcount != 1:  # type: ignore[attr-defined]
            return None
        session.refresh(job)
    job.attempts += 1
    job.started_at = now
    job.lease_until = now + lease
    session.flush()
    return job


def _side_write(factory: sessionmaker[Session], stmt: Any) -> bool:
    """One small write in a side session, giving up at once when SQLite's write lock is
    held by the job's own transaction. True when written."""
    with factory() as ps:
        sqlite = ps.get_bind().dialect.name == "sqlite"
        try:
            if sqlite:
                ps.execute(text("PRAGMA busy_timeout = 50"))
            ps.execute(stmt)
            ps.commit()
            return True
        except OperationalError:
            ps.rollback()
            return False
        finally:
            if sqlite:
                ps.execute(text("PRAGMA busy_timeout = 30000"))
                ps.commit()


class Heartbeat:
    """Renews a running job's lease every third of it while the handler runs, so that a
    long job is never taken for dead and claimed a second time."""

    def __init__(self, factory: sessionmaker[Session], job_id: int, lease: dt.timedelta) -> None:
        self.factory = factory
        self.job_id = job_id
        self.lease = lease
        self.beats = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-{job_id}-lease", daemon=True)

    def _run(self) -> None:
        interval = self.lease.total_seconds() / 3
        while not self._stop.wait(interval):
            renewed = _side_write(
                self.factory,
                update(Job)
                .where(Job.id == self.job_id, Job.status == "running")
                .values(lease_until=utcnow() + self.lease),
            )
            self.beats += int(renewed)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_one(
    factory: sessionmaker[Session],
    registry: JobRegistry,
    kinds: list[str] | None = None,
    *,
    ids: list[int] | None = None,
    lease: dt.timedelta = LEASE,
    spawned: list[int] | None = None,
) -> Job | None:
    """Claim and run one job in its own unit of work, renewing its lease while it runs.
    Returns the job or None; the ids of the jobs it queued (committed with it) are added
    to ``spawned``."""
    with factory() as s:
        job = claim(s, kinds, ids=ids, lease=lease)
        s.commit()
        if job is None:
            return None
        job_id = job.id
    with factory() as s:
        job = s.get(Job, job_id)
        assert job is not None
        handler = registry.handlers.get(job.kind)

        def progress(pct: int, message: str) -> None:
            """Best effort: written in a side session so that pages see it live.

            On SQLite the job's own transaction may already hold the write lock;
            the side write then gives up at once instead of failing the job (the
            runner records 100 % when the job ends)."""
            _side_write(
                factory, update(Job).where(Job.id == job_id).values(progress=pct, message=message)
            )

        with logging_setup.bound(job_id=job_id):
            try:
                if handler is None:
                    raise RuntimeError(f"no handler registered for job kind {job.kind!r}")
                log.info("job %s started (attempt %s)", job.kind, job.attempts)
                with Heartbeat(factory, job_id, lease):
                    handler(s, job, progress)
                job.status = "done"
                job.progress = 100
                job.finished_at = utcnow()
                s.commit()
                if spawned is not None:
                    spawned += queued_here(s)
                log.info("job %s done", job.kind)
            except Exception as exc:  # noqa: BLE001 - a job failure is recorded, never lost
                s.rollback()
                queued_here(s)  # rolled back with the job: none to run
                job = s.get(Job, job_id)
                assert job is not None
                refused = isinstance(exc, DomainError)
                # a refusal (of the input or the state) is said as its sentence and ends
                # the job at once: a retry would be refused the same way. Anything else
                # (a lost connection, a lock timeout, a full disk) is retried.
                job.error = (
                    exc.message
                    if isinstance(exc, DomainError)
                    else "".join(traceback.format_exception_only(type(exc), exc)).strip()
                )
                last = refused or job.attempts >= job.max_attempts
                job.status = "failed" if last else "queued"
                job.finished_at = utcnow() if last else None
                job.run_after = None if last else utcnow() + retry_delay(job.attempts)
                s.commit()
                if isinstance(exc, DomainError):  # a refusal, said to the person who asked
                    log.warning("job %s refused, not retried: %s", job.kind, exc.message)
                else:
                    log.error("job %s failed (%s)", job.kind, job.status, exc_info=exc)
        return job


def run_pending(
    factory: sessionmaker[Session],
    registry: JobRegistry,
    limit: int = 100,
    *,
    ids: list[int] | None = None,
) -> int:
    """Run queued jobs until none is left: all of them, or those of ``ids`` and the jobs
    they queue (a job's e-mails, queued in its unit of work), and theirs. ``limit``
    bounds the jobs run, the queued ones added to it."""
    n = 0
    if ids is not None and not ids:
        return 0
    wanted = None if ids is None else list(ids)
    while n < limit:
        spawned: list[int] = []
        if run_one(factory, registry, ids=wanted, spawned=spawned) is None:
            break
        n += 1
        if wanted is not None and spawned:
            wanted += spawned
            limit += len(spawned)
    return n


def guard_progress(handler: Handler) -> Handler:
    """Progress reports are written from a side session (so that pages see them
    live); on SQLite, once the job's own session holds the write lock, such a
    side write would wait for the job itself until the busy timeout and fail
    it ("database is locked"). Skip progress writes from then on (the runner
    records 100 % at the end); PostgreSQL has row locks and is unaffected."""

    def handle(session: Any, job: Job, progress: Any) -> None:
        def guarded(pct: int, message: str) -> None:
            if session.get_bind().dialect.name == "sqlite" and session.in_transaction():
                raw = session.connection().connection.driver_connection
                if getattr(raw, "in_transaction", False):
                    return
            progress(pct, message)

        handler(session, job, guarded)

    return handle


def failure(job: Job) -> str:
    """The sentence a failed job ended with: a refusal's own, or the last line of an
    exception's (less its class, "ValueError: ")."""
    last = ((job.error or "").strip().splitlines() or [""])[-1]
    name, sep, rest = last.partition(": ")
    return rest if sep and rest and _EXCEPTION_NAME.fullmatch(name) else last


_EXCEPTION_NAME = re.compile(r"(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit|Timeout)")


def jobs_of_call(session: Session, call_id: int, limit: int = 20) -> list[Job]:
    """A call's latest jobs (not its e-mails), newest first: the cockpit's list."""
    return list(
        session.scalars(
            select(Job)
            .where(Job.call_id == call_id, Job.kind != "mail")
            .order_by(Job.id.desc())
            .limit(limit)
        )
    )
