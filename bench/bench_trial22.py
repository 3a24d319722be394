"""The optimisers on instances nobody has seen, twenty-second round (trialopt22): slot
placements whose weights are far apart within one problem.

Usage:
    .venv/bin/python bench/bench_trial22.py [--src <checkout>/src] [--seeds 40]
        [--ratios 1e4,1e5,1e6,1e7,1e9,1e12]

``apart`` and ``apart_up`` (``tests/optim/trial22.py``: the twenty-first round's instances
with about half the units' weights times 1e-12, or times 1e12), ``--seeds`` instances of
each base family: ours is ``solve_slots`` (default engines), the peer CP-SAT on whole
weights (``trial22.peer``); counted: rules broken (``trial21.violations``), instances whose
heavier or lighter value differs from the peer's, the CPU seconds of ours and of the peer.
Then for each ratio ``S`` (``--ratios``) the same instances of ``items``, ``items_zone`` and
``items_tight`` with half the units' weights divided by ``S``, against CP-SAT on the whole
weights (the heavier ones times ``2 S``, the lighter ones times 2), counted the same way
(15 seeds a family). ``--src <main checkout>/src`` runs that checkout's code as ours.

``--cruise N``: one leg and 5-80 requests of one or two berths, some with one or two dives
(some too deep), against CP-SAT on the documented objective (``solve_cruise``: the rescaled
merit weights, a placement worth its weight and its dives another); counted: below the
peer. ``--fast N``: FAST blocks over 0.05, 1 or 3 years fragmented by maintenance windows
(gaps of 1-5 hours), held to ``check_schedule``; counted: crashes, rules broken, blocks
left out for another reason than ``no_window_long_enough``. ``--assign N``: reviewer
assignment (``total`` or ``fair``, with or without ``allow_short``) in three families,
``load1`` (every reviewer's load 1, about as many reviewers as reviews), ``one_expertise``
(one column of affinities repeated, half of them with 85 % of pairs conflicted) and
``infeasible`` (loads adding up to less than the reviews), against CP-SAT (the most
reviews, then the most affinity in thousandths); counted: rules broken, reviews or (for
``total``) affinity below the peer's, an ``InfeasibleAssignment`` the peer refutes or one
missing, crashes.
"""

from __future__ import annotations

import argparse
import dataclasses as dc
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# ``--src <main checkout>/src`` (first argument pair) runs that checkout's code as "ours"
SRC = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--src" else str(ROOT / "src")
sys.path[:0] = [SRC, str(ROOT)]

from tests.optim import trial21 as t21  # noqa: E402
from tests.optim import trial22 as t22  # noqa: E402

from opencall.optim import slots as sl  # noqa: E402


def _apart(family: str, seeds: int) -> None:
    n = broken = differ = 0
    cpu = peer_cpu = 0.0
    for base in t22.BASE:
        for seed in range(seeds):
            p = t22.instance(seed, family, base)
            t = time.process_time()
            best = t22.peer(p)
            peer_cpu += time.process_time() - t
            t = time.process_time()
            res = sl.solve_slots(p, time_limit_s=60)
            cpu += time.process_time() - t
            n += 1
            broken += bool(t21.violations(p, res.starts))
            got = t22.split(p, set(res.starts))
            differ += any(abs(a - b) > 1e-6 for a, b in zip(got, best, strict=True))
    print(f"{family:9} n={n:4} broken={broken} differ={differ} "
          f"cpu={cpu:.2f}s peer_cpu={peer_cpu:.2f}s", flush=True)  # fmt: skip


def _ratio(ratio: int, seeds: int) -> None:
    n = broken = differ = 0
    for base in t22.BASE:
        for seed in range(seeds):
            p = t21.instance(seed, base)
            rng = random.Random(seed)
            light: dict[str, bool] = {}
            given, whole = [], []
            for a in p.awards:
                key = a.bundle or a.id
                light.setdefault(key, rng.random() < 0.5)
                lt = light[key]
                given.append(dc.replace(a, weight=a.weight / ratio if lt else a.weight))
                # t21.peer counts weight x 1000: the whole weight over 1000
                whole.append(
                    dc.replace(a, weight=round(2 * a.weight) * (1 if lt else ratio) / 1000)
                )
            q = sl.SlotProblem(p.resources, tuple(given), p.exclusive)
            res = sl.solve_slots(q, time_limit_s=60)
            w = {a.id: round(2 * a.weight) * (1 if light[a.bundle or a.id] else ratio)
                 for a in p.awards}  # fmt: skip
            ours = sum(w[a.id] * a.slots for a in p.awards if a.id in res.starts)
            peer = round(t21.peer(sl.SlotProblem(p.resources, tuple(whole), p.exclusive)) * 1000)
            n += 1
            broken += bool(t21.violations(q, res.starts))
            differ += ours != peer
    print(f"ratio {ratio:.0e}: n={n} broken={broken} differ={differ}", flush=True)


