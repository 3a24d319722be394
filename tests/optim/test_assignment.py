"""Conformance and optimality tests for the exact reviewer-assignment optimiser."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from opencall.optim.assignment import (
    AssignmentProblem,
    Grouping,
    InfeasibleAssignment,
    TopicAffinity,
    affinity_of_pairs,
    distributed_problem,
    distributed_reviewers,
    solve_assignment,
)

SCALE = 1e6


def _reference(pb: AssignmentProblem, A: np.ndarray, integer: bool) -> float | None:
    """Optimum over the FULL graph with HiGHS (LP or MIP), in scaled-and-rounded costs."""
    P, R = pb.n_proposals, pb.n_reviewers
    allowed = np.ones((P, R), bool)
    for arr in (pb.conflicts, pb.forbidden):
        a = np.asarray(arr).reshape(-1, 2)
        allowed[a[:, 0], a[:, 1]] = False
    ps, rs = np.nonzero(allowed)
    n = len(ps)
    cols = np.arange(n)
    k = np.broadcast_to(np.asarray(pb.k), (P,)).astype(float)
    lo = np.broadcast_to(np.asarray(pb.min_load), (R,)).astype(float)
    hi = np.broadcast_to(np.asarray(pb.max_load), (R,)).astype(float)
    rows = [sp.csr_matrix((np.ones(n), (ps, cols)), shape=(P, n))]
    lbs, ubs = [k], [k]
    rows.append(sp.csr_matrix((np.ones(n), (rs, cols)), shape=(R, n)))
    lbs.append(lo)
    ubs.append(hi)
    for g in pb.groupings:
        lab = np.asarray(g.labels)
        keys, inv = np.unique(ps * (lab.max() + 1) + lab[rs], return_inverse=True)
        rows.append(sp.csr_matrix((np.ones(n), (inv, cols)), shape=(len(keys), n)))
        lbs.append(np.full(len(keys), -np.inf))
        ubs.append(np.full(len(keys), float(g.cap)))
    lower = np.zeros(n)
    forced = np.asarray(pb.forced).reshape(-1, 2)
    key_col = {(int(p), int(r)): i for i, (p, r) in enumerate(zip(ps, rs, strict=True))}
    for p, r in forced:
        if (int(p), int(r)) not in key_col:
            return None
        lower[key_col[(int(p), int(r))]] = 1
    c = -np.rint(A[ps, rs] * SCALE)
    cons = LinearConstraint(sp.vstack(rows).tocsr(), np.concatenate(lbs), np.concatenate(ubs))
    if integer:
        res = milp(
            c,
            integrality=np.ones(n),
            bounds=Bounds(lower, 1),
            constraints=cons,
            options={"mip_rel_gap": 0.0},
        )
        return None if res.x is None else float(-res.fun)
    big = sp.vstack(rows).tocsr()
    lb, ub = np.concatenate(lbs), np.concatenate(ubs)
    eq = lb == ub
    fin = ~eq & np.isfinite(lb)
    a_ub = sp.vstack([big[~eq], -big[fin]])
    b_ub = np.concatenate([ub[~eq], -lb[fin]])
    lp = linprog(
        c,
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=big[eq],
        b_eq=lb[eq],
        bounds=np.stack([lower, np.ones(n)], axis=1),
    )
    return None if lp.status != 0 else float(-lp.fun)


@st.composite
def instances(draw: st.DrawFn, groupings: bool = False, forced: bool = False) -> tuple:
    P = draw(st.integers(1, 10))
    R = draw(st.integers(3, 9))
    k = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    A = np.round(rng.random((P, R)), 2)  # coarse values: many ties
    max_load = rng.integers(int(np.ceil(k * P / R)), int(np.ceil(k * P / R)) + 3, R)
    min_load = np.minimum(rng.integers(0, 2, R), max_load) if draw(st.booleans()) else 0
    nconf = draw(st.integers(0, P * R // 4))
    conflicts = np.stack([rng.integers(0, P, nconf), rng.integers(0, R, nconf)], 1)
    kwargs: dict = {}
    if forced:
        fp = rng.choice(P, size=min(P, 2), replace=False)
        kwargs["forced"] = np.stack([fp, rng.integers(0, R, len(fp))], 1)
    if groupings:
        inst = rng.integers(0, 4, R)
        region = inst // 2  # institutions nest in regions: a chain, solved as a flow
        kwargs["groupings"] = (Grouping(inst, 1, "institution"), Grouping(region, 2, "region"))
    pb = AssignmentProblem(
        P, R, A, k=k, min_load=min_load, max_load=max_load, conflicts=conflicts, seed=seed, **kwargs
    )
    return pb, A


def _scaled_total(res, A: np.ndarray) -> float:  # type: ignore[no-untyped-def]
    return float(np.rint(A[res.proposals, res.reviewers] * SCALE).sum())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(groupings=False, forced=True), st.integers(1, 4))
def test_total_mode_is_exact_against_full_mip(case: tuple, c: int) -> None:
    pb, A = case
    before = {n: np.array(getattr(pb, n), copy=True) for n in ("conflicts", "forced")}
    a_before = A.copy()
    ref = _reference(pb, A, integer=True)
    try:
        res = solve_assignment(pb, candidates_per_proposal=c)
    except InfeasibleAssignment:
        assert ref is None
        return
    assert ref is not None
    assert res.check(pb) == []
    assert res.certified and res.gap == 0.0
    assert _scaled_total(res, A) == pytest.approx(ref, abs=0.5)
    assert res.upper_bound == pytest.approx(ref / SCALE, abs=1e-6)
    # input untouched
    assert np.array_equal(A, a_before)
    for n, v in before.items():
        assert np.array_equal(np.asarray(getattr(pb, n)), v)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(groupings=False))
def test_total_mode_equals_lp_optimum(case: tuple) -> None:
    """The assignment LP is totally unimodular: linprog (HiGHS) gives the same optimum."""
    pb, A = case
    lp = _reference(pb, A, integer=False)
    try:
        res = solve_assignment(pb)
    except InfeasibleAssignment:
        assert lp is None
        return
    assert lp is not None
    assert _scaled_total(res, A) == pytest.approx(lp, abs=1e-3)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(groupings=True, forced=True))
def test_nested_diversity_caps_are_exact(case: tuple) -> None:
    pb, A = case
    ref = _reference(pb, A, integer=True)
    try:
        res = solve_assignment(pb, candidates_per_proposal=2)
    except InfeasibleAssignment:
        assert ref is None
        return
    assert ref is not None
    assert res.check(pb) == []
    assert res.method == "flow+layers"
    assert res.certified
    assert _scaled_total(res, A) == pytest.approx(ref, abs=0.5)


def test_crossing_groupings_use_mip_and_respect_caps() -> None:
    rng = np.random.default_rng(5)
    P, R = 12, 10
    A = rng.random((P, R))
    g1 = Grouping(np.arange(R) % 3, 1, "institution")
    g2 = Grouping(np.arange(R) % 4, 1, "region")  # crosses g1: not a chain
    pb = AssignmentProblem(P, R, A, k=3, max_load=5, groupings=(g1, g2), seed=1)
    res = solve_assignment(pb)
    assert res.method == "mip"
    assert res.check(pb) == []
    ref = _reference(pb, A, integer=True)
    assert ref is not None
    assert _scaled_total(res, A) == pytest.approx(ref, abs=0.5)  # optimal on this instance
    assert res.upper_bound * SCALE >= _scaled_total(res, A) - 0.5


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_same_seed_same_result(case: tuple) -> None:
    pb, _ = case
    try:
        a = solve_assignment(pb)
    except InfeasibleAssignment:
        return
    b = solve_assignment(pb)
    assert np.array_equal(a.proposals, b.proposals)
    assert np.array_equal(a.reviewers, b.reviewers)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_fair_mode_min_at_least_total_mode_min(case: tuple) -> None:
    pb, A = case
    try:
        tot = solve_assignment(pb)
    except InfeasibleAssignment:
        return
    fair_pb = AssignmentProblem(
        pb.n_proposals,
        pb.n_reviewers,
        A,
        k=pb.k,
        min_load=pb.min_load,
        max_load=pb.max_load,
        conflicts=pb.conflicts,
        objective="fair",
        seed=pb.seed,
    )
    fair = solve_assignment(fair_pb)
    assert fair.check(fair_pb) == []
    assert fair.min_proposal_affinity >= tot.min_proposal_affinity - 1e-6
    assert fair.upper_bound >= fair.min_proposal_affinity - 1e-6
    if fair.min_proposal_affinity == pytest.approx(tot.min_proposal_affinity, abs=1e-6):
        # same minimum: the second stage maximises the total, so it matches total mode
        assert fair.total_affinity == pytest.approx(tot.total_affinity, abs=1e-4)


def test_fair_mode_raises_the_lowest_proposal() -> None:
    # total mode prefers 1.0 + 0.0 to 0.3 + 0.6; fair mode lifts proposal 0 to 0.3
    A = np.array([[0.3, 0.0], [1.0, 0.6]])
    base = dict(n_proposals=2, n_reviewers=2, affinity=A, k=1, max_load=1)
    tot = solve_assignment(AssignmentProblem(**base))  # type: ignore[arg-type]
    fair = solve_assignment(AssignmentProblem(**base, objective="fair"))  # type: ignore[arg-type]
    assert tot.min_proposal_affinity == pytest.approx(0.0)
    assert fair.min_proposal_affinity == pytest.approx(0.3)
    assert fair.total_affinity == pytest.approx(0.9)
    assert fair.certified


def test_topic_affinity_matches_dense_cosine() -> None:
    rng = np.random.default_rng(2)
    P, R, T = 40, 30, 12
    pt = sp.random(P, T, density=0.2, random_state=1, format="csr") + sp.csr_matrix(
        (np.ones(P), (np.arange(P), rng.integers(0, T, P))), shape=(P, T)
    )
    rt = sp.random(R, T, density=0.2, random_state=2, format="csr") + sp.csr_matrix(
        (np.ones(R), (np.arange(R), rng.integers(0, T, R))), shape=(R, T)
    )
    pn = pt.toarray() / np.linalg.norm(pt.toarray(), axis=1, keepdims=True)
    rn = rt.toarray() / np.linalg.norm(rt.toarray(), axis=1, keepdims=True)
    dense = pn @ rn.T
    kw = dict(k=2, max_load=4, conflicts=np.array([[0, 0], [1, 1]]), seed=3)
    a = solve_assignment(AssignmentProblem(P, R, TopicAffinity(pt, rt), **kw))  # type: ignore[arg-type]
    b = solve_assignment(AssignmentProblem(P, R, dense, **kw))  # type: ignore[arg-type]
    assert a.certified and b.certified
    assert a.total_affinity == pytest.approx(b.total_affinity, abs=1e-5)
    ref = _reference(AssignmentProblem(P, R, dense, **kw), dense, integer=False)  # type: ignore[arg-type]
    assert ref is not None
    assert a.upper_bound == pytest.approx(ref / SCALE, abs=1e-5)
    # dense topic factors give the same optimum too
    c = solve_assignment(
        AssignmentProblem(P, R, TopicAffinity(pt.toarray(), rt.toarray()), **kw)  # type: ignore[arg-type]
    )
    assert c.total_affinity == pytest.approx(b.total_affinity, abs=1e-5)


def test_pricing_adds_edges_beyond_the_candidates() -> None:
    # everyone's best reviewer is reviewer 0 (load 1): top-1 candidates are not enough
    rng = np.random.default_rng(0)
    A = rng.random((8, 8)) * 0.5
    A[:, 0] = 1.0
    pb = AssignmentProblem(8, 8, A, k=1, max_load=1, seed=0)
    res = solve_assignment(pb, candidates_per_proposal=1)
    assert res.check(pb) == []
    assert res.certified and res.pricing_iterations >= 1
    ref = _reference(pb, A, integer=True)
    assert ref is not None and _scaled_total(res, A) == pytest.approx(ref, abs=0.5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(max_load=1), "total reviewer capacity"),
        (dict(conflicts=np.array([[0, r] for r in range(4)])), "non-conflicted reviewers"),
        (dict(forced=np.array([[0, 1]]), conflicts=np.array([[0, 1]])), "forced pairs"),
        (dict(min_load=5), "minimum loads"),
        (dict(min_load=np.array([3, 0, 0, 0, 0]), max_load=2), "min_load"),
        (dict(groupings=(Grouping(np.array([0, 0, 0, 0, 1]), 1, "inst"),)), "cap of 1"),
        (dict(forced=np.array([[0, 0], [0, 1], [0, 2], [0, 3]])), "more forced pairs than k"),
    ],
)
def test_infeasible_instances_raise_a_clear_error(kwargs: dict, message: str) -> None:
    A = np.random.default_rng(0).random((4, 5))
    base: dict = dict(k=3, max_load=4)
    base.update(kwargs)
    with pytest.raises(InfeasibleAssignment, match=message):
        solve_assignment(AssignmentProblem(4, 5, A, **base))


def test_infeasibility_found_by_the_flow_is_explained() -> None:
    # each reviewer can take one proposal; reviewer 0 is conflicted with both proposals that
    # would need it to reach its min load
    A = np.ones((2, 3))
    pb = AssignmentProblem(
        2, 3, A, k=1, min_load=np.array([1, 1, 1]), max_load=1, conflicts=np.array([[0, 0]])
    )
    with pytest.raises(InfeasibleAssignment, match="min"):
        solve_assignment(pb)


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="affinity"):
        AssignmentProblem(2, 2, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="conflicts"):
        AssignmentProblem(2, 2, np.zeros((2, 2)), conflicts=np.array([[5, 0]]))
    with pytest.raises(ValueError, match="objective"):
        AssignmentProblem(2, 2, np.zeros((2, 2)), objective="best")  # type: ignore[arg-type]


def test_distributed_problem_conflicts_cover_own_and_coinvestigator_proposals() -> None:
    members = [[10, 11], [11, 12], [13], [14, 15], [16]]
    ids = distributed_reviewers(members)
    assert ids.tolist() == [10, 11, 12, 13, 14, 15, 16]
    A = np.random.default_rng(1).random((5, 7))
    pb = distributed_problem(members, A, k=2, max_load=3, seed=4)
    conf = {(int(p), int(ids[r])) for p, r in np.asarray(pb.conflicts)}
    # 10 is on proposal 0 with 11, who is also on proposal 1: 10 may review neither
    assert {(0, 10), (1, 10), (0, 11), (1, 11), (0, 12), (1, 12)} <= conf
    assert (2, 13) in conf and (3, 14) in conf and (3, 15) in conf and (4, 16) in conf
    assert (2, 10) not in conf and (0, 13) not in conf
    res = solve_assignment(pb)
    assert res.check(pb) == []
    assert (
        not {(int(p), int(ids[r])) for p, r in zip(res.proposals, res.reviewers, strict=True)}
        & conf
    )


def _topic_instance(rng: np.random.Generator, n: int, T: int, dense: bool) -> sp.csr_matrix:
    """Sparse topic mixtures (1-3 topics, Dirichlet weights) or dense random factors."""
    if dense:
        return sp.csr_matrix(rng.random((n, T)) ** 4)  # many small terms: largest screen error
    nt = np.minimum(rng.integers(1, 4, n), T)
    rows = np.repeat(np.arange(n), nt)
    cols = np.concatenate([rng.choice(T, m, replace=False) for m in nt])
    w = np.concatenate([rng.dirichlet(np.ones(m)) for m in nt])
    return sp.csr_matrix((w, (rows, cols)), shape=(n, T))


@st.composite
def topic_instances(draw: st.DrawFn) -> tuple:
    P = draw(st.integers(2, 14))
    R = draw(st.integers(3, 10))
    k = draw(st.integers(1, 3))
    T = draw(st.integers(2, 8))
    dense = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    pt, rt = _topic_instance(rng, P, T, dense), _topic_instance(rng, R, T, dense)
    ml = int(np.ceil(k * P / R)) + draw(st.integers(0, 2))
    min_load = np.minimum(rng.integers(0, 2, R), ml) if draw(st.booleans()) else 0
    nconf = draw(st.integers(0, P * R // 5))
    conflicts = np.stack([rng.integers(0, P, nconf), rng.integers(0, R, nconf)], 1)
    kwargs: dict = {}
    if draw(st.booleans()):
        kwargs["groupings"] = (Grouping(rng.integers(0, 3, R), 2, "institution"),)
    pb = AssignmentProblem(
        P,
        R,
        TopicAffinity(pt, rt),
        k=k,
        min_load=min_load,
        max_load=ml,
        conflicts=conflicts,
        seed=seed,
        **kwargs,
    )
    # the solver's own double-precision values of every pair: the reference then has exactly
    # the same rounded costs
    pp, rr = np.divmod(np.arange(P * R), R)
    A = affinity_of_pairs(pb, pp, rr).reshape(P, R)
    return pb, A


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topic_instances(), st.integers(1, 3))
def test_topic_affinity_certificate_is_a_valid_bound_over_all_pairs(case: tuple, c: int) -> None:
    """Single-precision screening never hides a violating pair: the certified bound equals the
    full-graph MIP optimum (and the full-graph LP optimum, the LP being integral)."""
    pb, A = case
    ref = _reference(pb, A, integer=True)
    try:
        res = solve_assignment(pb, candidates_per_proposal=c)
    except InfeasibleAssignment:
        assert ref is None
        return
    assert ref is not None
    assert res.check(pb) == []
    assert res.certified and res.gap == 0.0
    assert _scaled_total(res, A) == pytest.approx(ref, abs=0.5)
    assert res.upper_bound == pytest.approx(ref / SCALE, abs=1e-6)


def test_feasibility_repair_and_pricing_on_a_crowded_topic() -> None:
    # 40 proposals all on topic 0, only 3 reviewers on it: the top-c graph is infeasible,
    # the max-flow repair adds spare reviewers, pricing proves the optimum
    P, R, T = 40, 30, 5
    pt = sp.csr_matrix(np.tile([1.0, 0.0, 0.0, 0.0, 0.0], (P, 1)) + np.eye(P, T) * 0.3)
    rt = np.zeros((R, T))
    rt[:3, 0] = 1.0
    rt[3:, 1:] = np.random.default_rng(0).random((R - 3, T - 1))
    rt[3:12, 0] = 0.2
    pb = AssignmentProblem(P, R, TopicAffinity(pt, rt), k=2, max_load=4, seed=3)
    res = solve_assignment(pb, candidates_per_proposal=2)
    assert res.check(pb) == [] and res.certified
    pp, rr = np.divmod(np.arange(P * R), R)
    A = affinity_of_pairs(pb, pp, rr).reshape(P, R)
    ref = _reference(pb, A, integer=False)
    assert ref is not None and _scaled_total(res, A) == pytest.approx(ref, abs=0.5)
    assert res.timings["repairs"] >= 1


def _max_min_reference(pb: AssignmentProblem, A: np.ndarray) -> float:
    """Exact max-min of proposal sums over the full graph (MIP), scaled units."""
    P, R = pb.n_proposals, pb.n_reviewers
    allowed = np.ones((P, R), bool)
    a = np.asarray(pb.conflicts).reshape(-1, 2)
    allowed[a[:, 0], a[:, 1]] = False
    ps, rs = np.nonzero(allowed)
    n = len(ps)
    cols = np.arange(n)
    s = np.rint(A[ps, rs] * SCALE)
    k = np.broadcast_to(np.asarray(pb.k), (P,)).astype(float)
    hi = np.broadcast_to(np.asarray(pb.max_load), (R,)).astype(float)
    rows = sp.vstack(
        [
            sp.hstack([sp.csr_matrix((np.ones(n), (ps, cols)), shape=(P, n)), np.zeros((P, 1))]),
            sp.hstack([sp.csr_matrix((np.ones(n), (rs, cols)), shape=(R, n)), np.zeros((R, 1))]),
            sp.hstack([sp.csr_matrix((s, (ps, cols)), shape=(P, n)), -np.ones((P, 1))]),
        ]
    ).tocsr()
    lb = np.concatenate([k, np.zeros(R), np.zeros(P)])
    ub = np.concatenate([k, hi, np.full(P, np.inf)])
    c = np.zeros(n + 1)
    c[-1] = -1
    integ = np.ones(n + 1)
    integ[-1] = 0
    res = milp(
        c,
        integrality=integ,
        bounds=Bounds(np.zeros(n + 1), np.concatenate([np.ones(n), [np.inf]])),
        constraints=LinearConstraint(rows, lb, ub),
        options={"mip_rel_gap": 0.0},
    )
    return float(-res.fun)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**16))
def test_fair_mode_on_the_lp_support_is_sound(seed: int) -> None:
    """The large-instance fair path (MIPs on the LP support): feasible, at least as fair as
    total mode, within its bound, and when certified, equal to the full max-min MIP."""
    rng = np.random.default_rng(seed)
    P, R = 14, 10
    pt, rt = _topic_instance(rng, P, 4, False), _topic_instance(rng, R, 4, False)
    kw: dict = dict(k=2, max_load=4, conflicts=np.array([[0, 0], [1, 2]]), seed=seed)
    tot = solve_assignment(AssignmentProblem(P, R, TopicAffinity(pt, rt), **kw))
    fair_pb = AssignmentProblem(P, R, TopicAffinity(pt, rt), objective="fair", **kw)
    fair = solve_assignment(fair_pb, fair_mip_max_edges=0)
    assert fair.check(fair_pb) == []
    assert fair.min_proposal_affinity >= tot.min_proposal_affinity - 1e-6
    assert fair.upper_bound >= fair.min_proposal_affinity - 1e-6
    pp, rr = np.divmod(np.arange(P * R), R)
    A = affinity_of_pairs(fair_pb, pp, rr).reshape(P, R)
    best = _max_min_reference(fair_pb, A)
    assert float(np.rint(A[fair.proposals, fair.reviewers] * SCALE).reshape(-1).sum()) > 0
    per = np.bincount(
        fair.proposals, weights=np.rint(A[fair.proposals, fair.reviewers] * SCALE), minlength=P
    )
    assert per.min() <= best + 0.5
    if fair.certified:
        assert per.min() == pytest.approx(best, abs=0.5)


@pytest.mark.parametrize("objective", ["total", "fair"])
def test_no_proposals_gives_an_empty_certified_assignment(objective: str) -> None:
    pb = AssignmentProblem(0, 3, np.zeros((0, 3)), k=2, max_load=1, objective=objective)  # type: ignore[arg-type]
    res = solve_assignment(pb)
    assert res.check(pb) == [] and len(res.proposals) == 0 and res.certified


def _max_total_given_min_reference(pb: AssignmentProblem, A: np.ndarray, tau: float) -> float:
    """Exact max total with every proposal sum >= tau over the full graph (MIP), scaled."""
    P, R = pb.n_proposals, pb.n_reviewers
    allowed = np.ones((P, R), bool)
    a = np.asarray(pb.conflicts).reshape(-1, 2)
    allowed[a[:, 0], a[:, 1]] = False
    ps, rs = np.nonzero(allowed)
    n = len(ps)
    cols = np.arange(n)
    s = np.rint(A[ps, rs] * SCALE)
    k = np.broadcast_to(np.asarray(pb.k), (P,)).astype(float)
    hi = np.broadcast_to(np.asarray(pb.max_load), (R,)).astype(float)
    rows = sp.vstack(
        [
            sp.csr_matrix((np.ones(n), (ps, cols)), shape=(P, n)),
            sp.csr_matrix((np.ones(n), (rs, cols)), shape=(R, n)),
            sp.csr_matrix((s, (ps, cols)), shape=(P, n)),
        ]
    ).tocsr()
    lb = np.concatenate([k, np.zeros(R), np.full(P, tau - 0.5)])
    ub = np.concatenate([k, hi, np.full(P, np.inf)])
    res = milp(
        -s,
        integrality=np.ones(n),
        bounds=Bounds(0, 1),
        constraints=LinearConstraint(rows, lb, ub),
        options={"mip_rel_gap": 0.0},
    )
    return float(-res.fun)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**16))
def test_fair_total_bound_is_valid_and_certified_totals_are_exact(seed: int) -> None:
    """The total in fair mode: its bound is >= the full-graph optimum given the reached
    minimum, and when ``total_certified`` the total equals that optimum (the large-instance
    path: MIPs on the LP support, then the LP bound over every pair, then reduced-cost
    fixing)."""
    rng = np.random.default_rng(seed)
    P, R = 14, 10
    pt, rt = _topic_instance(rng, P, 4, False), _topic_instance(rng, R, 4, False)
    kw: dict = dict(k=2, max_load=4, conflicts=np.array([[0, 0], [1, 2]]), seed=seed)
    pb = AssignmentProblem(P, R, TopicAffinity(pt, rt), objective="fair", **kw)
    fair = solve_assignment(pb, fair_mip_max_edges=0)
    assert fair.check(pb) == []
    pp, rr = np.divmod(np.arange(P * R), R)
    A = affinity_of_pairs(pb, pp, rr).reshape(P, R)
    s = np.rint(A[fair.proposals, fair.reviewers] * SCALE)
    got = float(s.sum())
    tau = float(np.bincount(fair.proposals, weights=s, minlength=P).min())
    best = _max_total_given_min_reference(pb, A, tau)
    assert got <= best + 0.5
    assert fair.total_upper_bound * SCALE >= best - 1e-3
    assert fair.total_upper_bound * SCALE >= got - 1e-3
    if fair.total_certified:
        assert got == pytest.approx(best, abs=0.5)


def test_fair_total_is_certified_on_a_small_instance() -> None:
    rng = np.random.default_rng(7)
    P, R = 14, 10
    pt, rt = _topic_instance(rng, P, 4, False), _topic_instance(rng, R, 4, False)
    pb = AssignmentProblem(P, R, TopicAffinity(pt, rt), k=2, max_load=4, objective="fair", seed=7)
    fair = solve_assignment(pb, fair_mip_max_edges=0)
    assert fair.total_certified  # (the max-min itself has an integrality gap here)
    assert fair.total_upper_bound == pytest.approx(fair.total_affinity, abs=1e-5)
    tot = solve_assignment(AssignmentProblem(P, R, TopicAffinity(pt, rt), k=2, max_load=4))
    assert tot.total_certified and tot.total_upper_bound == pytest.approx(tot.upper_bound)


def test_fair_total_bound_can_be_skipped() -> None:
    rng = np.random.default_rng(7)
    P, R = 14, 10
    pt, rt = _topic_instance(rng, P, 4, False), _topic_instance(rng, R, 4, False)
    pb = AssignmentProblem(P, R, TopicAffinity(pt, rt), k=2, max_load=4, objective="fair", seed=7)
    full = solve_assignment(pb, fair_mip_max_edges=0)
    quick = solve_assignment(pb, fair_mip_max_edges=0, fair_total_bound=False)
    assert quick.check(pb) == [] and not quick.total_certified
    assert quick.total_upper_bound == float("inf")
    # the same max-min stage; the total's MIPs keep every proposal at its minimum (they may
    # find an assignment above it: the max-min has an integrality gap here)
    assert quick.upper_bound == pytest.approx(full.upper_bound)
    assert full.min_proposal_affinity >= quick.min_proposal_affinity - 1e-9
    assert "fair_total_bound" in full.timings and "fair_total_bound" not in quick.timings


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**16), st.sampled_from([0, 1, 3]))
def test_fair_total_lp_bound_does_not_depend_on_its_starting_columns(seed: int, start: int) -> None:
    """The total's LP started from a few columns (pricing over every pair adds the rest)
    reaches the same LP bound as when started from every candidate edge (both are over every
    allowed pair); a certified total is the same either way."""
    rng = np.random.default_rng(seed)
    P, R = 14, 10
    pt, rt = _topic_instance(rng, P, 4, False), _topic_instance(rng, R, 4, False)
    kw: dict = dict(k=2, max_load=4, conflicts=np.array([[0, 0], [1, 2]]), seed=seed)
    pb = AssignmentProblem(P, R, TopicAffinity(pt, rt), objective="fair", **kw)
    every = solve_assignment(pb, fair_mip_max_edges=0, fair_lp_start=None)
    few = solve_assignment(pb, fair_mip_max_edges=0, fair_lp_start=start)
    assert few.check(pb) == []
    if "fair_settled_by_total" in few.timings:
        # the total-mode optimum gives a lowest proposal its best reviewers: no LP is run
        assert "fair_settled_by_total" in every.timings and few.total_certified
        assert few.total_affinity == pytest.approx(every.total_affinity, abs=1e-6)
        return
    assert few.timings["fair_total_lp_start_columns"] < every.n_candidate_edges
    a, b = every.timings["fair_total_lp_bound"], few.timings["fair_total_lp_bound"]
    assert b == pytest.approx(a, abs=1e-6)
    if few.total_certified and every.total_certified:
        assert few.total_affinity == pytest.approx(every.total_affinity, abs=1e-6)
