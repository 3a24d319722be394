"""The optimisers on instance families the other benchmarks do not use.

Usage:
    .venv/bin/python bench/bench_instances.py [--seeds 40] [--over 40:8,400:8,300:24]
        [--lopsided 5000] [--rounds 1,2]

For every family of ``tests/optim/instances.py`` (allocation, assignment in both modes,
FAST scheduling, slot placement, cruise and course logistics), ``--seeds`` instances are
solved through the public functions and judged by that module's independent checkers, by
the brute-force or MIP optimum where the family has one, and by a second solve with the same
seed (same answer). The table gives, per optimiser, the instances, the failures of each kind
and the largest CPU seconds of one solve.

The second round's families (calibration, assignment with ties, lopsided sizes, barely
feasible loads, negative and rescaled affinities, allocation in units of 1e-200 .. 1e200,
never-visible targets and leap days, slots on unavailable and other-time-zone calendars,
shipments of zero or tiny stock, packages in one season) are judged the same way, plus
metamorphic checks: relabelled, rescaled and reoriented inputs must move the answer with
them. ``--lopsided N`` times assignment of 1 reviewer x N proposals and N reviewers x 1
proposal in both modes.

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
from opencall.optim.assignment import (  # noqa: E402
    AssignmentProblem,
    InfeasibleAssignment,
    solve_assignment,
)
from opencall.optim.calibration import calibrate  # noqa: E402
from opencall.optim.logistics import solve_courses, solve_cruise, solve_packages  # noqa: E402
from opencall.optim.logistics.samples import plan_shipments  # noqa: E402
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


def _guard(bad: Counter[str], f: Callable[[], None]) -> None:
    """Runs one check; an exception is counted as one (named by its type)."""
    try:
        f()
    except Exception as exc:  # noqa: BLE001 - counted, the table says which optimiser
        bad[f"exception ({type(exc).__name__})"] += 1


def run_families_2(seeds: int) -> list[tuple[str, int, Counter[str], float]]:
    rows = []

    def tally(name: str, case: Callable[[int, Counter[str]], float]) -> None:
        bad: Counter[str] = Counter()
        worst = 0.0
        for s in range(seeds):
            cpu = [0.0]

            def one(s: int = s, cpu: list[float] = cpu) -> None:
                cpu[0] = case(s, bad)

            _guard(bad, one)
            worst = max(worst, cpu[0])
        rows.append((name, seeds, bad, worst))

    def calibration(s: int, bad: Counter[str]) -> float:
        worst = 0.0
        for fam in ins.CALIBRATION_FAMILIES:
            for fit in (False, True):
                rng = np.random.default_rng(s)
                gs = ins.calibration_instance(rng, fam)

                def run(gs: object = gs, fit: bool = fit, rng: np.random.Generator = rng) -> None:
                    nonlocal worst
                    res, cpu = _cpu(lambda: calibrate(gs, fit_scale=fit, n_bootstrap=50, seed=s))  # type: ignore[arg-type]
                    worst = max(worst, cpu)
                    bad["infeasible"] += bool(ins.calibration_violations(gs, res))  # type: ignore[arg-type]
                    again = calibrate(gs, fit_scale=fit, n_bootstrap=50, seed=s)  # type: ignore[arg-type]
                    bad["not deterministic"] += not np.array_equal(again.rank_lo, res.rank_lo)  # type: ignore[attr-defined]
                    moved, pp, rp = ins.relabelled(gs, rng)  # type: ignore[arg-type]
                    other = calibrate(moved, fit_scale=fit, n_bootstrap=0, seed=s)
                    tol = 1e-3 if fit else 1e-9
                    bad["not relabelling-invariant"] += not np.allclose(
                        other.consensus[pp],
                        res.consensus,
                        atol=tol,  # type: ignore[attr-defined]
                    )
                    for a, b in ((1e-150, 0.0), (1e150, 0.0), (1e-3, 7.0)):
                        f = calibrate(
                            ins.rescaled(gs, a, b, True), fit_scale=fit, n_bootstrap=0, seed=s
                        )  # type: ignore[arg-type]
                        lo, hi = gs.scale.min * a + b, gs.scale.max * a + b  # type: ignore[attr-defined]
                        bad["not scale-invariant"] += not np.allclose(
                            (lo + hi - f.consensus - b) / a,
                            res.consensus,
                            atol=tol,  # type: ignore[attr-defined]
                        )

                _guard(bad, run)
        return worst

    def assignment(s: int, bad: Counter[str]) -> float:
        worst = 0.0
        for fam in ins.ASSIGNMENT_FAMILIES_2:
            for objective in ("total", "fair"):
                rng = np.random.default_rng(s)
                pb = ins.assignment_instance_2(rng, fam, objective)
                best = ins.lopsided_optimum(pb) if fam == "lopsided" else ins.assignment_optimum(pb)
                t = time.process_time()
                try:
                    res = solve_assignment(pb)
                except InfeasibleAssignment as exc:
                    bad["refused a feasible one"] += best is not None
                    bad["unclear infeasibility"] += not (
                        "capacity" in str(exc) or "needs" in str(exc)
                    )
                    continue
                except Exception:  # noqa: BLE001
                    bad["exception"] += 1
                    continue
                worst = max(worst, time.process_time() - t)
                bad["infeasible"] += bool(
                    ins.assignment_violations(pb, res.proposals, res.reviewers)
                )
                got = ins.assignment_value(pb, res.proposals, res.reviewers)
                size = float(np.abs(ins._dense(pb)).max())
                bad["not optimal"] += best is None or abs(got - best) > 1e-5 * size
                again = solve_assignment(pb)
                bad["not deterministic"] += not np.array_equal(again.reviewers, res.reviewers)
                perm = rng.permutation(pb.n_reviewers)
                hi = None if pb.max_load is None else np.asarray(pb.max_load)[perm]
                moved = AssignmentProblem(
                    pb.n_proposals,
                    pb.n_reviewers,
                    ins._dense(pb)[:, perm],
                    k=pb.k,
                    max_load=hi,
                    objective=pb.objective,
                )
                o = solve_assignment(moved)
                bad["not relabelling-invariant"] += (
                    abs(ins.assignment_value(moved, o.proposals, o.reviewers) - got) > 1e-5 * size
                )
        return worst

    def allocation(s: int, bad: Counter[str]) -> float:
        worst = 0.0
        for fam in ins.ALLOCATION_FAMILIES:
            pb = ins.allocation_instance(np.random.default_rng(s), fam)
            ref = solve_allocation(pb, seed=s, time_limit_s=5.0)
            for unit in (1e-200, 1e-12, 1e12, 1e200):
                big = ins.allocation_scaled(pb, unit)

                def run(big: object = big, ref: object = ref) -> None:
                    nonlocal worst
                    res, cpu = _cpu(lambda: solve_allocation(big, seed=s, time_limit_s=5.0))  # type: ignore[arg-type]
                    worst = max(worst, cpu)
                    bad["overdrawn"] += bool(ins.relative_overdraw(big, res))  # type: ignore[arg-type]
                    bad["not scale-invariant"] += any(
                        abs(res.fractions[k] - f) > 1e-6
                        for k, f in ref.fractions.items()  # type: ignore[attr-defined]
                    )

                _guard(bad, run)
        return worst

    def scheduling(s: int, bad: Counter[str]) -> float:
        worst = 0.0
        for fam in ins.SCHEDULING_FAMILIES_2:
            p = ins.scheduling_instance_2(np.random.default_rng(s), fam)
            res, cpu = _cpu(lambda p=p: schedule_fast(p, seed=s))
            worst = max(worst, cpu)
            bad["infeasible"] += bool(ins.scheduling_violations(p, res) or res.check(p))  # type: ignore[arg-type]
            blocks = {b.id: b for b in p.blocks}
            bad["wrong reason"] += sum(
                (u.reason == "never_visible") == ins.visible_somewhere(p, blocks[u.block_id])
                for u in res.unscheduled  # type: ignore[attr-defined]
            )
            bad["not deterministic"] += schedule_fast(p, seed=s).entries != res.entries  # type: ignore[attr-defined]
        return worst

    def slots(s: int, bad: Counter[str]) -> float:
        worst = 0.0
        for fam in ins.SLOT_FAMILIES_2:
            pb = ins.slot_instance_2(np.random.default_rng(s), fam)
            res, cpu = _cpu(lambda pb=pb: solve_slots(pb, time_limit_s=5.0))
            worst = max(worst, cpu)
            placed = [a for a in pb.awards if res.starts.get(a.id)]  # type: ignore[attr-defined]
            bad["infeasible"] += not ins.slots_fit(pb, placed) or bool(check(pb, res.starts))  # type: ignore[attr-defined]
            bad["not optimal"] += abs(res.value - ins.slot_value_optimum(pb)) > 1e-6  # type: ignore[attr-defined]
        return worst

    def stock(s: int, bad: Counter[str]) -> float:
        worst = 0.0
        for fam in ins.SAMPLE_FAMILIES:
            pb = ins.sample_instance(np.random.default_rng(s), fam)
            plan, cpu = _cpu(lambda pb=pb: plan_shipments(pb, seed=s))
            worst = max(worst, cpu)
            bad["infeasible"] += bool(ins.shipment_violations(pb, plan) or plan.check(pb))  # type: ignore[attr-defined]
        pk = ins.package_instance(np.random.default_rng(s))
        res, cpu = _cpu(lambda: solve_packages(pk, seed=s))
        worst = max(worst, cpu)
        given = sum(pl.count for pl in res.placements.values() if pl is not None)  # type: ignore[attr-defined]
        bad["infeasible"] += bool(res.check(pk)) or given > ins.package_optimum(pk)  # type: ignore[attr-defined]
        return worst

    tally(f"calibration ({len(ins.CALIBRATION_FAMILIES)} families x 2 modes)", calibration)
    tally(f"assignment ({len(ins.ASSIGNMENT_FAMILIES_2)} families x 2 modes)", assignment)
    tally(f"allocation ({len(ins.ALLOCATION_FAMILIES)} families x 4 units)", allocation)
    tally(f"FAST scheduling ({len(ins.SCHEDULING_FAMILIES_2)} families)", scheduling)
    tally(f"slot placement ({len(ins.SLOT_FAMILIES_2)} families)", slots)
    tally(f"samples + packages ({len(ins.SAMPLE_FAMILIES) + 1} families)", stock)
    return rows


def lopsided(n: int) -> list[tuple[str, str, float, str]]:
    """Assignment of 1 reviewer x n proposals and n reviewers x 1 proposal (k = 3)."""
    out = []
    rng = np.random.default_rng(0)
    for shape in ((n, 1, 1), (1, n, 3)):
        P, R, k = shape
        A = rng.random((P, R))
        for objective in ("total", "fair"):
            pb = AssignmentProblem(P, R, A, k=k, objective=objective)  # type: ignore[arg-type]
            try:
                res, cpu = _cpu(lambda pb=pb: solve_assignment(pb))
                note = "ok" if not res.check(pb) and res.certified else "not certified"  # type: ignore[attr-defined]
            except Exception as exc:  # noqa: BLE001
                cpu, note = float("nan"), type(exc).__name__
            out.append((f"{P} x {R}", objective, cpu, note))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--over", default="40:8,400:8,300:24")
    ap.add_argument("--lopsided", type=int, default=5000)
    ap.add_argument("--rounds", default="1,2")
    args = ap.parse_args()
    rounds = {int(x) for x in args.rounds.split(",") if x}
    if args.seeds:
        print("| optimiser | seeds | failures | largest CPU s of one solve |")
        print("|---|---:|---|---:|")
        runs = (run_families,) * (1 in rounds) + (run_families_2,) * (2 in rounds)
        for run in runs:
            for name, n, bad, worst in run(args.seeds):
                fails = ", ".join(f"{k} {v}" for k, v in sorted(bad.items()) if v) or "none"
                print(f"| {name} | {n} | {fails} | {worst:.2f} |", flush=True)
    if args.lopsided:
        print()
        print("| shape (proposals x reviewers) | objective | CPU s | result |")
        print("|---|---|---:|---|")
        for shape, objective, cpu, note in lopsided(args.lopsided):
            print(f"| {shape} | {objective} | {cpu:.2f} | {note} |", flush=True)
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
