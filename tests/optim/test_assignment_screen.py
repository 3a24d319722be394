"""The full-affinity screen behind the fair mode's bounds (``_screen``): single precision
with an explicit error margin, exact on the survivors. Every pair that qualifies in exact
arithmetic must come back, and the sum of the positive parts must be the exact one, since
the fair LP's convergence, the total's Lagrangian bound and reduced-cost fixing rest on it."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencall.optim.assignment import AssignmentProblem, TopicAffinity
from opencall.optim.assignment.common import _prepare, _scaled
from opencall.optim.assignment.fair import _screen
from opencall.optim.assignment.total import _candidates


def _factors(rng: np.random.Generator, n: int, T: int, dense: bool) -> sp.csr_matrix:
    if dense:
        return sp.csr_matrix(rng.random((n, T)) ** 4)  # many small terms: largest screen error
    nt = np.minimum(rng.integers(1, 4, n), T)
    rows = np.repeat(np.arange(n), nt)
    cols = np.concatenate([rng.choice(T, m, replace=False) for m in nt])
    w = np.concatenate([rng.dirichlet(np.ones(m)) for m in nt])
    return sp.csr_matrix((w, (rows, cols)), shape=(n, T))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 2**20),
    st.booleans(),
    st.booleans(),
    st.sampled_from([0.0, 1e-7, -2000.0, 300.0]),
)
def test_screen_finds_exactly_the_qualifying_pairs(
    seed: int, dense_factors: bool, dense_affinity: bool, thr: float
) -> None:
    rng = np.random.default_rng(seed)
    P, R, T = int(rng.integers(2, 40)), int(rng.integers(3, 30)), int(rng.integers(2, 9))
    pt, rt = _factors(rng, P, T, dense_factors), _factors(rng, R, T, dense_factors)
    nc = int(rng.integers(0, P * R // 4 + 1))
    conf = np.stack([rng.integers(0, P, nc), rng.integers(0, R, nc)], 1)
    topic = AssignmentProblem(P, R, TopicAffinity(pt, rt), k=1, conflicts=conf, seed=seed)
    pb = topic
    if dense_affinity:  # the same values as a dense matrix (the float64 screening path)
        s0 = _prepare(topic, 1e6)
        pp, rr = np.divmod(np.arange(P * R), R)
        A = np.empty((P, R))
        A[pp, s0.perm[rr]] = s0.oracle.pairs(pp, rr)
        pb = AssignmentProblem(P, R, A, k=1, conflicts=conf, seed=seed)
    s = _prepare(pb, 1e6)
    if rng.random() < 0.5:
        _candidates(s, 1, 0, seed)  # sets rowmax_s: rows that cannot qualify are skipped
    pp, rr = np.divmod(np.arange(P * R), R)
    S = _scaled(s, s.oracle.pairs(pp, rr))
    allowed = ~np.isin(pp * R + rr, s.banned)
    # multipliers of the shapes the solver uses (u >= 0 mostly, some negative), in scaled units
    u = np.where(rng.random(P) < 0.2, -rng.random(P), rng.random(P) * 3)
    v = rng.normal(0, 3e5, R)
    t = rng.normal(3e5, 3e5, P)
    # plant pairs exactly at the threshold, where a screen without its margin fails
    for p in range(P):
        r = int(rng.integers(R))
        t[p] = S[p * R + r] * u[p] + v[r] - thr
    f = S * u[pp] + v[rr] - t[pp]
    want = allowed & (f >= thr)
    exclude = np.sort(rng.choice(P * R, size=P * R // 5, replace=False)).astype(np.int64)
    got_p, got_r, got_s, got_f, pos, complete = _screen(
        s, u, v, t, thr, exclude, None, sum_positive=thr <= 0
    )
    assert complete
    want_keys = (pp * R + rr)[want & ~np.isin(pp * R + rr, exclude)]
    assert sorted((got_p * R + got_r).tolist()) == sorted(want_keys.tolist())
    assert (got_s == S[got_p * R + got_r]).all()
    assert np.array_equal(got_f, S[got_p * R + got_r] * u[got_p] + v[got_r] - t[got_p])
    if thr <= 0:
        assert pos == np.float64(f[allowed & (f > 0)].sum()) or abs(
            pos - f[allowed & (f > 0)].sum()
        ) <= 1e-9 * max(1.0, abs(pos))
    # per-row cap: the largest f of each row, and a limit that is exceeded says so
    top_p, _r, _s, top_f, _pos, _ok = _screen(s, u, v, t, thr, exclude, 1)
    for p in np.unique(top_p):
        assert top_f[top_p == p].max() == got_f[got_p == p].max()
    n = len(got_p)
    if n:
        *_, ok = _screen(s, u, v, t, thr, exclude, None, limit=n - 1)
        assert not ok


def _max_min_full(
    P: int, R: int, S: np.ndarray, allowed: np.ndarray, k: int, hi: int, integer: bool = True
) -> float:
    """Exact max-min of the proposal sums over every allowed pair (MIP, or its LP
    relaxation), scaled units."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    ps, rs = np.nonzero(allowed)
    n = len(ps)
    cols = np.arange(n)
    s = S[ps, rs]
    rows = sp.vstack(
        [
            sp.hstack([sp.csr_matrix((np.ones(n), (ps, cols)), shape=(P, n)), np.zeros((P, 1))]),
            sp.hstack([sp.csr_matrix((np.ones(n), (rs, cols)), shape=(R, n)), np.zeros((R, 1))]),
            sp.hstack([sp.csr_matrix((s, (ps, cols)), shape=(P, n)), -np.ones((P, 1))]),
        ]
    ).tocsr()
    lb = np.concatenate([np.full(P, k), np.zeros(R), np.zeros(P)])
    ub = np.concatenate([np.full(P, k), np.full(R, hi), np.full(P, np.inf)])
    c = np.zeros(n + 1)
    c[-1] = -1
    integ = np.ones(n + 1) if integer else np.zeros(n + 1)
    integ[-1] = 0
    res = milp(
        c,
        integrality=integ,
        bounds=Bounds(np.zeros(n + 1), np.concatenate([np.ones(n), [np.inf]])),
        constraints=LinearConstraint(rows, lb, ub),
        options={"mip_rel_gap": 0.0},
    )
    return float(-res.fun)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**20))
