"""Letter and word grades (A/B/C, "excellent" ... "poor"): ordered labels, not numbers a
fixed step apart.

A call's labels are numbered by position, 1 the first and best. Each label gets the score
an ordered-probit model gives it: a latent normal merit cut by thresholds into the labels,
the thresholds placed so that each label's share of the grades is the share of the normal
between them, and the label's score the mean of the normal between its thresholds. The
calibration (``calibrate``) then runs on those scores, as on any interval scale, and its
consensus is said again as a position on the labels' scale (``on_label_scale``).

Why not a fitted ``statsmodels`` ``OrderedModel`` here: with the thresholds alone (no
covariates) its maximum-likelihood thresholds are the normal quantiles of the cumulative
shares, in closed form (``tests/optim/test_calibration_ordinal.py`` checks the two agree);
the proposals' merit and the reviewers' leniency are left to the calibration, where an
ordered model with a parameter per proposal and per reviewer has no finite estimate as
soon as a proposal is given one label by all its reviewers (the usual case with 2 or 3
reviews). Each label's count is smoothed by half a grade, so that a label nobody used
still has a finite score between its neighbours.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from opencall.optim.arrays import FloatArray

#: the pseudo-count added to each label's count (Jeffreys' half)
SMOOTHING = 0.5


def label_scores(positions: np.ndarray, n_labels: int) -> FloatArray:
    """The latent score of each label, first (best) label first, decreasing.

    Parameters
    ----------
    positions : array of int-valued numbers
        The grades given, each a label's position ``1 .. n_labels`` (1 = best).
    n_labels : int
        How many labels the scale has (at least two).

    Raises
    ------
    ValueError
        Fewer than two labels, or a position that is not a whole number in range.
    """
    if n_labels < 2:
        raise ValueError("an ordinal scale needs at least two labels")
    pos = np.asarray(positions, dtype=np.float64)
    if pos.ndim != 1 or not np.all(np.isfinite(pos)):
        raise ValueError("positions must be a 1-D array of finite numbers")
    whole = np.rint(pos)
    if np.any(whole != pos) or np.any(whole < 1) or np.any(whole > n_labels):
        raise ValueError(f"positions must be whole numbers 1..{n_labels}")
    counts = np.bincount(whole.astype(np.int64) - 1, minlength=n_labels).astype(np.float64)
    share = (counts + SMOOTHING) / (counts.sum() + SMOOTHING * n_labels)
    # the latent scale grows with merit: the worst label lies lowest
    cum = np.cumsum(share[::-1])[:-1]
    cuts = np.concatenate(([-np.inf], norm.ppf(cum), [np.inf]))
    lo, hi = cuts[:-1], cuts[1:]
    worst_first = (norm.pdf(lo) - norm.pdf(hi)) / (norm.cdf(hi) - norm.cdf(lo))
    return np.asarray(worst_first[::-1], dtype=np.float64)


def on_label_scale(latent: np.ndarray, scores: FloatArray) -> FloatArray:
    """Latent scores said as positions on the labels' scale (1 = the first, best label):
    a label's own score is its position, a score between two labels' that fraction of the
    way between their positions, one beyond the ends the end's position."""
    s = np.asarray(scores, dtype=np.float64)
    positions = np.arange(1, s.size + 1, dtype=np.float64)
    # np.interp needs increasing abscissae: the worst label's score first
    return np.asarray(np.interp(np.asarray(latent, dtype=np.float64), s[::-1], positions[::-1]))
