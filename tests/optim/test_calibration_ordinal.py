"""Letter and word grades (A/B/C, "excellent" to "poor") are ordered categories, not
numbers a fixed step apart (trialchair23). ``optim.calibration.ordinal`` gives each label
the score an ordered-probit model gives it on its latent scale: the thresholds between
the labels from the grades' own frequencies, each label's score the mean of the latent
normal between its thresholds. Checked against statsmodels' ``OrderedModel`` fitted by
maximum likelihood (the independent answer)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from statsmodels.miscmodels.ordinal_model import OrderedModel

from opencall.optim.calibration.ordinal import label_scores, on_label_scale

COUNTS = [
    [40, 40, 10, 5, 5],  # grade inflation: most reviews "excellent" or "very good"
    [5, 10, 30, 10, 5],
    [0, 12, 3, 0, 1],  # labels nobody used
    [7, 0, 0],
]


def _statsmodels_scores(counts: list[int]) -> np.ndarray:
    """The label scores from ``OrderedModel`` (probit, thresholds only): each grade twice
    and each label once more, so that its maximum-likelihood proportions are the smoothed
    ones, (count + 0.5) / (n + labels / 2)."""
    n = len(counts)
    # worst label first: the latent scale grows with merit; position 1 is the best label
    worst_first = [n - k for k in range(n) for _ in range(2 * counts[n - 1 - k] + 1)]
    y = pd.Series(pd.Categorical(worst_first, categories=list(range(1, n + 1))[::-1], ordered=True))
    model = OrderedModel(y, None, distr="probit")
    fit = model.fit(method="newton", disp=False, maxiter=200)
    cuts = model.transform_threshold_params(fit.params)  # -inf, t1, ..., inf
    a, b = cuts[:-1], cuts[1:]
    worst_to_best = (norm.pdf(a) - norm.pdf(b)) / (norm.cdf(b) - norm.cdf(a))
    return np.asarray(worst_to_best[::-1])


@pytest.mark.parametrize("counts", COUNTS)
def test_label_scores_are_the_ordered_probit_model_s(counts: list[int]) -> None:
    positions = np.repeat(np.arange(1, len(counts) + 1), counts)
    ours = label_scores(positions, len(counts))
    assert ours.shape == (len(counts),)
    assert np.all(np.diff(ours) < 0), ours  # the first label is the best
    np.testing.assert_allclose(ours, _statsmodels_scores(counts), atol=1e-4)


def test_unequal_steps_follow_the_grades_use() -> None:
    """With most reviews "excellent" or "very good", the step from "very good" up to
    "excellent" is wider than from "fair" to "good": equal steps would rank a proposal
    graded excellent and good (1, 3) with one graded very good twice (2, 2)."""
    positions = np.repeat(np.arange(1, 6), COUNTS[0])
    s = label_scores(positions, 5)
    assert s[0] - s[1] > s[2] - s[3], s
    assert s[0] + s[2] > 2 * s[1], s


def test_scores_back_on_the_label_scale() -> None:
    """A latent score is said again as a position on the labels' scale (1 = the first,
    best label): each label's score is its position, between two labels a fraction of the
    way, beyond the ends the end."""
    s = np.array([1.0, 0.2, -0.4, -1.5])
    back = on_label_scale(np.array([1.0, 0.6, 0.2, -1.5, 3.0, -9.0]), s)
    np.testing.assert_allclose(back, [1.0, 1.5, 2.0, 4.0, 1.0, 4.0])


def test_bad_positions_are_refused() -> None:
    with pytest.raises(ValueError, match="positions"):
        label_scores(np.array([1, 2, 4]), 3)
    with pytest.raises(ValueError, match="positions"):
        label_scores(np.array([1.5, 2.0]), 3)
    with pytest.raises(ValueError, match="two labels"):
        label_scores(np.array([1, 1]), 1)
