"""Validation of the reviewer-group x applicant-group model in seeded synthetic worlds
(``optim.bias_sim``): >= 400 proposals, 3 reviews each, nuisance that a naive method mistakes
for bias (lower quality of poorer applicants, leniency by reviewer region, reviewer scales and
noise levels).  Planted biases of several sizes and structures are found with the right sign,
worlds without bias rarely raise a flag, and the correction removes most of the planted gap in
the calibrated consensus.  A few seeds here; ``bench/bench_bias.py`` runs 50 per row."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from opencall.optim.bias import (
    BiasData,
    FixedEffects,
    correct_grades,
    interaction_model,
    minimum_detectable_bias,
)
from opencall.optim.bias_sim import STRUCTURES, judge, make_world, ranking_gap

N = 400  # proposals per world (the floor)


def test_fixed_effects_projection_is_least_squares_also_when_the_graph_is_split() -> None:
    rng = np.random.default_rng(0)
    # two disconnected blocks of proposals and reviewers
    p = np.array([0, 0, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5])
    r = np.array([0, 1, 1, 2, 0, 2, 3, 4, 5, 3, 4, 4, 5])
    w = rng.uniform(0.5, 2.0, p.size)
    v = rng.normal(size=(p.size, 2))
    fe = FixedEffects(p, r, 6, 6, weight=w)
    assert fe.n_components == 2 and fe.k == 6 + 6 - 2
    D = np.zeros((p.size, 12))
    D[np.arange(p.size), p] = 1
    D[np.arange(p.size), 6 + r] = 1
    sw = np.sqrt(w)[:, None]
    coef, *_ = np.linalg.lstsq(D * sw, v * sw, rcond=None)
    np.testing.assert_allclose(fe.residualize(v), v - D @ coef, atol=1e-10)


def test_minimum_detectable_bias_formula_and_bad_input() -> None:
    assert minimum_detectable_bias(0.1) == pytest.approx((1.959964 + 0.841621) * 0.1, rel=1e-5)
    assert minimum_detectable_bias(0.1, n_tests=50) > minimum_detectable_bias(0.1)
    assert minimum_detectable_bias(0.1, power=0.9) > minimum_detectable_bias(0.1)
    for kw in ({"se": -1.0}, {"se": float("nan")}, {"se": 0.1, "alpha": 0.0}):
        with pytest.raises(ValueError):
            minimum_detectable_bias(**kw)  # type: ignore[arg-type]
    bad = BiasData(np.array([0, 1]), np.array([0]), np.array([3.0, 4.0]), 2, 1, {}, {})
    with pytest.raises(ValueError, match="differ in length"):
        interaction_model(bad)


@pytest.mark.parametrize("structure", list(STRUCTURES))
def test_a_half_point_bias_on_a_quarter_of_the_reviews_is_found_with_the_right_sign(
    structure: str,
) -> None:
    found = 0
    for seed in range(4):
        w = make_world(seed, bias=0.5, structure=structure, n_proposals=N)
        assert w.affected_share >= 0.25
        assert len(w.data.grade) == 3 * N
        m = interaction_model(w.data)
        v = judge(w, m)
        found += v.detected
        assert v.estimate is not None and v.truth is not None and v.truth < 0
    assert found >= 3, f"{structure}: found in {found} of 4 worlds"


def test_a_kinder_bias_is_found_as_kinder_and_sized_within_its_interval() -> None:
    covered = 0
    for seed in range(4):
        w = make_world(seed, bias=-0.75, structure="region-vs-lmic", n_proposals=N)
        m = interaction_model(w.data)
        v = judge(w, m)
        assert v.detected and v.truth is not None and v.truth > 0
        cell = next(
            c
            for c in m.interactions
            if (c.reviewer_group, c.applicant_cut, c.applicant_group)
            == ("Europe", "lmic", "low or lower-middle")
        )
        assert cell.significant and cell.direction == "kinder"
        covered += cell.ci_low <= 0.75 <= cell.ci_high
    assert covered >= 3


def test_sizes_a_small_bias_is_found_less_often_than_a_large_one() -> None:
    rate = {}
    for size in (0.15, 1.0):
        rate[size] = sum(
            judge(w, interaction_model(w.data)).detected
            for w in (
                make_world(s, bias=size, structure="income-vs-lmic", n_proposals=N)
                for s in range(4)
            )
        )
    assert rate[1.0] == 4 and rate[0.15] <= 2


def test_worlds_without_bias_rarely_raise_a_flag() -> None:
    flags = 0
    worlds = 0
    for structure in STRUCTURES:
        for seed in range(100, 105):
            m = interaction_model(make_world(seed, structure=structure, n_proposals=N).data)
            worlds += 1
            flags += bool(m.flagged)
    # 5 % expected at most: 1 in 20 worlds; 3 or more would be unlikely (p < 0.08)
    assert flags <= 2, f"{flags} of {worlds} worlds without bias raised a flag"


def test_an_outcome_difference_from_quality_is_not_a_reviewer_group_effect() -> None:
    w = make_world(7, n_proposals=N, quality_gap=1.0)
    m = interaction_model(w.data)
    cells = [c for c in m.interactions if c.applicant_cut == "lmic"]
    assert cells
    # low and lower-middle income applicants get much lower grades (their quality is lower)...
    assert all(c.marginal_difference < -0.5 for c in cells)
    # ...which no reviewer group is blamed for
    assert not any(c.significant for c in cells)
    assert max(abs(c.estimate) for c in cells) < 0.35


def test_correction_removes_most_of_the_planted_gap_and_leaves_bias_free_worlds_alone() -> None:
    before, after = [], []
    # the leftover of one world is noisy (an estimate 1 SE off moves it by ~0.1): 8 worlds
    for seed in range(8):
        w = make_world(seed, bias=0.5, structure="region-vs-lmic", n_proposals=N)
        m = interaction_model(w.data)
        c = correct_grades(w.data, m)
        assert c.cells and all(x.reviewer_group == "Europe" for x in c.cells)
        # only reviews by Europe reviewers are touched
        europe = np.asarray(w.data.reviewer_groups["un_region"])[w.data.reviewer_idx] == "Europe"
        assert not np.any(c.removed[~europe])
        before.append(abs(ranking_gap(w, w.data.grade)))
        after.append(abs(ranking_gap(w, c.grade)))
    assert statistics.mean(before) > 0.2  # calibration alone leaves the gap in place
    assert 1 - statistics.mean(after) / statistics.mean(before) >= 0.7
    null = make_world(101, structure="region-vs-lmic", n_proposals=N)
    m0 = interaction_model(null.data)
    if not m0.flagged:
        c0 = correct_grades(null.data, m0)
        assert c0.n_changed == 0 and np.array_equal(c0.grade, null.data.grade)


@pytest.mark.slow
@pytest.mark.parametrize("structure", list(STRUCTURES))
def test_slow_twenty_seeds_per_structure(structure: str) -> None:
    det = sum(
        judge(w, interaction_model(w.data)).detected
        for w in (make_world(s, bias=0.5, structure=structure, n_proposals=N) for s in range(20))
    )
    assert det >= 18
