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
import logging
import os
import sys
import threading
from typing import Any, TextIO

log = logging.getLogger("opencall")

#: One lock for thread-unsafe native code (matplotlib, fpdf2 text shaping) in this process.
NATIVE_LOCK = threading.RLock()

_fault_file: TextIO | None = None
_enabled = False


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
