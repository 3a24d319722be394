"""Benchmark of the thirteenth round's instance families, each against a peer on a
formulation of its own, in one process (same run, same machine).

Usage:
    .venv/bin/python bench/bench_trial13.py [--ties 1200,3000,6000] [--seeds 3]
        [--institutes 40x30,120x80,300x200] [--time-limit 60]
    .venv/bin/python bench/bench_trial13.py --src <main checkout>/src --ties "" ...

* ``ties``: N identical one-seat course requests for N/4 seats (``solve_courses``):
  "before" is the solver with the tie repair left out (``_common.seeded_ties`` made the
  identity: the code of main before this round), "now" as it is, and OR-Tools CP-SAT (one
  worker) on a formulation of its own whose integer weights are the seeded order itself
  (``n - position``: exact). Per size: wall seconds summed over the seeds and how many of
  the seeded first N/4 were placed (of N/4 x seeds).
* ``institutes``: P proposals x R reviewers from 6 institutes, one of them holding 70 %
  of the proposals and 60 % of the reviewers, every pair within an institute in conflict
  (cliques), k = 3, loads 0-4 with minimum loads 1-2, at most one
  reviewer of a proposal per institute and per region (crossing groupings: the MIP path),
  missing reviews allowed (``solve_assignment``) against SciPy's MILP (HiGHS) over every
  pair, with a reviewer's owed reviews as columns (``tests.optim.test_trial_instances_7.
  _milp_fewest_missing``). Per size: wall seconds, missing reviews, total affinity; "before"
  is main's answer (an ``InfeasibleAssignment`` when the minimum loads cannot all be met).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ``--src <main checkout>/src`` (first argument pair) runs main's code for "before"
SRC = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--src" else str(ROOT / "src")
sys.path.insert(0, SRC)
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from tests.optim.test_trial_instances_7 import _milp_fewest_missing  # noqa: E402

import opencall.optim.logistics.placement as placement  # noqa: E402
from opencall.optim.assignment import (  # noqa: E402
    AssignmentProblem,
    Grouping,
    InfeasibleAssignment,
    solve_assignment,
)
from opencall.optim.logistics import (  # noqa: E402
    CourseProblem,
    CourseSession,
    SeatRequest,
    solve_courses,
)


def cp_sat_ties(n: int, places: int, order: list[int], limit: float) -> tuple[set[int], float]:
    """CP-SAT: at most ``places`` of ``n`` requests, weight ``n - position`` in ``order``."""
    from ortools.sat.python import cp_model

    m = cp_model.CpModel()
    x = [m.NewBoolVar(f"x{i}") for i in range(n)]
    m.Add(sum(x) <= places)
    rank = {i: k for k, i in enumerate(order)}
    m.Maximize(sum((n - rank[i]) * x[i] for i in range(n)))
    s = cp_model.CpSolver()
    s.parameters.num_workers = 1
    s.parameters.max_time_in_seconds = limit
    t = time.perf_counter()
    s.Solve(m)
    return {i for i in range(n) if s.Value(x[i])}, time.perf_counter() - t


def ties(sizes: list[int], seeds: int, limit: float) -> None:
    print("| N | seats | solver | wall s | seeded first placed |")
    print("|---:|---:|---|---:|---:|")
    repair = getattr(placement, "seeded_ties", None)  # None: main's code (``--src``)
    names = ("before", "now") if repair is not None else ("main",)
    for n in sizes:
        places = n // 4
        session = CourseSession("s1", dt.date(2027, 3, 1), dt.date(2027, 3, 5), "Hefei", places)
        problem = CourseProblem(
            (session,), tuple(SeatRequest(f"r{i:05d}", 1.0, 1, ("s1",)) for i in range(n))
        )
        walls = dict.fromkeys((*names, "CP-SAT"), 0.0)
        hits = dict.fromkeys(walls, 0)
        for seed in range(seeds):
            order = [int(i) for i in np.random.default_rng(seed).permutation(n)]
            want = set(order[:places])
            for name in names:
                if repair is not None:
                    placement.seeded_ties = (  # type: ignore[attr-defined]
                        repair if name == "now" else (lambda sol, x, *_: (sol, x))
                    )
                t = time.perf_counter()
                res = solve_courses(problem, seed=seed, time_limit_s=limit)
                walls[name] += time.perf_counter() - t
                got = {i for i, r in enumerate(problem.requests) if res.placements[r.id]}
                hits[name] += len(got & want)
            got, wall = cp_sat_ties(n, places, order, limit)
            walls["CP-SAT"] += wall
            hits["CP-SAT"] += len(got & want)
        if repair is not None:
            placement.seeded_ties = repair  # type: ignore[attr-defined]
        for name in walls:
            print(
                f"| {n} | {places} | {name} | {walls[name]:.2f} | {hits[name]} / {places * seeds} |"
            )


def institutes(sizes: list[tuple[int, int]], limit: float) -> None:
    print("| P x R | solver | wall s | missing reviews | total affinity |")
    print("|---|---|---:|---:|---:|")
    for P, R in sizes:
        rng = np.random.default_rng(P * 1000 + R)
        a = np.round(rng.random((P, R)), 3)
        # one big institute: 70 % of the proposals, 60 % of the reviewers
        inst_p = np.where(rng.random(P) < 0.7, 0, rng.integers(1, 6, P))
        inst_r = np.where(rng.random(R) < 0.6, 0, rng.integers(1, 6, R))
        banned = {(p, r) for p in range(P) for r in range(R) if inst_p[p] == inst_r[r]}
        hi = rng.integers(0, 5, R)
        lo = np.minimum(hi, rng.integers(1, 3, R))
        region = np.where(np.arange(R) % 2 == 0, 0, 1)
        groupings = [Grouping(inst_r, 1, "institute"), Grouping(region, 2, "region")]
        problem = AssignmentProblem(
            P,
            R,
            a,
            k=3,
            min_load=lo,
            max_load=hi,
            conflicts=np.array(sorted(banned), dtype=np.int64).reshape(-1, 2),
            groupings=tuple(groupings),
            allow_short=True,
        )
        t = time.perf_counter()
        try:
            res = solve_assignment(problem, mip_time_limit_s=limit)
            wall = time.perf_counter() - t
            missing = int(res.short.sum() + res.short_load.sum())
            print(
                f"| {P} x {R} | OpenCall ({res.method}) | {wall:.2f} | {missing} | "
                f"{res.total_affinity:.3f} |"
            )
        except InfeasibleAssignment as exc:
            wall = time.perf_counter() - t
            print(f"| {P} x {R} | OpenCall | {wall:.2f} | refused: {exc} | |")
        t = time.perf_counter()
        want = _milp_fewest_missing(a, 3, lo, hi, banned, groupings)
        wall = time.perf_counter() - t
        print(f"| {P} x {R} | SciPy MILP, every pair | {wall:.2f} | {want[0]} | {want[1]:.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=SRC)
    ap.add_argument("--ties", default="1200,3000,6000")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--institutes", default="40x30,120x80,300x200")
    ap.add_argument("--time-limit", type=float, default=60.0)
    args = ap.parse_args()
    if args.ties:
        ties([int(s) for s in args.ties.split(",")], args.seeds, args.time_limit)
    if args.institutes:
        sizes = [tuple(int(v) for v in s.split("x")) for s in args.institutes.split(",")]
        institutes([(p, r) for p, r in sizes], args.time_limit)


if __name__ == "__main__":
    main()
