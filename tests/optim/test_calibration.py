"""Tests for opencall.optim.calibration on synthetic grades with known truth."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import kendalltau

from opencall.optim.calibration import (
    GradeScale,
    GradeSet,
    calibrate,
    leniency_gap,
    synthetic_grades,
)

SEEDS = (0, 1, 2, 3)


@pytest.mark.parametrize("fit_scale", [False, True])
def test_calibration_recovers_truth_better_than_raw_mean(fit_scale: bool) -> None:
    raw_taus, cal_taus = [], []
    for seed in SEEDS:
        syn = synthetic_grades(200, 60, 3, seed=seed, group_gap=1.0, scale_sd=0.2)
        res = calibrate(syn.grades, fit_scale=fit_scale, n_bootstrap=0)
        assert res.check(syn.grades) == []
        raw_taus.append(kendalltau(res.raw_mean, syn.true_quality)[0])
        cal_taus.append(kendalltau(res.consensus, syn.true_quality)[0])
    assert np.mean(cal_taus) > np.mean(raw_taus)


@pytest.mark.parametrize("fit_scale", [False, True])
def test_planted_leniency_gap_shrinks(fit_scale: bool) -> None:
    for seed in SEEDS[:2]:
        syn = synthetic_grades(200, 60, 3, seed=seed, group_gap=1.0)
        res = calibrate(syn.grades, fit_scale=fit_scale, n_bootstrap=0)
        before = leniency_gap(syn.grades, syn.lenient_group)
        after = leniency_gap(syn.grades, syn.lenient_group, res)
        assert before > 0.4
        assert abs(after) < 0.5 * before
        # the estimated leniencies separate the two groups by roughly the planted gap
        est_gap = res.leniency[syn.lenient_group].mean() - res.leniency[~syn.lenient_group].mean()
        assert 0.5 < est_gap < 1.3


def test_lower_is_better_scale_is_the_mirror_image() -> None:
    syn = synthetic_grades(80, 30, 3, seed=4)
    g = syn.grades
    flipped = GradeSet(
        proposal_idx=g.proposal_idx,
        reviewer_idx=g.reviewer_idx,
        grade=6.0 - g.grade,
        n_proposals=g.n_proposals,
        n_reviewers=g.n_reviewers,
        scale=GradeScale(1.0, 5.0, lower_is_better=True),
    )
    a = calibrate(g, n_bootstrap=30, seed=7)
    b = calibrate(flipped, n_bootstrap=30, seed=7)
    assert b.check(flipped) == []
    np.testing.assert_allclose(b.consensus, 6.0 - a.consensus, atol=1e-9)
    np.testing.assert_allclose(b.consensus_lo, 6.0 - a.consensus_hi, atol=1e-9)
    np.testing.assert_allclose(b.leniency, a.leniency, atol=1e-9)
    assert np.array_equal(a.rank, b.rank)
    assert np.array_equal(a.rank_lo, b.rank_lo) and np.array_equal(a.rank_hi, b.rank_hi)
    assert leniency_gap(flipped, syn.lenient_group) == pytest.approx(
        leniency_gap(g, syn.lenient_group)
    )
    # best proposal has the lowest grade on a lower-is-better scale
    assert b.consensus[b.order()[0]] == b.consensus.min()


def test_lower_is_better_recovers_truth() -> None:
    syn = synthetic_grades(150, 50, 3, seed=9, scale=GradeScale(1.0, 5.0, lower_is_better=True))
    res = calibrate(syn.grades, n_bootstrap=0)
    assert kendalltau(res.consensus, syn.true_quality)[0] < -0.5
    assert (
        kendalltau(res.oriented_consensus, syn.true_quality)[0]
        > kendalltau(-res.raw_mean, syn.true_quality)[0]
    )


def test_deterministic_per_seed_and_input_untouched() -> None:
    syn = synthetic_grades(60, 25, 3, seed=2)
    g = syn.grades
    copies = [np.array(a, copy=True) for a in (g.proposal_idx, g.reviewer_idx, g.grade)]
    a = calibrate(g, n_bootstrap=40, seed=11, fit_scale=True)
    b = calibrate(g, n_bootstrap=40, seed=11, fit_scale=True)
    c = calibrate(g, n_bootstrap=40, seed=12, fit_scale=True)
    for arr, orig in zip((g.proposal_idx, g.reviewer_idx, g.grade), copies, strict=True):
        assert np.array_equal(arr, orig)
    for name in ("consensus", "consensus_lo", "consensus_hi", "rank_lo", "rank_hi", "leniency"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert not np.array_equal(a.consensus_lo, c.consensus_lo)
    assert np.array_equal(a.consensus, c.consensus)  # the point estimate ignores the seed


def test_normal_equations_agree_with_lsqr() -> None:
    syn = synthetic_grades(70, 30, 3, seed=5, scale_sd=0.3)
    for fit_scale in (False, True):
        a = calibrate(syn.grades, n_bootstrap=0, fit_scale=fit_scale, tol=1e-9, max_iter=300)
        b = calibrate(
            syn.grades, n_bootstrap=0, fit_scale=fit_scale, tol=1e-9, max_iter=300, solver="lsqr"
        )
        np.testing.assert_allclose(a.consensus, b.consensus, atol=1e-5)
        np.testing.assert_allclose(a.leniency, b.leniency, atol=1e-5)


def test_few_grades_are_shrunk_not_over_corrected() -> None:
    # reviewer 3 gives a single grade 2 points above the others on proposal 0
    p = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    r = np.array([0, 1, 2, 3, 0, 1, 2, 0, 1, 2])
    g = np.array([3.0, 3.0, 3.0, 5.0, 2.0, 2.0, 2.0, 4.0, 4.0, 4.0])
    gs = GradeSet(p, r, g, 3, 5, GradeScale(1, 5))
    res = calibrate(gs, n_bootstrap=0, leniency_shrinkage=2.0)
    assert res.check(gs) == []
    assert 0 < res.leniency[3] < 2.0 * 0.5  # strongly shrunk toward 0
    assert res.leniency[4] == pytest.approx(0.0, abs=1e-9)  # no grades: no correction
    assert res.scale[4] == 1.0
    more = calibrate(gs, n_bootstrap=0, leniency_shrinkage=0.1)
    assert more.leniency[3] > res.leniency[3]


def test_confidence_weights_damp_a_low_confidence_grade() -> None:
    p = np.array([0, 0, 0, 1, 1, 1])
    r = np.array([0, 1, 2, 0, 1, 2])
    g = np.array([4.0, 4.0, 1.0, 3.0, 3.0, 3.0])
    plain = calibrate(GradeSet(p, r, g, 2, 3, GradeScale(1, 5)), n_bootstrap=0)
    conf = np.array([1.0, 1.0, 0.05, 1.0, 1.0, 1.0])
    weighted = calibrate(GradeSet(p, r, g, 2, 3, GradeScale(1, 5), conf), n_bootstrap=0)
    assert weighted.raw_mean[0] > plain.raw_mean[0]
    assert weighted.consensus[0] > plain.consensus[0]


def test_discuss_lists_proposals_straddling_the_cutoff() -> None:
    syn = synthetic_grades(120, 40, 3, seed=8)
    res = calibrate(syn.grades, n_bootstrap=60, seed=1)
    cutoff = 30
    d = res.discuss(cutoff)
    assert len(d) > 0
    for i in d:
        assert res.rank_lo[i] <= cutoff < res.rank_hi[i]
    outside = np.setdiff1d(np.arange(120), d)
    assert np.all((res.rank_hi[outside] <= cutoff) | (res.rank_lo[outside] > cutoff))
    assert np.all(np.diff(res.rank[d]) > 0)
    assert res.discuss(0).size == 0 and res.discuss(120).size == 0
    with pytest.raises(ValueError):
        res.discuss(-1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"grade": np.array([1.0, 9.0])}, "outside the scale"),
        ({"proposal_idx": np.array([0, 0])}, "without any grade"),
        ({"reviewer_idx": np.array([0, 5])}, "reviewer_idx outside"),
        ({"grade": np.array([1.0, np.nan])}, "finite"),
        ({"confidence": np.array([1.0, 0.0])}, "confidence"),
        ({"grade": np.array([1.0])}, "lengths differ"),
    ],
)
def test_invalid_grade_sets_are_rejected(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "proposal_idx": np.array([0, 1]),
        "reviewer_idx": np.array([0, 1]),
        "grade": np.array([1.0, 2.0]),
        "n_proposals": 2,
        "n_reviewers": 2,
        "scale": GradeScale(1.0, 5.0),
    }
    base.update(kwargs)
    with pytest.raises(ValueError, match=message):
        GradeSet(**base)  # type: ignore[arg-type]


def test_bad_options_are_rejected() -> None:
    syn = synthetic_grades(10, 5, 2, seed=0)
    with pytest.raises(ValueError):
        calibrate(syn.grades, level=1.5)
    with pytest.raises(ValueError):
        calibrate(syn.grades, n_bootstrap=-1)
    with pytest.raises(ValueError):
        calibrate(syn.grades, solver="magic")
    with pytest.raises(ValueError):
        GradeScale(5.0, 1.0)


@st.composite
def grade_sets(draw: st.DrawFn) -> GradeSet:
    n_p = draw(st.integers(1, 12))
    n_r = draw(st.integers(1, 6))
    lower = draw(st.booleans())
    per = [draw(st.integers(1, 3)) for _ in range(n_p)]
    p = np.repeat(np.arange(n_p), per)
    r = np.array(draw(st.lists(st.integers(0, n_r - 1), min_size=p.size, max_size=p.size)))
    g = np.array(
        draw(
            st.lists(
                st.sampled_from([1.0, 1.5, 2.0, 3.0, 4.0, 5.0]), min_size=p.size, max_size=p.size
            )
        )
    )
    return GradeSet(p, r, g, n_p, n_r, GradeScale(1.0, 5.0, lower_is_better=lower))


@settings(max_examples=40, deadline=None)
@given(gs=grade_sets(), fit_scale=st.booleans(), seed=st.integers(0, 3))
def test_properties_on_random_grade_sets(gs: GradeSet, fit_scale: bool, seed: int) -> None:
    grade_copy = gs.grade.copy()
    res = calibrate(gs, n_bootstrap=15, seed=seed, fit_scale=fit_scale)
    assert np.array_equal(gs.grade, grade_copy)
    assert res.check(gs) == []
    assert np.array_equal(np.sort(res.rank), np.arange(1, gs.n_proposals + 1))
    assert np.all(res.consensus_lo <= res.consensus + 1e-12)
    assert np.all(res.consensus <= res.consensus_hi + 1e-12)
    assert np.all((res.rank_lo <= res.rank) & (res.rank <= res.rank_hi))
    again = calibrate(gs, n_bootstrap=15, seed=seed, fit_scale=fit_scale)
    assert np.array_equal(res.rank_hi, again.rank_hi)
    assert np.array_equal(res.consensus, again.consensus)


def test_the_consensus_stays_on_the_grade_scale() -> None:
    """mend9a, item 5: four proposals graded 1..5 by three reviewers, a harsh reviewer's 5
    put the calibrated consensus of one above 5 and a lenient one's 1 another below 1.
    The consensus and its interval are clipped to the scale (the ranks come from the
    unclipped values, so the order is kept) and the result says how many were clipped."""
    from opencall.optim.calibration import GradeScale, GradeSet

    p = [0, 0, 1, 1, 2, 2, 3, 3]
    r = [2, 0, 1, 2, 2, 1, 1, 2]
    g = [1.0, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 4.0]
    for lower in (False, True):
        grades = np.array(g) if not lower else 6.0 - np.array(g)
        gs = GradeSet(
            proposal_idx=np.array(p), reviewer_idx=np.array(r), grade=grades,
            n_proposals=4, n_reviewers=3, scale=GradeScale(1, 5, lower),
            confidence=np.ones(len(p)),
        )  # fmt: skip
        for n_boot in (0, 50):
            res = calibrate(gs, fit_scale=False, n_bootstrap=n_boot, seed=0)
            assert res.check(gs) == []
            for arr in (res.consensus, res.consensus_lo, res.consensus_hi):
                assert arr.min() >= 1.0 and arr.max() <= 5.0, arr
            assert res.params["clipped_to_scale"] == 2
            # proposal 2 (above 5 before clipping) first, proposal 0 (below 1) last
            assert res.rank[2] == 1 and res.rank[0] == 4
