"""The optimisers on instances nobody has seen, twentieth round (trialopt20).

Usage:
    .venv/bin/python bench/bench_trial20.py [--src <checkout>/src] [--slots 8] [--alloc 100]
        [--assign 100] [--limit 60] [--families heavy,tiny,near,ties,dateline,long,many]

Slot placement (``tests/optim/trial20.py``, ``slot_instance``; ``long`` and ``many`` are
the nineteenth round's): the peer is OR-Tools CP-SAT (one worker) on the model of
``tests/optim/trial18.py``. Ours is ``solve_slots`` three times on each instance, in the same
process: the value level's engine chosen by the LP gap (``auto``, the default), and forced to
CP-SAT and to HiGHS (``optim.slots.exact.VALUE_ENGINE``). Counted per way: rules broken (the
test's checker), value below the peer's, the time limit reached, crashes; value and CPU
seconds against the peer's, and the CPU of each forced engine against the choice.

Allocation (``alloc_instance``: heavy-tailed demands, many tiny proposals, capacity near the
demand, tied merits) against ``scipy.optimize.milp`` at gap 0; assignment
(``assignment_instance``: very unequal limits, huge conflict sets, tied affinities) against
two ``milp`` solves (most reviews, then most affinity), held to ``trial20``'s own checker.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# ``--src <main checkout>/src`` (first argument pair) runs that checkout's code as "ours"
SRC = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--src" else str(ROOT / "src")
sys.path[:0] = [SRC, str(ROOT), str(ROOT / "bench")]

import numpy as np  # noqa: E402
from tests.optim import trial18 as t18  # noqa: E402
from tests.optim import trial19 as t19  # noqa: E402
from tests.optim import trial20 as t20  # noqa: E402

import bench_trial19 as b19  # noqa: E402
from opencall.optim import allocation as al  # noqa: E402
from opencall.optim import assignment as asg  # noqa: E402
from opencall.optim import slots as sl  # noqa: E402
from opencall.optim.slots import exact  # noqa: E402

WAYS = ("auto", "cp-sat", "highs")


def _instance(family: str, seed: int) -> sl.SlotProblem:
    if family in t20.SLOT_FAMILIES:
        return t20.slot_instance(seed, family)
    return t19.slot_instance(seed, family)


def _slots(family: str, n: int, limit: float) -> dict[str, float]:
    out: dict[str, float] = {"peer": 0.0, "cpu_peer": 0.0}
    for w in WAYS:
        out.update({f"{w}_{k}": 0.0 for k in ("value", "cpu", "broken", "below", "limit")})
    for seed in range(n):
        p = _instance(family, seed)
        t = time.process_time()
        best = t18.peer_value(p)
        out["cpu_peer"] += time.process_time() - t
        out["peer"] += best
        for w in WAYS:
            exact.VALUE_ENGINE = w
            t = time.process_time()
            try:
                r = sl.solve_slots(p, time_limit_s=limit)
            except Exception as exc:  # noqa: BLE001 - counted
                out[f"{w}_broken"] += 1
                print(f"  {family} {seed} {w}: {exc!r}")
                continue
            finally:
                exact.VALUE_ENGINE = "auto"
            out[f"{w}_cpu"] += time.process_time() - t
            if t18.violations(p, r.starts):
                out[f"{w}_broken"] += 1
                continue
            v = t18.value(p, r.starts)
            out[f"{w}_value"] += v
            out[f"{w}_limit"] += r.method == "milp_time_limit"
            if v < best - 1e-6:
                out[f"{w}_below"] += 1
                print(f"  {family} {seed} {w}: {v:g} ({r.method}) peer {best:g} {r.stages}")
    return out


def _slot_report(family: str, n: int, limit: float, out: dict[str, float]) -> None:
    peer = max(out["peer"], 1e-12)
    print(f"slots {family}, {n} instances, limit {limit:g} s: peer CPU {out['cpu_peer']:.2f} s")
    for w in WAYS:
        print(
            f"  {w:6s}: value / peer {out[f'{w}_value'] / peer:.5f}, below {out[f'{w}_below']:g},"
            f" broken {out[f'{w}_broken']:g}, time limit {out[f'{w}_limit']:g},"
            f" CPU {out[f'{w}_cpu']:.2f} s (/ peer {out[f'{w}_cpu'] / max(out['cpu_peer'], 1e-9):.2f},"
            f" / auto {out[f'{w}_cpu'] / max(out['auto_cpu'], 1e-9):.2f})"
        )


def _alloc_peer(family: str) -> Any:
    def peer(seed: int) -> tuple[Any, float, int]:
        p = t20.alloc_instance(seed, family)
        return p, t19.alloc_peer(p), 0

    return peer


def _alloc_ours(p: al.AllocationProblem) -> tuple[list[str], float, int]:
    r = al.solve_allocation(p)
    return t19.alloc_violations(p, r.fractions), t19.alloc_objective(p, r.fractions), 0


def _assign_peer(family: str) -> Any:
    def peer(seed: int) -> tuple[Any, float, int]:
        p = t20.assignment_instance(seed, family)
        most, best = t19.assignment_peer(p)
        return p, best, most

    return peer


def _assign_ours(p: asg.AssignmentProblem) -> tuple[list[str], float, int]:
    r = asg.solve_assignment(p)
    return t20.assignment_violations(p, r), r.total_affinity, len(r.proposals)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=None)
    ap.add_argument("--slots", type=int, default=8)
    ap.add_argument("--families", default=",".join((*t20.SLOT_FAMILIES, "long", "many")))
    ap.add_argument("--limit", type=float, default=60.0)
    ap.add_argument("--alloc", type=int, default=100)
    ap.add_argument("--assign", type=int, default=100)
    args = ap.parse_args()
    print(f"code: {SRC}")
    np.seterr(all="ignore")
    if args.slots:
        for fam in args.families.split(","):
            _slot_report(fam, args.slots, args.limit, _slots(fam, args.slots, args.limit))
    for fam in t20.ALLOC_FAMILIES if args.alloc else ():
        out = b19._compare(f"alloc {fam}", args.alloc, ("fewer",), _alloc_peer(fam), _alloc_ours)
        b19._report(f"allocation {fam}, {args.alloc} instances", out)
    for fam in t20.ASSIGN_FAMILIES if args.assign else ():
        out = b19._compare(
            f"assign {fam}", args.assign, ("fewer_reviews",), _assign_peer(fam), _assign_ours
        )
        b19._report(f"assignment {fam}, {args.assign} instances", out)


if __name__ == "__main__":
    main()
