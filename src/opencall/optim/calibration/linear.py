"""Calibration of review grades for reviewer leniency and scale, with bootstrap uncertainty.

Model
-----
Grades are first oriented so that higher is better (for FAST/ESO-style scales where a lower grade
is better, ``g -> min + max - g``) and standardised (weighted mean ``m``, standard deviation
``d``).  For review ``i`` of proposal ``p`` by reviewer ``r`` with weight ``w_i`` (the optional
confidence, rescaled to mean 1)::

    y_i = mu + s_r * q_p + b_r + e_i

* ``q_p`` -- quality of proposal ``p`` (the quantity we rank on);
* ``b_r`` -- leniency of reviewer ``r`` (positive: grades more favourably than peers);
* ``s_r`` -- scale of reviewer ``r`` (how widely they spread their grades); fixed to 1 unless
  ``fit_scale=True``.

The estimate minimises the penalised weighted least-squares objective::

    sum_i w_i (y_i - mu - s_r q_p - b_r)^2
        + lambda_b sum_r b_r^2 + lambda_s sum_r (log s_r)^2 + lambda_q sum_p q_p^2

The ridge terms shrink a reviewer with few grades toward "average" (``b = 0``, ``s = 1``), so one
or two grades never produce a large correction: ``lambda_b`` reads as a number of pseudo-grades
given at the consensus.  ``lambda_q`` is tiny and only fixes the ``mu``/``q`` split.
Identifiability: ``sum_r b_r = 0`` and ``sum_p q_p = 0`` (exact constraints, so ``mu`` is the
grand mean and ``b_r`` the leniency at average quality, also when scales are fitted).

Solution: for fixed ``s``, the problem is linear in ``(mu, q, b)``.  The default solver
(``solver="normal"``) forms the sparse normal equations, eliminates ``q`` (its block is diagonal)
and factorises the reviewers' Schur complement, bordered by Lagrange rows for the two
sum-to-zero constraints.  Up to a few thousand reviewers that bordered system is assembled
densely from index arrays built once per grade set (every same-proposal pair of reviews), so
a step, and a bootstrap replicate (integer weights on the reviews), costs a few ``bincount``s
and one dense Cholesky, with BLAS on one thread; above that it is built as a sparse matrix and
factorised with SuperLU.  ``solver="lsqr"`` solves the stacked sparse system
(data rows scaled by ``sqrt(w)``, ridge rows, constraint rows) with
``scipy.sparse.linalg.lsqr`` and serves as a cross-check.  With ``fit_scale=True`` this
alternates with an ``s``-step: for fixed ``(mu, q)`` each reviewer's ``(s_r, b_r)`` minimises a
1-D function of ``t = log s_r`` after profiling ``b_r`` out; it is minimised globally on a grid
over ``scale_bounds`` and refined by safeguarded Newton steps, followed by an exact step along
the near-gauge direction ``q -> c q, s -> s / c``.  No step increases the objective.

Outputs (:class:`CalibrationResult`) are reported on the original scale and orientation:
``consensus_p = m + d (mu + q_p)`` (the grade a typical reviewer, ``b = 0``, ``s = 1``, would
give), ``leniency_r = d b_r`` in grade units (positive = more favourable, whatever the
orientation), and adjusted per-review grades ``m + d (mu + (y_i - mu - b_r) / s_r)``.

Uncertainty: a stratified bootstrap resamples, with replacement, the reviews of each proposal
(so every proposal keeps as many reviews as it had), refits the whole model (reviewer effects
included, warm-started), and records each proposal's consensus and rank.  Percentile intervals
at ``level`` (default 90 %: the 5-95 % range) are widened, if needed, to contain the point
estimate.  Proposals tied (in a replicate, or in the point estimate on both consensus and raw
mean) are told apart by no grade, only by their index: a tie counts as every place it spans,
so ten proposals with the same grades each have the rank interval 1-10 (before, 1-1, 2-2,
..., and none was flagged at a capacity line between them).  :meth:`CalibrationResult.discuss` lists the proposals whose rank interval straddles a
capacity line.  A proposal with a single review has only the variability that comes from its
reviewer's effect: bootstrap intervals are narrow there by construction.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from opencall.optim import limits
from opencall.optim.arrays import FloatArray, IntArray

__all__ = [
    "CalibrationResult",
    "GradeScale",
    "GradeSet",
    "SyntheticGrades",
    "calibrate",
    "leniency_gap",
    "synthetic_grades",
]


_DENSE_SCHUR_MAX = 6000  # reviewers (+3) up to which the reduced system is solved densely
# Above this many reviewers the reviewers' block of the reduced system is assembled sparse
# from the pair arrays and solved by preconditioned conjugate gradients: each reviewer
# shares proposals with a few dozen others, so the block has O(R) nonzeros, while the dense
# Cholesky costs R^3/3 per step (at 1,800 reviewers 5 of the 8 s of a fit; a conference's
# 7,200 would take hours with 200 bootstrap refits). The solution agrees with the dense
# one to rounding (tested); below the threshold nothing changes.
_ITERATIVE_ABOVE = 1000
_CG_RTOL = 1e-13
# True: rebuild the sparse normal equations in every step (the straightforward reference the
# tests and bench/bench_calibration.py --reference compare the fast assembly against)
_REBUILD_EACH_STEP = False
# Up to this many reviewers (+3) BLAS runs single-threaded during a calibration: the dense
# factorisations are then a millisecond or less, and a second BLAS thread only adds hand-over
# cost, which on a busy machine (worker processes sharing the cores) made each small Cholesky
# 10-30x slower than on one thread.
_SINGLE_THREAD_MAX = 1000
# Grade scales whose largest bound lies outside this range are fitted in units of that bound
# (squares of deviations stay finite and nonzero); inside it nothing changes.
_GRADE_UNIT_RANGE = (1e-100, 1e100)


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class GradeScale:
    """Grade range and orientation (``lower_is_better`` for FAST/ESO-style 1 = best scales)."""

    min: float
    max: float
    lower_is_better: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.min) and math.isfinite(self.max)) or self.min >= self.max:
            raise ValueError(f"grade scale needs finite min < max, got [{self.min}, {self.max}]")

    def orient(self, grades: FloatArray) -> FloatArray:
        """Map grades to the higher-is-better orientation (an involution)."""
        g = np.asarray(grades, dtype=np.float64)
        return (self.min + self.max) - g if self.lower_is_better else g.copy()


@dataclass(frozen=True, eq=False)
class GradeSet:
    """All grades of one call: review ``i`` is ``grade[i]`` given by ``reviewer_idx[i]`` to
    ``proposal_idx[i]``; ``confidence`` (optional, > 0) weights the reviews.

    Every proposal ``0 .. n_proposals-1`` needs at least one grade; reviewers may have none.
    Invalid input raises ``ValueError`` listing every problem.
    """

    proposal_idx: IntArray
    reviewer_idx: IntArray
    grade: FloatArray
    n_proposals: int
    n_reviewers: int
    scale: GradeScale
    confidence: FloatArray | None = None

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("invalid GradeSet: " + "; ".join(problems))

    @property
    def n_grades(self) -> int:
        return int(np.asarray(self.grade).shape[0])

    def problems(self) -> list[str]:
        out: list[str] = []
        p = np.asarray(self.proposal_idx)
        r = np.asarray(self.reviewer_idx)
        g = np.asarray(self.grade)
        if self.n_proposals < 1 or self.n_reviewers < 1:
            out.append("n_proposals and n_reviewers must be >= 1")
            return out
        if p.ndim != 1 or r.ndim != 1 or g.ndim != 1:
            out.append("proposal_idx, reviewer_idx and grade must be 1-D")
            return out
        if not (p.shape == r.shape == g.shape):
            out.append(
                f"lengths differ: proposal_idx {p.shape}, reviewer_idx {r.shape}, grade {g.shape}"
            )
            return out
        if p.size == 0:
            out.append("no grades")
            return out
        if not np.issubdtype(p.dtype, np.integer) or not np.issubdtype(r.dtype, np.integer):
            out.append("proposal_idx and reviewer_idx must be integer arrays")
            return out
        if p.min() < 0 or p.max() >= self.n_proposals:
            out.append(f"proposal_idx outside 0..{self.n_proposals - 1}")
        if r.min() < 0 or r.max() >= self.n_reviewers:
            out.append(f"reviewer_idx outside 0..{self.n_reviewers - 1}")
        if not np.all(np.isfinite(g)):
            out.append("grades must be finite")
        elif g.min() < self.scale.min or g.max() > self.scale.max:
            out.append(
                f"grades outside the scale [{self.scale.min}, {self.scale.max}]: "
                f"min {g.min()}, max {g.max()}"
            )
        if self.confidence is not None:
            c = np.asarray(self.confidence)
            if c.shape != g.shape:
                out.append(f"confidence has shape {c.shape}, expected {g.shape}")
            elif not np.all(np.isfinite(c)) or c.min() <= 0:
                out.append("confidence weights must be finite and > 0")
        if not out:
            counts = np.bincount(p, minlength=self.n_proposals)
            missing = np.flatnonzero(counts == 0)
            if missing.size:
                shown = ", ".join(str(int(i)) for i in missing[:10])
                more = "" if missing.size <= 10 else f" (+{missing.size - 10} more)"
                out.append(
                    f"proposals without any grade: {shown}{more}; drop them before calibrating"
                )
        return out


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True, eq=False)
class CalibrationResult:
    """Calibrated consensus with uncertainty; arrays are per proposal unless noted.

    Ranks are 1-based (1 = best).  ``consensus``/``raw_mean`` are on the original scale and
    orientation; ``leniency`` (per reviewer) is in grade units, positive = more favourable.
    """

    consensus: FloatArray
    consensus_lo: FloatArray
    consensus_hi: FloatArray
    raw_mean: FloatArray
    n_reviews: IntArray
    rank: IntArray
    rank_lo: IntArray
    rank_hi: IntArray
    leniency: FloatArray  # per reviewer
    scale: FloatArray  # per reviewer
    reviewer_n_grades: IntArray  # per reviewer
    adjusted_grade: FloatArray  # per review
    mu: float
    lower_is_better: bool
    level: float
    n_bootstrap: int
    n_iter: int
    converged: bool
    seed: int
    params: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def n_proposals(self) -> int:
        return int(self.consensus.shape[0])

    @property
    def oriented_consensus(self) -> FloatArray:
        """Consensus with higher = better whatever the scale's orientation."""
        return -self.consensus if self.lower_is_better else self.consensus.copy()

    def order(self) -> IntArray:
        """Proposal indices from best to worst."""
        return np.argsort(self.rank, kind="stable").astype(np.int64)

    def discuss(self, cutoff: int) -> IntArray:
        """Proposals whose rank interval straddles ``cutoff`` (capacity: the number of proposals
        that fit), i.e. ``rank_lo <= cutoff < rank_hi``: inside the line in some bootstrap
        replicates and outside in others.  Ordered by point rank."""
        if int(cutoff) != cutoff or cutoff < 0:
            raise ValueError(f"cutoff must be a non-negative integer, got {cutoff!r}")
        sel = np.flatnonzero((self.rank_lo <= cutoff) & (self.rank_hi > cutoff))
        return sel[np.argsort(self.rank[sel], kind="stable")].astype(np.int64)

    def check(self, problem: GradeSet) -> list[str]:
        """Consistency problems against ``problem``; empty list when sound."""
        out: list[str] = []
        n_p, n_r, n_g = problem.n_proposals, problem.n_reviewers, problem.n_grades
        per_p = {
            "consensus": self.consensus,
            "consensus_lo": self.consensus_lo,
            "consensus_hi": self.consensus_hi,
            "raw_mean": self.raw_mean,
            "n_reviews": self.n_reviews,
            "rank": self.rank,
            "rank_lo": self.rank_lo,
            "rank_hi": self.rank_hi,
        }
        per_r = {
            "leniency": self.leniency,
            "scale": self.scale,
            "reviewer_n_grades": self.reviewer_n_grades,
        }
        for name, arr in per_p.items():
            if np.asarray(arr).shape != (n_p,):
                out.append(f"{name} has shape {np.asarray(arr).shape}, expected ({n_p},)")
        for name, arr in per_r.items():
            if np.asarray(arr).shape != (n_r,):
                out.append(f"{name} has shape {np.asarray(arr).shape}, expected ({n_r},)")
        if self.adjusted_grade.shape != (n_g,):
            out.append(f"adjusted_grade has shape {self.adjusted_grade.shape}, expected ({n_g},)")
        if out:
            return out
        for name, arr in {**per_p, **per_r, "adjusted_grade": self.adjusted_grade}.items():
            if not np.all(np.isfinite(arr)):
                out.append(f"{name} has non-finite values")
        if out:
            return out
        eps = 1e-9 * max(1.0, abs(problem.scale.max) + abs(problem.scale.min))
        if np.any(self.consensus_lo > self.consensus + eps) or np.any(
            self.consensus_hi < self.consensus - eps
        ):
            out.append("a consensus interval does not contain its point estimate")
        if not np.array_equal(np.sort(self.rank), np.arange(1, n_p + 1)):
            out.append("ranks are not a permutation of 1..n_proposals")
        if np.any(self.rank_lo > self.rank) or np.any(self.rank_hi < self.rank):
            out.append("a rank interval does not contain its point rank")
        if np.any(self.rank_lo < 1) or np.any(self.rank_hi > n_p):
            out.append("rank interval outside 1..n_proposals")
        merit = self.oriented_consensus[self.order()]
        if np.any(np.diff(merit) > eps):
            out.append("ranks do not follow the consensus")
        if np.any(self.scale <= 0):
            out.append("reviewer scale must be > 0")
        spread = problem.scale.max - problem.scale.min
        if abs(float(self.leniency.sum())) > 1e-5 * spread * max(1, n_r):
            out.append(f"leniencies do not sum to zero ({float(self.leniency.sum()):.3g})")
        counts = np.bincount(np.asarray(problem.proposal_idx), minlength=n_p)
        if not np.array_equal(counts, self.n_reviews):
            out.append("n_reviews does not match the grade set")
        return out


