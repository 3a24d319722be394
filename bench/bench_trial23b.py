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

``--ship N``: ``N`` seeded sample-loan plans (``plan_shipments``: 1-4 types of 0-20 mg,
or of 0, 1e-9, 1 to 1e6 mg; 1-10 loans of 0.5-5 mg, or of 1e-9 to 1e6 mg, some partial;
merits equal, or 1e-12 to 1e12), each held to ``ShipmentPlan.check``, to "no loan left out
that fits whole in what is left", and to the same shipments with the loans and the types
given in reverse order; counted: plans failing any.
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


def _ship(n_plans: int) -> None:
    import random

    from opencall.optim.logistics import samples as smp

    n = bad = 0
    for seed in range(n_plans):
        rng, fam = random.Random(seed), seed % 4
        sizes = [0.0, 0.0, 1.0, 5.0, 10.0, 1e-9, 1e6]
        types = tuple(smp.SampleType(f"t{j}", rng.choice(sizes) if fam == 0
                                     else float(rng.randint(0, 20)))
                      for j in range(rng.randint(1, 4)))  # fmt: skip
        loans = []
        for i in range(rng.randint(1, 10)):
            ms = {t.id: float(rng.choice([0.5, 1, 2, 5])) if fam != 1 else rng.choice([1e-9, 1.0, 1e6])
                  for t in types if rng.random() < 0.6}  # fmt: skip
            merit = 1.0 if fam == 2 else rng.choice([1, 2, 3, 1e-12, 1e12])
            loans.append(smp.SampleLoan(f"l{i}", merit, f"u{i % 3}", ms or {"t0": 1.0},
                                        min_fraction=rng.choice([1.0, 1.0, 0.5, 0.1])))  # fmt: skip
        pb = smp.SampleProblem(types, tuple(loans))
        plan = smp.plan_shipments(pb)
        n += 1
        left = dict(plan.remaining_mg)
        shipped = {s.loan_id for s in plan.shipments}
        fits = any(
            loan.id not in shipped and all(mg < left.get(t, 0.0) * (1 - 1e-9) for t, mg in loan.masses.items())
            for loan in loans
        )  # fmt: skip
        rev = smp.plan_shipments(smp.SampleProblem(types[::-1], tuple(loans[::-1])))
        same = {s.loan_id: (s.fraction, s.items) for s in rev.shipments} == {
            s.loan_id: (s.fraction, s.items) for s in plan.shipments
        }
        bad += bool(plan.check(pb)) or fits or not same
    print(f"ship: n={n} bad={bad}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", default="", help="run this checkout's src as ours")
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--ratios", default="1e4,1e5,1e6,1e7,1e8,1e9,1e12")
    ap.add_argument("--ship", type=int, default=0)
    args = ap.parse_args()
    print(f"ours: {SRC}")
    for r in filter(None, args.ratios.split(",")):
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
    if args.ship:
        _ship(args.ship)


if __name__ == "__main__":
    main()
