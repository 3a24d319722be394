"""The collector thread of ``diagnostics.gc_at_safe_points`` (Python 3.11) chooses a
generation as CPython's own trigger does, including its rule for the oldest one: a full
collection waits until the objects that reached the oldest generation since the last full
collection number a quarter of those that survived it (gcmodule.c, ``long_lived_pending <
long_lived_total / 4``: issue #4074, quadratic time in the number of live objects). Without
that rule every tenth collection of the middle generation was a full one, each traversing
every live object of the process: in a test process with 200,000 of them, 0.2 to 0.4 s a
full collection and about a tenth of its CPU.

Run in a child process, whose collector thread is not started (the test process's thread
would collect between the steps)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import gc
from opencall import diagnostics

gc.disable()
keep = [[i] for i in range(200_000)]  # long-lived: they survive into the oldest generation
gc.collect()  # a full collection: 200,000 and more objects survived it
gc.set_threshold(1, 1, 1)


def promote_then_ask():
    gc.collect(1)
    gc.collect(1)  # the oldest generation's count is now over its threshold (2 > 1)
    junk = [[], [], []]  # and the youngest's (3 > 1)
    return diagnostics.collect_if_due()


few = [[i] for i in range(1_000)]  # far fewer new long-lived objects than a quarter
second = promote_then_ask()
many = [[i] for i in range(100_000)]  # more than a quarter
third = promote_then_ask()
print(second, third)
"""


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12+ collects between bytecodes")
def test_a_full_collection_waits_for_a_quarter_more_long_lived_objects() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    second, third = out.stdout.split()
    # few new long-lived objects: not a full collection, the youngest generation instead
    assert second == "0", out.stdout
    # a quarter more: the full collection
    assert third == "2", out.stdout
