"""Benchmark: exact reviewer assignment at conference scale, against full-graph peers.

Instances (seeded): P proposals x R reviewers, 50 topics, each proposal / reviewer mixes 1-3
topics with Dirichlet weights, affinity = cosine, about 1 % random conflicts, k = 3,
max load ceil(3P/R) + 1, min load 0.

Each case runs in its own subprocess; peak memory is that process's maximum RSS; "cpu s" is
the process's user + system CPU time (the machine is shared, so wall time includes waiting for
a core; the load average at the start of each case is printed).

    .venv/bin/python bench/bench_assignment.py                 # all sizes, markdown table
    .venv/bin/python bench/bench_assignment.py --sizes 500x400 --fair

Solvers:
  ours        opencall.optim.assignment.solve_assignment (candidates + pricing, certified)
  ours-fair   the same in fair mode (max-min, then total)
  ortools-full plain OR-Tools SimpleMinCostFlow over all P x R pairs (the peer baseline)
  highs-lp    the assignment LP over all P x R pairs with HiGHS (the bound; TU => = optimum)
openreview-matcher (MinMax, FairFlow) is tried by import; it is not on PyPI, so it is
reported as unavailable when missing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

T = 50


def instance(P: int, R: int, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)

    def mix(n: int) -> sp.csr_matrix:
        nt = rng.integers(1, 4, n)
        rows = np.repeat(np.arange(n), nt)
        cols = np.concatenate([rng.choice(T, m, replace=False) for m in nt])
        w = np.concatenate([rng.dirichlet(np.ones(m)) for m in nt])
        return sp.csr_matrix((w, (rows, cols)), shape=(n, T))

    pt, rt = mix(P), mix(R)
    nc = int(0.01 * P * R)
    conf = np.unique(np.stack([rng.integers(0, P, nc), rng.integers(0, R, nc)], 1), axis=0)
    return {
        "pt": pt,
        "rt": rt,
        "conflicts": conf,
        "k": 3,
        "max_load": int(math.ceil(3 * P / R)) + 1,
    }


def _dense_cosine(inst: dict[str, Any]) -> np.ndarray:
    def norm(m: sp.csr_matrix) -> np.ndarray:
        a = m.toarray()
        return a / np.linalg.norm(a, axis=1, keepdims=True)

    return norm(inst["pt"]) @ norm(inst["rt"]).T


def run_ours(P: int, R: int, fair: bool) -> dict[str, Any]:
    from opencall.optim.assignment import AssignmentProblem, TopicAffinity, solve_assignment

    inst = instance(P, R)
    t0 = time.perf_counter()
    c0 = time.process_time()
    pb = AssignmentProblem(
        P,
        R,
        TopicAffinity(inst["pt"], inst["rt"]),
        k=inst["k"],
        max_load=inst["max_load"],
        conflicts=inst["conflicts"],
        objective="fair" if fair else "total",
        seed=0,
    )
    res = solve_assignment(pb)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    errs = res.check(pb)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "method": res.method,
        "total": res.total_affinity,
        "min": res.min_proposal_affinity,
        "bound": res.upper_bound,
        "gap": res.gap,
        "certified": res.certified,
        "feasible": not errs,
        "rounds": res.pricing_iterations,
        "edges": res.n_candidate_edges,
        "timings": res.timings,
        "total_bound": res.total_upper_bound,
        "total_certified": res.total_certified,
    }


def run_ortools_full(P: int, R: int) -> dict[str, Any]:
    from ortools.graph.python import min_cost_flow

    inst = instance(P, R)
    t0 = time.perf_counter()
    c0 = time.process_time()
    A = _dense_cosine(inst)
    allowed = np.ones((P, R), bool)
    allowed[inst["conflicts"][:, 0], inst["conflicts"][:, 1]] = False
    ps, rs = np.nonzero(allowed)
    cost = -np.rint(A[ps, rs] * 1e6).astype(np.int64)
    del allowed
    k, ml = inst["k"], inst["max_load"]
    sink = P + R
    tails = np.concatenate([ps, P + np.arange(R)]).astype(np.int32)
    heads = np.concatenate([P + rs, np.full(R, sink)]).astype(np.int32)
    caps = np.concatenate([np.ones(len(ps), np.int64), np.full(R, ml, np.int64)])
    costs = np.concatenate([cost, np.zeros(R, np.int64)])
    del cost
    f = min_cost_flow.SimpleMinCostFlow()
    arcs = f.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    del tails, heads, caps, costs
    sup = np.zeros(P + R + 1, np.int64)
    sup[:P] = k
    sup[sink] = -k * P
    f.set_nodes_supplies(np.arange(P + R + 1, dtype=np.int32), sup)
    status = f.solve()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    flows = f.flows(arcs[: len(ps)])
    sel = flows > 0
    per_p = np.bincount(ps[sel], weights=A[ps[sel], rs[sel]], minlength=P)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "status": str(status),
        "total": float(per_p.sum()),
        "min": float(per_p.min()),
        "scaled_opt": -f.optimal_cost() / 1e6,
    }


def run_highs_lp(P: int, R: int) -> dict[str, Any]:
    import highspy

    inst = instance(P, R)
    t0 = time.perf_counter()
    c0 = time.process_time()
    A = _dense_cosine(inst)
    allowed = np.ones((P, R), bool)
    allowed[inst["conflicts"][:, 0], inst["conflicts"][:, 1]] = False
    ps, rs = np.nonzero(allowed)
    del allowed
    n = len(ps)
    cost = -np.rint(A[ps, rs] * 1e6) / 1e6
    del A
    # column-wise matrix: column j has a 1 in row ps[j] (count) and in row P + rs[j] (load)
    start = np.arange(0, 2 * n + 1, 2, dtype=np.int64)
    index = np.empty(2 * n, np.int32)
    index[0::2] = ps
    index[1::2] = P + rs
    del ps, rs
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", 600.0)
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = P + R
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.ones(n)
    lp.row_lower_ = np.concatenate([np.full(P, 3.0), np.zeros(R)])
    lp.row_upper_ = np.concatenate([np.full(P, 3.0), np.full(R, float(inst["max_load"]))])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = np.ones(2 * n)
    del cost, start, index
    h.passModel(lp)
    h.run()
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall,
        "cpu_s": time.process_time() - c0,
        "status": h.modelStatusToString(h.getModelStatus()),
        "lp_opt": -h.getInfo().objective_function_value,
    }


def run_openreview(P: int, R: int, solver: str) -> dict[str, Any]:
    try:
        import matcher  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return {"error": "openreview-matcher not installed (not on PyPI)"}
    return {"error": "openreview-matcher present but not wired"}


def child(args: argparse.Namespace) -> None:
    P, R = (int(x) for x in args.case.split("x"))
    fn = {
        "ours": lambda: run_ours(P, R, False),
        "ours-fair": lambda: run_ours(P, R, True),
        "ortools-full": lambda: run_ortools_full(P, R),
        "highs-lp": lambda: run_highs_lp(P, R),
        "openreview-minmax": lambda: run_openreview(P, R, "MinMax"),
        "openreview-fairflow": lambda: run_openreview(P, R, "FairFlow"),
    }[args.solver]
    out = fn()
    out["peak_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print("RESULT " + json.dumps(out))


def run_case(solver: str, size: str, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", "--solver", solver, "--case", size]
    print(f"{size} {solver}: load average {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout {timeout:.0f} s"}
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            out: dict[str, Any] = json.loads(line[7:])
            return out
    return {"error": (p.stderr.strip().splitlines() or ["no output"])[-1][:120]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--solver")
    ap.add_argument("--case")
    ap.add_argument("--sizes", default="500x400,2000x1500,5000x4000,15000x10000")
    ap.add_argument("--peer-max", type=int, default=5000, help="largest P for full-graph peers")
    ap.add_argument(
        "--lp-max", type=int, default=2000, help="largest P for the full HiGHS LP (600 s+ at 5000)"
    )
    ap.add_argument("--fair", action="store_true", help="also fair mode up to --fair-max")
    ap.add_argument("--fair-max", type=int, default=2000, help="largest P for fair mode")
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    rows = []
    for size in args.sizes.split(","):
        P = int(size.split("x")[0])
        solvers = ["ours"]
        if args.fair and P <= args.fair_max:
            solvers += ["ours-fair", "openreview-minmax", "openreview-fairflow"]
        if P <= args.peer_max:
            solvers += ["ortools-full"]
        if P <= min(args.peer_max, args.lp_max):
            solvers += ["highs-lp"]
        for s in solvers:
            r = run_case(s, size, args.timeout)
            print(size, s, json.dumps(r), file=sys.stderr, flush=True)
            rows.append((size, s, r))
    print(
        "| size | solver | wall s | cpu s | peak GiB | total affinity | lowest proposal | bound | "
        "gap | certified / status |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for size, s, r in rows:
        if "error" in r:
            print(f"| {size} | {s} | - | - | - | - | - | - | - | {r['error']} |")
            continue
        bound = r.get("bound", r.get("lp_opt", r.get("scaled_opt")))
        cert = r.get("certified", r.get("status", ""))
        print(
            f"| {size} | {s} | {r['wall_s']:.2f} | {r.get('cpu_s', float('nan')):.2f} | "
            f"{r['peak_gib']:.2f} | "
            f"{r.get('total', float('nan')):.4f} | {r.get('min', float('nan')):.4f} | "
            f"{bound:.4f} | {r.get('gap', float('nan')):.2g} | {cert} |"
        )
    fair_summary(rows)


def fair_summary(rows: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Fair mode against the proxy for FairFlow (not installable): lowest proposal at least
    total mode's, total within 1 % of the total optimum."""
    by = {(size, s): r for size, s, r in rows}
    for size, s, r in rows:
        tot = by.get((size, "ours"), {})
        if s != "ours-fair" or "error" in r or "error" in tot:
            continue
        loss = 100 * (1 - r["total"] / tot["total"])
        tb = r.get("total_bound", float("nan"))
        print(
            f"fair {size}: lowest {r['min']:.4f} vs total mode {tot['min']:.4f}; total "
            f"{r['total']:.4f} vs optimum {tot['total']:.4f} ({loss:.3f} % lower); "
            f"lowest-proposal bound {r['bound']:.4f} (certified {r['certified']}); "
            f"total given that lowest: bound {tb:.4f}, gap {100 * (tb - r['total']) / tb:.5f} % "
            f"(certified optimal {r.get('total_certified')}); cpu {r['cpu_s']:.1f} s, "
            f"wall {r['wall_s']:.1f} s, peak {r['peak_gib']:.2f} GiB"
        )


if __name__ == "__main__":
    main()
