"""Calibration with many reviewers: the dense Cholesky of the reviewers' block against the
sparse conjugate-gradient solve used above ``_ITERATIVE_ABOVE`` reviewers, one after the
other in the same run, on synthetic grades (k reviews per proposal, reviewer leniency,
reviewer scales fitted, ``--bootstrap`` refits). Prints CPU and wall seconds of each and the
largest differences of the results.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/bench_calibration_cg.py \\
        --proposals 4476 --reviewers 1800 --bootstrap 3
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from opencall.optim.calibration import GradeScale, GradeSet, calibrate
from opencall.optim.calibration import linear as cal


def grades(n_p: int, n_r: int, k: int, seed: int = 0) -> GradeSet:
    rng = np.random.default_rng(seed)
    p = np.repeat(np.arange(n_p), k)
    r = np.concatenate([rng.choice(n_r, k, replace=False) for _ in range(n_p)])
    quality, lenient = rng.normal(size=n_p), rng.normal(0, 0.6, size=n_r)
    raw = 3 + 0.8 * (quality[p] + lenient[r] + rng.normal(0, 0.5, size=p.size))
    g = np.clip(np.round(raw * 2) / 2, 1, 5)
    conf = rng.integers(2, 6, size=p.size).astype(float)
    return GradeSet(p, r, g, n_p, n_r, GradeScale(1, 5, False), conf)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--proposals", type=int, default=4476)
    ap.add_argument("--reviewers", type=int, default=1800)
    ap.add_argument("--per-proposal", type=int, default=3)
    ap.add_argument("--bootstrap", type=int, default=3)
    args = ap.parse_args()
    gs = grades(args.proposals, args.reviewers, args.per_proposal)
    res = {}
    for name, threshold in (("dense", 10**9), ("cg", 0)):
        cal._ITERATIVE_ABOVE = threshold
        t, w = time.process_time(), time.perf_counter()
        res[name] = calibrate(gs, fit_scale=True, n_bootstrap=args.bootstrap, seed=0)
        print(
            f"{name}: cpu {time.process_time() - t:.2f} s, wall {time.perf_counter() - w:.1f} s,"
            f" {res[name].n_iter} iterations",
            flush=True,
        )
    a, c = res["dense"], res["cg"]
    for f in ("consensus", "consensus_lo", "consensus_hi", "leniency", "scale"):
        print(f"max diff {f}: {np.abs(getattr(a, f) - getattr(c, f)).max():.1e}")
    same = all(np.array_equal(getattr(a, f), getattr(c, f)) for f in ("rank", "rank_lo", "rank_hi"))
    print("ranks and rank intervals equal:", same)


if __name__ == "__main__":
    main()
