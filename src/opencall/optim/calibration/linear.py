"""The linear step: for fixed reviewer scales, ``(mu, q, b)`` from the normal equations
(dense bordered Cholesky from same-proposal pair arrays, sparse conjugate gradients above
``_ITERATIVE_ABOVE`` reviewers, SuperLU without the pairs) or from the stacked system by
LSQR, the cross-check."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from opencall.optim.arrays import FloatArray, IntArray

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
    from scipy.linalg import solve
    from scipy.linalg.lapack import get_lapack_funcs

    n0 = m.shape[0] - n_border
    s_blk, g_blk, h_blk = m[:n0, :n0], m[:n0, n0:], m[n0:, n0:]
    # LAPACK's potrf and potrs called directly: scipy's cho_factor / cho_solve call the
    # very same routines on the same arrays (the same bits), after checks that cost
    # several times the work on a panel's block (~8 and ~13 us a call against 2 and 3;
    # a calibration's bootstrap makes thousands of these steps)
    potrf, potrs = _cholesky_routines(s_blk.dtype, get_lapack_funcs)
    factor, info = potrf(s_blk, lower=1, clean=0)
    if info != 0:  # not numerically positive definite: a dense LU of the whole system
        return np.asarray(solve(m, rhs, check_finite=False), dtype=np.float64)
    z, info_z = potrs(factor, rhs[:n0], lower=1)
    zg, info_g = potrs(factor, g_blk, lower=1)
    if info_z != 0 or info_g != 0:  # pragma: no cover - potrs fails only on bad arguments
        raise ValueError("LAPACK potrs refused its arguments")
    lam = solve(h_blk - g_blk.T @ zg, rhs[n0:] - g_blk.T @ z, check_finite=False)
    return np.concatenate([z - zg @ lam, lam]).astype(np.float64)


_CHOLESKY: dict[Any, tuple[Any, Any]] = {}


def _cholesky_routines(dtype: Any, get_lapack_funcs: Any) -> tuple[Any, Any]:
    """LAPACK's ``potrf`` and ``potrs`` for ``dtype``, as scipy's ``cho_factor`` and
    ``cho_solve`` choose them (looked up once a dtype)."""
    if dtype not in _CHOLESKY:
        probe = np.zeros((1, 1), dtype=dtype)
        _CHOLESKY[dtype] = tuple(get_lapack_funcs(("potrf", "potrs"), (probe,)))
    return _CHOLESKY[dtype]
