"""Python 3.11: the cyclic garbage collector runs only at safe points (docs/crash-hunting.md).

A collection that CPython 3.11 started inside an allocation ran SQLAlchemy's weakref
callbacks half-way through the interrupted C code and corrupted the heap (segmentation
faults in request threads, ``bench/repro_gc_segfault.py``). ``gc_at_safe_points`` turns
automatic collection off and collects from a thread of its own instead.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

import pytest

from opencall import diagnostics

ROOT = Path(__file__).resolve().parents[2]
OLD_GC = pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12+ collects between bytecodes")


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


@OLD_GC
def test_cycles_are_collected_by_the_collector_thread_not_inside_allocations() -> None:
    assert diagnostics.gc_at_safe_points() is True
    assert diagnostics.gc_at_safe_points() is True  # idempotent: one thread
    assert not gc.isenabled()  # no collection started by an allocation
    assert [t.name for t in threading.enumerate()].count("opencall-gc") == 1
    ran_in: list[str] = []
    a, b = _Node(), _Node()
    a.other, b.other = b, a  # a cycle: only the collector frees it
    ref = weakref.ref(a, lambda _r: ran_in.append(threading.current_thread().name))
    del a, b
    deadline = time.monotonic() + 10
    junk: list[list[int]] = []
    # until the callback has run: the collector clears the weak reference first and calls
    # the callback after, so ``ref() is None`` alone can be seen in between (the last
    # landing's tree failed here once with ``[] == ['opencall-gc']``)
    while not ran_in and time.monotonic() < deadline:
        junk.extend([[i] for i in range(1000)])  # counts over the threshold
        time.sleep(0.01)
    assert ref() is None
    assert ran_in == ["opencall-gc"]


@OLD_GC
def test_collect_if_due_follows_the_thresholds() -> None:
    diagnostics.gc_at_safe_points()
    old = gc.get_threshold()
    try:
        gc.set_threshold(10**9, 10, 10)
        assert diagnostics.collect_if_due() is None  # nothing due
        gc.set_threshold(1, 10**9, 10**9)
        _ = [[i] for i in range(100)]
        assert diagnostics.collect_if_due() == 0
    finally:
        gc.set_threshold(*old)


def test_newer_pythons_keep_their_own_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "version_info", (3, 12, 0, "final", 0))
    assert diagnostics.gc_at_safe_points() is False


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("OPENCALL_REPRO_BIG_URL"),
    reason="needs the scale-10 trial database (bench/bench_trial.py --scale 10): "
    "OPENCALL_REPRO_BIG_URL=postgresql://.../a_copy_of_it (it records a sign-in)",
)
def test_the_segfault_reproducer_runs_to_its_end() -> None:
    """8 of 8 runs died with SIGSEGV before the fix (Python 3.11.7), 0 of 8 after."""
    env = {**os.environ, "REPRO_URL": os.environ["OPENCALL_REPRO_BIG_URL"]}
    out = subprocess.run(
        [sys.executable, "bench/repro_gc_segfault.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Fatal Python error" not in out.stderr
    assert "done True" in out.stdout
