"""The optimisers on instances nobody has seen, nineteenth round (trialopt19).

Usage:
    .venv/bin/python bench/bench_trial19.py [--src <checkout>/src] [--slots 40] [--alloc 400]
        [--assign 300] [--limit 10] [--families long,many,tight,zones]

Slot placement (``tests/optim/trial19.py``, ``slot_instance``): families ``long`` (unbroken
blocks of 6-40 slots on 1-2 resources of 40-120 slots), ``many`` (6-10 resources, 10-30
short awards, bundles), ``tight`` (each award possible only in a window 0-3 slots wider
than itself), ``zones`` (resources kept in Berlin, New York, Sydney, Chatham or Kolkata
time across a change of the clocks, 1-24 h slots). The peer is OR-Tools CP-SAT (one
worker) on the model of ``tests/optim/trial18.py`` (the zones' grid by
``trial19.zone_grid``); ours is ``solve_slots`` at a wall-clock limit of ``--limit`` s, and the greedy. Counted: rules
broken (the test's checker), value below the peer's, the time limit reached, crashes;
value and CPU seconds, ours / peer.

Allocation (``alloc_instance``): a TAC chair's fixed order (accept band first, reserve and
reject out, scores by place), awards and amounts held from earlier rounds, per-PI caps,
a per-proposal limit; the peer ``scipy.optimize.milp`` at gap 0.

Assignment (``assignment_instance``): languages forbid most pairs, conflicts, yearly
limits left of 0-4, ``allow_short``; the peer two ``milp`` solves (most reviews, then
most affinity).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# ``--src <main checkout>/src`` (first argument pair) runs that checkout's code as "ours"
SRC = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--src" else str(ROOT / "src")
sys.path.insert(0, SRC)
sys.path.insert(1, str(ROOT))

import numpy as np  # noqa: E402
from tests.optim import trial18 as t18  # noqa: E402
from tests.optim import trial19 as t19  # noqa: E402

from opencall.optim import allocation as al  # noqa: E402
from opencall.optim import assignment as asg  # noqa: E402
from opencall.optim import slots as sl  # noqa: E402


def _slots(family: str, n: int, limit: float) -> dict[str, float]:
    out = dict.fromkeys(("broken", "below", "time_limit", "crash", "ours", "greedy", "peer"), 0.0)
    out.update(cpu_ours=0.0, cpu_greedy=0.0, cpu_peer=0.0)
    for seed in range(n):
        p = t19.slot_instance(seed, family)
        t = time.process_time()
        best = t18.peer_value(p)
        out["cpu_peer"] += time.process_time() - t
        out["peer"] += best
        for exact, key in ((True, "ours"), (False, "greedy")):
            t = time.process_time()
            try:
                r = sl.solve_slots(p, exact=exact, time_limit_s=limit)
            except Exception as exc:  # noqa: BLE001 - counted
                out["crash"] += 1
                print(f"  {family} {seed}: {exc!r}")
                continue
            out["cpu_" + key] += time.process_time() - t
            errs = t18.violations(p, r.starts)
            if errs:
                out["broken"] += exact
                print(f"  {family} {seed} ({'exact' if exact else 'greedy'}): {errs[:2]}")
                continue
            v = t18.value(p, r.starts)
            out[key] += v
            if exact:
                out["time_limit"] += r.method == "milp_time_limit"
                if v < best - 1e-6:
                    out["below"] += 1
                    print(f"  {family} {seed}: ours {v:g} ({r.method}) peer {best:g}")
    return out


def _compare(
    what: str,
    n: int,
    keys: tuple[str, ...],
    peer: Callable[[int], tuple[Any, float, int]],
    ours: Callable[[Any], tuple[list[str], float, int]],
) -> dict[str, float]:
    """``n`` instances: ``peer(seed)`` gives the instance, the peer's value and count (of
    reviews; 0 where none is counted), ``ours(instance)`` the rules broken, our value and
    count; CPU seconds of both, value below the peer's (1e-4 relative) counted."""
    out = dict.fromkeys(("broken", *keys, "below", "crash", "ours", "peer"), 0.0)
    out.update(cpu_ours=0.0, cpu_peer=0.0)
    for seed in range(n):
        t = time.process_time()
        p, best, most = peer(seed)
        out["cpu_peer"] += time.process_time() - t
        out["peer"] += best
        t = time.process_time()
        try:
            errs, v, got = ours(p)
        except Exception as exc:  # noqa: BLE001 - counted
            out["crash"] += 1
            print(f"  {what} {seed}: {exc!r}")
            continue
        out["cpu_ours"] += time.process_time() - t
        if errs:
            out["broken"] += 1
            print(f"  {what} {seed}: {errs[:2]}")
            continue
        out["ours"] += v
        if got < most:
            out[keys[0]] += 1
            print(f"  {what} {seed}: {got} reviews, peer {most}")
        elif v < best * (1 - 1e-4) - 1e-6:
            out["below"] += 1
            print(f"  {what} {seed}: ours {v:.4f} peer {best:.4f}")
    return out


def _alloc_peer(seed: int) -> tuple[Any, float, int]:
    p = t19.alloc_instance(seed)
    return p, t19.alloc_peer(p), 0


def _alloc_ours(p: al.AllocationProblem) -> tuple[list[str], float, int]:
    r = al.solve_allocation(p)
    return t19.alloc_violations(p, r.fractions), t19.alloc_objective(p, r.fractions), 0


def _assign_peer(seed: int) -> tuple[Any, float, int]:
    p = t19.assignment_instance(seed)
    most, best = t19.assignment_peer(p)
    return p, best, most


def _assign_ours(p: asg.AssignmentProblem) -> tuple[list[str], float, int]:
    r = asg.solve_assignment(p)
    return r.check(p), r.total_affinity, len(r.proposals)


def _report(title: str, out: dict[str, float], other: str = "") -> None:
    """The counts and sums on one line, then the ratios to the peer (value and CPU)."""
    print(f"{title}:\n  " + ", ".join(f"{k} {v:.3f}" for k, v in out.items()))
    peer = max(out["peer"], 1e-12)
    shares = [f"value ours / peer {out['ours'] / peer:.5f}"]
    shares += [f"{other} / peer {out[other] / peer:.5f}"] if other else []
    shares.append(f"CPU ours / peer {out['cpu_ours'] / max(out['cpu_peer'], 1e-9):.2f}")
    print("  " + ", ".join(shares))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=None)
    ap.add_argument("--slots", type=int, default=40)
    ap.add_argument("--families", default=",".join(t19.FAMILIES))
    ap.add_argument("--limit", type=float, default=10.0)
    ap.add_argument("--alloc", type=int, default=400)
    ap.add_argument("--assign", type=int, default=300)
    args = ap.parse_args()
    print(f"code: {SRC}")
    np.seterr(all="ignore")
    if args.slots:
        for fam in args.families.split(","):
            _report(f"slots {fam}, {args.slots} instances, limit {args.limit:g} s",
                    _slots(fam, args.slots, args.limit), "greedy")  # fmt: skip
    if args.alloc:
        out = _compare("alloc", args.alloc, ("fewer",), _alloc_peer, _alloc_ours)
        _report(f"allocation, {args.alloc} instances", out)
    if args.assign:
        out = _compare("assign", args.assign, ("fewer_reviews",), _assign_peer, _assign_ours)
        _report(f"assignment, {args.assign} instances", out)


if __name__ == "__main__":
    main()
