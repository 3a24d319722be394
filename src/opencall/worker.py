"""``opencall worker --concurrency M``: M processes claiming jobs from one database.

Each process has its own engine and registry and claims one job at a time with
``jobs.run_one`` (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, an atomic
conditional UPDATE on SQLite), so any number of workers, on any number of
machines, share one queue and run each job once. Processes rather than threads:
the long jobs (assignment, allocation, scheduling) are CPU-bound Python and
numpy, and one process per core uses the cores.

A worker with nothing to do waits for the next job: on PostgreSQL it listens on the
channel that the commit queuing a job notifies (:data:`opencall.jobs.CHANNEL`) and
claims at once, and still polls every ``poll`` seconds (a notification lost with its
connection, a job requeued by a lease that expired); on SQLite it polls.

The parent supervises: on SIGTERM or SIGINT every process finishes the job in
hand and exits (nothing acknowledged is lost; a job cut short by a kill is
requeued when its lease expires); a process that dies unexpectedly is
restarted. With ``once`` each process runs until the queue is empty.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.synchronize import Event as MpEvent
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from opencall import jobs, logging_setup
from opencall.db import make_engine, make_sessionmaker, no_connection
from opencall.diagnostics import enable_crash_reports, gc_at_safe_points
from opencall.settings import Settings

log = logging.getLogger("opencall.worker")

RegistryFactory = Callable[[Settings], jobs.JobRegistry]
Report = Callable[[str], None]


def _default_registry(settings: Settings) -> jobs.JobRegistry:
    from opencall.registry import build_registry

    return build_registry(settings)


class Wakeup:
    """What a worker waits on between jobs: on PostgreSQL a connection of its own that
    ``LISTEN``s on :data:`opencall.jobs.CHANNEL` (opened before the first claim, so that
    a job queued meanwhile is not missed), elsewhere nothing but the poll. A connection
    that fails is dropped, and the worker polls until it is opened again."""

    SLICE_S = 0.25  # how often a wait looks at ``stop``

    def __init__(self, engine: Engine, *, listen: bool = True) -> None:
        self.engine = engine
        self.enabled = listen and engine.dialect.name == "postgresql"
        self.conn: Any = None
        self.notified = 0
        self.open()

    def open(self) -> None:
        if not self.enabled or self.conn is not None:
            return
        try:
            raw = self.engine.raw_connection()
            conn = raw.driver_connection
            assert conn is not None
            raw.detach()  # this connection is the worker's own, never back in the pool
            conn.autocommit = True
            conn.execute(f"LISTEN {jobs.CHANNEL}")
            self.conn = conn
        except Exception:  # noqa: BLE001 - a worker without LISTEN polls; it never stops
            log.warning("cannot LISTEN for queued jobs; polling", exc_info=True)
            self.conn = None

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None

    def wait(self, stop: threading.Event | MpEvent, poll: float) -> bool:
        """Wait until a job is queued (True), ``poll`` seconds pass or ``stop`` is set."""
        if self.conn is None:
            self.open()
        if self.conn is None:
            stop.wait(poll)
            return False
        deadline = time.monotonic() + poll
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                got = list(self.conn.notifies(timeout=min(self.SLICE_S, left), stop_after=1))
            except Exception:  # noqa: BLE001 - the connection failed: poll, reopen later
                log.warning("lost the LISTEN connection; polling", exc_info=True)
                self.close()
                stop.wait(max(0.0, deadline - time.monotonic()))
                return False
            if got:
                self.notified += 1
                # the others of a burst (one per queuing commit) are drained: one claim
                # loop runs the jobs they announce
                with contextlib.suppress(Exception):
                    list(self.conn.notifies(timeout=0.001))
                return True
        return False


def _anything_queued(factory: sessionmaker[Session]) -> bool:
    with factory() as s:
        return s.scalar(select(jobs.Job.id).where(jobs.Job.status == "queued").limit(1)) is not None


def work(
    settings: Settings,
    *,
    once: bool = False,
    poll: float = 2.0,
    registry_factory: RegistryFactory | None = None,
    stop: threading.Event | MpEvent | None = None,
    report: Report | None = None,
    name: str = "worker",
    listen: bool = True,
) -> int:
    """One worker loop in this process; returns the number of jobs it ran. Between jobs
    it waits on a :class:`Wakeup` (``listen=False``: polling only)."""
    logging_setup.configure()
    enable_crash_reports()  # faulthandler in every worker process (spawned ones too)
    gc_at_safe_points()  # Python 3.11: no collection inside SQLAlchemy's loading (segfaults)
    engine = make_engine(
        settings.database_url,
        echo=settings.echo_sql,
        connect_timeout_s=settings.db_connect_timeout_s,
    )
    # the jobs' audit events are signed like the web's and the CLI's (OPENCALL_AUDIT_KEY)
    factory = make_sessionmaker(engine, audit_key=settings.audit_key)
    registry = (registry_factory or _default_registry)(settings)
    stop = stop if stop is not None else threading.Event()
    wakeup = Wakeup(engine, listen=listen and not once)
    n = 0
    try:
        while not stop.is_set():
            try:
                job = jobs.run_one(factory, registry)
            except Exception as exc:
                # PostgreSQL full ("too many connections"), restarting or silent: nothing
                # was claimed (or a claimed job's lease expires and it is run again), so
                # wait and try again; one worker process has nobody to restart it
                if once or not no_connection(exc):
                    raise
                why = str(getattr(exc, "orig", exc)).splitlines()[0][:300]
                log.warning("%s: the database refused a connection (%s); trying again", name, why)
                if report is not None:
                    report(f"{name}: the database refused a connection ({why}); trying again")
                stop.wait(poll)
                continue
            if job is None:
                if once:
                    # on SQLite a claim lost to another worker also answers None:
                    # stop only when nothing is left queued
                    if _anything_queued(factory):
                        stop.wait(0.01)
                        continue
                    break
                wakeup.wait(stop, poll)
                continue
            n += 1
            if report is not None:
                report(f"{name}: job {job.id} ({job.kind}) {job.status}")
    finally:
        wakeup.close()
        engine.dispose()
    return n


def _child(
    index: int,
    settings: Settings,
    once: bool,
    poll: float,
    registry_factory: RegistryFactory | None,
    stop: MpEvent,
    total: Any,
    verbose: bool,
) -> None:
    # Ctrl-C reaches the whole process group: finish the job in hand, then stop.
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    name = f"worker-{index} (pid {os.getpid()})"
    n = work(
        settings,
        once=once,
        poll=poll,
        registry_factory=registry_factory,
        stop=stop,
        report=(lambda line: print(line, flush=True)) if verbose else None,
        name=name,
    )
    with total.get_lock():
        total.value += n


def run(
    settings: Settings,
    *,
    concurrency: int = 1,
    once: bool = False,
    poll: float = 2.0,
    registry_factory: RegistryFactory | None = None,
    verbose: bool = True,
    report: Report | None = None,
) -> int:
    """Run ``concurrency`` worker processes until stopped (or, with ``once``,
    until the queue is empty); returns the number of jobs they ran."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if concurrency == 1:
        stop1 = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: stop1.set())
        try:
            return work(
                settings,
                once=once,
                poll=poll,
                registry_factory=registry_factory,
                stop=stop1,
                report=report if verbose else None,
            )
        finally:
            signal.signal(signal.SIGTERM, previous)
    ctx = mp.get_context("spawn")  # no engine or thread state crosses a fork
    stop = ctx.Event()
    total = ctx.Value("q", 0)

    def start(i: int) -> Any:
        p = ctx.Process(
            target=_child,
            args=(i, settings, once, poll, registry_factory, stop, total, verbose),
            name=f"opencall-worker-{i}",
        )
        p.start()
        return p

    def on_signal(*_: Any) -> None:
        stop.set()

    prev_term = signal.signal(signal.SIGTERM, on_signal)
    prev_int = signal.signal(signal.SIGINT, on_signal)
    procs = {i: start(i) for i in range(concurrency)}
    try:
        while procs:
            for i, p in list(procs.items()):
                p.join(timeout=0.2)
                if p.is_alive():
                    continue
                del procs[i]
                if p.exitcode != 0 and not stop.is_set():
                    if report is not None:
                        report(f"worker-{i} exited with code {p.exitcode}; restarting it")
                    time.sleep(1.0)
                    procs[i] = start(i)
    finally:
        stop.set()
        for p in procs.values():
            p.join()
        signal.signal(signal.SIGTERM, prev_term)
        signal.signal(signal.SIGINT, prev_int)
    return int(total.value)