def _cruise(n: int) -> None:
    import datetime as dt

    from ortools.sat.python import cp_model

    from opencall.optim.logistics import CruiseProblem, CruiseRequest, DiveSite, Leg, solve_cruise
    from opencall.optim.logistics._common import weights

    day0, below, scale = dt.date(2027, 5, 1), 0, 10**9
    for seed in range(n):
        rng = random.Random(seed)
        end = day0 + dt.timedelta(days=rng.randint(0, 9))
        route = ((0.0, 0.0), (0.0, 1.0))
        leg = Leg("L1", day0, end, ("A", "B"), route, rng.randint(1, 30), rng.randint(0, 8),
                  3000.0, rng.choice([1, 2]))  # fmt: skip
        reqs = []
        for i in range(rng.randint(5, 80)):
            dives: tuple[DiveSite, ...] = ()
            if rng.random() < 0.4:
                dives = tuple(DiveSite(f"s{i}_{j}", 0.0, rng.uniform(0, 1),
                                       rng.choice([100.0, 100.0, 5000.0]))
                              for j in range(rng.choice([1, 1, 2])))  # fmt: skip
            reqs.append(CruiseRequest(f"r{i}", rng.choice([1.0, 2.0, 3.0, 3.0, 0.5]),
                                      rng.choice([1, 1, 1, 2]), dives,
                                      min_dives=rng.choice([None, 0]) if dives else None))  # fmt: skip
        res = solve_cruise(CruiseProblem((leg,), tuple(reqs)), seed=0)
        w = weights([r.merit for r in reqs], [r.id for r in reqs], 0)
        done: dict[str, int] = {}
        for d in res.dives:
            done[d.request_id] = done.get(d.request_id, 0) + 1
        ours = sum(w[i] * (bool(res.leg_of.get(r.id)) + done.get(r.id, 0) / max(len(r.dives), 1))
                   for i, r in enumerate(reqs))  # fmt: skip
        m = cp_model.CpModel()
        x = [m.NewBoolVar("") for _ in reqs]
        terms = [int(round(w[i] * scale)) * x[i] for i in range(len(reqs))]
        dv = []
        for i, r in enumerate(reqs):
            mine = [m.NewBoolVar("") for _ in r.dives]
            for v, d in zip(mine, r.dives, strict=True):
                m.Add(v <= x[i])
                if d.depth_m > leg.max_dive_depth_m:
                    m.Add(v == 0)
                terms.append(int(round(w[i] * scale / len(r.dives))) * v)
            if r.required_dives:
                m.Add(sum(mine) >= r.required_dives * x[i])
            dv += mine
        m.Add(sum(r.berths * x[i] for i, r in enumerate(reqs)) <= leg.berths)
        m.Add(sum(dv) <= leg.dive_capacity)
        m.Maximize(sum(terms))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.Solve(m)
        below += ours < solver.ObjectiveValue() / scale - 1e-6
    print(f"cruise one leg: n={n} below the peer={below}", flush=True)


def _fast(n: int) -> None:
    from opencall.optim.scheduling import problem as sp
    from opencall.optim.scheduling.check import check_schedule
    from opencall.optim.scheduling.solver import schedule_fast

    t0, crash, broken, other, cpu = 1_800_000_000.0, 0, 0, 0, 0.0
    for seed in range(n):
        rng = random.Random(seed)
        span = rng.choice([0.05, 1, 3]) * 365.25 * 86400
        maint = []
        t = t0 + rng.uniform(0, 86400)
        while t < t0 + span and len(maint) < 3000:
            gap, length = rng.uniform(1, 5) * 3600, rng.uniform(2, 30) * 3600
            maint.append(sp.MaintenanceWindow(t + gap, t + gap + length))
            t += gap + length + rng.choice([0, 3600 * 24 * rng.randint(1, 20)])
        blocks = tuple(sp.FastBlock(f"b{i}", rng.uniform(0, 360), rng.uniform(-10, 60),
                                    rng.choice([1800, 3600, 7200, 4 * 3600]), rng.randint(1, 5),
                                    splittable=rng.random() < 0.3)
                       for i in range(rng.randint(3, 40)))  # fmt: skip
        p = sp.FastScheduleProblem(t0, t0 + span, blocks, tuple(maint))
        c = time.process_time()
        try:
            r = schedule_fast(p, seed=0)
        except Exception as exc:  # noqa: BLE001 (a crash is counted, not raised)
            crash += 1
            print(f"  fast {seed}: {type(exc).__name__}: {exc}")
            continue
        cpu += time.process_time() - c
        broken += bool(check_schedule(p, r))
        other += sum(u.reason != "no_window_long_enough" for u in r.unscheduled)
    print(f"fast fragmented: n={n} crash={crash} broken={broken} "
          f"left out for another reason={other} cpu={cpu:.1f}s", flush=True)  # fmt: skip


