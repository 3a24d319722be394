"""The calibration's fast normal-equation assembly (index arrays built once, re-weighted per
bootstrap replicate) against straightforward reference implementations (issue 15 item 2)."""

from __future__ import annotations

import numpy as np
import pytest

from opencall.optim.calibration import GradeScale, GradeSet, calibrate, scale_step, synthetic_grades
from opencall.optim.calibration import linear as cal

FIELDS = ("consensus", "consensus_lo", "consensus_hi", "leniency", "scale", "adjusted_grade")
RANKS = ("rank", "rank_lo", "rank_hi")


def random_grades(seed: int, n_p: int = 60, n_r: int = 25, lower: bool = False) -> GradeSet:
    """Uneven reviews per proposal (1-6), reviewers drawn with replacement (so a reviewer can
    grade the same proposal twice), random confidence weights."""
    rng = np.random.default_rng(seed)
    per = rng.integers(1, 7, n_p)
    p = np.repeat(np.arange(n_p), per)
    r = rng.integers(0, n_r, p.size)
    lenient = rng.normal(0, 0.5, n_r)
    quality = rng.normal(0, 1, n_p)
    g = np.clip(np.round(3 + quality[p] + lenient[r] + rng.normal(0, 0.4, p.size), 1), 1, 5)
    conf = rng.uniform(0.5, 2.0, p.size)
    return GradeSet(p, r, g, n_p, n_r, GradeScale(1.0, 5.0, lower_is_better=lower), conf)


def dense_reference_step(
    st: cal._Structure,
    y: np.ndarray,
    w: np.ndarray,
    s: np.ndarray,
    lam_q: float,
    lam_b: float,
) -> np.ndarray:
    """(q, b, mu) from the dense KKT system of the penalised least squares with the two
    sum-to-zero constraints: no elimination, no sparse matrices, one dense solve."""
    n_p, n_r, n = st.n_p, st.n_r, st.p.shape[0]
    a = np.zeros((n, n_p + n_r + 1))
    a[np.arange(n), st.p] = s[st.r]
    a[np.arange(n), n_p + st.r] += 1.0
    a[:, -1] = 1.0
    ridge = np.diag(np.r_[np.full(n_p, lam_q), np.full(n_r, lam_b), 0.0])
    h = a.T @ (w[:, None] * a) + ridge
    cons = np.zeros((2, n_p + n_r + 1))
    cons[0, n_p : n_p + n_r] = 1.0
    cons[1, :n_p] = 1.0
    kkt = np.block([[h, cons.T], [cons, np.zeros((2, 2))]])
    rhs = np.r_[a.T @ (w * y), 0.0, 0.0]
    return np.linalg.solve(kkt, rhs)[: n_p + n_r + 1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_linear_step_matches_a_dense_reference(seed: int) -> None:
    gs = random_grades(seed)
    p, r = np.asarray(gs.proposal_idx), np.asarray(gs.reviewer_idx)
    st = cal._structure(p, r, gs.n_proposals, gs.n_reviewers)
    assert st.pairs is not None
    rng = np.random.default_rng(100 + seed)
    y = rng.normal(0, 1, p.size)
    s = np.exp(rng.normal(0, 0.3, gs.n_reviewers))
    # bootstrap-like integer weights (zeros included) times confidence weights
    w = rng.integers(0, 3, p.size) * rng.uniform(0.5, 2.0, p.size)
    fast = cal._normal_step_fast(st, st.pairs, y, w, s, 1e-3, 2.0)
    ref = dense_reference_step(st, y, w, s, 1e-3, 2.0)
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-9)
    # and the sparse assembly that used to run in every step
    np.testing.assert_allclose(fast, cal._normal_step(st, y, w, s, 1e-3, 2.0), rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("seed", "fit_scale", "lower"), [(0, False, False), (1, True, False), (2, True, True)]
)
def test_fast_calibration_equals_the_rebuilding_reference(
    seed: int, fit_scale: bool, lower: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    gs = random_grades(seed, lower=lower)
    fast = calibrate(gs, fit_scale=fit_scale, n_bootstrap=30, seed=seed)
    monkeypatch.setattr(cal, "_REBUILD_EACH_STEP", True)
    ref = calibrate(gs, fit_scale=fit_scale, n_bootstrap=30, seed=seed)
    for f in FIELDS:
        np.testing.assert_allclose(getattr(fast, f), getattr(ref, f), rtol=0, atol=1e-9, err_msg=f)
    for f in RANKS:
        assert np.array_equal(getattr(fast, f), getattr(ref, f)), f
    assert fast.n_iter == ref.n_iter


def test_without_the_pair_arrays_the_sparse_path_gives_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gs = random_grades(3)
    fast = calibrate(gs, fit_scale=True, n_bootstrap=10)
    monkeypatch.setattr(cal, "_DENSE_SCHUR_MAX", 0)  # too many reviewers: no pairs, SuperLU
    st = cal._structure(
        np.asarray(gs.proposal_idx), np.asarray(gs.reviewer_idx), gs.n_proposals, gs.n_reviewers
    )
    assert st.pairs is None
    slow = calibrate(gs, fit_scale=True, n_bootstrap=10)
    for f in FIELDS:
        np.testing.assert_allclose(getattr(fast, f), getattr(slow, f), rtol=0, atol=1e-9, err_msg=f)


def test_scale_step_does_not_amplify_rounding() -> None:
    """The s-step converges to its minimiser: inputs that differ by rounding (1e-15) give
    scales that differ by rounding, not by the width of an unfinished bisection (~1e-7)."""
    gs = synthetic_grades(300, 100, 4, seed=1, scale_sd=0.25).grades
    p, r = np.asarray(gs.proposal_idx), np.asarray(gs.reviewer_idx)
    st = cal._structure(p, r, gs.n_proposals, gs.n_reviewers)
    g = np.asarray(gs.grade, dtype=np.float64)
    y = (g - g.mean()) / g.std()
    w = np.ones_like(y)
    x = cal._normal_step(st, y, w, np.ones(gs.n_reviewers), 1e-3, 2.0)
    q = x[: gs.n_proposals]
    s1, b1 = scale_step._scale_step(st, y, w, float(x[-1]), q, 2.0, 5.0, (0.25, 4.0))
    s2, b2 = scale_step._scale_step(st, y, w, float(x[-1]), q * (1 + 1e-15), 2.0, 5.0, (0.25, 4.0))
    assert np.max(np.abs(s1 - s2)) < 1e-12
    assert np.max(np.abs(b1 - b2)) < 1e-12