def test_fair_max_min_bound_holds_over_every_pair_when_pricing_adds_columns(seed: int) -> None:
    """One candidate per proposal, so the max-min LP needs columns from pricing: its bound
    (the Lagrangian bound of ``_fair_price``) is at least the full-graph max-min optimum, at
    most the full-graph LP optimum (rounded down to the cost grid: column generation
    converged), and when certified the assignment reaches the optimum."""
    from opencall.optim.assignment import affinity_of_pairs, solve_assignment

    rng = np.random.default_rng(seed)
    P, R, k, hi = 16, 11, 2, 4
    pt, rt = _factors(rng, P, 5, False), _factors(rng, R, 5, False)
    conf = np.stack([rng.integers(0, P, 8), rng.integers(0, R, 8)], 1)
    pb = AssignmentProblem(
        P, R, TopicAffinity(pt, rt), k=k, max_load=hi, conflicts=conf, objective="fair", seed=seed
    )
    res = solve_assignment(pb, candidates_per_proposal=1, fair_mip_max_edges=0)
    assert res.check(pb) == []
    pp, rr = np.divmod(np.arange(P * R), R)
    S = np.rint(affinity_of_pairs(pb, pp, rr) * 1e6).reshape(P, R)
    allowed = np.ones((P, R), bool)
    allowed[conf[:, 0], conf[:, 1]] = False
    best = _max_min_full(P, R, S, allowed, k, hi)
    got = np.bincount(res.proposals, weights=S[res.proposals, res.reviewers], minlength=P).min()
    assert got <= best + 0.5
    assert res.upper_bound * 1e6 >= best - 1e-3
    lp = _max_min_full(P, R, S, allowed, k, hi, integer=False)
    assert res.upper_bound * 1e6 <= math.floor(lp + 1e-3) + 1e-3
    if res.certified:
        assert abs(got - best) <= 0.5  # integers on the grid (the MIP value carries float noise)
