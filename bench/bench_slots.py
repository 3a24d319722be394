"""Benchmark: slot placement (``opencall.optim.slots``: greedy + HiGHS lexicographic 0-1
program) against OR-Tools CP-SAT on the same model and the same instances, in one run.

Usage:
    .venv/bin/python bench/bench_slots.py --sizes 20,40,80,160 --time-limit 60 \
        [--seed 0] [--workers 1] [--family cryo-em|one-slot|shared] [--out bench/out/slots.json]

Instances (seeded; depend only on N and --seed): a cryo-EM centre with 3 microscopes offering
24-hour sessions over 91 days (2027-09-01 .. 2027-11-30); microscope 2 is down for a
maintenance week and microscope 3 for two separate days. N proposals; 30 % ask for a bundle
of screening (1 session on one microscope) plus data collection (2-4 sessions on another) to
be kept together, the others for 1-6 sessions on one microscope; 40 % declare one impossible
range of 3-14 days; merit weights in {1.0, 1.25, ..., 2.0}. The sessions asked for total
about 1.2x the usable sessions at N = 160 (contention), less at smaller N.

CP-SAT gets exactly the model of ``solve_slots``: Boolean x[a, k] per usable, possible slot,
y per unit (bundle or single award), run-start Booleans (r >= x[k] - x[k-1]), integer lo/hi
per together-bundle (hours), and the same three levels (value, span, runs) solved in turn,
each optimum fixed for the next; the weights are integers x 100 (exact for this grid). Both
get the same total time limit over the levels and ``--workers`` search threads (HiGHS is
single-threaded here). Every result is judged by ``opencall.optim.slots.check``.

Columns: wall seconds, method/status, the three levels (value, span h, runs), and ratios
OpenCall / CP-SAT of time and of each level.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from opencall.optim import slots as sl  # noqa: E402

T0 = dt.datetime(2027, 9, 1, tzinfo=dt.UTC)
DAYS = 91


def instance(n: int, seed: int) -> sl.SlotProblem:
    rng = np.random.default_rng(seed * 1_000_003 + n)
    day = dt.timedelta(days=1)
    resources = (
        sl.Resource("m1", T0, T0 + DAYS * day, 24.0),
        sl.Resource("m2", T0, T0 + DAYS * day, 24.0, ((T0 + 20 * day, T0 + 27 * day, "maint"),)),
        sl.Resource(
            "m3",
            T0,
            T0 + DAYS * day,
            24.0,
            ((T0 + 40 * day, T0 + 41 * day, "power"), (T0 + 60 * day, T0 + 61 * day, "power")),
        ),
    )
    awards: list[sl.SlotAward] = []
    for p in range(n):
        weight = 1.0 + 0.25 * int(rng.integers(0, 5))
        impossible: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
        if rng.random() < 0.4:
            d0 = int(rng.integers(0, DAYS))
            impossible = ((T0 + d0 * day, T0 + (d0 + int(rng.integers(3, 15))) * day),)
        if rng.random() < 0.3:
            r1, r2 = rng.choice(3, size=2, replace=False)
            awards.append(
                sl.SlotAward(f"p{p}s", f"m{r1 + 1}", 1, f"p{p}", impossible, "b", True, weight)
            )
            awards.append(
                sl.SlotAward(
                    f"p{p}c",
                    f"m{r2 + 1}",
                    int(rng.integers(2, 5)),
                    f"p{p}",
                    impossible,
                    "b",
                    True,
                    weight,
                )
            )
        else:
            awards.append(
                sl.SlotAward(
                    f"p{p}",
                    f"m{int(rng.integers(1, 4))}",
                    int(rng.integers(1, 7)),
                    f"p{p}",
                    impossible,
                    None,
                    False,
                    weight,
                )
            )
    return sl.SlotProblem(resources, tuple(awards))


def one_slot_instance(n: int, seed: int, days: int = 30) -> sl.SlotProblem:
    """``--family one-slot``: N one-slot awards for the ``days`` daily sessions of one
    microscope (over-subscribed N / days times); 30 % declare an impossible range of 1-7
    days; merit weights in {1.0, 1.25, ..., 2.0}."""
    rng = np.random.default_rng(seed * 1_000_003 + n)
    day = dt.timedelta(days=1)
    resources = (sl.Resource("m1", T0, T0 + days * day, 24.0),)
    awards = []
    for p in range(n):
        impossible: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
        if rng.random() < 0.3:
            d0 = int(rng.integers(0, days))
            impossible = ((T0 + d0 * day, T0 + (d0 + int(rng.integers(1, 8))) * day),)
        weight = 1.0 + 0.25 * int(rng.integers(0, 5))
        awards.append(sl.SlotAward(f"p{p}", "m1", 1, f"p{p}", impossible, None, False, weight))
    return sl.SlotProblem(resources, tuple(awards))


def shared_instance(n: int, seed: int, days: int = 30) -> sl.SlotProblem:
    """``--family shared`` (trialfac20): the cryo-em family's awards on shared-use
    resources over ``days`` days, each slot holding several groups
    (``Resource.groups_per_slot``): a sample changer taking 4 groups a session, one taking
    3 (down for a maintenance week) and one taking 2 (down a day); 247 places in all, about
    the places asked at N = 80."""
    day = dt.timedelta(days=1)
    resources = (
        sl.Resource("m1", T0, T0 + days * day, 24.0, groups_per_slot=4),
        sl.Resource(
            "m2",
            T0,
            T0 + days * day,
            24.0,
            ((T0 + 20 * day, T0 + 27 * day, "maint"),),
            groups_per_slot=3,
        ),
        sl.Resource(
            "m3", T0, T0 + days * day, 24.0, ((T0 + 10 * day, T0 + 11 * day, "power"),),
            groups_per_slot=2,
        ),
    )  # fmt: skip
    return sl.SlotProblem(resources, instance(n, seed).awards)


def run_opencall(problem: sl.SlotProblem, limit: float, exact: bool = True) -> dict[str, Any]:
    t0 = time.perf_counter()
    res = sl.solve_slots(problem, exact=exact, time_limit_s=limit)
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall,
        "status": res.method,
        "value": res.value,
        "span_h": res.span_hours,
        "runs": res.runs,
        "placed": len(res.starts),
        "violations": len(sl.check(problem, res.starts)),
        "stages": res.stages,
    }


def run_cpsat(problem: sl.SlotProblem, limit: float, workers: int, seed: int) -> dict[str, Any]:
    from ortools.sat.python import cp_model

    t0 = time.perf_counter()
    grids = {r.id: sl.slot_grid(r) for r in problem.resources}
    res = {r.id: r for r in problem.resources}
    allowed: dict[str, list[int]] = {}
    for a in problem.awards:
        allowed[a.id] = [
            s.index
            for s in grids[a.resource]
            if not s.reason and not any(i0 < s.end and s.start < i1 for i0, i1 in a.impossible)
        ]
    units: dict[tuple[str, str], list[sl.SlotAward]] = {}
    for a in problem.awards:
        units.setdefault((a.proposal, a.bundle or a.id), []).append(a)
    m = cp_model.CpModel()
    x = {(a.id, k): m.new_bool_var(f"x{a.id}_{k}") for a in problem.awards for k in allowed[a.id]}
    y = {u: m.new_bool_var(f"y{i}") for i, u in enumerate(units)}
    for u, members in units.items():
        for a in members:
            m.add(sum(x[(a.id, k)] for k in allowed[a.id]) == a.slots * y[u])
    res_of = {a.id: a.resource for a in problem.awards}
    per_slot: dict[tuple[str, int], list[Any]] = {}
    for (aid, k), v in x.items():
        per_slot.setdefault((res_of[aid], k), []).append(v)
    for (rid, _k), vs in per_slot.items():
        groups = res[rid].groups_per_slot  # 1 but on a shared-use resource
        if len(vs) > groups == 1:
            m.add_at_most_one(vs)
        elif len(vs) > groups:
            m.add(sum(vs) <= groups)
    runs = []
    for a in problem.awards:
        ok = set(allowed[a.id])
        for k in allowed[a.id]:
            if k - 1 in ok:
                r = m.new_bool_var(f"r{a.id}_{k}")
                m.add(r >= x[(a.id, k)] - x[(a.id, k - 1)])
                runs.append(r)
            else:
                runs.append(x[(a.id, k)])
    epoch = min(r.start for r in problem.resources)
    horizon = int(max((r.end - epoch).total_seconds() // 3600 for r in problem.resources))
    spans = []
    for members in units.values():
        if len(members) < 2 or not any(a.together for a in members):
            continue
        lo = m.new_int_var(0, horizon, "lo")
        hi = m.new_int_var(0, horizon, "hi")
        m.add(hi >= lo)
        for a in members:
            step = int(res[a.resource].slot_hours)
            for k in allowed[a.id]:
                t = int((grids[a.resource][k].start - epoch).total_seconds() // 3600)
                m.add(lo <= t).only_enforce_if(x[(a.id, k)])
                m.add(hi >= t + step).only_enforce_if(x[(a.id, k)])
        spans.append(hi - lo)
    value = sum(
        int(round(100 * sum(a.weight * a.slots for a in members))) * y[u]
        for u, members in units.items()
    )
    levels = [("value", value, True), ("span", sum(spans), False), ("runs", sum(runs), False)]
    out: dict[str, Any] = {"status": "optimal"}
    solver = cp_model.CpSolver()
    solver.parameters.num_search_workers = workers
    solver.parameters.random_seed = seed
    got: dict[str, float] = {}
    best: dict[tuple[str, int], int] = {}  # the last solution found (none: nothing placed)
    for name, expr, maximize in levels:
        left = limit - (time.perf_counter() - t0)
        if left <= 0.05:
            out["status"] = "time_limit"
            break
        solver.parameters.max_time_in_seconds = left
        if maximize:
            m.maximize(expr)
        else:
            m.minimize(expr)
        st = solver.solve(m)
        if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            out["status"] = f"{name}: {solver.status_name(st).lower()}"
            break
        val = int(round(solver.objective_value))
        got[name] = val
        best = {key: int(solver.value(v)) for key, v in x.items()}
        # hint the next level with this solution, then fix the level
        m.clear_hints()
        for v in x.values():
            m.add_hint(v, solver.value(v))
        if st != cp_model.OPTIMAL:
            out["status"] = f"{name}: time_limit"
            break
        m.add(expr >= val if maximize else expr <= val)
    starts = {}
    for a in problem.awards:
        ks = [k for k in allowed[a.id] if best.get((a.id, k))]
        if ks:
            starts[a.id] = tuple(grids[a.resource][k].start for k in ks)
    v, s, r = sl.evaluate(problem, starts)
    out.update(
        wall_s=time.perf_counter() - t0,
        value=v,
        span_h=s,
        runs=r,
        placed=len(starts),
        violations=len(sl.check(problem, starts)),
        starts=starts,
    )
    return out


def ratio(a: float, b: float) -> str:
    if b == 0:
        return "-" if a == 0 else "inf"
    return f"{a / b:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="20,40,80,160")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--family", default="cryo-em", choices=["cryo-em", "one-slot", "shared"])
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    rows = []
    print(
        "| N | awards | slots asked | solver | wall s | status | value | span h | runs | placed"
        " | violations |"
    )
    print("|---:|---:|---:|---|---:|---|---:|---:|---:|---:|---:|")
    for n in (int(x) for x in args.sizes.split(",")):
        family = {"cryo-em": instance, "one-slot": one_slot_instance, "shared": shared_instance}
        p = family[args.family](n, args.seed)
        asked = sum(a.slots for a in p.awards)
        results = {
            "greedy": run_opencall(p, args.time_limit, exact=False),
            "opencall": run_opencall(p, args.time_limit),
            "cp-sat": run_cpsat(p, args.time_limit, args.workers, args.seed),
        }
        for name, r in results.items():
            print(
                f"| {n} | {len(p.awards)} | {asked} | {name} | {r['wall_s']:.2f} | {r['status']} |"
                f" {r['value']:.2f} | {r['span_h']:.0f} | {r['runs']} | {r['placed']} |"
                f" {r['violations']} |"
            )
        o, c = results["opencall"], results["cp-sat"]
        print(
            f"|   |   |   | ratio opencall/cp-sat | {ratio(o['wall_s'], c['wall_s'])} | |"
            f" {ratio(o['value'], c['value'])} | {ratio(o['span_h'], c['span_h'])} |"
            f" {ratio(o['runs'], c['runs'])} | | |",
            flush=True,
        )
        rows.append({"n": n, "awards": len(p.awards), "asked": asked, **results})
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(rows, indent=1, default=str))


if __name__ == "__main__":
    main()