# --------------------------------------------------------------------------- solver


@dataclass(frozen=True)
class _Pairs:
    """Every ordered pair ``(i, j)`` of reviews of the same proposal (``i == j`` included), built
    once per grade set: the reviewers' block of ``C^T D^-1 C`` in the normal equations is one
    ``bincount`` over these pairs, whatever the weights of a bootstrap replicate."""

    i: IntArray
    j: IntArray
    p: IntArray  # proposal of the pair
    rr: IntArray  # flat index r_i * n_r + r_j into the reviewers' block


@dataclass(frozen=True)
class _Structure:
    p: IntArray
    r: IntArray
    n_p: int
    n_r: int
    rows: IntArray
    cols: IntArray
    n_rows: int
    pairs: _Pairs | None = None


_MAX_PAIRS = 20_000_000  # above this many same-proposal review pairs, rebuild the sparse system


def _pairs(p: IntArray, r: IntArray, n_p: int, n_r: int) -> _Pairs | None:
    """Same-proposal review pairs (see :class:`_Pairs`), or None when the dense reduced
    system is not used (too many reviewers) or the pairs would not fit comfortably in memory."""
    if n_r + 3 > _DENSE_SCHUR_MAX and n_r <= _ITERATIVE_ABOVE:
        return None
    cnt = np.bincount(p, minlength=n_p).astype(np.int64)
    n_pairs = int(np.dot(cnt, cnt))
    if n_pairs > _MAX_PAIRS:
        return None
    order = np.argsort(p, kind="stable")
    start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
    k = cnt[p[order]]  # size of the group of each review, in sorted order
    pi = np.repeat(order, k)
    offs = np.arange(n_pairs, dtype=np.int64) - np.repeat(np.cumsum(k) - k, k)
    pj = order[start[p[pi]] + offs]
    return _Pairs(i=pi, j=pj, p=p[pi], rr=r[pi] * n_r + r[pj])


