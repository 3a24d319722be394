"""Exact reviewer assignment at conference scale.

Problem: give every proposal ``p`` exactly ``k_p`` reviewers, every reviewer a load within
``[min_load, max_load]``, never a conflicted or chair-forbidden pair, always the chair's forced
pairs, and at most ``m`` reviewers of one proposal from one group of each diversity grouping
(institution, UN region, ...). Objective ``"total"``: maximise the summed affinity.
Objective ``"fair"``: maximise the lowest proposal's summed affinity first, then the total
subject to that minimum (the aim of FairFlow / PeerReview4All, solved here by MIP).

How it is solved (and which parts are exact):

* **Integer costs.** Affinities are scaled and rounded, ``s = rint(a * scale)`` with
  ``scale = 10**6`` by default (made coarser when the largest affinity would pass 1e11
  scaled, finer when it would not reach 1e3: ``common.cost_scale``). Everything below is
  exact *for the rounded costs*; the true
  optimum can differ from ours by at most ``0.5 / scale`` per assigned pair. Every scaled cost
  that enters a flow, a bound or a result is evaluated in double precision by one routine
  (``_Oracle.pairs``), so the same pair always has the same cost.
* **Sparse candidate graph.** Each proposal keeps its ``c`` best allowed reviewers (``c = 3k``
  by default) and each reviewer its best ``k + min_load`` proposals. The affinity is screened in
  row blocks, from the dense matrix or, for topic factors, as a single-precision sparse x dense
  product, so a 15,000 x 10,000 instance never holds a dense matrix.
* **Feasible start.** A max flow (OR-Tools ``SimpleMaxFlow``) checks the candidate graph; while
  some proposal is short of reviewers (or a reviewer of its minimum load) it gets its best
  edges to reviewers with spare capacity (or its best proposals). Then the min-cost flow needs
  no artificial arcs and its potentials are meaningful from the first round. If the repair
  fails, artificial arcs of prohibitive cost ``M`` are used instead; flow left on them once
  pricing is done proves the full instance infeasible.
* **Min-cost flow** (OR-Tools ``SimpleMinCostFlow``) on source-free supplies: proposals supply
  ``k_p``, reviewers demand ``min_load`` and pass up to ``max_load - min_load`` to the sink.
* **Pricing = proof of optimality.** From the optimal flow, node potentials are the shortest
  path distances in the residual graph (a vectorised Bellman-Ford; the residual graph of an
  optimal flow has no negative cycle). A pair (p, r) outside the graph can improve only if
  ``s_pr > d(p) - d(r)``. Every pair is screened blockwise against that threshold: in single
  precision for topic factors, with an explicit bound on the rounding error of the screen
  (``(nnz_p + 4) 2**-24`` for unit rows, plus the sums' own rounding), so every violating pair
  survives it; survivors are re-evaluated exactly and tested in integers. The most violated
  ``8k`` per proposal join the graph and the flow is re-solved (3-4 rounds on the benchmark).
  When a complete pass finds none, the potentials are dual-feasible for the full graph and the
  dual objective, computed explicitly, is the ``upper_bound``: ``gap == 0`` certifies the
  optimum.
* **Missing reviews** (``allow_short``). A proposal may get fewer than ``k_p`` reviewers:
  an arc p -> sink of capacity ``k_p`` and, for the minimum loads, arcs from a node that
  supplies them to each reviewer, all at a cost ``M`` above any change of the affinity
  part (``total._short_cost``, bounded over every allowed pair). The min-cost flow then
  has the fewest missing units first, the best affinity second; the certificate is the
  same, the bound taken at that many missing units. Groupings outside a chain: two MIPs
  (fewest missing reviews, a minimum load not met counting as in the flow, then
  affinity). Fair mode: the total mode's coverage, then fair mode on
  the covered proposals with those counts.
* **Diversity caps.** Groupings that form a chain under refinement (institution inside
  country inside region, or a single grouping) become node layers ``p -> (p, g1) -> (p, g2)
  -> r`` with arc capacity ``m``: still a flow, still exact with the same certificate (pricing
  screens against the smallest potential of p's nodes, a safe relaxation, and tests exactly).
  Groupings outside such a chain are handled by a MIP (HiGHS) on the priced candidate graph of
  the chain relaxation; the relaxation gives the upper bound, and the result is certified only
  when the MIP reaches it.
* **Fair mode settled by the flow.** When the certified total-mode optimum (no grouping
  outside a chain) gives a proposal at its lowest value the ``k`` best reviewers that
  proposal may have at all (its forced pairs and its best allowed others, loads and caps
  ignored), no assignment has a higher minimum and none a higher total: that optimum is the
  answer of both stages, certified, and no LP or MIP runs (``timings["fair_settled_by_total"]``;
  one proposal among 10,000 reviewers, or every reviewer allowed to one proposal only).
* **Fair mode.** Max-min of proposal sums is NP-hard in general (the fairness rows break total
  unimodularity), so no flow or threshold bisection is exact for it. We solve the LP relaxation
  (HiGHS interior point with crossover, then warm-started primal simplex) with column
  generation over the full affinity; for its duals, an explicit Lagrangian bound (with the
  positive reduced costs summed over every allowed pair) is a valid upper bound on the lowest
  proposal's affinity, whatever the LP solver's accuracy. That LP is integral but for a few hundred edges, so the MIPs (HiGHS) run on the
  LP's support plus the total-mode optimum (on the whole candidate graph when it has at most
  ``fair_mip_max_edges`` edges). First one MIP maximises the total with every proposal at the
  LP bound (rounded down to the cost grid): when it is feasible, the max-min is proven optimal
  and the total is optimal on that support. Otherwise a max-min MIP, then a max-total MIP at
  that minimum. ``certified`` means the max-min reached the LP bound, or the MIP was solved to
  optimality over every allowed pair.
  The total given that minimum is then bounded over every allowed pair: the LP relaxation
  (counts, loads, every proposal at the minimum), solved in a new HiGHS model that starts
  from the max-min LP's support, the fair assignment, the total-mode optimum and the
  ``fair_lp_start`` best candidates of each proposal (interior point once, then
  warm-started primal simplex) by column generation; its bound is the explicit Lagrangian
  dual value for the LP's multipliers with the positive reduced costs summed over all pairs
  in a full pass (``total_upper_bound``,
  valid whatever the LP solver's accuracy). A MIP on the LP's support tries to raise the
  total; when the remaining gap leaves few pairs that reduced-cost fixing cannot exclude, a
  MIP over them solved to optimality proves the total optimal over every allowed pair
  (``total_certified``). Otherwise the total is reported with its certified gap to
  ``total_upper_bound``.
* **Full passes of fair mode** (LP pricing, the bound's sum of positive reduced costs,
  reduced-cost fixing) evaluate ``f = s_pr u_p + v_r - t_p >= thr`` for every allowed pair by
  the same single-precision screen as total mode's pricing, with an explicit margin for the
  screen's error, and evaluate the survivors exactly (``fair._screen``); proposals whose
  largest affinity cannot reach the threshold are skipped.

Modules: ``common`` (problem and result types, input checks, the affinity oracle, the
checker, the solver's state), ``total`` (candidate graph, flows, potentials, pricing),
``fair`` (the max-min LP and MIPs, the total's bound, reduced-cost fixing) and
``distributed`` (applicants review each other). Everything public is imported here.

References
----------
.. [1] R. K. Ahuja, T. L. Magnanti, J. B. Orlin, *Network Flows: Theory, Algorithms, and
   Applications*, Prentice Hall, 1993 (min-cost flow, potentials, reduced costs).
.. [2] A. M. Geoffrion, "Lagrangean relaxation for integer programming", *Mathematical
   Programming Study* 2 (1974) 82-114 (the total's bound for any multipliers).
.. [3] G. Desaulniers, J. Desrosiers, M. M. Solomon (eds.), *Column Generation*, Springer,
   2005 (pricing over the full affinity; reduced-cost fixing).
.. [4] A. Kobren, B. Saha, A. McCallum, "Paper matching with local fairness constraints",
   KDD 2019 (FairFlow).
.. [5] I. Stelmakh, N. B. Shah, A. Singh, "PeerReview4All: fair and accurate reviewer
   assignment in peer review", ALT 2019 (the max-min objective).
.. [6] Q. Huangfu, J. A. J. Hall, "Parallelizing the dual revised simplex method",
   *Mathematical Programming Computation* 10 (2018) 119-142 (HiGHS).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any

import numpy as np

from opencall.optim import limits
from opencall.optim.arrays import IntArray
from opencall.optim.assignment.common import (
    _BLOCK_ENTRIES,
    AssignmentProblem,
    AssignmentResult,
    Grouping,
    InfeasibleAssignment,
    TopicAffinity,
    _diagnose,
    _mask_banned,
    _member,
    _prepare,
    _scaled,
    _State,
    _uniq,
    affinity_of_pairs,
    check_assignment,
    dense_rows,
)
from opencall.optim.assignment.distributed import distributed_problem, distributed_reviewers
from opencall.optim.assignment.fair import _fair
from opencall.optim.assignment.total import (
    _candidates,
    _dual_bound,
    _flow_with_pricing,
    _infeasible_message,
    _mip_total,
)

__all__ = [
    "AssignmentProblem",
    "AssignmentResult",
    "Grouping",
    "InfeasibleAssignment",
    "TopicAffinity",
    "affinity_of_pairs",
    "check_assignment",
    "dense_rows",
    "distributed_problem",
    "distributed_reviewers",
    "solve_assignment",
]


def solve_assignment(
    problem: AssignmentProblem,
    *,
    candidates_per_proposal: int | None = None,
    scale: float = 1e6,
    max_pricing_rounds: int = 100,
    mip_time_limit_s: float = 120.0,
    fair_mip_max_edges: int = 5_000,
    fair_total_bound: bool = True,
    fair_lp_start: int | None = 3,
) -> AssignmentResult:
    """Solve an assignment problem exactly (total mode) or max-min then total (fair mode).

    Parameters
    ----------
    problem : AssignmentProblem
        Proposals, reviewers, affinity, counts, loads, conflicts, forced and forbidden
        pairs, diversity groupings and the objective (``"total"`` or ``"fair"``).
    candidates_per_proposal : int, optional
        Reviewers per proposal in the first candidate graph (default ``3 k``); pricing adds
        whatever else the optimum needs, so this changes the speed, never the result.
    scale : float
        Affinities are rounded to ``rint(a * scale)``; everything is exact for those costs.
        The grid follows the affinities' size where this one would not fit them: no scaled
        cost passes 1e11 (64-bit flow costs, the fair MIPs' integrality) and the largest
        reaches at least 1e3 (affinities of 1e12, or all below 1e-6, are solved instead of
        failing or rounding to ties); affinities within [1e-3, 1e5] in absolute value keep
        ``scale``.
    max_pricing_rounds : int
        Limit on pricing (and column-generation) rounds; when it is hit, the result is not
        certified.
    mip_time_limit_s : float
        Time limit of each MIP (diversity groupings outside a chain, fair mode).
    fair_mip_max_edges : int
        Fair mode: the MIPs run on the whole candidate graph up to this many edges, else on
        the LP's support plus the total-mode optimum.
    fair_total_bound : bool
        Fair mode: bound (and improve) the total given the max-min over every allowed pair.
        False skips it; ``total_upper_bound`` is then inf (unless the
        total-mode flow settles fair mode: then it is the flow's bound).
    fair_lp_start : int or None
        Fair mode: the LPs start from the total-mode optimum plus this many candidate edges
        of highest affinity per proposal, and pricing over every allowed pair adds the rest;
        None starts them from every candidate edge of total mode (the earlier method, slower
        at scale). Changes the speed, never the bounds.

    Returns
    -------
    AssignmentResult
        The pairs (original indices, forced pairs included), the totals, the bound on the
        first criterion and whether it is certified; in fair mode also the bound on the total
        given the minimum (``total_upper_bound``) and whether the total is proven optimal.
        With ``problem.allow_short``: ``short`` (reviews missing per proposal) and
        ``short_load`` (minimum load missing per reviewer), the fewest any assignment can
        have; the bound and certificate are then for the affinity among assignments
        missing that few (fair mode: on the coverage of the total-mode optimum).

    Raises
    ------
    InfeasibleAssignment
        No assignment satisfies the constraints; the message says why.
    ValueError
        Malformed input (raised when the problem is built).

    References
    ----------
    See the package docstring: min-cost flow and potentials [1]_, Lagrangian bound [2]_,
    column generation [3]_, the fairness objective [4]_ [5]_, HiGHS [6]_.
    """
    scale = limits.positive("scale", scale)
    mip_time_limit_s = limits.non_negative("mip_time_limit_s", mip_time_limit_s)
    max_pricing_rounds = limits.count("max_pricing_rounds", max_pricing_rounds)
    fair_mip_max_edges = limits.count("fair_mip_max_edges", fair_mip_max_edges)
    candidates_per_proposal = limits.optional_count(
        "candidates_per_proposal", candidates_per_proposal, minimum=1
    )
    fair_lp_start = limits.optional_count("fair_lp_start", fair_lp_start)
    if problem.n_reviewers == 0:
        return _no_reviewers(problem)
    options: dict[str, Any] = {
        "candidates_per_proposal": candidates_per_proposal,
        "scale": scale,
        "max_pricing_rounds": max_pricing_rounds,
        "mip_time_limit_s": mip_time_limit_s,
        "fair_mip_max_edges": fair_mip_max_edges,
        "fair_total_bound": fair_total_bound,
        "fair_lp_start": fair_lp_start,
    }
    beyond = _minimum_beyond_the_proposals(problem)
    if beyond.any():
        # missing reviews allowed: a reviewer reviews each proposal at most once, so the part
        # of its minimum load above the proposals is missing whatever the assignment (it
        # was refused as "min_load > max_load", the load counted up to the proposals)
        lo = np.broadcast_to(np.asarray(problem.min_load, np.int64), beyond.shape)
        res = solve_assignment(replace(problem, min_load=lo - beyond), **options)
        return replace(res, short_load=res.short_load + beyond)
    if problem.allow_short and problem.objective == "fair":
        return _fair_short(problem, **options)
    t0 = time.perf_counter()
    partial = problem.allow_short
    st = _prepare(problem, scale)
    scale = st.scale  # the grid in effect (see ``common.cost_scale``)
    _diagnose(problem, st)
    P, R = st.nm.P, st.nm.R
    kmax = int(st.nm.k.max()) if P else 0
    c = candidates_per_proposal or max(1, 3 * kmax)
    # each reviewer also keeps its best few proposals: spare reviewers then have edges, and
    # the first candidate graph is usually feasible (pricing would get there, slower)
    per_rev = (int(st.lo.max()) + kmax) if R and P else 0
    ep, er, es = _candidates(st, min(c, R), per_rev, problem.seed)
    st.timings["candidates"] = time.perf_counter() - t0
    fl, d, rounds, ep, er, es = _flow_with_pricing(
        st, ep, er, es, problem.seed, max_pricing_rounds, partial=partial
    )
    art, art_r = fl.art, fl.art_r
    certified = rounds < max_pricing_rounds
    missing = int(art.sum()) + int(art_r.sum())
    if missing > 0 and not partial:
        if certified:
            raise InfeasibleAssignment(_infeasible_message(st, art, art_r))
        raise RuntimeError("pricing did not converge; raise max_pricing_rounds")
    sel = fl.flows[fl.edge_arc0 : fl.edge_arc0 + fl.n_edges] > 0
    ap, ar = ep[sel], er[sel]
    scaled_total = int(es[sel].sum())
    # partial mode: the flow's cost counts each missing unit at ``short_cost``; any
    # assignment missing as few has affinity at most the dual bound plus their cost
    ub_scaled = -_dual_bound(fl, d) + fl.short_cost * missing
    short = art.astype(np.int64) if partial else np.zeros(P, np.int64)
    short_load = np.zeros(R, np.int64)
    if partial:
        short_load[st.perm] = art_r
    method = "flow+layers" if st.chain else "flow"
    forced_s = int(_scaled(st, st.oracle.pairs(st.forced_p, st.forced_r)).sum())
    settled = (
        problem.objective == "fair"
        and P > 0
        and not st.extra
        and missing == 0
        and certified
        and scaled_total >= ub_scaled
    )
    low = _lowest_at_its_best(st, ap, ar, es[sel]) if settled else None
    if low is not None:
        # the certified total-mode optimum gives a lowest proposal the best reviewers it
        # could have at all: no assignment has a higher minimum (nor a higher total), so
        # it settles both stages of fair mode without their LPs or MIPs (whose HiGHS
        # presolve took 9 s for one proposal among 10,000 reviewers)
        st.timings["fair_settled_by_total"] = 1.0
        st.timings["fair_stage1"] = 0.0
        certified = True  # method stays that of the flow
        ub, gap = low / scale, 0.0
        total_ub, total_certified = (ub_scaled + forced_s) / scale, True
    elif problem.objective == "fair" and P:
        t1 = time.perf_counter()
        ap, ar, ub_first, achieved, cert2, ub_tot = _fair(
            st,
            ep,
            er,
            es,
            ap,
            ar,
            mip_time_limit_s,
            max_pricing_rounds,
            fair_mip_max_edges,
            fair_total_bound,
            fair_lp_start,
        )
        method = "fair-mip"
        st.timings["mip"] = time.perf_counter() - t1
        certified = certified and cert2
        ub, gap = ub_first / scale, (ub_first - achieved) / scale
        got_tot = int(_scaled(st, st.oracle.pairs(ap, ar)).sum()) if len(ap) else 0
        total_ub = (ub_tot + forced_s) / scale
        # integral totals: the best is at most floor(bound); within float noise of it
        total_certified = bool(got_tot > ub_tot - 1.0 + 1e-6)
    else:
        total_ub, total_certified = math.nan, False
        achieved = float(scaled_total)
        if st.extra:
            t1 = time.perf_counter()
            ap, ar, opt = _mip_total(st, ep, er, es, mip_time_limit_s, partial=partial)
            st.timings["mip"] = time.perf_counter() - t1
            method = "mip"
            achieved = float(es[_member(_uniq(ap * R + ar), ep * R + er)].sum())
            certified = certified and opt
            if partial:
                # the bound holds for the flow's count of missing reviews
                got = np.bincount(ap, minlength=P)
                short = (st.k - got).astype(np.int64)
                short_load = np.zeros(R, np.int64)
                short_load[st.perm] = np.maximum(st.lo - np.bincount(ar, minlength=R), 0)
                certified = certified and int(short.sum() + short_load.sum()) == missing
        certified = certified and achieved >= ub_scaled
        ub, gap = (ub_scaled + forced_s) / scale, (ub_scaled - achieved) / scale
        total_ub, total_certified = ub, certified
    # back to original indices, forced pairs included
    fp, fr = st.forced_p, st.forced_r
    pp = np.concatenate([ap, fp])
    rr_int = np.concatenate([ar, fr])
    rr = st.perm[rr_int]
    order = np.lexsort((rr, pp))
    pp, rr, rr_int = pp[order], rr[order], rr_int[order]
    aff = st.oracle.pairs(pp, rr_int) if len(pp) else np.zeros(0)
    per_p = np.bincount(pp, weights=aff, minlength=P).astype(np.float64)
    covered = np.bincount(pp, minlength=P) > 0 if partial else np.ones(P, bool)
    timings = st.timings
    timings["total"] = time.perf_counter() - t0
    return AssignmentResult(
        proposals=pp,
        reviewers=rr,
        total_affinity=float(aff.sum()),
        # with missing reviews allowed, the lowest proposal among those given a reviewer
        min_proposal_affinity=float(per_p[covered].min()) if covered.any() else 0.0,
        proposal_affinity=per_p,
        upper_bound=ub,
        gap=max(gap, 0.0),
        certified=bool(certified),
        objective=problem.objective,
        method=method,
        pricing_iterations=rounds,
        n_candidate_edges=len(ep),
        timings=timings,
        total_upper_bound=total_ub,
        total_certified=total_certified,
        short=short,
        short_load=short_load,
    )


def _minimum_beyond_the_proposals(problem: AssignmentProblem) -> IntArray:
    """Per reviewer, the part of its minimum load above the proposals there are, with
    missing reviews allowed (zeros otherwise, and where the chair's own maximum load is
    below the minimum: that contradiction is refused as such)."""
    R = problem.n_reviewers
    if not problem.allow_short:
        return np.zeros(R, np.int64)
    lo = np.broadcast_to(np.asarray(problem.min_load, np.int64), (R,))
    beyond = np.maximum(lo - problem.n_proposals, 0)
    if problem.max_load is not None:
        hi = np.broadcast_to(np.asarray(problem.max_load, np.int64), (R,))
        beyond[lo > hi] = 0
    return beyond


def _no_reviewers(problem: AssignmentProblem) -> AssignmentResult:
    """No reviewer at all: the empty assignment, every proposal short of all its ``k``
    (certified: nothing else exists), or ``InfeasibleAssignment`` when some review is
    needed and missing reviews are not allowed."""
    P = int(problem.n_proposals)
    k = np.broadcast_to(np.asarray(problem.k, np.int64), (P,)).copy()
    need = int(k.sum())
    if need and not problem.allow_short:
        raise InfeasibleAssignment(f"no reviewers: {need} reviews needed")
    none = np.zeros(0, np.int64)
    return AssignmentResult(
        proposals=none,
        reviewers=none.copy(),
        total_affinity=0.0,
        min_proposal_affinity=0.0,
        proposal_affinity=np.zeros(P),
        upper_bound=0.0,
        gap=0.0,
        certified=True,
        objective=problem.objective,
        method="flow",
        pricing_iterations=0,
        n_candidate_edges=0,
        timings={"total": 0.0},
        total_upper_bound=0.0,
        total_certified=True,
        short=k if problem.allow_short else np.zeros(P, np.int64),
        short_load=none.copy(),
    )


def _lowest_at_its_best(st: _State, ap: IntArray, ar: IntArray, s: IntArray) -> float | None:
    """The lowest proposal's scaled affinity (forced pairs included) in the assignment
    ``(ap, ar)`` of scaled costs ``s`` (forced pairs excluded) when one proposal at that
    lowest value has the ``k`` best reviewers it may have at all, loads and diversity caps
    ignored (its forced ones and its best allowed others): then no assignment has a higher
    minimum. None otherwise."""
    P = st.nm.P
    forced = _scaled(st, st.oracle.pairs(st.forced_p, st.forced_r))
    base = np.bincount(st.forced_p, weights=forced, minlength=P)
    value = np.bincount(ap, weights=s, minlength=P) + base
    low = float(value.min())
    lowest = np.flatnonzero(value == low)[: max(1, _BLOCK_ENTRIES // max(st.nm.R, 1))]
    rows = st.oracle.rows(lowest)
    _mask_banned(st, lowest, rows, np.zeros(0, np.int64))
    for i, p in enumerate(lowest):
        k = int(st.k[p])
        allowed = _scaled(st, rows[i][np.isfinite(rows[i])])
        if k > len(allowed):
            continue
        best = np.partition(allowed, len(allowed) - k)[len(allowed) - k :] if k else allowed[:0]
        if base[p] + float(best.sum()) <= low:
            return low
    return None


def _fair_short(problem: AssignmentProblem, **options: Any) -> AssignmentResult:
    """Fair mode with missing reviews allowed: the coverage (reviews per proposal) of the
    total-mode optimum, which assigns as many reviews as any assignment can, then fair mode
    exactly on the proposals it covers with those counts. A proposal left without any
    reviewer would otherwise fix the lowest proposal's affinity at zero, whatever the rest."""
    cover = solve_assignment(replace(problem, objective="total"), **options)
    P, R = problem.n_proposals, problem.n_reviewers
    got = np.bincount(cover.proposals, minlength=P)
    keep = np.flatnonzero(got > 0)
    if len(keep) == 0:
        return replace(cover, objective="fair")
    pos = np.full(P, -1, np.int64)
    pos[keep] = np.arange(len(keep))

    def sub_pairs(x: Any) -> IntArray:
        a = np.asarray(x, np.int64).reshape(-1, 2)
        a = a[pos[a[:, 0]] >= 0]
        return np.stack([pos[a[:, 0]], a[:, 1]], axis=1)

    aff = problem.affinity
    if isinstance(aff, TopicAffinity):
        sub_aff: Any = TopicAffinity(aff.proposal_topics[keep], aff.reviewer_topics)
    else:
        sub_aff = aff[keep]
    lo = np.broadcast_to(np.asarray(problem.min_load, np.int64), (R,))
    sub = replace(
        problem,
        n_proposals=len(keep),
        affinity=sub_aff,
        k=got[keep],
        min_load=np.maximum(lo - cover.short_load, 0),
        conflicts=sub_pairs(problem.conflicts),
        forced=sub_pairs(problem.forced),
        forbidden=sub_pairs(problem.forbidden),
        allow_short=False,
    )
    res = solve_assignment(sub, **options)
    per_p = np.zeros(P)
    per_p[keep] = res.proposal_affinity
    covered = per_p[keep]
    return replace(
        res,
        proposals=keep[res.proposals],
        proposal_affinity=per_p,
        # the lowest proposal among those covered (one without a reviewer is reported
        # in ``short``, not as the minimum)
        min_proposal_affinity=float(covered.min()),
        short=cover.short,
        short_load=cover.short_load,
    )
