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
"""

from __future__ import annotations

import argparse
import dataclasses as dc
import random
import sys
import time
from pathlib import Path

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", default="", help="run this checkout's src as ours")
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--ratios", default="1e4,1e5,1e6,1e7,1e9,1e12")
    args = ap.parse_args()
    print(f"ours: {SRC}")
    for family in t22.FACTORS:
        _apart(family, args.seeds)
    for r in args.ratios.split(","):
        if r:
            _ratio(int(float(r)), 15)


if __name__ == "__main__":
    main()