def _structure(p: IntArray, r: IntArray, n_p: int, n_r: int) -> _Structure:
    """Sparsity pattern of the lsqr system; columns are [q_0..q_{P-1}, b_0..b_{R-1}, mu].

    Rows: one per review, ridge rows on q and on b, a sum-to-zero row on b, one on q.
    """
    n = p.shape[0]
    data_rows = np.arange(n, dtype=np.int64)
    rows = [data_rows, data_rows, data_rows]
    cols = [p, n_p + r, np.full(n, n_p + n_r, dtype=np.int64)]
    # ridge rows on q, ridge rows on b, one sum-to-zero row on b
    rows.append(n + np.arange(n_p, dtype=np.int64))
    cols.append(np.arange(n_p, dtype=np.int64))
    rows.append(n + n_p + np.arange(n_r, dtype=np.int64))
    cols.append(n_p + np.arange(n_r, dtype=np.int64))
    rows.append(np.full(n_r, n + n_p + n_r, dtype=np.int64))
    cols.append(n_p + np.arange(n_r, dtype=np.int64))
    rows.append(np.full(n_p, n + n_p + n_r + 1, dtype=np.int64))
    cols.append(np.arange(n_p, dtype=np.int64))
    return _Structure(
        p=p,
        r=r,
        n_p=n_p,
        n_r=n_r,
        rows=np.concatenate(rows),
        cols=np.concatenate(cols),
        n_rows=n + n_p + n_r + 2,
        pairs=_pairs(p, r, n_p, n_r),
    )


