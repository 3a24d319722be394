"""Benchmark: a resource's slot grid (``opencall.optim.slots.slot_grid``) with many
unavailable periods, as it was (every slot checked against every period,
``tests.optim.test_slot_grid_sweep.reference_grid``) against as it is (one pass over the
slots and the periods sorted by start), in the same run; and the check of booked slots
against a resource's outages (``scheduling.slot_services.kept_slots``): a scan of every
period per slot against ``optim.slots.PeriodIndex`` (a bisection).

Usage:
    .venv/bin/python bench/bench_slot_grid.py [--periods 104,1000,4392,5000] [--repeat 3]

Instance: a year (2028, a leap year: 8,783 slots, the hour skipped in March left out) of one-hour slots in Europe/Berlin, its
unavailable periods spread evenly over the year as a recurring rule gives them (each an
hour long, every third one without a reason). CPU seconds, best of ``--repeat``; both give
the same slots (checked here).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.optim.test_slot_grid_sweep import reference_grid  # noqa: E402

from opencall.optim import slots as sl  # noqa: E402
from opencall.optim import wallclock  # noqa: E402

ZONE = "Europe/Berlin"


def resource(n: int) -> sl.Resource:
    lo = wallclock.local_instant(dt.datetime(2028, 1, 1), ZONE)
    hi = wallclock.local_instant(dt.datetime(2029, 1, 1), ZONE)
    gap = (hi - lo) / max(n, 1)
    hour = dt.timedelta(hours=1)
    unavailable = tuple(
        (lo + i * gap, lo + i * gap + hour, "" if i % 3 == 0 else "maintenance") for i in range(n)
    )
    return sl.Resource("r", lo, hi, 1.0, unavailable=unavailable, time_zone=ZONE)


def best(f: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.process_time()
        out = f()
        times.append(time.process_time() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--periods", default="104,1000,4392,5000")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(
        "| periods | slots | grid old s | grid new s | old / new | outage check old s | new s | old / new |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in (int(x) for x in args.periods.split(",")):
        res = resource(n)
        sl.slot_grid(res)  # the grid's bounds are cached: warm them for both
        old_s, old = best(lambda res=res: reference_grid(res), args.repeat)
        new_s, new = best(lambda res=res: sl.slot_grid(res), args.repeat)
        assert old == new, "the grids differ"
        spans = [(s.start, s.end) for s in new]
        periods = [(u0, u1) for u0, u1, _ in res.unavailable]

        def scan(spans: list = spans, periods: list = periods) -> list[bool]:
            return [any(u0 < t1 and t0 < u1 for u0, u1 in periods) for t0, t1 in spans]

        def index(spans: list = spans, periods: list = periods) -> list[bool]:
            ix = sl.PeriodIndex(periods)
            return [ix.overlaps(t0, t1) for t0, t1 in spans]

        scan_s, a = best(scan, args.repeat)
        index_s, b = best(index, args.repeat)
        assert a == b, "the outage checks differ"
        print(
            f"| {n:,} | {len(new):,} | {old_s:.3f} | {new_s:.3f} | {old_s / new_s:.1f} "
            f"| {scan_s:.3f} | {index_s:.3f} | {scan_s / index_s:.1f} |"
        )


if __name__ == "__main__":
    main()
