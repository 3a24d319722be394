"""The fit: the linear step alone, or alternated with the scale step and an exact step
along the near-gauge direction ``q -> c q, s -> s / c`` (``_rescale``)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from opencall.optim.arrays import FloatArray
from opencall.optim.calibration import linear
from opencall.optim.calibration.linear import (
    _lsqr_step,
    _normal_step,
    _normal_step_fast,
    _State,
    _Structure,
)
from opencall.optim.calibration.scale_step import _scale_step


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
        # read from ``linear`` at each call: the tests set it there
        if st.pairs is not None and not linear._REBUILD_EACH_STEP:
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