@dataclass
class _State:
    mu: float
    q: FloatArray
    b: FloatArray
    s: FloatArray


def _lsqr_step(
    st: _Structure,
    y: FloatArray,
    w: FloatArray,
    s: FloatArray,
    lam_q: float,
    lam_b: float,
    x0: FloatArray | None,
) -> FloatArray:
    """(q, b, mu) for fixed s by ``lsqr`` on the stacked sparse system (reference solver)."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import lsqr

    sw = np.sqrt(w)
    n_p, n_r = st.n_p, st.n_r
    vals = np.concatenate(
        [
            sw * s[st.r],
            sw,
            sw,
            np.full(n_p, math.sqrt(lam_q)),
            np.full(n_r, math.sqrt(lam_b)),
            np.ones(n_r),
            np.full(n_p, 100.0 * math.sqrt(float(w.sum()))),  # sum q = 0, weighted to bind
        ]
    )
    a = sp.csr_array((vals, (st.rows, st.cols)), shape=(st.n_rows, n_p + n_r + 1))
    rhs = np.concatenate([sw * y, np.zeros(n_p + n_r + 2)])
    sol = lsqr(a, rhs, atol=1e-12, btol=1e-12, iter_lim=20 * (n_p + n_r + 1), x0=x0)
    return np.asarray(sol[0], dtype=np.float64)


def _normal_step(
    st: _Structure, y: FloatArray, w: FloatArray, s: FloatArray, lam_q: float, lam_b: float
) -> FloatArray:
    """(q, b, mu) for fixed s from the sparse normal equations.

    The q-block of ``A^T W A`` is diagonal, so q is eliminated (Schur complement) and the
    reviewers' ``(b, mu)`` system, bordered by Lagrange rows for ``sum b = 0`` and
    ``sum q = 0``, is factorised with SuperLU.  Exact and ~10x faster than ``lsqr`` at these sizes, where lsqr's per-iteration
    Python overhead dominates.
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import splu

    n_p, n_r = st.n_p, st.n_r
    n = st.p.shape[0]
    sr = s[st.r]
    ws = w * sr
    dq = np.bincount(st.p, weights=ws * sr, minlength=n_p) + lam_q
    fq = np.bincount(st.p, weights=ws * y, minlength=n_p)
    c = sp.csr_array(
        (
            np.concatenate([ws, ws]),
            (np.concatenate([st.p, st.p]), np.concatenate([st.r, np.full(n, n_r)])),
        ),
        shape=(n_p, n_r + 1),
    )
    w_r = np.bincount(st.r, weights=w, minlength=n_r)
    idx_r = np.arange(n_r)
    e = sp.csr_array(
        (
            np.concatenate([w_r + lam_b, [float(w.sum())], w_r, w_r, np.ones(n_r), np.ones(n_r)]),
            (
                np.concatenate(
                    [idx_r, [n_r], idx_r, np.full(n_r, n_r), idx_r, np.full(n_r, n_r + 1)]
                ),
                np.concatenate(
                    [idx_r, [n_r], np.full(n_r, n_r), idx_r, np.full(n_r, n_r + 1), idx_r]
                ),
            ),
        ),
        shape=(n_r + 3, n_r + 3),
    )
    g = np.concatenate(
        [np.bincount(st.r, weights=w * y, minlength=n_r), [float(np.dot(w, y))], [0.0, 0.0]]
    )
    # border columns: multiplier of sum b = 0 (no q coupling), multiplier of sum q = 0
    c_pad = sp.hstack([c, sp.csr_array((n_p, 1)), sp.csr_array(np.ones((n_p, 1)))], format="csr")
    dinv = 1.0 / dq
    schur = e - c_pad.T @ sp.diags_array(dinv) @ c_pad
    rhs = g - c_pad.T @ (dinv * fq)
    if schur.shape[0] <= _DENSE_SCHUR_MAX:
        v = _bordered_dense_solve(schur.toarray(), np.asarray(rhs, dtype=np.float64), 2)
    else:
        v = np.asarray(splu(sp.csc_array(schur)).solve(rhs), dtype=np.float64)
    q = dinv * (fq - c_pad @ v)
    return np.concatenate([q, v[: n_r + 1]])


