"""Benchmark: a calibration (reviewer scales fitted, 200 bootstrap draws, as the reviews
calibration job runs it) with each step's bordered solve through scipy's ``cho_factor`` /
``cho_solve`` wrappers (as before speed14a) against LAPACK's ``potrf`` / ``potrs`` called
directly (now), in the same run, alternating, on the same synthetic grade sets; the two
results must be equal to the bit. CPU seconds, the least of ``--repeat`` runs.

    .venv/bin/python bench/bench_calibration_lapack.py --repeat 5
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.optim.test_calibration_fast import FIELDS, RANKS, random_grades  # noqa: E402
from tests.optim.test_calibration_lapack import scipy_reference  # noqa: E402

from opencall.optim.calibration import (
    calibrate,  # noqa: E402
    linear,  # noqa: E402
)

SIZES = [(12, 6), (40, 12), (250, 40)]  # proposals x reviewers: journeys' calls to FAST's


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    now = linear._bordered_dense_solve
    for n_p, n_r in SIZES:
        gs = random_grades(1, n_p=n_p, n_r=n_r)
        cpu: dict[str, list[float]] = {"scipy wrappers": [], "LAPACK direct": []}
        out = {}
        for _ in range(args.repeat):
            for name, solve in (("scipy wrappers", scipy_reference), ("LAPACK direct", now)):
                linear._bordered_dense_solve = solve  # type: ignore[assignment]
                t = time.process_time()
                out[name] = calibrate(gs, fit_scale=True, n_bootstrap=200, seed=0)
                cpu[name].append(time.process_time() - t)
        linear._bordered_dense_solve = now
        a, b = out["scipy wrappers"], out["LAPACK direct"]
        same = all(np.array_equal(getattr(a, f), getattr(b, f)) for f in FIELDS + RANKS)
        before, after = min(cpu["scipy wrappers"]), min(cpu["LAPACK direct"])
        print(
            f"{n_p:4d} x {n_r:3d}: scipy wrappers {before:.3f} s, LAPACK direct {after:.3f} s "
            f"({100 * (1 - after / before):.0f} % less), same bits: {same}"
        )


if __name__ == "__main__":
    main()
