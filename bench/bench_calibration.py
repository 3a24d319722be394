"""Benchmark: grade calibration (opencall.optim.calibration) on synthetic grades with known truth.

For each size, over a few seeds: Kendall tau between true quality and (a) the raw mean,
(b) the common peer fix "z-score each reviewer's grades, then average", (c) our additive
calibration, (d) ours with reviewer scales; the planted leniency gap between the two reviewer
groups before (residual vs raw mean) and after (adjusted grade vs consensus); run time of the
point fit and of the bootstrap; and how many proposals straddle a capacity line at 25 %.

    .venv/bin/python bench/bench_calibration.py
    .venv/bin/python bench/bench_calibration.py --sizes 400x150 --seeds 2 --bootstrap 50
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from numpy.typing import NDArray
from scipy.stats import kendalltau

from opencall.optim.calibration import GradeSet, calibrate, leniency_gap, synthetic_grades


def zscore_mean(gs: GradeSet) -> NDArray[np.float64]:
    """Peer: standardise each reviewer's grades (reviewers with one grade: centred only)."""
    r = np.asarray(gs.reviewer_idx)
    p = np.asarray(gs.proposal_idx)
    g = np.asarray(gs.grade, dtype=np.float64)
    n = np.bincount(r, minlength=gs.n_reviewers)
    mean = np.bincount(r, weights=g, minlength=gs.n_reviewers) / np.maximum(n, 1)
    var = np.bincount(r, weights=(g - mean[r]) ** 2, minlength=gs.n_reviewers) / np.maximum(n, 1)
    sd = np.where((n > 1) & (var > 1e-12), np.sqrt(var), 1.0)
    z = (g - mean[r]) / sd[r]
    out: NDArray[np.float64] = np.bincount(p, weights=z, minlength=gs.n_proposals) / np.bincount(
        p, minlength=gs.n_proposals
    )
    return out


def fmt(cols: dict[str, list[float]], key: str, digits: int = 3) -> str:
    v = cols[key]
    if len(v) == 1:
        return f"{v[0]:.{digits}f}"
    return f"{np.mean(v):.{digits}f} ({min(v):.{digits}f}..{max(v):.{digits}f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="400x150,5000x1500")
    ap.add_argument("--reviews", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--gap", type=float, default=1.0)
    ap.add_argument("--scale-sd", type=float, default=0.25)
    ap.add_argument("--scale-bootstrap", type=int, default=20, help="replicates timed with scales")
    ap.add_argument("--blas-threads", type=int, default=1, help="0 = leave BLAS alone")
    args = ap.parse_args()
    if args.blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.blas_threads)
    print(
        f"Synthetic grades on a 1-5 scale (step 0.5), quality sd 0.8, leniency sd 0.3 plus a "
        f"planted gap of {args.gap} between two random halves of the reviewers, reviewer scale "
        f"log-sd {args.scale_sd}, noise sd 0.5, {args.reviews} reviews per proposal; "
        f"{args.seeds} seeds, mean (min..max).\n"
    )
    print(
        "| proposals x reviewers | tau raw mean | tau z-score peer | tau calibrated | "
        "tau calibrated+scale | gap before | gap after | gap after (+scale) | "
        "fit s | fit+scale s | bootstrap B s | bootstrap B +scale s | discuss @25% |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes.split(","):
        n_p, n_r = (int(x) for x in size.split("x"))
        cols: dict[str, list[float]] = {}
        for seed in range(args.seeds):
            syn = synthetic_grades(
                n_p, n_r, args.reviews, seed=seed, group_gap=args.gap, scale_sd=args.scale_sd
            )
            gs, truth = syn.grades, syn.true_quality
            t0 = time.perf_counter()
            add = calibrate(gs, n_bootstrap=0)
            t1 = time.perf_counter()
            scl = calibrate(gs, n_bootstrap=0, fit_scale=True)
            t2 = time.perf_counter()
            assert add.check(gs) == [] and scl.check(gs) == []
            vals = {
                "tau_raw": kendalltau(add.raw_mean, truth)[0],
                "tau_z": kendalltau(zscore_mean(gs), truth)[0],
                "tau_cal": kendalltau(add.consensus, truth)[0],
                "tau_scale": kendalltau(scl.consensus, truth)[0],
                "gap_before": leniency_gap(gs, syn.lenient_group),
                "gap_after": leniency_gap(gs, syn.lenient_group, add),
                "gap_after_scale": leniency_gap(gs, syn.lenient_group, scl),
                "fit_s": t1 - t0,
                "fit_scale_s": t2 - t1,
            }
            if seed == 0:  # bootstrap timings and the discussion list on the first seed only
                boot = calibrate(gs, n_bootstrap=args.bootstrap, seed=0)
                assert boot.check(gs) == []
                vals["boot_s"] = boot.timings["total_s"]
                b_scale = min(args.scale_bootstrap, args.bootstrap)
                boot_s = calibrate(gs, n_bootstrap=b_scale, seed=0, fit_scale=True)
                vals["boot_scale_s"] = boot_s.timings["total_s"] * args.bootstrap / b_scale
                vals["discuss"] = float(len(boot.discuss(n_p // 4)))
            for k, v in vals.items():
                cols.setdefault(k, []).append(float(v))

        print(
            f"| {n_p} x {n_r} | {fmt(cols, 'tau_raw')} | {fmt(cols, 'tau_z')} | {fmt(cols, 'tau_cal')} | "
            f"{fmt(cols, 'tau_scale')} | {fmt(cols, 'gap_before', 2)} | {fmt(cols, 'gap_after', 2)} | "
            f"{fmt(cols, 'gap_after_scale', 2)} | {fmt(cols, 'fit_s', 2)} | {fmt(cols, 'fit_scale_s', 2)} | "
            f"{fmt(cols, 'boot_s', 1)} | {fmt(cols, 'boot_scale_s', 0)}* | {int(cols['discuss'][0])} |",
            flush=True,
        )
    print(
        f"\nB = {args.bootstrap}. *Bootstrap with scales timed on {min(args.scale_bootstrap, args.bootstrap)} replicates "
        "and scaled to B. "
        "'discuss @25%': proposals whose 90 % rank interval straddles a capacity line at a "
        "quarter of the proposals (additive model, first seed)."
    )


if __name__ == "__main__":
    main()
