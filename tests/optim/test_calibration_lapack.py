"""The bordered solve of every calibration step (``linear._bordered_dense_solve``: a
Cholesky of the reviewers' block, two solves with it) calls LAPACK's ``potrf`` and
``potrs`` itself: scipy's ``cho_factor`` and ``cho_solve`` call the same routines on the
same arrays, after checks that cost several times the factorisation of a panel's block
(a calibration of 200 bootstrap draws makes a few thousand such steps). Same routines,
same inputs: the same bits."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.linalg
from tests.optim.test_calibration_fast import FIELDS, RANKS, random_grades

from opencall.optim.calibration import calibrate
from opencall.optim.calibration import linear as cal


def scipy_reference(m: np.ndarray, rhs: np.ndarray, n_border: int) -> np.ndarray:
    """The solve as it was written with scipy's wrappers (``cho_factor``/``cho_solve``)."""
    n0 = m.shape[0] - n_border
    s_blk, g_blk, h_blk = m[:n0, :n0], m[:n0, n0:], m[n0:, n0:]
    factor = scipy.linalg.cho_factor(s_blk, lower=True, check_finite=False)
    z = scipy.linalg.cho_solve(factor, rhs[:n0], check_finite=False)
    zg = scipy.linalg.cho_solve(factor, g_blk, check_finite=False)
    lam = scipy.linalg.solve(h_blk - g_blk.T @ zg, rhs[n0:] - g_blk.T @ z, check_finite=False)
    return np.concatenate([z - zg @ lam, lam])


def bordered(seed: int, n0: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n0, n0))
    m = np.zeros((n0 + 2, n0 + 2))
    m[:n0, :n0] = a @ a.T + n0 * np.eye(n0)
    m[:n0, n0] = 1.0
    m[n0, :n0] = 1.0
    col = rng.normal(size=n0)
    m[:n0, n0 + 1] = col
    m[n0 + 1, :n0] = col
    m[n0 + 1, n0 + 1] = -abs(rng.normal()) - 1.0
    return m, rng.normal(size=n0 + 2)


@pytest.mark.parametrize(("seed", "n0"), [(0, 3), (1, 12), (2, 40), (3, 200)])
def test_the_bordered_solve_gives_scipys_bits(seed: int, n0: int) -> None:
    m, rhs = bordered(seed, n0)
    got = cal._bordered_dense_solve(m, rhs, 2)
    assert np.array_equal(got, scipy_reference(m, rhs, 2))
    assert got.dtype == np.float64


def test_the_bordered_solve_calls_no_scipy_wrapper(monkeypatch: pytest.MonkeyPatch) -> None:
    """The step calls LAPACK itself: with scipy's wrappers made to fail it still solves."""

    def refused(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("scipy's cho_factor/cho_solve wrapper called")

    m, rhs = bordered(5, 10)
    want = scipy_reference(m, rhs, 2)
    monkeypatch.setattr(scipy.linalg, "cho_factor", refused)
    monkeypatch.setattr(scipy.linalg, "cho_solve", refused)
    assert np.array_equal(cal._bordered_dense_solve(m, rhs, 2), want)


def test_a_block_that_is_not_positive_definite_falls_back_to_lu() -> None:
    m, rhs = bordered(6, 8)
    m[3, 3] = -50.0  # the reviewers' block is no longer positive definite
    got = cal._bordered_dense_solve(m, rhs, 2)
    np.testing.assert_allclose(m @ got, rhs, rtol=0, atol=1e-9)
    assert np.array_equal(got, scipy.linalg.solve(m, rhs, check_finite=False))


@pytest.mark.parametrize("fit_scale", [False, True])
def test_a_whole_calibration_is_unchanged(fit_scale: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A calibration with its bootstrap, through the new solve and through scipy's wrappers."""
    gs = random_grades(7)
    fast = calibrate(gs, fit_scale=fit_scale, n_bootstrap=20, seed=3)
    monkeypatch.setattr(cal, "_bordered_dense_solve", scipy_reference)
    ref = calibrate(gs, fit_scale=fit_scale, n_bootstrap=20, seed=3)
    for f in FIELDS:
        assert np.array_equal(getattr(fast, f), getattr(ref, f)), f
    for f in RANKS:
        assert np.array_equal(getattr(fast, f), getattr(ref, f)), f
