"""Benchmark: run time of calibrate() with its bootstrap, before and after (issue 15 item 2).

Times the current ``opencall.optim.calibration.calibrate`` against another version of the same
module loaded from a file (``--before``, e.g. main's copy taken out of git), in the same run, on
the same synthetic grade sets, with the settings of the reviews calibration job (reviewer scales
fitted, 200 bootstrap replicates, seed 0), and reports the largest difference between the two
results.  BLAS is left alone (as in the worker), unless ``--blas-threads`` is given.

    git show 18a639c:src/opencall/optim/calibration.py > /tmp/calibration_before.py
    .venv/bin/python bench/bench_calibration_speed.py --before /tmp/calibration_before.py
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from types import ModuleType
from typing import Any

import numpy as np
import scipy.linalg  # noqa: F401  (load scipy's BLAS before any thread limit)

from opencall.optim import calibration as after

POINT = ("consensus", "leniency", "scale", "adjusted_grade")
INTERVALS = ("consensus_lo", "consensus_hi")
RANKS = ("rank", "rank_lo", "rank_hi")


def max_diff(a: Any, b: Any, fields: tuple[str, ...]) -> float:
    return max(float(np.max(np.abs(getattr(a, f) - getattr(b, f)))) for f in fields)


def load(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("calibration_before", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def timed(
    mod: ModuleType, n_p: int, n_r: int, k: int, args: argparse.Namespace
) -> tuple[Any, float]:
    syn = after.synthetic_grades(n_p, n_r, k, seed=0, scale_sd=0.25)
    gs = mod.GradeSet(
        proposal_idx=syn.grades.proposal_idx,
        reviewer_idx=syn.grades.reviewer_idx,
        grade=syn.grades.grade,
        n_proposals=n_p,
        n_reviewers=n_r,
        scale=mod.GradeScale(syn.grades.scale.min, syn.grades.scale.max),
    )
    t0 = time.perf_counter()
    res = mod.calibrate(gs, fit_scale=True, n_bootstrap=args.bootstrap, seed=0)
    return res, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--before", help="path of the calibration module to compare against")
    ap.add_argument("--sizes", default="223x90,907x360", help="proposals x reviewers, ...")
    ap.add_argument("--reviews", type=int, default=4, help="reviews per proposal")
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--blas-threads", type=int, default=0, help="0 = leave BLAS alone")
    args = ap.parse_args()
    if args.blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.blas_threads)
    before = load(args.before) if args.before else None
    print(
        f"calibrate(fit_scale=True, n_bootstrap={args.bootstrap}, seed=0) on synthetic grades, "
        f"{args.reviews} reviews per proposal\n"
    )
    print(
        "| proposals x reviewers | grades | before s | after s | speed-up | max diff point estimates | "
        "max diff interval ends | ranks and rank intervals equal |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for size in args.sizes.split(","):
        n_p, n_r = (int(x) for x in size.split("x"))
        res_a, t_a = timed(after, n_p, n_r, args.reviews, args)
        if before is None:
            print(
                f"| {n_p} x {n_r} | {n_p * args.reviews} | - | {t_a:.2f} | - | - | - |", flush=True
            )
            continue
        res_b, t_b = timed(before, n_p, n_r, args.reviews, args)

        same = all(np.array_equal(getattr(res_a, f), getattr(res_b, f)) for f in RANKS)
        print(
            f"| {n_p} x {n_r} | {n_p * args.reviews} | {t_b:.2f} | {t_a:.2f} | {t_b / t_a:.0f}x | "
            f"{max_diff(res_a, res_b, POINT):.1e} | {max_diff(res_a, res_b, INTERVALS):.1e} | {'yes' if same else 'no'} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
