"""A sparse affinity (scipy CSR, a pair not stored is 0) gives exactly the results of its dense
``toarray()``: the same pairs, totals, bounds and certificate."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from opencall.optim.assignment import (
    AssignmentProblem,
    Grouping,
    affinity_of_pairs,
    check_assignment,
    dense_rows,
    solve_assignment,
)
from opencall.reviews.services.assignment import affinity_matrix, affinity_rows
from opencall.runs import inputs_hash, inputs_hash_with_rows


def _draw(seed: int) -> tuple[sp.csr_matrix, dict]:
    """A top-k-like sparse affinity with zero rows and columns, conflicts, forced and forbidden
    pairs, nested and crossing groupings, both objectives."""
    rng = np.random.default_rng(seed)
    P, R = int(rng.integers(1, 40)), int(rng.integers(4, 30))
    k = int(rng.integers(1, min(4, R) + 1))
    top = int(rng.integers(1, R + 1))
    rows, cols = [], []
    for p in range(P):
        if rng.random() < 0.15:
            continue  # a proposal with no stored score
        rows.append(np.full(top, p))
        cols.append(rng.choice(R, size=top, replace=False))
    p_ = np.concatenate([np.zeros(0, np.int64), *rows]).astype(np.int64)
    r_ = np.concatenate([np.zeros(0, np.int64), *cols]).astype(np.int64)
    dead = rng.choice(R, size=int(rng.integers(0, 3)), replace=False)  # reviewers never scored
    keep = ~np.isin(r_, dead)
    p_, r_ = p_[keep], r_[keep]
    v = np.round(rng.random(len(p_)), int(rng.integers(1, 7)))  # ties, and stored zeros
    v[rng.random(len(v)) < 0.05] = 0.0
    if seed % 3 == 0:
        v -= 0.2  # negative affinities too
    v[rng.random(len(v)) < 0.03] = -0.0
    A = sp.csr_matrix((v, (p_, r_)), shape=(P, R))
    cap = int(np.ceil(k * P / R))
    kw: dict = {
        "k": k,
        "max_load": rng.integers(cap + 1, cap + 4, R),
        "min_load": rng.integers(0, 2, R) if seed % 2 else 0,
        "objective": "fair" if seed % 4 == 1 else "total",
        "seed": seed,
    }
    n = int(rng.integers(0, P * R // 5 + 1))
    kw["conflicts"] = np.stack([rng.integers(0, P, n), rng.integers(0, R, n)], 1)
    m = int(rng.integers(0, 3))
    kw["forbidden"] = np.stack([rng.integers(0, P, m), rng.integers(0, R, m)], 1)
    if seed % 5 == 2:
        p0 = rng.choice(P, size=min(P, 2), replace=False)
        kw["forced"] = np.stack([p0, rng.integers(0, R, len(p0))], 1)
    if seed % 2:
        inst = rng.integers(0, 5, R)
        groups = [Grouping(inst, max(1, k - 1), "institution"), Grouping(inst // 2, k, "region")]
        if seed % 7 == 3:
            groups.append(Grouping(rng.integers(0, 3, R), k, "crossing"))  # MIP path
        kw["groupings"] = tuple(groups)
    return A, kw


def _same(a, b) -> None:  # type: ignore[no-untyped-def]
    for f in ("proposals", "reviewers", "proposal_affinity"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    for f in (
        "total_affinity",
        "min_proposal_affinity",
        "upper_bound",
        "gap",
        "certified",
        "objective",
        "method",
        "pricing_iterations",
        "n_candidate_edges",
        "total_certified",
    ):
        assert getattr(a, f) == getattr(b, f), f
    assert a.total_upper_bound == b.total_upper_bound or (
        np.isnan(a.total_upper_bound) and np.isnan(b.total_upper_bound)
    )


@pytest.mark.parametrize("seed", range(40))
def test_sparse_affinity_gives_the_dense_result(seed: int) -> None:
    A, kw = _draw(seed)
    P, R = A.shape
    try:
        dense = solve_assignment(AssignmentProblem(P, R, A.toarray(), **kw))
    except ValueError as exc:  # infeasible draws: the same error either way
        with pytest.raises(type(exc), match="^" + __import__("re").escape(str(exc)) + "$"):
            solve_assignment(AssignmentProblem(P, R, A, **kw))
        return
    for form in (A, A.tocoo(), A.tocsc()):
        sparse_pb = AssignmentProblem(P, R, form, **kw)
        res = solve_assignment(sparse_pb)
        _same(res, dense)
        assert res.check(sparse_pb) == []
        assert check_assignment(sparse_pb, res.proposals, res.reviewers) == []
        np.testing.assert_array_equal(
            affinity_of_pairs(sparse_pb, res.proposals, res.reviewers),
            A.toarray()[res.proposals, res.reviewers],
        )


def test_the_affinity_of_any_pair_is_the_dense_entry() -> None:
    A, kw = _draw(5)
    P, R = A.shape
    pb = AssignmentProblem(P, R, A, k=1)
    p, r = np.divmod(np.arange(P * R), R)
    np.testing.assert_array_equal(affinity_of_pairs(pb, p, r), A.toarray().ravel())


def test_sparse_affinity_must_be_finite_and_of_the_right_shape() -> None:
    A = sp.csr_matrix(np.array([[0.5, np.nan], [0.0, 0.1]]))
    with pytest.raises(ValueError, match="finite"):
        AssignmentProblem(2, 2, A, k=1)
    with pytest.raises(ValueError, match="2 x 3"):
        AssignmentProblem(2, 3, sp.csr_matrix((2, 2)), k=1)


def test_the_scores_matrix_and_its_hashed_rows_are_the_dense_ones() -> None:
    rng = np.random.default_rng(1)
    P, R = 37, 300
    p = rng.integers(0, P, 2000)
    r = rng.integers(0, R, 2000)
    v = rng.random(2000) * 2 - 0.5
    v[:5] = -0.0
    dense = np.zeros((P, R))
    dense[p, r] = v  # what the assignment built before: the last score of a pair kept
    A = affinity_matrix(P, R, p, r, v)
    assert sp.isspmatrix_csr(A)
    np.testing.assert_array_equal(A.toarray(), dense)
    # negative zeros too (the hash writes -0.0), which toarray() would turn into 0.0
    np.testing.assert_array_equal(np.signbit(dense_rows(A)), np.signbit(dense))
    assert np.signbit(dense).sum() > 0
    rest = {"params": {"k": 3}, "conflicts": [[0, 1]]}
    whole = inputs_hash({"A": dense.round(6).tolist(), **rest})
    assert inputs_hash_with_rows(rest, "A", affinity_rows(A)) == whole
    # each row's bytes are the dense row's JSON, whatever the values (ints, tiny ones that
    # round to 0 or -0, long decimals, exponents)
    v = np.concatenate([v, [1.0, -2.0, 1e-7, -1e-7, 0.1 + 0.2, 123456.7891234, 5e-6, -0.0]])
    p = np.concatenate([p, np.arange(8)])
    r = np.concatenate([r, np.arange(8) + 3])
    dense[p[-8:], r[-8:]] = v[-8:]
    A = affinity_matrix(P, R, p, r, v)
    rows = list(affinity_rows(A))
    assert rows == [json.dumps(x, separators=(",", ":")).encode() for x in dense.round(6).tolist()]
    assert inputs_hash_with_rows(rest, "A", rows) == inputs_hash(
        {"A": dense.round(6).tolist(), **rest}
    )
    empty = affinity_matrix(0, 3, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    assert list(affinity_rows(empty)) == []
    no_scores = affinity_matrix(2, 3, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    assert list(affinity_rows(no_scores)) == [b"[0.0,0.0,0.0]"] * 2
