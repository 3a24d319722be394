"""Experiment: whole-award FAST-like call (case a-whole) under HiGHS settings and formulations.

Usage:
    .venv/bin/python bench/exp_whole_award.py [LIMIT_S] [VARIANT,VARIANT,...]

One JSON line per variant (also appended to ``$OUT/whole_award.jsonl``, default bench/out).
Settings variants run ``solve_allocation`` as shipped with extra HiGHS options. Formulation
variants take the merit-only model (phase 0, the phase that is final on this instance, where
the share rule does not bind) and add rows that are valid for it before one ``solve_mip``
call with the shipped settings (LP-rounding warm start):

  windows   for every run of 2..4 consecutive LST pools, the sum of their capacity rows
            (implied rows; they give HiGHS's cover and MIR separators aggregated knapsacks)
  dominance x_j <= x_i whenever request i dominates j (weight at least as high, no more
            demand in any pool, and i's PI cap cannot be exceeded by swapping j for i); valid
            for some optimum, so the bound still bounds the optimum
  lp        no MIP: the LP bound and how many requests reduced-cost fixing would leave free
            at several gaps (the core a branch and bound must still search)
"""

from __future__ import annotations

import collections
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_allocation import make_problem  # noqa: E402
from opencall.optim.allocation import (  # noqa: E402
    AllocationProblem,
    _build,
    _Model,
    rows_to_csr,
    solve_allocation,
    solve_mip,
)

VARIANTS: dict[str, dict[str, Any]] = {
    "shipped": {},
    "threads16": {"threads": 16, "parallel": "on"},
    "threads16_noheur": {"threads": 16, "parallel": "on", "mip_heuristic_effort": 0.0},
    "threads16_sim": {"threads": 16, "parallel": "on", "mip_search_simulate_concurrency": True},
    "noheur": {"mip_heuristic_effort": 0.0},
}
FORMULATIONS = ("windows", "dominance", "lp")

Rows = list[tuple[dict[int, float], float, float]]


def window_rows(problem: AllocationProblem, model: _Model, longest: int = 4) -> Rows:
    pools = [p.id for p in problem.pools]
    cap = {p.id: problem.effective_capacity(p.id) for p in problem.pools}
    out: Rows = []
    for start in range(len(pools)):
        for length in range(2, longest + 1):
            window = {pools[(start + k) % len(pools)] for k in range(length)}
            terms: dict[int, float] = {}
            for i in model.cand:
                v = sum(d for pid, d in problem.requests[i].demand.items() if pid in window)
                if v > 0:
                    terms[model.f_col[i]] = terms.get(model.f_col[i], 0.0) + v
            out.append((terms, -math.inf, sum(cap[pid] for pid in window)))
    return out


def dominance_rows(problem: AllocationProblem, model: _Model) -> Rows:
    reqs = problem.requests
    cap = problem.policy.max_awards_per_pi
    per_pi = collections.Counter(r.pi_id for r in reqs)
    out: Rows = []
    for i in model.cand:
        for j in model.cand:
            ri, rj = reqs[i], reqs[j]
            if i == j or (model.weights[i], -i) <= (model.weights[j], -j):
                continue
            if not all(rj.demand.get(pid, 0.0) >= d for pid, d in ri.demand.items()):
                continue
            if cap is not None and per_pi[ri.pi_id] > cap and ri.pi_id != rj.pi_id:
                continue
            out.append(({model.f_col[j]: 1.0, model.f_col[i]: -1.0}, -math.inf, 0.0))
    return out


def formulation(name: str, limit: float) -> dict[str, Any]:
    problem = make_problem("a-whole")
    model = _build(problem, 0)
    n = model.n_cols
    rows: Rows = list(model.rows)
    t0 = time.perf_counter()
    if name == "lp":
        from scipy.optimize import linprog

        a, _, hi = rows_to_csr(rows, n)
        lp = linprog(-model.weights, A_ub=a, b_ub=hi, bounds=(0, 1), method="highs")
        duals = -np.asarray(lp.ineqlin.marginals)
        rc = model.weights - a.T @ duals
        free = {f"free_at_{g}": int((np.abs(rc) < g).sum()) for g in (1.0, 0.5, 0.3, 0.1)}
        return dict(variant=name, wall=time.perf_counter() - t0, lp_bound=-lp.fun, **free)
    extra = window_rows(problem, model) if name == "windows" else dominance_rows(problem, model)
    a, lo, hi = rows_to_csr(rows + extra, n)
    sol = solve_mip(
        model.weights,
        a,
        lo,
        hi,
        np.zeros(n),
        model.col_hi,
        model.integer,
        mip_rel_gap=0.0009,
        time_limit_s=limit,
        polish=True,
    )
    return dict(
        variant=name,
        limit=limit,
        extra_rows=len(extra),
        wall=time.perf_counter() - t0,
        objective=sol.objective,
        bound=sol.bound,
        gap=sol.gap,
        status=sol.status,
    )


def settings(name: str, limit: float) -> dict[str, Any]:
    problem = make_problem("a-whole")
    t0 = time.perf_counter()
    res = solve_allocation(
        problem, mip_rel_gap=0.0009, time_limit_s=limit, highs_options=VARIANTS[name]
    )
    return dict(
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


def main() -> None:
    out = Path(os.environ.get("OUT", "bench/out")) / "whole_award.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    limit = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    names = sys.argv[2].split(",") if len(sys.argv) > 2 else [*VARIANTS, *FORMULATIONS]
    for name in names:
        try:
            row = formulation(name, limit) if name in FORMULATIONS else settings(name, limit)
        except Exception as exc:  # noqa: BLE001
            print(name, "error", exc, flush=True)
            continue
        print(json.dumps(row), flush=True)
        with out.open("a") as fh:
            fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
