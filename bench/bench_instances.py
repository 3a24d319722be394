"""The optimisers on instance families the other benchmarks do not use.

Usage:
    .venv/bin/python bench/bench_instances.py [--seeds 40] [--over 40:8,400:8,300:24]

For every family of ``tests/optim/instances.py`` (allocation, assignment in both modes,
FAST scheduling, slot placement, cruise and course logistics), ``--seeds`` instances are
solved through the public functions and judged by that module's independent checkers, by
the brute-force or MIP optimum where the family has one, and by a second solve with the same
seed (same answer). The table gives, per optimiser, the instances, the failures of each kind
and the largest CPU seconds of one solve.

``--over`` then times FAST scheduling on over-subscribed windows, ``N:HOURS`` each: N blocks
of 1-4 h (70 % splittable when longer than an hour) within 40 degrees of zenith, all near
the meridian of one HOURS-long window (the same generator as
``instances.oversubscribed_night``, seed 0), with the default settings of
``schedule_fast`` as the product calls it. CPU seconds of the process (``time.process_time``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.optim import instances as ins  # noqa: E402

from opencall.optim.allocation import solve_allocation  # noqa: E402
from opencall.optim.assignment import InfeasibleAssignment, solve_assignment  # noqa: E402
from opencall.optim.logistics import solve_courses, solve_cruise  # noqa: E402
from opencall.optim.scheduling import schedule_fast  # noqa: E402
from opencall.optim.slots import check, solve_slots  # noqa: E402


def _cpu(f: Callable[[], object]) -> tuple[object, float]:
    t = time.process_time()
    out = f()
    return out, time.process_time() - t


def run_families(seeds: int) -> list[tuple[str, int, Counter[str], float]]:
    rows = []

    def tally(name: str, cases: Callable[[int], tuple[Counter[str], float]]) -> None:
        bad: Counter[str] = Counter()
        worst = 0.0
        for s in range(seeds):
            b, cpu = cases(s)
            bad.update(b)
            worst = max(worst, cpu)
        rows.append((name, seeds, bad, worst))

    def allocation(s: int) -> tuple[Counter[str], float]:
        bad: Counter[str] = Counter()
        worst = 0.0
        for fam in ins.ALLOCATION_FAMILIES:
            pb = ins.allocation_instance(np.random.default_rng(s), fam)
            res, cpu = _cpu(lambda pb=pb: solve_allocation(pb, seed=s, time_limit_s=5.0))
            worst = max(worst, cpu)
            bad["infeasible"] += bool(ins.allocation_violations(pb, res) or res.check(pb))  # type: ignore[arg-type]
            bad["not finite"] += not math.isfinite(res.objective)  # type: ignore[attr-defined]
            again = solve_allocation(pb, seed=s, time_limit_s=5.0)
            bad["not deterministic"] += again.fractions != res.fractions  # type: ignore[attr-defined]
        return bad, worst

    def assignment(s: int) -> tuple[Counter[str], float]:
        bad: Counter[str] = Counter()
        worst = 0.0
        for fam in ins.ASSIGNMENT_FAMILIES:
            for objective in ("total", "fair"):
                try:
                    pb = ins.assignment_instance(np.random.default_rng(s), fam, objective)
                except ValueError:
                    continue
                best = ins.assignment_optimum(pb)
                t = time.process_time()
                try:
                    res = solve_assignment(pb)
                except InfeasibleAssignment:
                    bad["refused a feasible one"] += best is not None
                    continue
                except Exception:  # noqa: BLE001 - counted, the table says which optimiser
                    bad["exception"] += 1
                    continue
                worst = max(worst, time.process_time() - t)
                bad["infeasible"] += bool(
                    ins.assignment_violations(pb, res.proposals, res.reviewers)
                )
                a = pb.affinity
                dense = np.asarray(a.toarray() if hasattr(a, "toarray") else a)
                sums = np.bincount(
                    res.proposals, dense[res.proposals, res.reviewers], pb.n_proposals
                )
                got = float(sums.min() if objective == "fair" else sums.sum())
                bad["not optimal"] += best is None or abs(got - best) > 1e-5
                again = solve_assignment(pb)
                bad["not deterministic"] += not np.array_equal(again.reviewers, res.reviewers)
        return bad, worst

    def scheduling(s: int) -> tuple[Counter[str], float]:
        bad: Counter[str] = Counter()
        worst = 0.0
        for fam in ins.SCHEDULING_FAMILIES:
            p = ins.scheduling_instance(np.random.default_rng(s), fam)
            res, cpu = _cpu(lambda p=p: schedule_fast(p, seed=s))
            worst = max(worst, cpu)
            bad["infeasible"] += bool(ins.scheduling_violations(p, res) or res.check(p))  # type: ignore[arg-type]
            again = schedule_fast(p, seed=s)
            bad["not deterministic"] += again.entries != res.entries  # type: ignore[attr-defined]
        return bad, worst

    def slots(s: int) -> tuple[Counter[str], float]:
        bad: Counter[str] = Counter()
        worst = 0.0
        for fam in ins.SLOT_FAMILIES:
            pb = ins.slot_instance(np.random.default_rng(s), fam)
            res, cpu = _cpu(lambda pb=pb: solve_slots(pb, time_limit_s=5.0))
            worst = max(worst, cpu)
            placed = [a for a in pb.awards if res.starts.get(a.id)]  # type: ignore[attr-defined]
            bad["infeasible"] += not ins.slots_fit(pb, placed) or bool(check(pb, res.starts))  # type: ignore[attr-defined]
            bad["not optimal"] += abs(res.value - ins.slot_value_optimum(pb)) > 1e-6  # type: ignore[attr-defined]
            bad["not deterministic"] += solve_slots(pb, time_limit_s=5.0).starts != res.starts  # type: ignore[attr-defined]
        return bad, worst

    def logistics(s: int) -> tuple[Counter[str], float]:
        bad: Counter[str] = Counter()
        worst = 0.0
        for fam in ins.LOGISTICS_FAMILIES:
            rng = np.random.default_rng(s)
            cr = ins.cruise_instance(rng, fam)
            res, cpu = _cpu(lambda cr=cr: solve_cruise(cr, seed=s))
            worst = max(worst, cpu)
            bad["infeasible"] += bool(ins.cruise_violations(cr, res) or res.check(cr))  # type: ignore[arg-type]
            bad["not deterministic"] += solve_cruise(cr, seed=s).leg_of != res.leg_of  # type: ignore[attr-defined]
            co = ins.course_instance(rng, fam)
            pl, cpu = _cpu(lambda co=co: solve_courses(co, seed=s))
            worst = max(worst, cpu)
            bad["infeasible"] += bool(ins.course_violations(co, pl) or pl.check(co))  # type: ignore[arg-type]
            bad["not deterministic"] += solve_courses(co, seed=s).placements != pl.placements  # type: ignore[attr-defined]
        return bad, worst

    tally(f"allocation ({len(ins.ALLOCATION_FAMILIES)} families)", allocation)
    tally(f"assignment ({len(ins.ASSIGNMENT_FAMILIES)} families x 2 modes)", assignment)
    tally(f"FAST scheduling ({len(ins.SCHEDULING_FAMILIES)} families)", scheduling)
    tally(f"slot placement ({len(ins.SLOT_FAMILIES)} families)", slots)
    tally(f"cruise + courses ({len(ins.LOGISTICS_FAMILIES)} families)", logistics)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--over", default="40:8,400:8,300:24")
    args = ap.parse_args()
    if args.seeds:
        print("| optimiser | seeds | failures | largest CPU s of one solve |")
        print("|---|---:|---|---:|")
        for name, n, bad, worst in run_families(args.seeds):
            fails = ", ".join(f"{k} {v}" for k, v in sorted(bad.items()) if v) or "none"
            print(f"| {name} | {n} | {fails} | {worst:.2f} |")
    if args.over:
        print()
        print("| blocks | window h | CPU s | placed | priority-weighted h | observed h | check |")
        print("|---:|---:|---:|---:|---:|---:|---|")
        for spec in args.over.split(","):
            n, h = spec.split(":")
            p = ins.oversubscribed_night(int(n), float(h))
            res, cpu = _cpu(lambda p=p: schedule_fast(p, seed=0))
            errors = res.check(p)  # type: ignore[attr-defined]
            print(
                f"| {n} | {h} | {cpu:.2f} | {len(res.entries)} | "  # type: ignore[attr-defined]
                f"{res.priority_weighted_hours:.3f} | {res.observed_hours:.3f} | "  # type: ignore[attr-defined]
                f"{'ok' if not errors else errors[0]} |"
            )


if __name__ == "__main__":
    main()
