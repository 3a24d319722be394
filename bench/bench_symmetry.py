"""Benchmark: the FAST schedule's exact step (CP-SAT) on days of many identical blocks,
with the identical blocks ordered (``break_symmetry=True``, the solver's model) and
without (the model before), in one run.

Usage:
    .venv/bin/python bench/bench_symmetry.py --copies 12,20,30 --sources 1,3 \
        [--det-time 2.0] [--seed 0] [--out bench/out/symmetry.json]

Instances (depend only on the arguments): a one-day window from 2027-12-21 00:00 UTC;
``sources`` sources at declination 25.6 deg (FAST's zenith) with right ascensions 6 h
apart and priorities 1, 2, 3, ...; each source asks for ``copies`` identical blocks of
30 min (a drift-scan survey cut into blocks). A source is visible about 5.3 h a day, so
more blocks are asked than fit: the heuristic cannot reach the trivial bound and the
exact step must prove that no further block fits, which without the ordering means
trying every permutation of the identical blocks.

Columns: copies, sources, model, CP-SAT's status (OPTIMAL: proven; FEASIBLE or UNKNOWN:
stopped by its deterministic time limit, ``--det-time``), its wall seconds, the blocks
placed, the priority-weighted hours; every schedule is judged by ``result.check(problem)``.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from opencall.optim.scheduling import (  # noqa: E402
    FastBlock,
    FastScheduleProblem,
    schedule_fast,
    solver,
)
from opencall.optim.scheduling.exact import _cpsat_improve  # noqa: E402

T0 = 1_829_347_200.0  # 2027-12-21 00:00 UTC


def instance(copies: int, sources: int) -> FastScheduleProblem:
    blocks = tuple(
        FastBlock(f"s{s}-{i}", (90.0 * s) % 360.0, 25.6, 1800.0, priority=1 + s % 5)
        for s in range(sources)
        for i in range(copies)
    )
    return FastScheduleProblem(T0, T0 + 86_400.0, blocks)


def run(problem: FastScheduleProblem, ordered: bool, det_time: float, seed: int) -> dict[str, Any]:
    original = solver._cpsat_improve
    solver._cpsat_improve = functools.partial(_cpsat_improve, break_symmetry=ordered)  # type: ignore[assignment]
    try:
        t = time.perf_counter()
        res = schedule_fast(problem, seed=seed, exact_deterministic_time=det_time)
        wall = time.perf_counter() - t
    finally:
        solver._cpsat_improve = original  # type: ignore[assignment]
    problems = res.check(problem)
    assert problems == [], problems
    return {
        "model": "ordered" if ordered else "before",
        "status": res.stats.exact_status,
        "cp_sat_s": round(res.stats.exact_wall_s, 3),
        "total_s": round(wall, 3),
        "placed": len(res.entries),
        "weighted_hours": round(res.priority_weighted_hours, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", default="12,20,30")
    ap.add_argument("--sources", default="1,3")
    ap.add_argument("--det-time", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="bench/out/symmetry.json")
    args = ap.parse_args()
    # OR-Tools loaded before the first timed row (about 1 CPU s, else charged to it)
    from ortools.sat.python import cp_model  # noqa: F401

    rows = []
    print("| copies | sources | model | status | CP-SAT s | placed | weighted h |")
    print("|---:|---:|---|---|---:|---:|---:|")
    for sources in [int(x) for x in args.sources.split(",")]:
        for copies in [int(x) for x in args.copies.split(",")]:
            if copies * sources > 40:  # the exact step's default ``exact_max_blocks``
                continue
            problem = instance(copies, sources)
            for ordered in (False, True):
                row = {"copies": copies, "sources": sources}
                row.update(run(problem, ordered, args.det_time, args.seed))
                rows.append(row)
                print(
                    f"| {copies} | {sources} | {row['model']} | {row['status']} | "
                    f"{row['cp_sat_s']} | {row['placed']} | {row['weighted_hours']} |",
                    flush=True,
                )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
