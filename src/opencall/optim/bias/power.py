"""The minimum detectable bias of a tested cell at the report's alpha."""

from __future__ import annotations

import math


def minimum_detectable_bias(
    se: float, *, alpha: float = 0.05, n_tests: int = 1, power: float = 0.8
) -> float:
    """Smallest bias (grade points) flagged with probability ``power`` at ``alpha`` among
    ``n_tests`` hypotheses (two-sided, normal approximation): ``(z_{1-a/2m} + z_power) * se``.

    Parameters
    ----------
    se : float
        The cell's standard error (finite, >= 0).
    alpha : float
        The family's significance level.
    n_tests : int
        Number of tested cells ``m``.
    power : float
        Probability of flagging a bias of the returned size.

    Returns
    -------
    float
        The bias in grade points.
    """
    from scipy import stats

    if not (se >= 0 and math.isfinite(se)):
        raise ValueError("se must be finite and >= 0")
    if not 0 < alpha < 1 or not 0 < power < 1 or n_tests < 1:
        raise ValueError("need 0 < alpha < 1, 0 < power < 1 and n_tests >= 1")
    z_a = float(stats.norm.ppf(1 - alpha / (2 * n_tests)))
    z_b = float(stats.norm.ppf(power))
    return (z_a + z_b) * se
