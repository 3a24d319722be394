"""The vectorised Kaplan-Meier median gives the step-by-step estimator's answer, to the
last bit, on ties, censorings, all-censored and single-row samples."""

from __future__ import annotations

import numpy as np

from opencall.outcomes.after_award import km_median


def km_median_steps(times: np.ndarray, events: np.ndarray) -> float | None:
    """The estimator one time at a time (the implementation before it was vectorised)."""
    if len(times) == 0:
        return None
    order = np.lexsort((~events.astype(bool), times))
    t, e = times[order], events[order].astype(bool)
    at_risk, surv, i = len(t), 1.0, 0
    while i < len(t):
        j, deaths = i, 0
        while j < len(t) and t[j] == t[i]:
            deaths += int(e[j])
            j += 1
        if deaths:
            surv *= 1.0 - deaths / at_risk
            if surv <= 0.5:
                return float(t[i])
        at_risk -= j - i
        i = j
    return None


def test_same_answer_as_the_step_by_step_estimator() -> None:
    rng = np.random.default_rng(7)
    for trial in range(400):
        n = int(rng.integers(1, 60))
        times = rng.integers(0, 1 + int(rng.integers(1, 40)), n).astype(float)  # many ties
        events = rng.random(n) < rng.random()
        assert km_median(times, events) == km_median_steps(times, events), (trial, times, events)
    assert km_median(np.array([]), np.array([], dtype=bool)) is None
    assert km_median(np.array([3.0, 5.0]), np.array([False, False])) is None  # all censored
    assert km_median(np.array([4.0]), np.array([True])) == 4.0
