"""Benchmark of the fifteenth round: the FAST block scheduler at up to ten times the demo's
call, under its work limit, against an upper bound computed outside it.

Usage:
    .venv/bin/python bench/bench_trial15.py [--src <main checkout>/src] [--scales 1,2,10]
        [--limits default,none] [--days 120] [--seed 0]

Instances (``demo_like``): the demo's FAST call is 823 blocks over the default 120-day
window (``scheduling.services.schedule_telescope``); scale k is ``823 k`` blocks over the
same 120 days, made as the demo makes them (``demo.proposals``: targets asking 4..50 h,
cut into blocks of at most 4 h, 70 % of the requests splittable in chunks of at least
30 min, priorities 1..5, declinations -14..+66 deg uniform on the sphere). Scale 1 asks
about 104 % of the window, scale 10 about ten times it.

The bound (``upper_bound``): priority-weighted hours are at most the optimum of a
transportation relaxation: each block may spread its seconds over its usable pieces (its
visibility less the maintenance and the zenith margin, as the scheduler sees them; blocks
of one target and priority merged), one-hour bins of the window hold at most an hour, no
setup or slew and no contiguity. Its weights per second depend only on the priority, so
the feasible vectors form a polymatroid and the greedy by priority is optimal: the bound
is ``sum_c (6 - c) (F_c - F_{c-1})``, ``F_c`` the maximum flow (SciPy's
``maximum_flow``, integer seconds, every capacity rounded up) from the blocks of priority
``<= c``. ``F_5`` bounds the observed hours likewise.

``limit`` ``default`` is ``schedule_fast``'s ``DEFAULT_WORK_LIMIT``; ``none`` runs without
one (main's behaviour; ``--src`` runs main's code, which has no limit). CPU seconds are
``time.process_time`` of the solve alone.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--src" else str(ROOT / "src")
sys.path.insert(0, SRC)

import argparse  # noqa: E402

import numpy as np  # noqa: E402

from opencall.optim.scheduling import (  # noqa: E402
    FastBlock,
    FastScheduleProblem,
    _prepare,
    schedule_fast,
)

WINDOW_START_UNIX = 1796083200.0  # 2026-12-01T00:00:00Z
DEMO_BLOCKS = 823  # the demo's FAST call (bench/README.md, "The demo cycle changes")


def demo_like(n_blocks: int, days: float = 120.0, seed: int = 0) -> FastScheduleProblem:
    """``n_blocks`` blocks made as the demo's FAST requests are, over ``days`` days."""
    rng = np.random.default_rng(seed)
    lo, hi = np.sin(np.radians(-14.0)), np.sin(np.radians(66.0))
    blocks: list[FastBlock] = []
    target = 0
    while len(blocks) < n_blocks:
        hours = float(rng.choice([4, 6, 8, 10, 12, 15, 20, 24, 30, 40, 50])) / rng.integers(1, 4)
        ra = float(rng.uniform(0.0, 360.0))
        dec = float(np.degrees(np.arcsin(rng.uniform(lo, hi))))
        priority = int(rng.integers(1, 6))
        split = bool(rng.random() < 0.7)
        n = max(1, math.ceil(hours / 4.0 - 1e-9))
        for k in range(n):
            dur = hours / n * 3600.0
            blocks.append(
                FastBlock(
                    id=f"t{target}/{k}",
                    ra_deg=ra,
                    dec_deg=dec,
                    duration_s=float(round(dur)),
                    priority=priority,
                    max_zenith_deg=40.0,
                    splittable=split and dur > 3600,
                    min_chunk_s=1800.0,
                )
            )
        target += 1
    return FastScheduleProblem(
        window_start_unix=WINDOW_START_UNIX,
        window_end_unix=WINDOW_START_UNIX + days * 86400.0,
        blocks=tuple(blocks[:n_blocks]),
    )