def _normal_step_fast(
    st: _Structure,
    pairs: _Pairs,
    y: FloatArray,
    w: FloatArray,
    s: FloatArray,
    lam_q: float,
    lam_b: float,
) -> FloatArray:
    """The same system as :func:`_normal_step`, assembled straight into the dense bordered
    Schur complement from index arrays built once (:class:`_Pairs`): per call only weighted
    ``bincount``s, no sparse matrix is built.  ``C`` (proposals x [b, mu, border]) has
    ``C[p, r] = sum ws_i`` over p's reviews by r, ``C[p, mu] = a_p = sum ws_i`` and a column of
    ones for ``sum q = 0``; the Schur complement is ``E - C^T D^-1 C``."""
    n_p, n_r = st.n_p, st.n_r
    p, r = st.p, st.r
    sr = s[r]
    ws = w * sr
    dinv = 1.0 / (np.bincount(p, weights=ws * sr, minlength=n_p) + lam_q)
    fq = np.bincount(p, weights=ws * y, minlength=n_p)
    a = np.bincount(p, weights=ws, minlength=n_p)
    h = dinv * fq
    dp = dinv[p]
    w_r = np.bincount(r, weights=w, minlength=n_r)
    col_mu = w_r - np.bincount(r, weights=ws * dp * a[p], minlength=n_r)
    col_q = -np.bincount(r, weights=ws * dp, minlength=n_r)
    pair_w = ws[pairs.i] * ws[pairs.j] * dinv[pairs.p]
    if n_r > _ITERATIVE_ABOVE:
        v = _bordered_sparse_solve(
            pairs, pair_w, n_r, w_r + lam_b, col_mu, col_q, y, w, ws, h, p, r, a, dinv
        )
        if v is not None:
            cv = np.bincount(p, weights=ws * v[r], minlength=n_p) + a * v[n_r] + v[n_r + 2]
            q = dinv * (fq - cv)
            return np.concatenate([q, v[: n_r + 1]])
    k = n_r + 3
    mat = np.zeros((k, k))
    blk = np.bincount(pairs.rr, weights=pair_w, minlength=n_r * n_r)
    mat[:n_r, :n_r] = -blk.reshape(n_r, n_r)
    diag = np.arange(n_r)
    mat[diag, diag] += w_r + lam_b
    mat[:n_r, n_r] = col_mu
    mat[n_r, :n_r] = col_mu
    mat[:n_r, n_r + 1] = 1.0
    mat[n_r + 1, :n_r] = 1.0
    mat[:n_r, n_r + 2] = col_q
    mat[n_r + 2, :n_r] = col_q
    mat[n_r, n_r] = float(w.sum()) - float(np.dot(dinv, a * a))
    mat[n_r, n_r + 2] = mat[n_r + 2, n_r] = -float(np.dot(dinv, a))
    mat[n_r + 2, n_r + 2] = -float(dinv.sum())
    rhs = np.empty(k)
    rhs[:n_r] = np.bincount(r, weights=w * y - ws * h[p], minlength=n_r)
    rhs[n_r] = float(np.dot(w, y)) - float(np.dot(a, h))
    rhs[n_r + 1] = 0.0
    rhs[n_r + 2] = -float(h.sum())
    v = _bordered_dense_solve(mat, rhs, 2)
    cv = np.bincount(p, weights=ws * v[r], minlength=n_p) + a * v[n_r] + v[n_r + 2]
    q = dinv * (fq - cv)
    return np.concatenate([q, v[: n_r + 1]])


