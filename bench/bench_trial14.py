"""Benchmark of the fourteenth round: does an optimiser's answer depend on the order of its
input lists? Each instance is solved as generated and with its lists shuffled ``--shuffles``
times, with the same seed; per family: how many instances got more than one answer, the
spread of the objective over the shuffles, and the wall seconds a solve. One process, same
machine; ``--src <main checkout>/src`` (first argument pair) runs main's code for "before".

Usage:
    .venv/bin/python bench/bench_trial14.py [--src <main checkout>/src] [--families
        fast,slots,courses,cruise] [--instances 5] [--shuffles 4] [--peer] [--fast 200x7]

* ``fast``: the FAST benchmark's generator (``bench_scheduling.make_problem``), 200 blocks
  over 7 days (``--fast 200x7``), blocks shuffled; the answer is the set of (block, start) entries.
* ``slots``: the slot benchmark's generator (``bench_slots.instance``, 40 proposals on three
  microscopes over 91 days), awards and resources shuffled; the answer is every award's
  starts. ``--peer``: OR-Tools CP-SAT (one worker, seed 0) on the same model
  (``bench_slots.run_cpsat``), on the same shuffles, same run.
* ``courses``: 60 seat requests of merits 1-3 for 6 sessions of 0-12 seats, requests and
  sessions shuffled; the answer is every request's placement.
* ``cruise``: 40 requests of merits 1-2 with 0-3 dives for 4 legs, shuffled likewise; the
  answer is every request's leg and its dives.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--src" else str(ROOT / "src")
sys.path.insert(0, SRC)
sys.path.insert(0, str(ROOT / "bench"))

import argparse  # noqa: E402

from opencall.optim.logistics import (  # noqa: E402
    CourseProblem,
    CourseSession,
    CruiseProblem,
    CruiseRequest,
    DiveSite,
    Leg,
    SeatRequest,
    solve_courses,
    solve_cruise,
)
from opencall.optim.scheduling import schedule_fast  # noqa: E402
from opencall.optim.slots import SlotProblem, solve_slots  # noqa: E402

#: FAST blocks and days (``--fast``)
FAST = (200, 7.0)


def shuffled(items: tuple[Any, ...], rng: random.Random) -> tuple[Any, ...]:
    out = list(items)
    rng.shuffle(out)
    return tuple(out)


def courses(seed: int) -> CourseProblem:
    rng = random.Random(seed)
    sessions = [
        CourseSession(f"s{k}", dt.date(2027, 1, 1), dt.date(2027, 1, 5), "x", rng.randint(0, 12))
        for k in range(6)
    ]
    ids = [s.id for s in sessions]
    requests = [
        SeatRequest(
            f"r{j}",
            float(rng.choice([1, 1, 2, 3])),
            rng.randint(1, 3),
            tuple(rng.sample(ids, rng.randint(1, 3))),
        )
        for j in range(60)
    ]
    return CourseProblem(tuple(sessions), tuple(requests))


def cruise(seed: int) -> CruiseProblem:
    rng = random.Random(seed)
    legs = [
        Leg(
            f"L{k}",
            dt.date(2027, 5, 1 + 5 * k),
            dt.date(2027, 5, 4 + 5 * k),
            ("A", "B"),
            ((10.0 + k, 110.0), (12.0 + k, 112.0)),
            rng.randint(2, 8),
            rng.randint(1, 6),
            6000.0,
        )
        for k in range(4)
    ]
    requests = [
        CruiseRequest(
            f"r{j}",
            float(rng.choice([1, 1, 2])),
            rng.randint(1, 2),
            tuple(
                DiveSite(f"s{j}_{q}", 10.0 + rng.random() * 5, 110.0 + rng.random() * 2, 3000.0)
                for q in range(rng.randint(0, 3))
            ),
        )
        for j in range(40)
    ]
    return CruiseProblem(tuple(legs), tuple(requests))


def solve(family: str, p: Any) -> tuple[Any, float]:
    """The answer (comparable) and the objective of one solve."""
    if family == "fast":
        r = schedule_fast(p, seed=0)
        return frozenset((e.block_id, e.start_unix) for e in r.entries), r.priority_weighted_hours
    if family == "slots":
        r = solve_slots(p, seed=0, time_limit_s=60.0)
        return frozenset(r.starts.items()), r.value
    if family == "courses":
        r = solve_courses(p, seed=0)
        return frozenset(r.placements.items()), r.objective
    r = solve_cruise(p, seed=0)
    return (
        frozenset(r.leg_of.items()),
        frozenset((d.request_id, d.dive_index, d.leg_id, d.day) for d in r.dives),
    ), r.objective


def generate(family: str, seed: int) -> Any:
    # imported after opencall: the benchmarks put this checkout's src first on the path
    from bench_scheduling import make_problem
    from bench_slots import instance as slot_instance

    if family == "fast":
        return make_problem(FAST[0], seed, days=FAST[1])
    if family == "slots":
        return slot_instance(40, seed)
    return courses(seed) if family == "courses" else cruise(seed)


def reorder(family: str, p: Any, rng: random.Random) -> Any:
    if family == "fast":
        return dataclasses.replace(p, blocks=shuffled(p.blocks, rng))
    if family == "slots":
        return SlotProblem(shuffled(p.resources, rng), shuffled(p.awards, rng))
    if family == "courses":
        return CourseProblem(shuffled(p.sessions, rng), shuffled(p.requests, rng))
    return CruiseProblem(shuffled(p.legs, rng), shuffled(p.requests, rng))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=None)
    ap.add_argument("--families", default="fast,slots,courses,cruise")
    ap.add_argument("--instances", type=int, default=5)
    ap.add_argument("--shuffles", type=int, default=4)
    ap.add_argument("--peer", action="store_true", help="CP-SAT on the slot instances too")
    ap.add_argument("--fast", default="200x7", help="FAST blocks x days")
    args = ap.parse_args()
    global FAST
    n, days = args.fast.split("x")
    FAST = (int(n), float(days))
    import opencall

    print(f"code: {Path(opencall.__file__).parent}")
    print(
        "| family | solver | instances with >1 answer | objective spread (max) | wall s a solve |"
    )
    print("|---|---|---:|---:|---:|")
    for family in [f for f in args.families.split(",") if f]:
        rows: dict[str, list[Any]] = {"ours": [0, 0.0, 0.0, 0]}
        if args.peer and family == "slots":
            rows["CP-SAT"] = [0, 0.0, 0.0, 0]
        for seed in range(args.instances):
            p = generate(family, seed)
            rng = random.Random(seed)
            problems = [p] + [reorder(family, p, rng) for _ in range(args.shuffles)]
            for name, row in rows.items():
                answers, values = set(), []
                for q in problems:
                    t = time.perf_counter()
                    if name == "ours":
                        ans, val = solve(family, q)
                    else:
                        from bench_slots import run_cpsat

                        out = run_cpsat(q, 60.0, 1, 0)
                        ans, val = frozenset(out.get("starts", {}).items()), out["value"]
                    row[2] += time.perf_counter() - t
                    row[3] += 1
                    answers.add(ans)
                    values.append(val)
                row[0] += len(answers) > 1
                row[1] = max(row[1], max(values) - min(values))
        for name, (n_diff, spread, wall, n) in rows.items():
            print(
                f"| {family} | {name} | {n_diff} / {args.instances} | {spread:.6g} | {wall / n:.3f} |"
            )


if __name__ == "__main__":
    main()