def upper_bound(problem: FastScheduleProblem, bin_s: float = 3600.0) -> tuple[float, float]:
    """(priority-weighted hours, observed hours) no schedule can exceed (module docstring)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_flow

    prep = _prepare(problem)
    t0, t1 = problem.window_start_unix, problem.window_end_unix
    n_bins = math.ceil((t1 - t0) / bin_s)
    groups: dict[tuple[int, tuple[tuple[float, float], ...]], float] = {}
    for i, b in enumerate(problem.blocks):
        need = min(b.min_chunk_s, b.duration_s) if b.splittable else b.duration_s
        pieces = tuple(p for p in prep.pieces[i] if p[1] - p[0] >= need - 1e-6)
        if pieces:
            key = (b.priority, pieces)
            groups[key] = groups.get(key, 0.0) + b.duration_s
    keys = sorted(groups)
    g = len(keys)
    sink = g + n_bins + 1
    rows: list[int] = []
    cols: list[int] = []
    caps: list[int] = []
    for k, (_prio, pieces) in enumerate(keys):
        cover: dict[int, float] = {}
        for a, c in pieces:
            for j in range(int((a - t0) // bin_s), min(int((c - t0) // bin_s), n_bins - 1) + 1):
                lo_j, hi_j = t0 + j * bin_s, t0 + (j + 1) * bin_s
                ov = min(c, hi_j) - max(a, lo_j)
                if ov > 0:
                    cover[j] = cover.get(j, 0.0) + ov
        for j, ov in cover.items():
            rows.append(1 + k)
            cols.append(1 + g + j)
            caps.append(math.ceil(ov))
    for j in range(n_bins):
        rows.append(1 + g + j)
        cols.append(sink)
        caps.append(math.ceil(min(bin_s, t1 - (t0 + j * bin_s))))
    flows = [0]
    for c in range(1, 6):
        src_rows = [0] * g
        src_cols = [1 + k for k in range(g)]
        src_caps = [math.ceil(groups[key]) if key[0] <= c else 0 for key in keys]
        keep = [i for i, v in enumerate(src_caps) if v > 0]
        m = csr_matrix(
            (
                np.asarray([src_caps[i] for i in keep] + caps, dtype=np.int32),
                (
                    np.asarray([src_rows[i] for i in keep] + rows),
                    np.asarray([src_cols[i] for i in keep] + cols),
                ),
            ),
            shape=(sink + 1, sink + 1),
        )
        flows.append(int(maximum_flow(m, 0, sink).flow_value))
    weighted = sum((6 - c) * (flows[c] - flows[c - 1]) for c in range(1, 6)) / 3600.0
    return weighted, flows[5] / 3600.0


def run(n: int, days: float, seed: int, limit: str) -> dict[str, Any]:
    problem = demo_like(n, days, seed)
    kwargs: dict[str, Any] = {}
    if limit == "none" and "work_limit" in schedule_fast.__code__.co_varnames:
        kwargs["work_limit"] = None
    elif limit not in ("default", "none"):
        kwargs["work_limit"] = int(float(limit))
    c = time.process_time()
    w = time.perf_counter()
    res = schedule_fast(problem, seed=seed, **kwargs)
    cpu = time.process_time() - c
    wall = time.perf_counter() - w
    errors = res.check(problem)
    return {
        "blocks": n,
        "asked_h": sum(b.duration_s for b in problem.blocks) / 3600.0,
        "limit": limit,
        "cpu_s": cpu,
        "wall_s": wall,
        "placed": len({e.block_id for e in res.entries}),
        "weighted_h": res.priority_weighted_hours,
        "observed_h": res.observed_hours,
        "work_used": getattr(res.stats, "work_used", None),
        "reached": getattr(res.stats, "work_limit_reached", None),
        "violations": len(errors),
        "problem": problem,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--src", default=None, help="a checkout's src/ to import (first)")
    ap.add_argument("--scales", default="1,2,10")
    ap.add_argument("--limits", default="default")
    ap.add_argument("--days", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(f"code: {SRC}")
    print(
        "| scale | blocks | asked h | limit | CPU s | wall s | placed | weighted h | bound |"
        " ratio | observed h | bound | ratio | work used | limit reached | violations |"
    )
    print("|" + "---:|" * 16)
    for scale in (float(s) for s in args.scales.split(",")):
        n = round(DEMO_BLOCKS * scale)
        bound_wh, bound_obs = upper_bound(demo_like(n, args.days, args.seed))
        for limit in args.limits.split(","):
            r = run(n, args.days, args.seed, limit)
            print(
                f"| {scale:g} | {n} | {r['asked_h']:.0f} | {limit} | {r['cpu_s']:.1f} |"
                f" {r['wall_s']:.1f} | {r['placed']} | {r['weighted_h']:.1f} | {bound_wh:.1f} |"
                f" {r['weighted_h'] / bound_wh:.4f} | {r['observed_h']:.1f} | {bound_obs:.1f} |"
                f" {r['observed_h'] / bound_obs:.4f} | {r['work_used']} | {r['reached']} |"
                f" {r['violations']} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
