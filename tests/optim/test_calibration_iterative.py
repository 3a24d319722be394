"""Above ``_ITERATIVE_ABOVE`` reviewers the calibration solves the reviewers' block of its
normal equations sparse, by conjugate gradients: the same results as the dense Cholesky to
rounding (issue 15 item 2, conference scale)."""

from __future__ import annotations

import numpy as np
import pytest
from tests.optim.test_calibration_fast import FIELDS, RANKS, dense_reference_step, random_grades

from opencall.optim.calibration import calibrate
from opencall.optim.calibration import linear as cal


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sparse_cg_step_matches_the_dense_reference(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    gs = random_grades(seed, n_p=80, n_r=30)
    p, r = np.asarray(gs.proposal_idx), np.asarray(gs.reviewer_idx)
    st = cal._structure(p, r, gs.n_proposals, gs.n_reviewers)
    assert st.pairs is not None
    rng = np.random.default_rng(200 + seed)
    y = rng.normal(0, 1, p.size)
    s = np.exp(rng.normal(0, 0.3, gs.n_reviewers))
    w = rng.integers(0, 3, p.size) * rng.uniform(0.5, 2.0, p.size)
    dense = cal._normal_step_fast(st, st.pairs, y, w, s, 1e-3, 2.0)
    calls = []
    real = cal._bordered_sparse_solve
    monkeypatch.setattr(cal, "_ITERATIVE_ABOVE", 0)
    monkeypatch.setattr(cal, "_bordered_sparse_solve", lambda *a: calls.append(1) or real(*a))
    sparse = cal._normal_step_fast(st, st.pairs, y, w, s, 1e-3, 2.0)
    assert calls  # the CG path ran (and did not fall back)
    assert real(*_args(st, y, w, s)) is not None
    np.testing.assert_allclose(sparse, dense, rtol=0, atol=1e-10)
    np.testing.assert_allclose(
        sparse, dense_reference_step(st, y, w, s, 1e-3, 2.0), rtol=0, atol=1e-9
    )


def _args(st: cal._Structure, y: np.ndarray, w: np.ndarray, s: np.ndarray) -> tuple:
    """The arguments _normal_step_fast passes to _bordered_sparse_solve (lam 1e-3, 2.0)."""
    p, r, n_p, n_r = st.p, st.r, st.n_p, st.n_r
    pairs = st.pairs
    assert pairs is not None
    ws = w * s[r]
    dinv = 1.0 / (np.bincount(p, weights=ws * s[r], minlength=n_p) + 1e-3)
    a = np.bincount(p, weights=ws, minlength=n_p)
    h = dinv * np.bincount(p, weights=ws * y, minlength=n_p)
    w_r = np.bincount(r, weights=w, minlength=n_r)
    col_mu = w_r - np.bincount(r, weights=ws * dinv[p] * a[p], minlength=n_r)
    col_q = -np.bincount(r, weights=ws * dinv[p], minlength=n_r)
    pair_w = ws[pairs.i] * ws[pairs.j] * dinv[pairs.p]
    return (pairs, pair_w, n_r, w_r + 2.0, col_mu, col_q, y, w, ws, h, p, r, a, dinv)


@pytest.mark.parametrize(("seed", "fit_scale"), [(0, False), (1, True), (4, True)])
def test_calibration_with_cg_equals_the_dense_one(
    seed: int, fit_scale: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    gs = random_grades(seed, n_p=90, n_r=30)
    dense = calibrate(gs, fit_scale=fit_scale, n_bootstrap=20, seed=seed)
    monkeypatch.setattr(cal, "_ITERATIVE_ABOVE", 0)
    sparse = calibrate(gs, fit_scale=fit_scale, n_bootstrap=20, seed=seed)
    for f in FIELDS:
        np.testing.assert_allclose(
            getattr(sparse, f), getattr(dense, f), rtol=0, atol=1e-9, err_msg=f
        )
    for f in RANKS:
        assert np.array_equal(getattr(sparse, f), getattr(dense, f)), f


def test_many_reviewers_keep_the_pair_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above the dense limit the pairs are still built when CG will use them (the SuperLU
    path is left for the dense range's fallback only)."""
    gs = random_grades(5)
    p, r = np.asarray(gs.proposal_idx), np.asarray(gs.reviewer_idx)
    monkeypatch.setattr(cal, "_DENSE_SCHUR_MAX", 0)
    monkeypatch.setattr(cal, "_ITERATIVE_ABOVE", 0)
    assert cal._structure(p, r, gs.n_proposals, gs.n_reviewers).pairs is not None
