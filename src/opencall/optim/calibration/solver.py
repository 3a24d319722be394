"""``calibrate``: checks its parameters, standardises the grades, fits, bootstraps and
reports on the grade scale."""

from __future__ import annotations

import contextlib
import math
import time
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from opencall.optim import limits
from opencall.optim.arrays import FloatArray
from opencall.optim.calibration.bootstrap import _bootstrap
from opencall.optim.calibration.fit import _fit
from opencall.optim.calibration.grades import GradeScale, GradeSet
from opencall.optim.calibration.linear import _structure
from opencall.optim.calibration.ranks import _ranks, _tied_places
from opencall.optim.calibration.result import CalibrationResult

# Up to this many reviewers (+3) BLAS runs single-threaded during a calibration: the dense
# factorisations are then a millisecond or less, and a second BLAS thread only adds hand-over
# cost, which on a busy machine (worker processes sharing the cores) made each small Cholesky
# 10-30x slower than on one thread.
_SINGLE_THREAD_MAX = 1000
# Grade scales whose largest bound lies outside this range are fitted in units of that bound
# (squares of deviations stay finite and nonzero); inside it nothing changes.
_GRADE_UNIT_RANGE = (1e-100, 1e100)


def calibrate(
    grades: GradeSet,
    *,
    fit_scale: bool = False,
    leniency_shrinkage: float = 2.0,
    scale_shrinkage: float = 5.0,
    quality_shrinkage: float = 1e-3,
    scale_bounds: tuple[float, float] = (0.25, 4.0),
    n_bootstrap: int = 200,
    level: float = 0.9,
    seed: int = 0,
    max_iter: int = 100,
    tol: float = 1e-4,
    solver: str = "normal",
) -> CalibrationResult:
    """Fit the model in the module docstring and bootstrap it ``n_bootstrap`` times.

    Deterministic for a given ``seed``; never mutates ``grades``.  ``leniency_shrinkage`` and
    ``scale_shrinkage`` are the ridge weights ``lambda_b`` and ``lambda_s`` (in pseudo-grades on
    the standardised scale); ``level`` is the central coverage of the intervals.  With
    ``fit_scale`` the alternation stops when no standardised quality moves by more than ``tol``
    (the default 1e-4 lands within ~1e-4 grade units of a 2,000-sweep solution).

    Parameters
    ----------
    grades : GradeSet
        The call's grades; ``ValueError`` listing every problem when invalid.
    fit_scale : bool
        Fit each reviewer's scale ``s_r`` as well as the leniency.
    leniency_shrinkage, scale_shrinkage, quality_shrinkage : float
        The ridge weights ``lambda_b``, ``lambda_s`` and ``lambda_q`` (finite, >= 0).
    scale_bounds : tuple of (float, float)
        The range of ``s_r``: ``0 < low <= 1 <= high``.
    n_bootstrap : int
        Bootstrap replicates (0: intervals collapse to the point estimate).
    level : float
        Central coverage of the intervals, strictly between 0 and 1.
    seed : int
        Seed of the bootstrap.
    max_iter : int
        Most sweeps of the alternation (with ``fit_scale``).
    tol : float
        Stop when no standardised quality moves by more than this.
    solver : {"normal", "lsqr"}
        The linear step: the normal equations, or LSQR (the cross-check).

    Returns
    -------
    CalibrationResult
        Consensus, intervals, ranks and rank intervals per proposal, leniency and scale per
        reviewer, adjusted grades, and the parameters and timings of the run.
    """
    t0 = time.perf_counter()
    seed = limits.seed(seed)
    tol = limits.non_negative("tol", tol)
    max_iter = limits.count("max_iter", max_iter, minimum=1)
    _check_parameters(
        n_bootstrap,
        level,
        {
            "leniency_shrinkage": leniency_shrinkage,
            "scale_shrinkage": scale_shrinkage,
            "quality_shrinkage": quality_shrinkage,
        },
        solver,
        scale_bounds,
    )
    problems = grades.problems()  # GradeSet validates on creation; re-check in case of mutation
    if problems:
        raise ValueError("invalid GradeSet: " + "; ".join(problems))

    scale = grades.scale
    p = np.array(grades.proposal_idx, dtype=np.int64)
    r = np.array(grades.reviewer_idx, dtype=np.int64)
    g = np.array(grades.grade, dtype=np.float64)
    n_p, n_r, n_g = grades.n_proposals, grades.n_reviewers, g.shape[0]
    # a scale so large (or small) that squared deviations overflow (or underflow) is fitted
    # in units of its largest bound and reported back in its own: before, grades of 1e300
    # came out NaN, and grades of 1e-160 as if all equal
    size = max(abs(scale.min), abs(scale.max))
    unit = size if not _GRADE_UNIT_RANGE[0] <= size <= _GRADE_UNIT_RANGE[1] else 1.0
    if unit != 1.0:
        g = g / unit
        scale = GradeScale(scale.min / unit, scale.max / unit, scale.lower_is_better)
        size = 1.0
    w = np.ones(n_g) if grades.confidence is None else np.array(grades.confidence, np.float64)
    with np.errstate(over="ignore"):
        overflows = not math.isfinite(float(w.sum()))
    if overflows:  # weights whose sum overflows (ZeroDivisionError before): same proportions
        w = w / w.max()
    w = w / w.mean()

    oriented = scale.orient(g)
    m = float(np.average(oriented, weights=w))
    d = float(np.sqrt(np.average((oriented - m) ** 2, weights=w)))
    # grades that do not vary (relative to the scale's own size, so that grades on a scale
    # of 1e-13 are standardised as on a scale of 1) are left unscaled
    if not d > 1e-12 * max(size, abs(m)):
        d = 1.0
    y = (oriented - m) / d

    wsum_p = np.bincount(p, weights=w, minlength=n_p)
    raw_mean = np.bincount(p, weights=w * g, minlength=n_p) / wsum_p
    n_reviews = np.bincount(p, minlength=n_p).astype(np.int64)
    reviewer_n = np.bincount(r, minlength=n_r).astype(np.int64)

    st = _structure(p, r, n_p, n_r)
    opts: dict[str, Any] = {
        "fit_scale": bool(fit_scale),
        "lam_q": max(float(quality_shrinkage), 1e-9),  # floors keep the system nonsingular
        "lam_b": max(float(leniency_shrinkage), 1e-9),
        "lam_s": float(scale_shrinkage),
        "bounds": (float(scale_bounds[0]), float(scale_bounds[1])),
        "max_iter": int(max_iter),
        "tol": float(tol),
        "solver": solver,
    }
    blas = (
        threadpool_limits(1, user_api="blas")
        if n_r + 3 <= _SINGLE_THREAD_MAX
        else contextlib.nullcontext()
    )
    with blas:
        point, n_iter, converged = _fit(st, y, w, None, **opts)
        t1 = time.perf_counter()
        reps_merit, reps_best, reps_worst = _bootstrap(st, y, w, point, n_bootstrap, seed, opts)
    t2 = time.perf_counter()

    merit = point.mu + point.q  # standardised, oriented
    rank = _ranks(merit, scale.orient(raw_mean))
    # proposals the point estimate cannot tell apart (same merit, same raw mean) are ordered
    # by index alone: their intervals span every place the tie covers
    rank_lo, rank_hi = _tied_places(merit, scale.orient(raw_mean))

    alpha = (1.0 - level) / 2.0
    if n_bootstrap > 0:
        lo_m, hi_m = np.percentile(reps_merit, [100 * alpha, 100 * (1 - alpha)], axis=0)
        # a replicate's tie counts as each place it spans: the lower end from the best
        # places, the upper from the worst
        lo_r = np.percentile(reps_best, 100 * alpha, axis=0)
        hi_r = np.percentile(reps_worst, 100 * (1 - alpha), axis=0)
        rank_lo = np.minimum(np.floor(lo_r).astype(np.int64), rank_lo)
        rank_hi = np.maximum(np.ceil(hi_r).astype(np.int64), rank_hi)
    else:
        lo_m, hi_m = merit.copy(), merit.copy()
    lo_m = np.minimum(lo_m, merit)
    hi_m = np.maximum(hi_m, merit)

    def to_scale(v: FloatArray) -> FloatArray:
        return scale.orient(m + d * v)

    consensus = to_scale(merit)
    if scale.lower_is_better:  # orientation flips the interval ends
        c_lo, c_hi = to_scale(hi_m), to_scale(lo_m)
    else:
        c_lo, c_hi = to_scale(lo_m), to_scale(hi_m)
    adjusted_std = point.mu + (y - point.mu - point.b[r]) / point.s[r]
    t3 = time.perf_counter()
    # on the grade scale: a consensus (or an interval end) the model puts beyond it (a
    # harsh reviewer's top grade) is clipped to it; the ranks above come from the values
    # before clipping, so the order is kept (a monotone map, ties at most)
    lo_s, hi_s = scale.min, scale.max  # (in the units fitted)
    clipped = int(np.count_nonzero((consensus < lo_s) | (consensus > hi_s)))
    consensus = np.clip(consensus, lo_s, hi_s)
    c_lo, c_hi = np.clip(c_lo, lo_s, hi_s), np.clip(c_hi, lo_s, hi_s)
    return CalibrationResult(
        consensus=consensus * unit,
        consensus_lo=np.minimum(c_lo, consensus) * unit,
        consensus_hi=np.maximum(c_hi, consensus) * unit,
        raw_mean=raw_mean * unit,
        n_reviews=n_reviews,
        rank=rank,
        rank_lo=rank_lo,
        rank_hi=rank_hi,
        leniency=d * point.b * unit,
        scale=point.s.copy(),
        reviewer_n_grades=reviewer_n,
        adjusted_grade=to_scale(adjusted_std) * unit,
        mu=float(scale.orient(np.array([m + d * point.mu]))[0]) * unit,
        lower_is_better=scale.lower_is_better,
        level=float(level),
        n_bootstrap=int(n_bootstrap),
        n_iter=int(n_iter),
        converged=bool(converged),
        seed=int(seed),
        params={
            "fit_scale": bool(fit_scale),
            "leniency_shrinkage": float(leniency_shrinkage),
            "scale_shrinkage": float(scale_shrinkage),
            "quality_shrinkage": float(quality_shrinkage),
            "scale_bounds": (float(scale_bounds[0]), float(scale_bounds[1])),
            "max_iter": int(max_iter),
            "tol": float(tol),
            "solver": solver,
            "clipped_to_scale": clipped,
        },
        timings={"fit_s": t1 - t0, "bootstrap_s": t2 - t1, "total_s": t3 - t0},
    )


def _check_parameters(
    n_bootstrap: int,
    level: float,
    shrinkage: dict[str, float],
    solver: str,
    scale_bounds: tuple[float, float],
) -> None:
    """Raise ``ValueError`` naming the first of ``calibrate``'s parameters out of range."""
    if n_bootstrap < 0:
        raise ValueError("n_bootstrap must be >= 0")
    if not 0.0 < level < 1.0:
        raise ValueError("level must lie strictly between 0 and 1")
    for name, val in shrinkage.items():
        if not math.isfinite(val) or val < 0:
            raise ValueError(f"{name} must be finite and >= 0")
    if solver not in ("normal", "lsqr"):
        raise ValueError(f"solver must be 'normal' or 'lsqr', got {solver!r}")
    if not (0 < scale_bounds[0] <= 1.0 <= scale_bounds[1] < math.inf):
        raise ValueError("scale_bounds must satisfy 0 < low <= 1 <= high < inf")