def _bordered_sparse_solve(
    pairs: _Pairs,
    pair_w: NDArray[Any],
    n_r: int,
    diag_b: NDArray[Any],
    col_mu: NDArray[Any],
    col_q: NDArray[Any],
    y: NDArray[Any],
    w: NDArray[Any],
    ws: NDArray[Any],
    h: NDArray[Any],
    p: NDArray[Any],
    r: NDArray[Any],
    a: NDArray[Any],
    dinv: NDArray[Any],
) -> FloatArray | None:
    """The bordered system of :func:`_normal_step_fast` with its ``[b, mu]`` block ``S``
    sparse, solved as :func:`_bordered_dense_solve` does (``S`` eliminated first) with
    Jacobi-preconditioned conjugate gradients; None if CG does not converge (the caller
    then solves densely)."""
    import scipy.sparse as sp
    from scipy.linalg import solve
    from scipy.sparse.linalg import LinearOperator, cg

    n0 = n_r + 1
    rows = np.concatenate([pairs.rr // n_r, np.arange(n_r), np.arange(n_r), np.full(n_r, n_r)])
    cols = np.concatenate([pairs.rr % n_r, np.arange(n_r), np.full(n_r, n_r), np.arange(n_r)])
    vals = np.concatenate([-pair_w, diag_b, col_mu, col_mu])
    mu_mu = float(w.sum()) - float(np.dot(dinv, a * a))
    s_blk = sp.csr_array((np.r_[vals, mu_mu], (np.r_[rows, n_r], np.r_[cols, n_r])), shape=(n0, n0))
    g_blk = np.zeros((n0, 2))
    g_blk[:n_r, 0] = 1.0
    g_blk[:n_r, 1] = col_q
    g_blk[n_r, 1] = -float(np.dot(dinv, a))
    h_blk = np.array([[0.0, 0.0], [0.0, -float(dinv.sum())]])
    rhs = np.empty(n0 + 2)
    rhs[:n_r] = np.bincount(r, weights=w * y - ws * h[p], minlength=n_r)
    rhs[n_r] = float(np.dot(w, y)) - float(np.dot(a, h))
    rhs[n0] = 0.0
    rhs[n0 + 1] = -float(h.sum())
    d = s_blk.diagonal()
    if not np.all(d > 0):
        return None
    pre = LinearOperator((n0, n0), matvec=lambda x: x / d, dtype=np.float64)
    sols = []
    for b in (rhs[:n0], g_blk[:, 0], g_blk[:, 1]):
        x, info = cg(s_blk, b, rtol=_CG_RTOL, atol=0.0, M=pre, maxiter=10 * n0)
        if info != 0:
            return None
        sols.append(x)
    z, zg = sols[0], np.column_stack(sols[1:])
    lam = solve(h_blk - g_blk.T @ zg, rhs[n0:] - g_blk.T @ z, check_finite=False)
    return np.concatenate([z - zg @ lam, lam]).astype(np.float64)


def _bordered_dense_solve(m: FloatArray, rhs: FloatArray, n_border: int) -> FloatArray:
    """Solve ``[[S, G], [G^T, H]] x = rhs`` with S symmetric positive definite.

    The reviewers' co-review graph is an expander, so a sparse LU of S fills in almost
    completely; a dense Cholesky of S plus a small Schur step for the ``n_border`` Lagrange
    rows is several times faster than SuperLU or a dense indefinite solve up to a few thousand
    reviewers.  Falls back to a dense LU if S is not numerically positive definite.
    """
    from scipy.linalg import LinAlgError, cho_factor, cho_solve, solve

    n0 = m.shape[0] - n_border
    s_blk, g_blk, h_blk = m[:n0, :n0], m[:n0, n0:], m[n0:, n0:]
    try:
        factor = cho_factor(s_blk, lower=True, check_finite=False)
    except LinAlgError:
        return np.asarray(solve(m, rhs, check_finite=False), dtype=np.float64)
    z = cho_solve(factor, rhs[:n0], check_finite=False)
    zg = cho_solve(factor, g_blk, check_finite=False)
    lam = solve(h_blk - g_blk.T @ zg, rhs[n0:] - g_blk.T @ z, check_finite=False)
    return np.concatenate([z - zg @ lam, lam]).astype(np.float64)


@functools.lru_cache(maxsize=8)
def _log_scale_grid(lo: float, hi: float) -> tuple[FloatArray, FloatArray, float]:
    """The grid of :func:`_scale_step` over ``t = log s`` in ``[lo, hi]`` (a column), its
    ``exp`` and its step: the same for every call with the same bounds (thousands a
    bootstrap), so made once; read-only."""
    grid = np.linspace(lo, hi, 97)[:, None]  # (G, 1) against (R,) coefficients
    eg = np.exp(grid)
    grid.flags.writeable = False
    eg.flags.writeable = False
    return grid, eg, float(grid[1, 0] - grid[0, 0])


def _scale_step(
    st: _Structure,
    y: FloatArray,
    w: FloatArray,
    mu: float,
    q: FloatArray,
    lam_b: float,
    lam_s: float,
    bounds: tuple[float, float],
) -> tuple[FloatArray, FloatArray]:
    """Per-reviewer (s_r, b_r) for fixed (mu, q): b profiled out, t = log s minimised globally on
    a grid and refined by safeguarded Newton (vectorised over reviewers; hand-written because
    scipy's scalar minimisers are not vectorised and a Python loop over 10^4 reviewers is slow)."""
    n_r = st.n_r
    z = y - mu
    qi = q[st.p]
    wsum = np.bincount(st.r, weights=w, minlength=n_r)
    zs = np.bincount(st.r, weights=w * z, minlength=n_r)
    qs = np.bincount(st.r, weights=w * qi, minlength=n_r)
    qq = np.bincount(st.r, weights=w * qi * qi, minlength=n_r)
    zq = np.bincount(st.r, weights=w * z * qi, minlength=n_r)
    denom = wsum + lam_b
    coef_a = np.maximum(qq - qs * qs / denom, 0.0)
    coef_b = zq - zs * qs / denom

    lo, hi = math.log(bounds[0]), math.log(bounds[1])
    grid, eg, step = _log_scale_grid(lo, hi)
    values = coef_a * eg * eg - 2.0 * coef_b * eg + lam_s * grid * grid
    t_lo = np.maximum(grid[np.argmin(values, axis=0), 0] - step, lo)
    t_hi = np.minimum(t_lo + 2.0 * step, hi)
    t = 0.5 * (t_lo + t_hi)
    # safeguarded Newton inside the grid bracket (h is smooth; bisect when Newton leaves it)
    for _ in range(30):
        e = np.exp(t)
        grad = 2.0 * coef_a * e * e - 2.0 * coef_b * e + 2.0 * lam_s * t
        hess = 4.0 * coef_a * e * e - 2.0 * coef_b * e + 2.0 * lam_s
        t_hi = np.where(grad > 0, t, t_hi)
        t_lo = np.where(grad <= 0, t, t_lo)
        newton = t - grad / np.where(hess > 0, hess, 1.0)
        # the bracket is closed: at a root Newton returns t itself, which is also an end of
        # the bracket (strict bounds bisected away from it, and the result of the last of the
        # 30 steps then varied by ~1e-7 with the rounding of the inputs)
        ok = (hess > 0) & (newton >= t_lo) & (newton <= t_hi)
        t_new = np.where(ok, newton, 0.5 * (t_lo + t_hi))
        if float(np.abs(t_new - t).max()) < 1e-12:
            t = t_new
            break
        t = t_new
    s = np.exp(t)
    b = (zs - s * qs) / denom
    return s, b


def _fit(
    st: _Structure,
    y: FloatArray,
    w: FloatArray,
    init: _State | None,
    *,
    fit_scale: bool,
    lam_q: float,
    lam_b: float,
    lam_s: float,
    bounds: tuple[float, float],
    max_iter: int,
    tol: float,
    solver: str,
) -> tuple[_State, int, bool]:
    n_p, n_r = st.n_p, st.n_r

    def linear_step(s: FloatArray, x0: FloatArray | None) -> FloatArray:
        """(q, b, mu) for fixed s by ``solver`` (``x0``, the last solution: lsqr's start)."""
        if solver == "lsqr":
            return _lsqr_step(st, y, w, s, lam_q, lam_b, x0)
        if st.pairs is not None and not _REBUILD_EACH_STEP:
            return _normal_step_fast(st, st.pairs, y, w, s, lam_q, lam_b)
        return _normal_step(st, y, w, s, lam_q, lam_b)

    s = np.ones(n_r) if init is None else init.s.copy()
    x0 = None if init is None else np.concatenate([init.q, init.b, [init.mu]])
    x = linear_step(s, x0)
    if not fit_scale:
        return _State(mu=float(x[-1]), q=x[:n_p], b=x[n_p : n_p + n_r], s=s), 1, True
    active = np.bincount(st.r, weights=w, minlength=n_r) > 0
    converged = False
    n_iter = 1
    for _ in range(max_iter):
        n_iter += 1
        q_old = x[:n_p].copy()
        s, _b = _scale_step(st, y, w, float(x[-1]), x[:n_p], lam_b, lam_s, bounds)
        s, x = _rescale(s, x, n_p, active, lam_s, lam_q, bounds)
        x = linear_step(s, x)
        if float(np.abs(x[:n_p] - q_old).max()) < tol:
            converged = True
            break
    return _State(mu=float(x[-1]), q=x[:n_p], b=x[n_p : n_p + n_r], s=s), n_iter, converged


def _rescale(
    s: FloatArray,
    x: FloatArray,
    n_p: int,
    active: NDArray[np.bool_],
    lam_s: float,
    lam_q: float,
    bounds: tuple[float, float],
) -> tuple[FloatArray, FloatArray]:
    """Exact minimisation along the near-gauge direction q -> c q, s -> s / c.

    The data term is invariant along it and only the weak ridge terms pin it, which makes plain
    alternation crawl (~80 sweeps); minimising the convex 1-D function
    ``lam_s sum (t_r - u)^2 + lam_q e^{2u} sum q^2`` over ``u = log c`` (Newton, clipped so every
    ``s`` stays in bounds) keeps each sweep a descent step and removes that slow mode.
    """
    if lam_s <= 0 or not active.any():
        return s, x
    t = np.log(s[active])
    q2 = float((x[:n_p] ** 2).sum())
    lo = float(t.max()) - math.log(bounds[1])
    hi = float(t.min()) - math.log(bounds[0])
    if lo > hi:
        return s, x
    u = min(max(float(t.mean()), lo), hi)
    n_a = float(t.shape[0])
    for _ in range(30):
        e2 = math.exp(2.0 * u)
        grad = -2.0 * lam_s * float((t - u).sum()) + 2.0 * lam_q * q2 * e2
        hess = 2.0 * lam_s * n_a + 4.0 * lam_q * q2 * e2
        new_u = min(max(u - grad / hess, lo), hi)
        if abs(new_u - u) < 1e-14:
            break
        u = new_u
    s_new = s.copy()
    s_new[active] = np.exp(t - u)
    x_new = x.copy()
    x_new[:n_p] *= math.exp(u)
    return s_new, x_new


def _tie_key(v: FloatArray) -> FloatArray:
    """``v`` on a grid of 1e-9 of its largest magnitude: values that differ by round-off
    alone (the same reviews summed in another order) are read as the tie they are."""
    v = np.asarray(v, dtype=np.float64)
    size = float(np.max(np.abs(v))) if v.size else 0.0
    if not (size > 0 and math.isfinite(size)):
        return v
    return np.asarray(np.round(v / (1e-9 * size)), dtype=np.float64)


def _ranks(merit: FloatArray, tiebreak: FloatArray | None = None) -> IntArray:
    """1-based ranks, higher merit first; ties (to 1e-9 of the largest merit, so round-off
    never decides) by ``tiebreak`` (higher first, to the same grid), then index."""
    n = merit.shape[0]
    keys: tuple[Any, ...] = (np.arange(n), -_tie_key(merit))
    if tiebreak is not None:
        keys = (np.arange(n), -_tie_key(tiebreak), -_tie_key(merit))
    order = np.lexsort(keys)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    return rank


def _tied_places(
    merit: FloatArray, tiebreak: FloatArray | None = None
) -> tuple[IntArray, IntArray]:
    """Per proposal, the best and the worst rank among those it is tied with (on the grid of
    ``_ranks``; with ``tiebreak``, tied on both): the places an index, not a grade, decides
    between. Untied proposals get their rank twice."""
    if tiebreak is None:  # one key (every bootstrap replicate): two binary searches
        k = -_tie_key(merit)
        ordered = np.sort(k)
        best1 = np.searchsorted(ordered, k, side="left").astype(np.int64) + 1
        return best1, np.searchsorted(ordered, k, side="right").astype(np.int64)
    keys = [_tie_key(merit), _tie_key(tiebreak)]
    # proposals tied on every key share one label: the index of their first distinct row
    _, label = np.unique(np.stack(keys, axis=1), axis=0, return_inverse=True)
    label = np.asarray(label).ravel()
    rank = _ranks(merit, tiebreak)
    n_lab = int(label.max()) + 1 if label.size else 0
    best = np.full(n_lab, np.iinfo(np.int64).max, np.int64)
    worst = np.zeros(n_lab, np.int64)
    np.minimum.at(best, label, rank)
    np.maximum.at(worst, label, rank)
    return best[label], worst[label]


def _bootstrap(
    st: _Structure,
    y: FloatArray,
    w: FloatArray,
    point: _State,
    n_bootstrap: int,
    seed: int,
    opts: dict[str, Any],
) -> tuple[FloatArray, IntArray, IntArray]:
    """Stratified bootstrap: resample each proposal's reviews with replacement, as integer
    weights on the reviews (the structure and its index arrays are reused), and refit from the
    point estimate.  Returns the replicates' standardised merits and, per replicate, each
    proposal's best and worst place among those tied with it (``_tied_places``): a tie is
    decided by no grade, so it counts as every place it spans."""
    p, n_p, n_g = st.p, st.n_p, st.p.shape[0]
    n_reviews = np.bincount(p, minlength=n_p).astype(np.int64)
    rng = np.random.default_rng(seed)
    order = np.argsort(p, kind="stable")
    starts = np.concatenate([[0], np.cumsum(n_reviews)[:-1]])
    slot_p = p[order]
    reps_merit = np.empty((n_bootstrap, n_p))
    reps_best = np.empty((n_bootstrap, n_p), dtype=np.int64)
    reps_worst = np.empty((n_bootstrap, n_p), dtype=np.int64)
    for bi in range(n_bootstrap):
        u = rng.random(n_g)
        draws = starts[slot_p] + np.minimum(
            (u * n_reviews[slot_p]).astype(np.int64), n_reviews[slot_p] - 1
        )
        counts = np.bincount(order[draws], minlength=n_g).astype(np.float64)
        rep, _, _ = _fit(st, y, w * counts, point, **opts)
        reps_merit[bi] = rep.mu + rep.q
        reps_best[bi], reps_worst[bi] = _tied_places(reps_merit[bi])
    return reps_merit, reps_best, reps_worst


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
    """
    t0 = time.perf_counter()
    seed = limits.seed(seed)
    tol = limits.non_negative("tol", tol)
    max_iter = limits.count("max_iter", max_iter, minimum=1)
    if n_bootstrap < 0:
        raise ValueError("n_bootstrap must be >= 0")
    if not 0.0 < level < 1.0:
        raise ValueError("level must lie strictly between 0 and 1")
    for name, val in (
        ("leniency_shrinkage", leniency_shrinkage),
        ("scale_shrinkage", scale_shrinkage),
        ("quality_shrinkage", quality_shrinkage),
    ):
        if not math.isfinite(val) or val < 0:
            raise ValueError(f"{name} must be finite and >= 0")
    if solver not in ("normal", "lsqr"):
        raise ValueError(f"solver must be 'normal' or 'lsqr', got {solver!r}")
    if not (0 < scale_bounds[0] <= 1.0 <= scale_bounds[1] < math.inf):
        raise ValueError("scale_bounds must satisfy 0 < low <= 1 <= high < inf")
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


# --------------------------------------------------------------------------- diagnostics


def leniency_gap(
    grades: GradeSet, group: NDArray[np.bool_], result: CalibrationResult | None = None
) -> float:
    """Mean residual of reviews by reviewers in ``group`` minus that of the other reviewers, in
    grade units, positive = ``group`` grades more favourably.

    Without ``result``: residual = grade - raw mean of the proposal (what a plain average leaves).
    With ``result``: residual = adjusted grade - calibrated consensus.
    """
    grp = np.asarray(group, dtype=bool)
    if grp.shape != (grades.n_reviewers,):
        raise ValueError(f"group must have shape ({grades.n_reviewers},)")
    p = np.asarray(grades.proposal_idx)
    in_group = grp[np.asarray(grades.reviewer_idx)]
    if in_group.all() or not in_group.any():
        raise ValueError("both groups need at least one review")
    if result is None:
        w = np.ones(grades.n_grades) if grades.confidence is None else np.asarray(grades.confidence)
        g = np.asarray(grades.grade, dtype=np.float64)
        ref = np.bincount(p, weights=w * g, minlength=grades.n_proposals) / np.bincount(
            p, weights=w, minlength=grades.n_proposals
        )
        resid = g - ref[p]
    else:
        resid = result.adjusted_grade - result.consensus[p]
    if grades.scale.lower_is_better:  # favourable = below the reference on such scales
        resid = -resid
    return float(resid[in_group].mean() - resid[~in_group].mean())


@dataclass(frozen=True, eq=False)
class SyntheticGrades:
    """A synthetic grade set with its ground truth (quality oriented higher = better)."""

    grades: GradeSet
    true_quality: FloatArray
    true_leniency: FloatArray
    true_scale: FloatArray
    lenient_group: NDArray[np.bool_]


def synthetic_grades(
    n_proposals: int,
    n_reviewers: int,
    reviews_per_proposal: int = 3,
    *,
    seed: int = 0,
    scale: GradeScale | None = None,
    quality_sd: float = 0.8,
    leniency_sd: float = 0.3,
    group_gap: float = 1.0,
    scale_sd: float = 0.0,
    noise_sd: float = 0.5,
    step: float | None = 0.5,
) -> SyntheticGrades:
    """Grades ``centre + s_r q_p + b_r + e`` (oriented), clipped to the scale and rounded to
    ``step``; half the reviewers (at random) are lenient by ``group_gap`` grade units.
    Reviewers are spread evenly (least-loaded first, random ties), ``reviews_per_proposal``
    distinct reviewers per proposal."""
    if reviews_per_proposal > n_reviewers:
        raise ValueError("reviews_per_proposal exceeds n_reviewers")
    sc = scale if scale is not None else GradeScale(1.0, 5.0)
    rng = np.random.default_rng(seed)
    q = rng.normal(0.0, quality_sd, n_proposals)
    group = np.zeros(n_reviewers, dtype=bool)
    group[rng.permutation(n_reviewers)[: n_reviewers // 2]] = True
    b = rng.normal(0.0, leniency_sd, n_reviewers) + group_gap * (group - 0.5)
    s = np.exp(rng.normal(0.0, scale_sd, n_reviewers))
    load = np.zeros(n_reviewers)
    p_idx = np.repeat(np.arange(n_proposals, dtype=np.int64), reviews_per_proposal)
    r_idx = np.empty(n_proposals * reviews_per_proposal, dtype=np.int64)
    k = reviews_per_proposal
    for i in range(n_proposals):
        key = load + rng.random(n_reviewers)
        chosen = np.argpartition(key, k - 1)[:k] if k < n_reviewers else np.arange(n_reviewers)
        r_idx[i * k : (i + 1) * k] = np.sort(chosen)
        load[chosen] += 1
    centre = 0.5 * (sc.min + sc.max)
    e = rng.normal(0.0, noise_sd, p_idx.shape[0])
    oriented = centre + s[r_idx] * q[p_idx] + b[r_idx] + e
    if step:
        oriented = sc.min + np.round((oriented - sc.min) / step) * step
    oriented = np.clip(oriented, sc.min, sc.max)
    gs = GradeSet(
        proposal_idx=p_idx,
        reviewer_idx=r_idx,
        grade=sc.orient(oriented),
        n_proposals=n_proposals,
        n_reviewers=n_reviewers,
        scale=sc,
    )
    return SyntheticGrades(gs, q, b, s, group)
