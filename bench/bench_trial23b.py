"""Slot placements whose weights are a ratio apart within one problem, twenty-third round
(trialopt23b): how many instances lose value against the exact peer.

Usage:
    .venv/bin/python bench/bench_trial23b.py [--src <checkout>/src] [--seeds 40]
        [--ratios 1e4,1e5,1e6,1e7,1e8,1e9,1e12]

For each ratio, ``--seeds`` instances of each base family (``items``, ``items_zone``,
``items_tight``; ``tests/optim/trial23b.py``: about half the units' weights divided by the
ratio): ours is ``solve_slots`` (default engines), the peer CP-SAT on whole weights
(``trial23b.peer``); counted: rules broken (``trial21.violations``), instances whose whole
value differs from the peer's. ``--src <main checkout>/src`` runs that checkout's code as
ours.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ``--src <main checkout>/src`` (first argument pair) runs that checkout's code as "ours"
SRC = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--src" else str(ROOT / "src")
sys.path[:0] = [SRC, str(ROOT)]

from tests.optim import trial21 as t21  # noqa: E402
from tests.optim import trial23b as t23b  # noqa: E402

from opencall.optim import slots as sl  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", default="", help="run this checkout's src as ours")
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--ratios", default="1e4,1e5,1e6,1e7,1e8,1e9,1e12")
    args = ap.parse_args()
    print(f"ours: {SRC}")
    for r in args.ratios.split(","):
        ratio = float(r)
        n = broken = differ = 0
        lost = []
        for base in t23b.BASE:
            for seed in range(args.seeds):
                p = t23b.instance(seed, base, ratio)
                res = sl.solve_slots(p, time_limit_s=60)
                n += 1
                broken += bool(t21.violations(p, res.starts))
                if t23b.value(p, set(res.starts)) != t23b.peer(p):
                    differ += 1
                    lost.append(f"{base}/{seed}")
        print(f"ratio {r}: n={n} broken={broken} differ={differ} {' '.join(lost)}", flush=True)


if __name__ == "__main__":
    main()
