"""The allocation on instances nobody has seen, twenty-third round (trialopt23).

Usage:
    .venv/bin/python bench/bench_trial23.py [--src <checkout>/src] [--seeds 60]

The six families of ``tests/optim/trial23.py`` (many tiny pools, one huge pool, identical
requests, caps that bind exactly, minimums that cannot fit, ties under caps of one),
``--seeds`` instances each, solved by ``solve_allocation`` (highspy, default gap 1e-4).
Counted per family: rules broken (``trial23.violations`` or ``AllocationResult.check``),
value more than the gap below the peer's optimum (``scipy.optimize.milp`` at a zero gap on
the docstring's model; "peer unsure" where the peer's own answer broke a rule), status
"optimal" with a reported gap above 1e-4, a request explained "capacity remained" that does
not fit or "pool(s) exhausted" that does, an answer that differs solved again or with the
requests shuffled; and the CPU seconds of ours and of the peer. ``--src <main
checkout>/src`` runs that checkout's code as ours.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses as dc
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ``--src <main checkout>/src`` (first argument pair) runs that checkout's code as "ours"
SRC = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--src" else str(ROOT / "src")
sys.path[:0] = [SRC, str(ROOT)]

from tests.optim import trial23 as t23  # noqa: E402

from opencall.optim import allocation as al  # noqa: E402

KINDS = ("broken", "below", "peer unsure", "gap", "explained", "again", "shuffled")


def _family(family: str, seeds: int) -> tuple[collections.Counter[str], float, float]:
    bad: collections.Counter[str] = collections.Counter()
    cpu = peer_cpu = 0.0
    for seed in range(seeds):
        pb = t23.instance(seed, family)
        t0 = time.process_time()
        res = al.solve_allocation(pb, seed=seed)
        cpu += time.process_time() - t0
        fr = dict(res.fractions)
        bad["broken"] += bool(t23.violations(pb, fr) or res.check(pb))
        t0 = time.process_time()
        best = t23.peer(pb)
        peer_cpu += time.process_time() - t0
        if best is None:
            bad["peer unsure"] += 1
        else:
            bad["below"] += t23.value(pb, fr) < best * (1 - 1e-4) - 1e-9
        bad["gap"] += res.status == "optimal" and res.mip_gap > 1e-4
        wrong = False
        for r in pb.requests:
            e = res.explanations[r.id]
            if e.code in (al.NOT_AWARDED_SOLVER_GAP, al.NOT_AWARDED_POOL_EXHAUSTED):
                wrong |= t23.fits(pb, fr, r) != (e.code == al.NOT_AWARDED_SOLVER_GAP)
        bad["explained"] += wrong
        bad["again"] += dict(al.solve_allocation(pb, seed=seed).fractions) != fr
        rs = list(pb.requests)
        random.Random(seed).shuffle(rs)
        res2 = al.solve_allocation(dc.replace(pb, requests=tuple(rs)), seed=seed)
        bad["shuffled"] += any(abs(res2.fractions[k] - fr[k]) > 1e-9 for k in fr)
    return bad, cpu, peer_cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=None)
    ap.add_argument("--seeds", type=int, default=60)
    args = ap.parse_args()
    print(f"ours from {SRC}")
    print("| family | n | " + " | ".join(KINDS) + " | ours CPU s | peer CPU s |")
    for family in t23.FAMILIES:
        bad, cpu, peer_cpu = _family(family, args.seeds)
        cells = " | ".join(str(bad[k]) for k in KINDS)
        print(f"| `{family}` | {args.seeds} | {cells} | {cpu:.2f} | {peer_cpu:.2f} |", flush=True)


if __name__ == "__main__":
    main()
