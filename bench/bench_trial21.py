"""The optimisers on instances nobody has seen, twenty-first round (trialopt21).

Usage:
    .venv/bin/python bench/bench_trial21.py [--src <checkout>/src] [--slots 60] [--limit 60]
        [--scale 20] [--factors 1e-5,1e-7,1e-9,1e-12,1e3,1e9]

Slot placement on resources lending several items, some out of service
(``tests/optim/trial21.py``: ``items``, ``items_zone``, ``items_tight``): ours is
``solve_slots`` (default engines), the peer OR-Tools CP-SAT (one worker) on the model of
``trial21.peer``; counted per family: rules broken (``trial21.violations`` and
``optim.slots.check``), value below the peer's, the time limit reached, crashes; the value
ratio (ours / peer, each instance, least and mean) and the CPU seconds of ours and of the
peer, with their ratio. The greedy (``exact=False``) is counted the same way.

Weights rescaled (``--scale``): the first instances of each family solved with every weight
multiplied by each factor; counted, per factor, the instances whose value (divided by the
factor) or runs differ from the weights as given, and the value lost (the sum over them of
1 - scaled value / value). ``--src <main checkout>/src`` runs that checkout's code as ours.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ``--src <main checkout>/src`` (first argument pair) runs that checkout's code as "ours"
SRC = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--src" else str(ROOT / "src")
sys.path[:0] = [SRC, str(ROOT)]

from tests.optim import trial21 as t21  # noqa: E402

from opencall.optim import slots as sl  # noqa: E402


def _slots(family: str, n: int, limit: float) -> dict[str, float]:
    out = {k: 0.0 for k in ("n", "peer_cpu", "cpu", "broken", "below", "limit", "crash",
                            "g_broken", "g_below", "g_cpu")}  # fmt: skip
    ratios: list[float] = []
    g_ratios: list[float] = []
    for seed in range(n):
        p = t21.instance(seed, family)
        t = time.process_time()
        best = t21.peer(p)
        out["peer_cpu"] += time.process_time() - t
        out["n"] += 1
        for exact in (True, False):
            pre = "" if exact else "g_"
            t = time.process_time()
            try:
                res = sl.solve_slots(p, exact=exact, time_limit_s=limit)
            except Exception as exc:  # noqa: BLE001 (a crash is counted, not raised)
                out["crash"] += 1
                print(f"  {family} {seed} exact={exact}: {type(exc).__name__}: {exc}")
                continue
            out[f"{pre}cpu"] += time.process_time() - t
            if t21.violations(p, res.starts) or sl.check(p, res.starts):
                out[f"{pre}broken"] += 1
            if res.value < best - 1e-6:
                out[f"{pre}below"] += 1
            if exact and res.method != "milp":
                out["limit"] += 1
            if best > 0:
                (ratios if exact else g_ratios).append(res.value / best)
    out["ratio_min"] = min(ratios, default=1.0)
    out["ratio_mean"] = sum(ratios) / max(len(ratios), 1)
    out["g_ratio_mean"] = sum(g_ratios) / max(len(g_ratios), 1)
    return out


def _scaled(p: sl.SlotProblem, f: float) -> sl.SlotProblem:
    awards = tuple(dataclasses.replace(a, weight=a.weight * f) for a in p.awards)
    return sl.SlotProblem(p.resources, awards)


def _scale(n: int, factors: list[float]) -> None:
    print("| factor | instances | value or runs differ | value lost (sum of 1 - scaled/given) |")
    print("|---|---|---|---|")
    base = {}
    for family in t21.FAMILIES:
        for seed in range(n):
            p = t21.instance(seed, family)
            base[(family, seed)] = (p, sl.solve_slots(p))
    for f in factors:
        differ, lost = 0, 0.0
        for p, b in base.values():
            r = sl.solve_slots(_scaled(p, f))
            v = r.value / f
            if abs(v - b.value) > 1e-9 * max(1.0, b.value) or r.runs != b.runs:
                differ += 1
                lost += 1.0 - v / b.value if b.value > 0 else 0.0
        print(f"| {f:g} | {len(base)} | {differ} | {lost:.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    for name, kind, default in (("src", str, None), ("slots", int, 60), ("limit", float, 60.0),
                                ("scale", int, 20), ("factors", str, "1e-5,1e-7,1e-9,1e-12,1e3,1e9")):  # fmt: skip
        ap.add_argument(f"--{name}", type=kind, default=default)
    args = ap.parse_args()
    print(f"code: {SRC}")
    if args.slots:
        print("| family | n | broken | below peer | time limit | crashes | value ratio min "
              "| mean | CPU ours s | CPU peer s | ours / peer | greedy broken | greedy below "
              "| greedy ratio mean |")  # fmt: skip
        print("|---" * 14 + "|")
        for family in t21.FAMILIES:
            o = _slots(family, args.slots, args.limit)
            print(f"| {family} | {o['n']:.0f} | {o['broken']:.0f} | {o['below']:.0f} "
                  f"| {o['limit']:.0f} | {o['crash']:.0f} | {o['ratio_min']:.5f} "
                  f"| {o['ratio_mean']:.5f} | {o['cpu']:.2f} | {o['peer_cpu']:.2f} "
                  f"| {o['cpu'] / max(o['peer_cpu'], 1e-9):.2f} | {o['g_broken']:.0f} "
                  f"| {o['g_below']:.0f} | {o['g_ratio_mean']:.5f} |")  # fmt: skip
    if args.scale:
        _scale(args.scale, [float(x) for x in args.factors.split(",")])


if __name__ == "__main__":
    main()
