"""Benchmark of the sixteenth round's family: whole awards beside very large capacities
(one request the size of a pool, many of a few units), against a peer on a formulation of
its own, in one process (same run, same machine).

Usage:
    .venv/bin/python bench/bench_trial16.py [--sizes 50,500,5000] [--seeds 3]
    .venv/bin/python bench/bench_trial16.py --src <main checkout>/src [--sizes ...]

Per instance: P pools of capacity 1e6-1e9 units; for each pool two requests of its whole
capacity and n/P - 2 of 1-9 units (whole awards, merits 1-5 with ties). "ours" is
``solve_allocation`` (highspy; ``--src`` runs main's code); the peer is
``scipy.optimize.milp`` (HiGHS) on the unscaled model written here (``max w.y, D y <= C``,
the allocation's weights without the tie perturbation), whose rows the solver holds to an
absolute 1e-6, below one unit. Both answers are held to the same checker written here
(units awarded over each pool's capacity, exact sums): "over" counts pools overdrawn.
Printed: CPU seconds, objective (the weights of the awarded), pools overdrawn, and the
ratios ours / peer.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ``--src <main checkout>/src`` (first argument pair) runs main's code as "ours"
SRC = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--src" else str(ROOT / "src")
sys.path.insert(0, SRC)

import numpy as np  # noqa: E402
from scipy.optimize import Bounds, LinearConstraint, milp  # noqa: E402
from scipy.sparse import csr_matrix  # noqa: E402

import opencall.optim.allocation as alloc  # noqa: E402


def instance(n: int, seed: int) -> alloc.AllocationProblem:
    rng = random.Random(seed)
    n_pools = max(1, n // 25)
    pools = tuple(alloc.Pool(f"p{k}", rng.choice([1e6, 1e7, 1e8, 1e9])) for k in range(n_pools))
    reqs: list[alloc.Request] = []
    for k, pool in enumerate(pools):
        for j in range(n // n_pools):
            big = j < 2
            reqs.append(
                alloc.Request(
                    f"r{k}_{j}",
                    f"P{k}_{j}",
                    f"pi{k}_{j}",
                    float(rng.randint(1, 5)),
                    {pool.id: pool.capacity if big else float(rng.randint(1, 9))},
                )
            )
    return alloc.AllocationProblem(pools, tuple(reqs))


def weights(problem: alloc.AllocationProblem) -> np.ndarray:
    m = np.array([r.merit for r in problem.requests])
    lo, hi = m.min(), m.max()
    return ((m - lo) / (hi - lo) if hi > lo else np.ones_like(m)) + 0.1


def overdrawn(problem: alloc.AllocationProblem, awarded: set[int]) -> int:
    use = {p.id: [] for p in problem.pools}
    for i in awarded:
        for pid, d in problem.requests[i].demand.items():
            use[pid].append(d)
    cap = {p.id: p.capacity for p in problem.pools}
    return sum(1 for pid, a in use.items() if math.fsum(a) > cap[pid])


def peer(problem: alloc.AllocationProblem) -> set[int]:
    pools = {p.id: k for k, p in enumerate(problem.pools)}
    rows, cols, vals = [], [], []
    for i, r in enumerate(problem.requests):
        for pid, d in r.demand.items():
            rows.append(pools[pid])
            cols.append(i)
            vals.append(d)
    a = csr_matrix((vals, (rows, cols)), shape=(len(pools), len(problem.requests)))
    cap = np.array([p.capacity for p in problem.pools])
    res = milp(
        -weights(problem),
        constraints=LinearConstraint(a, -np.inf, cap),
        integrality=np.ones(len(problem.requests)),
        bounds=Bounds(0, 1),
        options={"mip_rel_gap": 1e-6},
    )
    return {i for i, v in enumerate(res.x) if v > 0.5}


COLUMNS = (
    "requests",
    "seed",
    "ours CPU s",
    "peer CPU s",
    "ours objective",
    "peer objective",
    "ours over",
    "peer over",
    "CPU ours/peer",
    "objective ours/peer",
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=None)
    ap.add_argument("--sizes", default="50,500,5000")
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    print(f"code: {SRC}")
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---:|" * len(COLUMNS))
    for n in [int(s) for s in args.sizes.split(",") if s]:
        for seed in range(args.seeds):
            p = instance(n, seed)
            w = weights(p)
            t = time.process_time()
            res = alloc.solve_allocation(p, seed=seed, mip_rel_gap=1e-6)
            ours_s = time.process_time() - t
            ours = {i for i, r in enumerate(p.requests) if res.fractions[r.id] > 0}
            t = time.process_time()
            theirs = peer(p)
            peer_s = time.process_time() - t
            ov, pv = float(w[list(ours)].sum()), float(w[list(theirs)].sum())
            print(
                f"| {n} | {seed} | {ours_s:.3f} | {peer_s:.3f} | {ov:.4f} | {pv:.4f} "
                f"| {overdrawn(p, ours)} | {overdrawn(p, theirs)} | {ours_s / peer_s:.2f} "
                f"| {ov / pv:.6f} |"
            )


if __name__ == "__main__":
    main()
