"""The scale step: for fixed ``(mu, q)``, each reviewer's ``(s_r, b_r)`` by a grid over
``log s_r`` refined by safeguarded Newton steps."""

from __future__ import annotations

import functools
import math

import numpy as np

from opencall.optim.arrays import FloatArray
from opencall.optim.calibration.linear import _Structure


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
