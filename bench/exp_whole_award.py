"""Experiment: whole-award FAST-like call (case a-whole) under HiGHS settings; one line each."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_allocation import make_problem  # noqa: E402
from opencall.optim.allocation import solve_allocation  # noqa: E402

VARIANTS = {
    "shipped": {},
    "threads16": {"threads": 16, "parallel": "on"},
    "threads16_noheur": {"threads": 16, "parallel": "on", "mip_heuristic_effort": 0.0},
    "threads16_sim": {"threads": 16, "parallel": "on", "mip_search_simulate_concurrency": True},
    "noheur": {"mip_heuristic_effort": 0.0},
}
out = Path(os.environ.get("OUT", "bench/out")) / "whole_award.jsonl"
limit = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
names = sys.argv[2].split(",") if len(sys.argv) > 2 else list(VARIANTS)
for name in names:
    problem = make_problem("a-whole")
    t0 = time.perf_counter()
    try:
        res = solve_allocation(
            problem, mip_rel_gap=0.0009, time_limit_s=limit, highs_options=VARIANTS[name]
        )
    except Exception as exc:  # noqa: BLE001
        print(name, "error", exc, flush=True)
        continue
    row = dict(
        variant=name,
        limit=limit,
        wall=time.perf_counter() - t0,
        objective=res.objective,
        bound=res.bound,
        gap=res.mip_gap,
        status=res.status,
        phases=res.phases,
        check=len(res.check(problem)),
    )
    print(json.dumps(row), flush=True)
    with out.open("a") as fh:
        fh.write(json.dumps(row) + "\n")
