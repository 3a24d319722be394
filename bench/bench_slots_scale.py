"""Benchmark: slot placement on one resource of many slots with many one-slot awards
(``opencall.optim.slots``), the allowed and free slots as they were (a Python loop over
every award times every slot) against as they are (computed once per distinct key and
shared, numpy over the slots), in one process.

Usage:
    .venv/bin/python bench/bench_slots_scale.py [--awards 1000,3000] [--slots 10000]
        [--time-limit 20]

Instances: ``tests.optim.test_slots_shared.large`` (one resource of one-hour slots, a
changeover of 2, one-slot awards of distinct proposals: the instance of the eighth round,
trialopt12). "before" runs ``tests.optim.test_slots_shared.old_path`` (the loops of before)
with a limit long enough to finish, as the code of before ran whatever its limit; "now"
runs as shipped with ``--time-limit``. CPU and wall seconds of each solve (the limit is wall time), the method,
the awards placed, and the check of the placement.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.optim.test_slots_shared import large, old_path  # noqa: E402

from opencall.optim import slots as sl  # noqa: E402


def _run(problem: sl.SlotProblem, limit: float) -> tuple[float, float, sl.SlotSchedule]:
    t, w = time.process_time(), time.perf_counter()
    res = sl.solve_slots(problem, time_limit_s=limit)
    return time.process_time() - t, time.perf_counter() - w, res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--awards", default="1000,3000")
    ap.add_argument("--slots", type=int, default=10_000)
    ap.add_argument("--time-limit", type=float, default=20.0)
    args = ap.parse_args()
    print("| awards x slots | code | CPU s | wall s | method | placed | check | CPU before/now |")
    print("|---|---|---:|---:|---|---:|---|---:|")
    for n in (int(v) for v in args.awards.split(",")):
        problem = large(n, args.slots)
        cpu_now, wall_now, now = _run(problem, args.time_limit)
        with old_path():
            cpu_before, wall_before, before = _run(problem, 24 * 3600.0)
        assert now.starts == before.starts or now.method != before.method
        for name, cpu, wall, res in (
            ("before", cpu_before, wall_before, before),
            ("now", cpu_now, wall_now, now),
        ):
            ratio = f"{cpu_before / cpu_now:.0f}x" if name == "now" else ""
            ok = "ok" if not res.check(problem) else "VIOLATED"
            print(
                f"| {n:,} x {args.slots:,} | {name} | {cpu:.2f} | {wall:.2f} | {res.method} "
                f"| {len(res.starts):,} | {ok} | {ratio} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
