"""Benchmark: the allocation integer program (opencall.optim.allocation) on FAST-like calls.

Usage:
    .venv/bin/python bench/bench_allocation.py [--cases a,b] [--backends highspy,scipy]
        [--gap 0.0009] [--time-limit 60] [--repeat 1] [--out bench/out/allocation.json]

Cases (seeded instances, see ``make_problem``):
  a  FAST-like call: 250 proposals, 24 LST-range pools of 75 h (1,800 h), each request
     5..50 h spread over a 3..8 h LST window, ~16 % international proposals with a share
     rule "international >= 10 % of the capacity", at most 2 awards per PI, whole awards.
  b  synthetic call: 5,000 proposals over 24 LST pools of 1,500 h (36,000 h), requests
     5..50 h, partial awards down to 50 %, two share rules ("international" >= 10 %,
     "low_lmic" >= 5 %) whose members have lower merit on average so the rules bind,
     at most 3 awards per PI.
  c  case b ten times over: 50,000 proposals, 24 pools of 15,000 h (not in the default
     ``--cases``).

Peers, on the same instance and in the same run: scipy.optimize.milp (HiGHS behind scipy,
same model, no warm start) and the usual practice of filling the pools greedily in merit
order (whole/full awards, respecting PI caps, ignoring share rules), as a reference for the
objective. Each solver runs in its own subprocess so peak RSS (``resource.getrusage``, which
includes the interpreter and imported libraries) is clean. The optimality gap reported is
(dual bound - objective) / |objective| of the final phase.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from opencall.optim.allocation import (  # noqa: E402
    AllocationPolicy,
    AllocationProblem,
    Group,
    GroupShareRule,
    Pool,
    Request,
    solve_allocation,
)

CASES: dict[str, dict[str, Any]] = {
    "a-whole": dict(
        n=250, pool_h=75.0, partial=False, rules=(("international", 0.10, 0.16),), pi_cap=2, seed=1
    ),
    "a": dict(
        n=250,
        pool_h=75.0,
        partial=True,
        rules=(("international", 0.10, 0.16),),
        pi_cap=2,
        seed=1,
    ),
    "b": dict(
        n=5000,
        pool_h=1500.0,
        partial=True,
        rules=(("international", 0.10, 0.08), ("low_lmic", 0.05, 0.03)),
        pi_cap=3,
        seed=2,
    ),
    # case b ten times over: 50,000 proposals, 24 pools of 15,000 h
    "c": dict(
        n=50000,
        pool_h=15000.0,
        partial=True,
        rules=(("international", 0.10, 0.08), ("low_lmic", 0.05, 0.03)),
        pi_cap=3,
        seed=3,
    ),
}


def make_problem(case: str) -> AllocationProblem:
    cfg = CASES[case]
    rng = np.random.default_rng(cfg["seed"])
    n = cfg["n"]
    pools = tuple(Pool(f"lst{h:02d}", cfg["pool_h"], unit="h") for h in range(24))
    n_pis = int(n * 0.8)
    memberships: dict[str, set[str]] = {name: set() for name, _, _ in cfg["rules"]}
    reqs = []
    for i in range(n):
        pid = f"prop{i:05d}"
        hours = float(rng.integers(5, 51))
        width = int(rng.integers(3, 9))
        start = int(rng.integers(0, 24))
        weights = rng.uniform(0.5, 1.5, width)
        weights /= weights.sum()
        demand = {f"lst{(start + k) % 24:02d}": round(hours * w, 2) for k, w in enumerate(weights)}
        merit = float(rng.normal())
        for name, _, frac in cfg["rules"]:
            if rng.random() < frac:
                memberships[name].add(pid)
                merit -= 0.5  # under-represented on merit alone, so the rules bind
        reqs.append(
            Request(
                id=f"req{i:05d}",
                proposal_id=pid,
                pi_id=f"pi{int(rng.integers(0, n_pis)):05d}",
                merit=merit,
                demand=demand,
                min_fraction=0.5 if cfg["partial"] else 1.0,
            )
        )
    policy = AllocationPolicy(
        allow_partial=cfg["partial"],
        min_fraction=0.5 if cfg["partial"] else 1.0,
        max_awards_per_pi=cfg["pi_cap"],
        group_share_rules=tuple(GroupShareRule(name, share) for name, share, _ in cfg["rules"]),
    )
    groups = tuple(Group(name, frozenset(m)) for name, m in memberships.items())
    return AllocationProblem(pools, tuple(reqs), policy, groups)


def greedy_objective(problem: AllocationProblem) -> float:
    """Merit-order fill, scored with the optimiser's own weights (merit rescaled to
    [0.1, 1.1]) so the two objectives are comparable."""
    reqs = problem.requests
    s = np.array([r.merit for r in reqs])
    w = 0.1 + (s - s.min()) / (s.max() - s.min())
    left = {p.id: p.capacity for p in problem.pools}
    count: dict[str, int] = {}
    cap = problem.policy.max_awards_per_pi or 10**9
    total = 0.0
    for i in np.argsort(-s, kind="stable"):
        r = reqs[i]
        if count.get(r.pi_id, 0) >= cap:
            continue
        if all(left[p] >= d for p, d in r.demand.items()):
            for p, d in r.demand.items():
                left[p] -= d
            count[r.pi_id] = count.get(r.pi_id, 0) + 1
            total += float(w[i])
    return total


def run_one(case: str, backend: str, gap: float, time_limit: float) -> dict[str, Any]:
    t0 = time.perf_counter()
    problem = make_problem(case)
    build_s = time.perf_counter() - t0
    c1 = time.process_time()
    if backend == "greedy":
        t1 = time.perf_counter()
        obj = greedy_objective(problem)
        out: dict[str, Any] = dict(
            objective=obj,
            bound=float("nan"),
            gap=float("nan"),
            status="heuristic",
            phases=0,
            check="n/a",
        )
        solve_s = time.perf_counter() - t1
    else:
        res = solve_allocation(
            problem,
            seed=0,
            backend=backend,  # type: ignore[arg-type]
            mip_rel_gap=gap,
            time_limit_s=time_limit,
        )
        solve_s = res.solve_time_s
        errors = res.check(problem)
        binding = [s.group for s in res.group_shares if s.binding]
        out = dict(
            objective=res.objective,
            bound=res.bound,
            gap=res.mip_gap,
            status=res.status,
            phases=res.phases,
            check="ok" if not errors else f"{len(errors)} errors",
            binding=binding,
            awarded=sum(1 for f in res.fractions.values() if f > 0),
            partial=sum(1 for f in res.fractions.values() if 0 < f < 1),
            used_h=sum(res.pool_usage().values()),
        )
    cpu_s = time.process_time() - c1  # every thread of this process, HiGHS's included
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    out.update(
        case=case,
        backend=backend,
        build_s=build_s,
        solve_s=solve_s,
        cpu_s=cpu_s,
        load_1min=os.getloadavg()[0],
        peak_rss_mb=peak_mb,
        n=len(problem.requests),
        capacity_h=sum(p.capacity for p in problem.pools),
        demand_h=sum(r.total_demand for r in problem.requests),
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="a,b")
    ap.add_argument("--backends", default="highspy,scipy,greedy")
    ap.add_argument("--gap", type=float, default=0.0009)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--out", default="bench/out/allocation.json")
    ap.add_argument("--child", nargs=2, metavar=("CASE", "BACKEND"))
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child[0], args.child[1], args.gap, args.time_limit)))
        return
    rows = []
    for case in args.cases.split(","):
        for backend in args.backends.split(","):
            for rep in range(args.repeat):
                proc = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        case,
                        backend,
                        "--gap",
                        str(args.gap),
                        "--time-limit",
                        str(args.time_limit),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                row = json.loads(proc.stdout.strip().splitlines()[-1])
                row["rep"] = rep
                rows.append(row)
                print(json.dumps(row), file=sys.stderr)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    print(
        "| case | solver | n | solve s | CPU s | load | objective | bound | gap | phases "
        "| status | check | peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        gap = "-" if r["gap"] != r["gap"] else f"{100 * r['gap']:.4f} %"
        bound = "-" if r["bound"] != r["bound"] else f"{r['bound']:.3f}"
        print(
            f"| {r['case']} | {r['backend']} | {r['n']} | {r['solve_s']:.2f} | "
            f"{r['cpu_s']:.2f} | {r['load_1min']:.1f} | "
            f"{r['objective']:.3f} | {bound} | {gap} | {r['phases']} | {r['status']} | "
            f"{r['check']} | {r['peak_rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
