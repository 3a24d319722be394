"""Benchmark: slot placement of a travelling team's season (``opencall.optim.slots``), with
and without the changeover window rows (``optim.slots.model._changeover_window_rows``), in
one process, against OR-Tools CP-SAT on a formulation of its own.

Usage:
    .venv/bin/python bench/bench_travelling.py [--families 10x60,14x92] [--seeds 8]
        [--time-limit 10]

Instances: ``tests.optim.test_trial_instances_5.season`` (one team, daily slots, three days
of travel between two hosts, each host a visit of 4-10 days inside a season of its own).
"before" is the same solver with the window rows left out (the model of main before the
eleventh round); "now" is the solver as it is; CP-SAT (one worker) gets the same limit.
Per family: instances proved optimal, total wall seconds, and the placed value summed over
the instances.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.optim.test_trial_instances_5 import cp_sat_value, season  # noqa: E402

import opencall.optim.slots.model as slot_model  # noqa: E402
from opencall.optim import slots as sl  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--families", default="10x60,14x92")
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--time-limit", type=float, default=10.0)
    args = ap.parse_args()
    rows = slot_model._changeover_window_rows
    print("| hosts x days | solver | proved | wall s (all) | value (sum) |")
    print("|---|---|---:|---:|---:|")
    for fam in args.families.split(","):
        hosts, days = (int(v) for v in fam.split("x"))
        tally = {k: [0, 0.0, 0.0] for k in ("before", "now", "CP-SAT")}
        for seed in range(args.seeds):
            problem = season(seed, hosts, days)
            for name in ("before", "now"):
                slot_model._changeover_window_rows = (lambda *a: []) if name == "before" else rows
                t = time.perf_counter()
                res = sl.solve_slots(problem, time_limit_s=args.time_limit)
                wall = time.perf_counter() - t
                assert sl.check(problem, res.starts) == []
                tally[name][0] += res.method == "milp"
                tally[name][1] += wall
                tally[name][2] += res.objective[0]
            slot_model._changeover_window_rows = rows
            t = time.perf_counter()
            status, value = cp_sat_value(problem, args.time_limit)
            tally["CP-SAT"][0] += status == "OPTIMAL"
            tally["CP-SAT"][1] += time.perf_counter() - t
            tally["CP-SAT"][2] += value
        for name, (proved, wall, value) in tally.items():
            print(f"| {hosts} x {days} | {name} | {proved}/{args.seeds} | {wall:.2f} | {value:g} |")
        b, n = tally["before"], tally["now"]
        print(f"| | ratio now/before | | {n[1] / b[1]:.3f} | {n[2] / b[2]:.4f} |", flush=True)


if __name__ == "__main__":
    main()