def _assign_instance(fam: str, seed: int) -> tuple[Any, int, int, np.ndarray]:
    from opencall.optim import assignment as asg

    rng = random.Random(seed)
    n_p, n_r, k = rng.randint(2, 25), rng.randint(2, 40), rng.choice([1, 2, 3])
    if fam == "load1":
        max_load = 1
        n_r = max(1, rng.randint(n_p * k - 3, n_p * k + 5))
        aff = np.array([[rng.choice([0.0, 0.2, 0.5, 0.9]) for _ in range(n_r)] for _ in range(n_p)])
    elif fam == "one_expertise":
        max_load = rng.randint(1, 6)
        col = np.array([rng.choice([0.0, 1.0]) for _ in range(n_r)])
        aff = np.tile(col, (n_p, 1)) * np.array([[rng.choice([0.3, 0.7, 1.0])] for _ in range(n_p)])
    else:
        max_load = rng.randint(1, 3)
        n_r = max(1, (n_p * k) // max_load - rng.randint(1, 3))
        aff = np.array([[rng.random() for _ in range(n_r)] for _ in range(n_p)]).round(3)
    conf = np.zeros((0, 2), np.int64)
    if fam == "one_expertise" and rng.random() < 0.5:
        pairs = [(p, r) for p in range(n_p) for r in range(n_r) if rng.random() < 0.85]
        conf = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    pb = asg.AssignmentProblem(n_p, n_r, aff, k=min(k, n_r), max_load=max_load, conflicts=conf,
                               objective=rng.choice(["total", "fair"]),
                               allow_short=rng.random() < 0.7)  # fmt: skip
    return pb, min(k, n_r), max_load, np.round(aff * 1000).astype(int)


def _assign_peer(pb: Any, k: int, max_load: int, w: np.ndarray) -> tuple[int, int]:
    from ortools.sat.python import cp_model

    m = cp_model.CpModel()
    cs = set(map(tuple, np.asarray(pb.conflicts).tolist()))
    x = {(p, r): m.NewBoolVar("") for p in range(pb.n_proposals) for r in range(pb.n_reviewers)
         if (p, r) not in cs}  # fmt: skip
    for p in range(pb.n_proposals):
        m.Add(sum(v for (q, _), v in x.items() if q == p) <= k)
    for r in range(pb.n_reviewers):
        m.Add(sum(v for (_, s), v in x.items() if s == r) <= max_load)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    m.Maximize(sum(x.values()))
    solver.Solve(m)
    most = round(solver.ObjectiveValue())
    m.Add(sum(x.values()) == most)
    m.Maximize(sum(int(w[p, r]) * v for (p, r), v in x.items()))
    solver.Solve(m)
    return most, round(solver.ObjectiveValue())


def _assign(n: int) -> None:
    from opencall.optim import assignment as asg

    for fam in ("load1", "one_expertise", "infeasible"):
        bad = crash = 0
        for seed in range(n):
            pb, k, max_load, w = _assign_instance(fam, seed)
            most, best = _assign_peer(pb, k, max_load, w)
            full = most == pb.n_proposals * k
            try:
                res = asg.solve_assignment(pb)
            except asg.InfeasibleAssignment:
                bad += full or pb.allow_short
                continue
            except Exception as exc:  # noqa: BLE001 (a crash is counted, not raised)
                crash += 1
                print(f"  assign {fam} {seed}: {type(exc).__name__}: {exc}")
                continue
            pairs = set(zip(res.proposals.tolist(), res.reviewers.tolist(), strict=True))
            cs = set(map(tuple, np.asarray(pb.conflicts).tolist()))
            wrong = (
                len(pairs) != len(res.proposals)
                or bool(pairs & cs)
                or bool(np.any(np.bincount(res.reviewers, minlength=pb.n_reviewers) > max_load))
                or bool(np.any(np.bincount(res.proposals, minlength=pb.n_proposals) > k))
                or (not full and not pb.allow_short)
                or len(pairs) != most
                or (pb.objective == "total" and sum(int(w[p, r]) for p, r in pairs) != best)
            )
            bad += wrong
        print(f"assign {fam}: n={n} wrong={bad} crash={crash}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", default="", help="run this checkout's src as ours")
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--ratios", default="1e4,1e5,1e6,1e7,1e9,1e12")
    ap.add_argument("--cruise", type=int, default=0)
    ap.add_argument("--fast", type=int, default=0)
    ap.add_argument("--assign", type=int, default=0)
    args = ap.parse_args()
    print(f"ours: {SRC}")
    for family in t22.FACTORS:
        _apart(family, args.seeds)
    for r in args.ratios.split(","):
        if r:
            _ratio(int(float(r)), 15)
    if args.cruise:
        _cruise(args.cruise)
    if args.fast:
        _fast(args.fast)
    if args.assign:
        _assign(args.assign)


if __name__ == "__main__":
    main()
