"""A reviewer who grades every proposal alike, through the calibration (trialchair23).

Seeded panels: ``--proposals`` proposals of true quality N(3, 0.8), 3 reviews each drawn
from ``--reviewers`` reviewers; every reviewer grades quality + N(0, 0.3), rounded to 0.1
and kept in 1..5, but reviewer 0, who gives every proposal 3. The calibration ("Calibrate
and rank": scales fitted, the leniency ridge from the grades) is run with that reviewer's
grades and without them; printed per seed: Kendall's tau of the calibrated scores with the
true quality, both ways, and the flat reviewer's fitted spread. No timing claim.

    .venv/bin/python bench/bench_flat_reviewer.py --seeds 8
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import kendalltau

from opencall.optim.calibration import GradeScale, GradeSet, calibrate, leniency_shrinkage


def _tau(p: np.ndarray, r: np.ndarray, g: np.ndarray, n_p: int, n_r: int, q: np.ndarray) -> tuple:
    gs = GradeSet(p, r, g, n_p, n_r, GradeScale(1, 5))
    res = calibrate(gs, fit_scale=True, leniency_shrinkage=leniency_shrinkage(gs), n_bootstrap=0)
    return float(kendalltau(res.consensus, q).statistic), float(res.scale[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--proposals", type=int, default=60)
    ap.add_argument("--reviewers", type=int, default=10)
    a = ap.parse_args()
    n_p, n_r = a.proposals, a.reviewers
    print("seed  tau_with  tau_without  flat_spread")
    for seed in range(a.seeds):
        rng = np.random.default_rng(seed)
        q = rng.normal(3, 0.8, n_p)
        p = np.repeat(np.arange(n_p), 3)
        r = np.concatenate([rng.choice(n_r, 3, replace=False) for _ in range(n_p)])
        g = np.clip(np.round(q[p] + rng.normal(0, 0.3, p.size), 1), 1, 5)
        g[r == 0] = 3.0
        with_flat, spread = _tau(p, r, g, n_p, n_r, q)
        keep = r != 0
        without, _ = _tau(p[keep], r[keep], g[keep], n_p, n_r, q)
        print(f"{seed:4d}  {with_flat:8.3f}  {without:11.3f}  {spread:11.3f}")


if __name__ == "__main__":
    main()
