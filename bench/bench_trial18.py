"""The optimisers on instances nobody has seen, eighteenth round (trialopt18).

Usage:
    .venv/bin/python bench/bench_trial18.py [--slots 600] [--alloc 800] [--big 12 --limit 10]
    .venv/bin/python bench/bench_trial18.py --src <main checkout>/src [--slots ...]

Slot placement (``tests/optim/trial18.py``, ``instance``): 1-3 resources of 1-12 slots
(8 h or 24 h, a ragged end), closures, a begun slot, booked slots of other proposals,
changeovers of 0-2 slots; 1-7 awards of 1 slot up to one more than the grid, unbroken or
not, bundles (together, same time), impossible dates, all colliding on two slots in a
third of the instances, weights tied. The peer is OR-Tools CP-SAT (one worker) on the model
written in the test from the problem statement; ours is ``solve_slots`` (exact, and the
greedy with ``exact=False``). Counted: rules broken (the test's checker), value below the
peer's (exact), crashes, placements that differ on a second solve, value and CPU seconds.

Allocation (``alloc_instance``): 1-3 pools of 0, 1, 2.5, 3, 7 or 1e6 units, whole or not;
1-14 requests of 1-3 units or of a whole pool, merits tied or 1-5, bundles, PI caps of 1-2,
partial awards allowed or not. The peer is ``scipy.optimize.milp`` (gap 0) on the model
written in the test; counted as above with the objective ``sum w f`` of the package doc.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# ``--src <main checkout>/src`` (first argument pair) runs main's code as "ours"
SRC = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--src" else str(ROOT / "src")
sys.path.insert(0, SRC)
sys.path.insert(1, str(ROOT))

from tests.optim import trial18 as t18  # noqa: E402

from opencall.optim import allocation as al  # noqa: E402
from opencall.optim import slots as sl  # noqa: E402


def _timed(out: dict[str, float], key: str, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, its CPU seconds added to ``out[key]``."""
    t = time.process_time()
    value = fn(*args)
    out[key] += time.process_time() - t
    return value


def _slots(n: int) -> dict[str, float]:
    out = dict.fromkeys(
        ("broken", "below", "crash", "nondet", "greedy_broken", "ours", "greedy", "peer"), 0.0
    )
    out.update(cpu_ours=0.0, cpu_greedy=0.0, cpu_peer=0.0)
    for seed in range(n):
        p = t18.instance(seed)
        best = _timed(out, "cpu_peer", t18.peer_value, p)
        out["peer"] += best
        for exact, key in ((True, "ours"), (False, "greedy")):
            t = time.process_time()
            try:
                r = sl.solve_slots(p, exact=exact, time_limit_s=20)
            except Exception:  # noqa: BLE001 - counted
                out["crash"] += 1
                continue
            out["cpu_" + key] += time.process_time() - t
            if t18.violations(p, r.starts):
                out["broken" if exact else "greedy_broken"] += 1
                continue  # a broken placement's value is not counted
            v = t18.value(p, r.starts)
            out[key] += v
            if exact and v < best - 1e-6:
                out["below"] += 1
            if exact and sl.solve_slots(p, time_limit_s=20).starts != r.starts:
                out["nondet"] += 1
    return out


def _big(n: int, limit: float) -> dict[str, float]:
    """Slot instances of 40-160 slots a resource and 8-40 awards (``instance(big=True)``):
    ours at a wall-clock limit of ``limit`` s against CP-SAT's proved optimum."""
    out = dict.fromkeys(("broken", "below", "time_limit", "ours", "greedy", "peer"), 0.0)
    out.update(cpu_ours=0.0, cpu_greedy=0.0, cpu_peer=0.0)
    for seed in range(n):
        p = t18.instance(seed, big=True)
        best = _timed(out, "cpu_peer", t18.peer_value, p)
        out["peer"] += best
        for exact, key in ((True, "ours"), (False, "greedy")):
            t = time.process_time()
            r = sl.solve_slots(p, exact=exact, time_limit_s=limit)
            out["cpu_" + key] += time.process_time() - t
            if t18.violations(p, r.starts):
                out["broken"] += 1
                continue
            out[key] += t18.value(p, r.starts)
            if exact:
                out["below"] += t18.value(p, r.starts) < best - 1e-6
                out["time_limit"] += r.method == "milp_time_limit"
                print(f"  big seed {seed}: ours {t18.value(p, r.starts):g} ({r.method}), "
                      f"peer {best:g}")  # fmt: skip
    return out


def _alloc(n: int) -> dict[str, float]:
    out = dict.fromkeys(("broken", "below", "crash", "nondet", "ours", "peer"), 0.0)
    out.update(cpu_ours=0.0, cpu_peer=0.0)
    for seed in range(n):
        p = t18.alloc_instance(seed)
        best = _timed(out, "cpu_peer", t18.alloc_peer, p)
        out["peer"] += best
        t = time.process_time()
        try:
            r = al.solve_allocation(p)
        except Exception:  # noqa: BLE001 - counted
            out["crash"] += 1
            continue
        out["cpu_ours"] += time.process_time() - t
        if t18.alloc_violations(p, r.fractions):
            out["broken"] += 1
            continue
        w = t18.alloc_weights(p)
        v = sum(wi * r.fractions[q.id] for wi, q in zip(w, p.requests, strict=True))
        out["ours"] += v
        if v < best * (1 - 1e-4) - 1e-6:
            out["below"] += 1
        if al.solve_allocation(p).fractions != r.fractions:
            out["nondet"] += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=None)
    ap.add_argument("--slots", type=int, default=600)
    ap.add_argument("--alloc", type=int, default=800)
    ap.add_argument("--big", type=int, default=0)
    ap.add_argument("--limit", type=float, default=10.0)
    args = ap.parse_args()
    print(f"code: {SRC}")
    if args.slots:
        _report(f"slots, {args.slots} instances", _slots(args.slots), "greedy")
    if args.big:
        b = _big(args.big, args.limit)
        _report(
            f"slots, {args.big} larger instances, ours limited to {args.limit:g} s", b, "greedy"
        )
    if args.alloc:
        _report(f"allocation, {args.alloc} instances", _alloc(args.alloc), "")


def _report(title: str, out: dict[str, float], other: str) -> None:
    """Every count, then ours (and ``other``) against the peer, value and CPU."""
    print(f"{title}:")
    for k, v in out.items():
        print(f"  {k:14s} {v:.3f}")
    ratios = f"  value ours / peer {out['ours'] / out['peer']:.5f}"
    if other:
        ratios += f", {other} / peer {out[other] / out['peer']:.5f}"
    print(ratios + f", CPU ours / peer {out['cpu_ours'] / out['cpu_peer']:.2f}")


if __name__ == "__main__":
    main()
