"""The vectorised Kaplan-Meier median gives the step-by-step estimator's answer, to the
last bit, on ties, censorings, all-censored and single-row samples."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from opencall.outcomes import after_award as aa
from opencall.outcomes.after_award import km_median, km_medians
from tests.outcomes.bootstrap_before import time_to_first_result_before


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


def test_the_replicates_at_once_give_each_ones_median_to_the_last_bit() -> None:
    rng = np.random.default_rng(11)
    for trial in range(60):
        n = int(rng.integers(1, 80))
        times = rng.integers(0, 1 + int(rng.integers(1, 50)), n).astype(float)
        events = rng.random(n) < rng.random()
        idx = rng.integers(0, n, (int(rng.integers(1, 30)), n))
        got = km_medians(times, events, idx)
        for b, row in enumerate(idx):
            one = km_median(times[row], events[row])
            assert got[b] == (np.inf if one is None else one), (trial, b)


def _rows(n: int, seed: int) -> list[aa.AfterAwardRow]:
    rng = np.random.default_rng(seed)
    groups = ["Low income", "High income", "Upper middle income"]
    rows = [
        aa.AfterAwardRow(
            proposal_id=str(i),
            groups={"income_group": groups[i % 3]},
            produced_results=bool(done),
            days_to_first_result=int(rng.integers(30, 900)) if done else None,
            follow_up_days=int(rng.integers(100, 1200)),
        )
        for i, done in enumerate(rng.random(n) < 0.7)
    ]
    # a first result falls within its award's follow-up, as the data has it (one dated
    # after the report's day is censored since outcomes19, which the old code did not)
    return [
        dataclasses.replace(r, follow_up_days=max(r.follow_up_days, r.days_to_first_result or 0))
        for r in rows
    ]


def test_the_time_to_a_first_result_keeps_its_intervals() -> None:
    for n, seed in ((7, 1), (60, 2), (301, 3)):
        rows = _rows(n, seed)
        assert aa.time_to_first_result(rows, "income_group") == time_to_first_result_before(
            rows, "income_group"
        )


def test_the_bootstrap_does_not_estimate_replicate_by_replicate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 2,000-award call's report and public page spent most of their time in 500
    Kaplan-Meier estimates per group and grouping, one replicate at a time: the
    estimator runs once per group now, the replicates in chunks."""
    calls = {"one": 0, "chunk": 0}
    one, chunk = aa.km_median, aa.km_medians

    def count_one(*a: Any) -> Any:
        calls["one"] += 1
        return one(*a)

    def count_chunk(*a: Any) -> Any:
        calls["chunk"] += 1
        return chunk(*a)

    monkeypatch.setattr(aa, "km_median", count_one)
    monkeypatch.setattr(aa, "km_medians", count_chunk, raising=False)
    got = aa.time_to_first_result(_rows(300, 4), "income_group", n_boot=500)
    assert len(got) == 4  # three groups and all
    assert calls["one"] <= 4
    assert calls["chunk"] <= 4 * -(-500 // aa.KM_CHUNK)
