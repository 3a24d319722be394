"""Crash reports and error logs for the server and worker processes.

The server died three times during a chair's cycle with nothing in the log (a
segmentation fault inside the interpreter kills the process before Python can
log). :func:`enable_crash_reports` turns on :mod:`faulthandler` in every server
and worker process: on a fatal signal (SIGSEGV, SIGFPE, SIGABRT, SIGBUS, SIGILL)
the Python stack of every thread is written to stderr (or to
``OPENCALL_FAULT_LOG``) before the process dies, so the next crash names the
code that ran. It also makes sure that an exception escaping any thread (a job
thread, a timer) is logged, never lost.

:data:`NATIVE_LOCK` serialises the C extensions that are not safe to call from
several threads at once and that the thread pool of the web process reaches:
matplotlib (its FreeType font objects are cached and shared between threads,
and ``rc_context`` swaps the global ``rcParams``) and fpdf2's font subsetting
used with them in the PDF report. See docs/crash-hunting.md and
``opencall.outcomes.charts``.
"""

from __future__ import annotations

import faulthandler
import gc
import logging
import os
import sys
import threading
import time
from typing import Any, TextIO

log = logging.getLogger("opencall")

#: One lock for thread-unsafe native code (matplotlib, fpdf2 text shaping) in this process.
NATIVE_LOCK = threading.RLock()

_fault_file: TextIO | None = None
_enabled = False

#: How often the collector thread of :func:`gc_at_safe_points` looks at the counts.
GC_POLL_S = 0.05
_gc_lock = threading.Lock()
_gc_thread: threading.Thread | None = None


def enable_crash_reports() -> None:
    """faulthandler on (all threads, to stderr or ``OPENCALL_FAULT_LOG``) and every
    unhandled exception in a thread logged. Idempotent; safe in every process."""
    global _fault_file, _enabled
    if _enabled:
        return
    _enabled = True
    path = os.environ.get("OPENCALL_FAULT_LOG", "")
    if path:
        _fault_file = open(path, "a", buffering=1)  # noqa: SIM115 - kept open for the process
        faulthandler.enable(file=_fault_file, all_threads=True)
    elif not faulthandler.is_enabled():  # pytest (or PYTHONFAULTHANDLER) may have done it
        faulthandler.enable(file=sys.stderr, all_threads=True)
    previous = threading.excepthook

    def log_thread_error(args: Any) -> None:
        if args.exc_type is not SystemExit:
            log.error(
                "unhandled error in thread %s",
                getattr(args.thread, "name", "?"),
                exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
            )
        previous(args)

    threading.excepthook = log_thread_error
    if not logging.getLogger().handlers and not log.handlers:
        # nothing configured (the worker): errors still reach stderr, with a time stamp
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)


def gc_at_safe_points(poll_s: float = GC_POLL_S) -> bool:
    """On CPython before 3.12, run the cyclic garbage collector only at safe points.

    CPython 3.11 starts a collection inside any allocation of a container object, in
    the middle of C code, and runs the weakref callbacks and finalizers of the garbage
    right there. SQLAlchemy's ``InstanceState._cleanup`` (the weakref callback of
    every ORM object) then sets and deletes attributes of other ``InstanceState``
    objects while the interrupted code (``InstanceState.__init__`` creating another
    one, a dict insertion) is half-way through the same shared-key instance dicts: the
    heap is corrupted and the process dies a little later with a segmentation fault
    ("Garbage-collecting" inside SQLAlchemy's loading; docs/crash-hunting.md,
    ``bench/repro_gc_segfault.py``). CPython 3.12 runs collections only between
    bytecodes, where nothing is half-way.

    This does the same on 3.11: automatic collection off, and one daemon thread that
    collects every ``poll_s`` seconds when the generation counts are over their
    thresholds (the choice CPython makes). A collection started from Python code runs
    while every other thread waits between two bytecodes or outside the interpreter.
    Idempotent; returns whether it is in effect. A forked child gets automatic
    collection back (the thread does not survive a fork); the worker calls this again.
    """
    global _gc_thread
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    with _gc_lock:
        if _gc_thread is not None and _gc_thread.is_alive():
            return True
        gc.disable()
        _gc_thread = threading.Thread(
            target=_collect_loop, args=(poll_s,), name="opencall-gc", daemon=True
        )
        _gc_thread.start()
    return True


#: CPython's ``long_lived_total`` (the objects that survived the last full collection;
#: None before the first) and ``long_lived_pending`` (the objects that have reached the
#: oldest generation since), kept by :func:`_count_long_lived`.
_long_lived: dict[str, Any] = {"total": None, "pending": 0, "young": 0}


def _count_long_lived(phase: str, info: dict[str, Any]) -> None:
    """A ``gc.callbacks`` hook that keeps the two counts CPython's trigger reads (and
    Python code cannot): a collection of the middle generation moves its survivors (the
    young generations' objects less those it collected) into the oldest; a full
    collection (this module's or anyone's ``gc.collect()``) counts what survived it.
    The young generations are listed at the start of a middle one's collection (a few
    thousand objects); the oldest only after a full collection, itself the cost of
    traversing them all."""
    oldest = len(gc.get_count()) - 1
    generation = info.get("generation")
    if generation == oldest - 1:
        if phase == "start":
            _long_lived["young"] = sum(len(gc.get_objects(g)) for g in range(oldest))
        else:
            _long_lived["pending"] += max(0, _long_lived["young"] - info.get("collected", 0))
    elif generation == oldest and phase == "stop":
        _long_lived["total"] = len(gc.get_objects(oldest))
        _long_lived["pending"] = 0


def collect_if_due() -> int | None:
    """One collection of the oldest generation over its threshold, as CPython's own
    trigger chooses it; None when no generation is due.

    As CPython (gcmodule.c, issue #4074), the oldest generation is collected only once
    the objects that reached it since the last full collection are at least a quarter
    of those that survived that collection (``long_lived_pending < long_lived_total /
    4`` skips it, and the next younger generation over its threshold is collected
    instead): without this, every tenth collection of the middle generation was a full
    one, each traversing every live object of the process. The two counts are kept by
    :func:`_count_long_lived`."""
    thresholds = gc.get_threshold()
    counts = gc.get_count()
    if thresholds[0] <= 0 or counts[0] <= thresholds[0]:
        return None
    oldest = len(counts) - 1
    for gen in range(oldest, -1, -1):
        if gen and counts[gen] <= thresholds[gen]:
            continue
        total = _long_lived["total"]
        if gen == oldest and total is not None and _long_lived["pending"] < total // 4:
            continue
        gc.collect(gen)
        return gen
    return None  # pragma: no cover - the youngest generation is due (above)


def _collect_loop(poll_s: float) -> None:
    while True:
        time.sleep(poll_s)
        try:
            collect_if_due()
        except Exception:  # a finalizer's error must not stop the collector
            log.exception("garbage collection failed")


def _after_fork_in_child() -> None:
    global _gc_thread
    if _gc_thread is not None:
        _gc_thread = None
        gc.enable()


if sys.version_info < (3, 12):  # where the collector thread chooses the generations
    gc.callbacks.append(_count_long_lived)

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
