"""The local search that improves whole-award warm starts (``improve_packing``)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from opencall.optim.allocation import improve_packing


def run(c: list[float], rows: list[list[float]], cap: list[float], x: list[float]) -> list[float]:
    out = improve_packing(np.array(c), sp.csr_matrix(np.array(rows)), np.array(cap), np.array(x))
    return [float(v) for v in out]


def test_adds_what_fits_best_first() -> None:
    assert run([1.0, 3.0, 2.0], [[6.0, 6.0, 4.0]], [10.0], [0, 0, 0]) == [0.0, 1.0, 1.0]


def test_swaps_one_for_a_better_one() -> None:
    assert run([1.0, 2.0], [[10.0, 10.0]], [10.0], [1, 0]) == [0.0, 1.0]


def test_swaps_one_for_two_worth_more() -> None:
    assert run([1.5, 1.0, 1.0], [[10.0, 5.0, 5.0]], [10.0], [1, 0, 0]) == [0.0, 1.0, 1.0]


def test_keeps_a_better_single_against_two_worth_less() -> None:
    assert run([2.5, 1.0, 1.0], [[10.0, 5.0, 5.0]], [10.0], [1, 0, 0]) == [1.0, 0.0, 0.0]


def test_an_infeasible_start_is_returned_unchanged() -> None:
    assert run([1.0, 1.0], [[6.0, 6.0]], [10.0], [1, 1]) == [1.0, 1.0]


@pytest.mark.parametrize("seed", range(20))
def test_random_packings_stay_feasible_and_never_get_worse(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = 30, 4
    a = rng.integers(0, 6, size=(m, n)).astype(float)
    cap = rng.integers(10, 30, size=m).astype(float)
    c = rng.uniform(0.1, 1.1, n)
    x = np.zeros(n)
    for j in rng.permutation(n):  # a feasible start in a random order
        if (a @ x + a[:, j] <= cap).all():
            x[j] = 1.0
    x[rng.random(n) < 0.3] = 0.0
    y = improve_packing(c, sp.csr_matrix(a), cap, x)
    assert set(np.unique(y)) <= {0.0, 1.0}
    assert (a @ y <= cap + 1e-9).all()
    assert c @ y >= c @ x - 1e-12
    # no single column can be added any more, and no single swap gains
    slack = cap - a @ y
    for j in np.flatnonzero(y == 0):
        assert not (a[:, j] <= slack + 1e-9).all()
        for i in np.flatnonzero(y == 1):
            if (a[:, j] <= slack + a[:, i] + 1e-9).all():
                assert c[j] <= c[i] + 1e-9
