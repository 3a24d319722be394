"""Benchmark: reviewer assignment with missing reviews allowed (``allow_short``).

The instances of ``bench_assignment.py`` (topic mixtures, cosine affinity, ~1 % conflicts,
k = 3), solved three ways, each in this process, CPU seconds of this process:

  strict        the feasible instance, ``allow_short=False`` (the baseline)
  short-ok      the same instance with ``allow_short=True`` (nothing is missing: the cost
                of the extra arcs and the larger cost range)
  short-hard    ``allow_short=True`` on an awkward variant: 1 % of the proposals
                conflicted with every reviewer, and the loads cut so that the capacity is
                95 % of the reviews needed (so reviews must go missing)

Every row is checked: ``check()`` passes, the result is certified (gap 0), and for
short-hard the missing reviews are at least the plain lower bound any assignment has
(the larger of k per fully conflicted proposal and the capacity deficit).

    .venv/bin/python bench/bench_assignment_short.py --sizes 2000x1500,5000x4000
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from bench_assignment import instance  # noqa: E402
from opencall.optim.assignment import AssignmentProblem, TopicAffinity, solve_assignment


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(P: int, R: int, seed: int = 0) -> list[str]:
    inst = instance(P, R, seed)
    aff = TopicAffinity(inst["pt"], inst["rt"])
    rows = []
    rng = np.random.default_rng(seed + 1)
    blocked = rng.choice(P, max(1, P // 100), replace=False)
    full = np.stack([np.repeat(blocked, R), np.tile(np.arange(R), len(blocked))], 1)
    need = 3 * P
    loads = np.full(R, inst["max_load"], np.int64)
    # cut the loads, largest first, until the capacity is 95 % of the reviews needed
    cap = int(0.95 * need)
    base, extra = divmod(cap, R)
    loads = np.minimum(loads, base + (np.arange(R) < extra))
    cases = {
        "strict": dict(conflicts=inst["conflicts"], max_load=inst["max_load"]),
        "short-ok": dict(conflicts=inst["conflicts"], max_load=inst["max_load"], allow_short=True),
        "short-hard": dict(
            conflicts=np.concatenate([inst["conflicts"], full]), max_load=loads, allow_short=True
        ),
    }
    for name, kw in cases.items():
        pb = AssignmentProblem(P, R, aff, k=3, seed=seed, **kw)  # type: ignore[arg-type]
        t0, c0 = time.perf_counter(), _cpu()
        res = solve_assignment(pb)
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
        assert res.check(pb) == [], res.check(pb)
        missing = int(res.short.sum())
        floor = max(3 * len(blocked), need - int(loads.sum())) if name == "short-hard" else 0
        assert missing >= floor
        rows.append(
            f"| {P}x{R} | {name} | {wall:.2f} | {cpu:.2f} | {res.total_affinity:.4f} | "
            f"{res.upper_bound:.4f} | {res.gap:.2g} | {res.certified} | {missing} | {floor} | "
            f"{int((res.short > 0).sum())} |"
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="2000x1500,5000x4000")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print(
        "| size | case | wall s | cpu s | total affinity | bound | gap | certified | "
        "reviews missing | lower bound on missing | proposals short |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for s in a.sizes.split(","):
        P, R = (int(x) for x in s.split("x"))
        for row in run(P, R, a.seed):
            print(row, flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak RSS {peak:.2f} GiB (all sizes, one process)")


if __name__ == "__main__":
    main()
