"""Exact reviewer assignment at conference scale.

Problem: give every proposal ``p`` exactly ``k_p`` reviewers, every reviewer a load within
``[min_load, max_load]``, never a conflicted or chair-forbidden pair, always the chair's forced
pairs, and at most ``m`` reviewers of one proposal from one group of each diversity grouping
(institution, UN region, ...). Objective ``"total"``: maximise the summed affinity.
Objective ``"fair"``: maximise the lowest proposal's summed affinity first, then the total
subject to that minimum (the aim of FairFlow / PeerReview4All, solved here by MIP).

How it is solved (and which parts are exact):

* **Integer costs.** Affinities are scaled and rounded, ``s = rint(a * scale)`` with
  ``scale = 10**6`` by default. Everything below is exact *for the rounded costs*; the true
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
* **Diversity caps.** Groupings that form a chain under refinement (institution inside
  country inside region, or a single grouping) become node layers ``p -> (p, g1) -> (p, g2)
  -> r`` with arc capacity ``m``: still a flow, still exact with the same certificate (pricing
  screens against the smallest potential of p's nodes, a safe relaxation, and tests exactly).
  Groupings outside such a chain are handled by a MIP (HiGHS) on the priced candidate graph of
  the chain relaxation; the relaxation gives the upper bound, and the result is certified only
  when the MIP reaches it.
* **Fair mode.** Max-min of proposal sums is NP-hard in general (the fairness rows break total
  unimodularity), so no flow or threshold bisection is exact for it. We solve the LP relaxation
  (HiGHS interior point with crossover) with column generation over the full affinity, which
  gives a valid upper bound on the lowest proposal's affinity. That LP is integral but for a
  few hundred edges, so the MIPs (HiGHS) run on the LP's support plus the total-mode optimum
  (on the whole candidate graph when it has at most ``fair_mip_max_edges`` edges). First one
  MIP maximises the total with every proposal at the LP bound (rounded down to the cost grid):
  when it is feasible, the max-min is proven optimal and the total is optimal on that support.
  Otherwise a max-min MIP, then a max-total MIP at that minimum. ``certified`` means the
  max-min reached the LP bound, or the MIP was solved to optimality over every allowed pair.
  The total given that minimum is then bounded over every allowed pair: the LP relaxation
  (counts, loads, every proposal at the minimum) by column generation, its bound the explicit
  Lagrangian dual value for the LP's multipliers with the positive reduced costs summed over
  all pairs in a full pass (``total_upper_bound``, valid whatever the LP solver's accuracy).
  A MIP on the LP's edges tries to raise the total; when the remaining gap leaves few pairs
  that reduced-cost fixing cannot exclude, a MIP over them solved to optimality proves the
  total optimal over every allowed pair (``total_certified``). Otherwise the total is
  reported with its certified gap to ``total_upper_bound``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from ortools.graph.python import max_flow, min_cost_flow
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_BLOCK_ENTRIES = 4_000_000  # affinity entries evaluated per block (32 MB of float64)
_RC_FIX_MAX_EDGES = 50_000  # largest restricted MIP tried for an exact fair total (see _fair)
_FAIR_TOTAL_MIP_S = 15.0  # time limit of each MIP that improves the fair total (see _fair)


def _uniq(a: npt.ArrayLike) -> IntArray:
    """Sorted unique values by sorting (numpy 2.4's hash-based ``np.unique`` is two orders of
    magnitude slower on large int64 keys)."""
    b = np.sort(np.asarray(a, np.int64).ravel())
    if len(b) < 2:
        return b
    keep = np.empty(len(b), bool)
    keep[0] = True
    np.not_equal(b[1:], b[:-1], out=keep[1:])
    return b[keep]


def _union(a: IntArray, b: IntArray) -> IntArray:
    return _uniq(np.concatenate([a, b]))


class InfeasibleAssignment(ValueError):
    """No assignment satisfies the constraints; the message says why."""


@dataclass(frozen=True, eq=False)
class TopicAffinity:
    """Affinity as cosine similarity of topic (or term) vectors, never densified.

    ``proposal_topics`` is P x T, ``reviewer_topics`` is R x T; either may be a dense array or a
    scipy sparse matrix. Rows are L2-normalised internally (a zero row has affinity 0).
    """

    proposal_topics: Any
    reviewer_topics: Any


@dataclass(frozen=True, eq=False)
class Grouping:
    """A diversity rule: at most ``cap`` reviewers of one proposal share a label."""

    labels: npt.ArrayLike  # one non-negative int label per reviewer
    cap: int
    name: str = ""


@dataclass(frozen=True, eq=False)
class AssignmentProblem:
    n_proposals: int
    n_reviewers: int
    affinity: Any  # dense P x R float array, or TopicAffinity
    k: int | npt.ArrayLike = 3
    min_load: int | npt.ArrayLike = 0
    max_load: int | npt.ArrayLike | None = None  # None: no upper limit
    conflicts: npt.ArrayLike = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    forced: npt.ArrayLike = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    forbidden: npt.ArrayLike = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    groupings: tuple[Grouping, ...] = ()
    objective: Literal["total", "fair"] = "total"
    seed: int = 0

    def __post_init__(self) -> None:
        _normalise(self)  # raises ValueError with a clear message on bad input


@dataclass(frozen=True, eq=False)
class AssignmentResult:
    proposals: IntArray  # pair i assigns reviewer reviewers[i] to proposal proposals[i]
    reviewers: IntArray
    total_affinity: float
    min_proposal_affinity: float
    proposal_affinity: FloatArray  # per proposal, summed affinity of its reviewers
    upper_bound: float  # bound on the objective's first criterion (total, or min for fair)
    gap: float  # upper_bound minus achieved value of that criterion, in affinity units
    certified: bool
    objective: str
    method: str  # "flow", "flow+layers", "mip", "fair-mip"
    pricing_iterations: int
    n_candidate_edges: int
    timings: dict[str, float]
    #: bound on the total affinity; in fair mode, of any assignment whose lowest proposal
    #: reaches ``min_proposal_affinity`` (an LP dual bound over every allowed pair; inf if its
    #: column generation did not converge)
    total_upper_bound: float = math.nan
    #: the total is optimal (for the rounded costs): in fair mode, optimal among assignments
    #: with the certified max-min, proven by ``total_upper_bound``
    total_certified: bool = False

    def check(self, problem: AssignmentProblem) -> list[str]:
        return check_assignment(problem, self.proposals, self.reviewers)


# --------------------------------------------------------------------------------------------
# Input normalisation


@dataclass(frozen=True, eq=False)
class _Norm:
    P: int
    R: int
    k: IntArray
    min_load: IntArray
    max_load: IntArray
    banned: IntArray  # sorted unique keys p * R + r (conflicts and forbidden)
    forced: IntArray  # sorted unique keys
    groupings: tuple[tuple[IntArray, int, str], ...]


def _pairs(x: npt.ArrayLike, name: str, P: int, R: int) -> IntArray:
    a = np.asarray(x)
    if a.size == 0:
        return np.zeros(0, np.int64)
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"{name} must be an array of (proposal, reviewer) pairs, shape (n, 2)")
    if not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name} must hold integer indices")
    a = a.astype(np.int64)
    if (a[:, 0] < 0).any() or (a[:, 0] >= P).any() or (a[:, 1] < 0).any() or (a[:, 1] >= R).any():
        raise ValueError(f"{name} has a pair outside 0..{P - 1} x 0..{R - 1}")
    return _uniq(a[:, 0] * R + a[:, 1])


def _per(x: int | npt.ArrayLike | None, n: int, name: str, default: int) -> IntArray:
    if x is None:
        return np.full(n, default, np.int64)
    a = np.asarray(x)
    if a.ndim == 0:
        a = np.full(n, int(a), np.int64)
    if a.shape != (n,):
        raise ValueError(f"{name} must be a scalar or an array of length {n}")
    if not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name} must be integers")
    if (a < 0).any():
        raise ValueError(f"{name} must be non-negative")
    return a.astype(np.int64)


def _normalise(pb: AssignmentProblem) -> _Norm:
    P, R = int(pb.n_proposals), int(pb.n_reviewers)
    if P < 0 or R < 1:
        raise ValueError("need n_proposals >= 0 and n_reviewers >= 1")
    if pb.objective not in ("total", "fair"):
        raise ValueError("objective must be 'total' or 'fair'")
    if isinstance(pb.affinity, TopicAffinity):
        ps, rs = pb.affinity.proposal_topics.shape, pb.affinity.reviewer_topics.shape
        if ps[0] != P or rs[0] != R or ps[1] != rs[1]:
            raise ValueError(f"topic matrices must be {P} x T and {R} x T, got {ps} and {rs}")
    else:
        a = pb.affinity
        if not isinstance(a, np.ndarray) or a.shape != (P, R):
            raise ValueError(f"affinity must be a {P} x {R} numpy array or a TopicAffinity")
        if not np.isfinite(a).all():
            raise ValueError("affinity must be finite")
    groupings = []
    for g in pb.groupings:
        lab = np.asarray(g.labels)
        if lab.shape != (R,) or not np.issubdtype(lab.dtype, np.integer) or (lab < 0).any():
            raise ValueError(f"grouping {g.name!r}: labels must be {R} non-negative integers")
        if int(g.cap) < 1:
            raise ValueError(f"grouping {g.name!r}: cap must be >= 1")
        groupings.append((lab.astype(np.int64), int(g.cap), g.name))
    banned = _union(
        _pairs(pb.conflicts, "conflicts", P, R), _pairs(pb.forbidden, "forbidden", P, R)
    )
    return _Norm(
        P=P,
        R=R,
        k=_per(pb.k, P, "k", 0),
        min_load=_per(pb.min_load, R, "min_load", 0),
        max_load=_per(pb.max_load, R, "max_load", max(P, 1)),
        banned=banned,
        forced=_pairs(pb.forced, "forced", P, R),
        groupings=tuple(groupings),
    )


# --------------------------------------------------------------------------------------------
# Affinity evaluation (blockwise; columns in the solver's internal, seed-permuted order)


class _Oracle:
    """Evaluates the affinity with reviewers in internal order ``perm``.

    Every entry is computed by the same sequence of floating-point operations whichever rows
    are evaluated together (CSR proposal factors times dense reviewer factors, accumulated in
    stored order), so a value seen while choosing candidates is bit-identical when priced or
    reported later: the pricing bounds need no tolerance.
    """

    def __init__(self, affinity: Any, perm: IntArray) -> None:
        self.perm = perm
        self.dense: FloatArray | None = None
        self.rnt: Any = None
        if isinstance(affinity, TopicAffinity):
            self.pn = sp.csr_matrix(_row_normalise(affinity.proposal_topics))
            self.pn.sort_indices()
            rn = _row_normalise(affinity.reviewer_topics)[perm]
            t, r = rn.shape
            if sp.issparse(rn) and t * r * 8 > 256 * 2**20:
                self.rnt = sp.csc_matrix(rn.T)  # large vocabulary: keep sparse
            else:
                self.rnt = rn.toarray().T.copy() if sp.issparse(rn) else np.ascontiguousarray(rn.T)
        else:
            self.dense = affinity
        #: bound on |affinity| (rows of a TopicAffinity are unit vectors: cosines)
        self.amax = (
            1.0 + 1e-6
            if self.dense is None
            else float(np.abs(self.dense).max())
            if self.dense.size
            else 0.0
        )
        # single-precision copies for fast screening (pricing, candidate choice); every pair a
        # screen keeps is re-evaluated exactly in double precision by ``pairs``
        self.pn32: Any = None
        self.rnt32: Any = None
        self.err: FloatArray = np.zeros(0)
        if self.dense is None:
            self.pn32 = sp.csr_matrix(self.pn, dtype=np.float32)
            self.rnt32 = (
                sp.csc_matrix(self.rnt, dtype=np.float32)
                if sp.issparse(self.rnt)
                else np.ascontiguousarray(self.rnt, dtype=np.float32)
            )
            # |float32 value - float64 value| <= (n + 3) u sum|x_t y_t| <= (n + 3) u for unit
            # rows with n stored terms (u = 2**-24: input rounding, n products and sums)
            nnz = np.diff(self.pn.indptr).astype(np.float64)
            self.err = (nnz + 4.0) * 2.0**-24 * 1.01 + 1e-12

    def block(self, idx: IntArray) -> tuple[npt.NDArray[Any], FloatArray]:
        """Rows ``idx`` (all reviewers, internal order) as a screening block, and per row a bound
        on its error against the exact values of ``pairs`` (zero for a dense affinity)."""
        if self.dense is not None:
            return self.rows(idx), np.zeros(len(idx))
        out = self.pn32[idx] @ self.rnt32
        if sp.issparse(out):
            out = out.toarray()
        return np.asarray(out, dtype=np.float32), self.err[idx]

    def rows(self, idx: IntArray) -> FloatArray:
        if self.dense is not None:
            return np.asarray(self.dense[idx][:, self.perm], dtype=np.float64)
        out = self.pn[idx] @ self.rnt
        if sp.issparse(out):
            out = out.toarray()
        return np.asarray(out, dtype=np.float64)

    def pairs(self, p: IntArray, r_internal: IntArray) -> FloatArray:
        if self.dense is not None:
            return np.asarray(self.dense[p, self.perm[r_internal]], dtype=np.float64)
        if sp.issparse(self.rnt):
            out = np.empty(len(p), np.float64)
            up, inv = np.unique(p, return_inverse=True)
            step = max(1, _BLOCK_ENTRIES // self.rnt.shape[1])
            for lo in range(0, len(up), step):
                block = self.rows(up[lo : lo + step])
                sel = (inv >= lo) & (inv < lo + step)
                out[sel] = block[inv[sel] - lo, r_internal[sel]]
            return out
        # same accumulation order as scipy's CSR x dense kernel: y = 0; y += data * x[...]
        indptr, indices, data = self.pn.indptr, self.pn.indices, self.pn.data
        start = indptr[p]
        nnz = indptr[p + 1] - start
        out = np.zeros(len(p), np.float64)
        for j in range(int(nnz.max()) if len(p) else 0):
            sel = np.flatnonzero(nnz > j)
            q = start[sel] + j
            out[sel] += data[q] * self.rnt[indices[q], r_internal[sel]]
        return out


def _row_normalise(m: Any) -> Any:
    if sp.issparse(m):
        c = sp.csr_matrix(m, dtype=np.float64)
        norms = np.sqrt(np.asarray(c.multiply(c).sum(axis=1)).ravel())
        inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        return sp.csr_matrix(sp.diags(inv) @ c)
    a = np.asarray(m, dtype=np.float64)
    norms = np.linalg.norm(a, axis=1)
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return a * inv[:, None]


def affinity_of_pairs(problem: AssignmentProblem, p: IntArray, r: IntArray) -> FloatArray:
    """Affinity of given (proposal, reviewer) pairs, evaluated without a dense matrix."""
    oracle = _Oracle(problem.affinity, np.arange(problem.n_reviewers, dtype=np.int64))
    return oracle.pairs(np.asarray(p, np.int64), np.asarray(r, np.int64))


# --------------------------------------------------------------------------------------------
# Feasibility checker


def check_assignment(problem: AssignmentProblem, p: npt.ArrayLike, r: npt.ArrayLike) -> list[str]:
    """All violated constraints of an assignment, as messages; empty list = feasible."""
    nm = _normalise(problem)
    P, R = nm.P, nm.R
    pp, rr = np.asarray(p, np.int64), np.asarray(r, np.int64)
    errs: list[str] = []
    if pp.shape != rr.shape or pp.ndim != 1:
        return ["proposals and reviewers must be 1-D arrays of equal length"]
    if ((pp < 0) | (pp >= P) | (rr < 0) | (rr >= R)).any():
        return ["pair index out of range"]
    keys = pp * R + rr
    uk, cnt = np.unique(keys, return_counts=True)
    if (cnt > 1).any():
        errs.append(f"duplicate pairs: {_show(uk[cnt > 1], R)}")
    per_p = np.bincount(pp, minlength=P)
    bad = np.flatnonzero(per_p != nm.k)
    if len(bad):
        errs.append(f"{len(bad)} proposals without exactly k reviewers, e.g. {bad[:5].tolist()}")
    load = np.bincount(rr, minlength=R)
    bad = np.flatnonzero((load < nm.min_load) | (load > nm.max_load))
    if len(bad):
        errs.append(f"{len(bad)} reviewers with load outside [min, max], e.g. {bad[:5].tolist()}")
    hit = uk[_member(nm.banned, uk)]
    if len(hit):
        errs.append(f"{len(hit)} conflicted or forbidden pairs assigned: {_show(hit, R)}")
    miss = nm.forced[~_member(uk, nm.forced)]
    if len(miss):
        errs.append(f"{len(miss)} forced pairs missing: {_show(miss, R)}")
    for lab, cap, name in nm.groupings:
        gk, gc = np.unique(pp * (int(lab.max()) + 1) + lab[rr], return_counts=True)
        if (gc > cap).any():
            errs.append(
                f"grouping {name!r}: {int((gc > cap).sum())} proposal-groups over cap {cap}"
            )
    return errs


def _show(keys: IntArray, R: int) -> str:
    return ", ".join(f"({int(x) // R}, {int(x) % R})" for x in keys[:5])


# --------------------------------------------------------------------------------------------
# Solver state (internal reviewer order)


@dataclass
class _State:
    nm: _Norm
    oracle: _Oracle
    perm: IntArray  # internal reviewer i is original reviewer perm[i]
    inv: IntArray
    scale: float
    k: IntArray  # remaining demand after forced pairs
    lo: IntArray  # remaining min load (internal order)
    hi: IntArray  # remaining max load (internal order)
    banned: IntArray  # sorted internal keys p * R + r_internal, incl. forced and exhausted
    chain: list[tuple[IntArray, int, IntArray, IntArray]]  # labels, cap, forced keys, counts
    extra: list[tuple[IntArray, int]]  # groupings outside the chain (MIP only)
    forced_p: IntArray
    forced_r: IntArray  # internal order
    blocked_groups: list[tuple[int, int, int]]  # (p, level, label) with no cap left
    bound_s: IntArray  # per proposal: >= scaled affinity of any pair outside the first candidates
    rowmax_s: IntArray  # per proposal: >= scaled affinity of any of its allowed pairs
    timings: dict[str, float]


def _prepare(pb: AssignmentProblem, scale: float) -> _State:
    nm = _normalise(pb)
    P, R = nm.P, nm.R
    rng = np.random.default_rng(pb.seed)
    perm = rng.permutation(R).astype(np.int64)
    inv = np.empty(R, np.int64)
    inv[perm] = np.arange(R)
    oracle = _Oracle(pb.affinity, perm)
    fp, fr_orig = nm.forced // R, nm.forced % R
    fr = inv[fr_orig]
    k = nm.k - np.bincount(fp, minlength=P)
    fcount_r = np.bincount(fr, minlength=R)
    hi = nm.max_load[perm] - fcount_r
    lo = np.maximum(nm.min_load[perm] - fcount_r, 0)
    banned_int = (nm.banned // R) * R + inv[nm.banned % R]
    forced_int = fp * R + fr
    # order groupings coarse -> fine; keep the longest prefix chain that refines step by step
    gl = sorted(((lab[perm], cap) for lab, cap, _ in nm.groupings), key=lambda x: len(_uniq(x[0])))
    chain: list[tuple[IntArray, int, IntArray, IntArray]] = []
    extra: list[tuple[IntArray, int]] = []
    blocked: list[tuple[int, int, int]] = []
    for lab, cap in gl:
        if not chain or _refines(lab, chain[-1][0]):
            nlab = int(lab.max()) + 1
            fk, fc = np.unique(fp * nlab + lab[fr], return_counts=True)
            for key in fk[fc >= cap]:
                blocked.append((int(key) // nlab, len(chain), int(key) % nlab))
            chain.append((lab, cap, fk, fc))
        else:
            extra.append((lab, cap))
    blocked_keys = []
    for p_, lvl, g in blocked:
        rs = np.flatnonzero(chain[lvl][0] == g)
        blocked_keys.append(p_ * R + rs)
    ban = _uniq(np.concatenate([banned_int, forced_int, *blocked_keys]))
    return _State(
        nm=nm,
        oracle=oracle,
        perm=perm,
        inv=inv,
        scale=scale,
        k=k,
        lo=lo,
        hi=hi,
        banned=ban,
        chain=chain,
        extra=extra,
        forced_p=fp,
        forced_r=fr,
        blocked_groups=blocked,
        bound_s=np.full(P, np.iinfo(np.int64).min, np.int64),
        rowmax_s=np.full(P, np.iinfo(np.int64).max, np.int64),
        timings={},
    )


def _lookup(keys: IntArray, values: IntArray, query: IntArray) -> IntArray:
    """values[keys == query] for sorted keys, 0 where a query key is absent."""
    if len(keys) == 0:
        return np.zeros(len(query), np.int64)
    pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return np.where(keys[pos] == query, values[pos], 0).astype(np.int64)


def _refines(fine: IntArray, coarse: IntArray) -> bool:
    pairs = _uniq(fine * (int(coarse.max()) + 1) + coarse)
    return len(_uniq(pairs // (int(coarse.max()) + 1))) == len(pairs)


def _scaled(st: _State, a: FloatArray) -> IntArray:
    return np.rint(a * st.scale).astype(np.int64)


def _blocks(P: int, R: int) -> list[tuple[int, int]]:
    b = max(1, _BLOCK_ENTRIES // max(R, 1))
    return [(lo, min(P, lo + b)) for lo in range(0, P, b)]


def _mask_banned(st: _State, rows: IntArray, A: FloatArray, extra_keys: IntArray) -> None:
    """Set banned pairs (and ``extra_keys``, sorted) of the given proposal rows to -inf."""
    R = st.nm.R
    for keys in (st.banned, extra_keys):
        if len(keys) == 0:
            continue
        lo_k = np.searchsorted(keys, rows * R)
        hi_k = np.searchsorted(keys, rows * R + R)
        cnt = hi_k - lo_k
        if cnt.sum() == 0:
            continue
        ridx = np.repeat(np.arange(len(rows)), cnt)
        sel = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt) + np.repeat(lo_k, cnt)
        A[ridx, keys[sel] % R] = -np.inf


def _candidates(
    st: _State, c: int, per_reviewer: int, seed: int
) -> tuple[IntArray, IntArray, IntArray]:
    """Top-c allowed reviewers per proposal, plus the top ``per_reviewer`` proposals of every
    reviewer, as edges (p, r, scaled affinity) in key order.

    Blocks are screened in single precision (topic factors) and the chosen pairs re-evaluated
    exactly. Ties (frequent with topic mixtures: many reviewers share one topic) are broken by a
    seeded jitter below the cost grid, so tied proposals spread over tied reviewers instead of
    all picking the same ones. Sets ``bound_s`` (a safe upper bound on the scaled affinity of
    every pair a proposal has outside its candidates) and ``rowmax_s`` (on all its pairs).
    """
    P, R = st.nm.P, st.nm.R
    rng = np.random.default_rng([seed, 1])
    empty = np.zeros(0, np.int64)
    jit = 0.3 / st.scale
    cp: list[IntArray] = []
    cr: list[IntArray] = []
    top_v = np.full((0, R), -np.inf, np.float32)
    top_i = np.zeros((0, R), np.int64)
    imin = np.iinfo(np.int64).min
    for lo, hi in _blocks(P, R):
        rows = np.arange(lo, hi, dtype=np.int64)
        A, err = st.oracle.block(rows)
        _mask_banned(st, rows, A, empty)
        rmax = A.max(axis=1).astype(np.float64)
        fin = np.isfinite(rmax)
        st.rowmax_s[lo:hi] = np.where(
            fin, np.ceil((np.where(fin, rmax, 0.0) + err) * st.scale), imin
        ).astype(np.int64)
        if c < R:
            # key >= A everywhere (jitter >= 0, rounding is monotone), so the key of the first
            # pair left out bounds every pair left out, up to the screening error
            key = A + (rng.random(A.shape, dtype=np.float32) * np.float32(jit)).astype(A.dtype)
            part = np.argpartition(-key, c, axis=1)[:, : c + 1]
            kv = np.take_along_axis(key, part, axis=1)
            order = np.argsort(-kv, axis=1, kind="stable")
            part = np.take_along_axis(part, order, axis=1)
            nb = np.take_along_axis(kv, order, axis=1)[:, c].astype(np.float64)
            fin = np.isfinite(nb)
            st.bound_s[lo:hi] = np.where(
                fin, np.ceil((np.where(fin, nb, 0.0) + err) * st.scale), imin
            ).astype(np.int64)
            del key
            part = part[:, :c]
            ok = np.isfinite(np.take_along_axis(A, part, axis=1))
        else:
            part = np.tile(np.arange(R, dtype=np.int64), (hi - lo, 1))
            ok = np.isfinite(A)
        cp.append(np.repeat(rows, ok.sum(axis=1)))
        cr.append(part[ok].astype(np.int64))
        if per_reviewer > 0:
            q = min(per_reviewer, hi - lo)
            bi = (
                np.argpartition(-A, q - 1, axis=0)[:q]
                if q < hi - lo
                else np.tile(np.arange(hi - lo)[:, None], (1, R))
            )
            bv = np.take_along_axis(A, bi, axis=0).astype(np.float32)
            allv = np.concatenate([top_v, bv])
            alli = np.concatenate([top_i, bi + lo])
            if len(allv) > per_reviewer:
                sel = np.argpartition(-allv, per_reviewer - 1, axis=0)[:per_reviewer]
                allv = np.take_along_axis(allv, sel, axis=0)
                alli = np.take_along_axis(alli, sel, axis=0)
            top_v, top_i = allv, alli
    p = np.concatenate(cp) if cp else empty
    r = np.concatenate(cr) if cr else empty
    if per_reviewer > 0 and len(top_v):
        ok = np.isfinite(top_v)
        p = np.concatenate([p, top_i[ok]])
        r = np.concatenate([r, np.broadcast_to(np.arange(R), top_v.shape)[ok]])
    keys = _uniq(p * R + r)
    ep, er = keys // R, keys % R
    return ep, er, _scaled(st, st.oracle.pairs(ep, er))


# --------------------------------------------------------------------------------------------
# Flow on the candidate graph


@dataclass
class _Flow:
    n_nodes: int
    tails: IntArray
    heads: IntArray
    caps: IntArray
    costs: IntArray
    flows: IntArray
    supplies: IntArray
    edge_arc0: int  # arcs [edge_arc0, edge_arc0 + n_edges) are the candidate edges
    n_edges: int
    art: IntArray  # per proposal: flow on its artificial arc (zeros when there are none)
    art_r: IntArray  # per reviewer: flow from the artificial node (its unmet min load)
    rev0: int  # reviewer node offset
    sink: int
    level_keys: list[IntArray]  # per chain level: sorted keys p * n_labels + label
    level_nodes: list[IntArray]  # node id of each key


@dataclass
class _Net:
    """Arcs shared by the min-cost flow and the max-flow feasibility check: proposal -> group
    layers -> reviewer (capacity 1 per candidate edge) and reviewer -> sink (max - min load)."""

    tails: IntArray
    heads: IntArray
    caps: IntArray
    edge_arc0: int
    rev0: int
    sink: int
    level_keys: list[IntArray]
    level_nodes: list[IntArray]


def _network(st: _State, ep: IntArray, er: IntArray) -> _Net:
    P, R = st.nm.P, st.nm.R
    node = P
    level_keys: list[IntArray] = []
    level_nodes: list[IntArray] = []
    edge_parent = ep.copy()  # node from which each edge's arc to its reviewer leaves
    lt: list[IntArray] = []
    lh: list[IntArray] = []
    lc: list[IntArray] = []
    for lab, cap, fk, fc in st.chain:
        nlab = int(lab.max()) + 1
        ekeys = ep * nlab + lab[er]
        keys, first, invk = np.unique(ekeys, return_index=True, return_inverse=True)
        ids = node + np.arange(len(keys), dtype=np.int64)
        node += len(keys)
        used = _lookup(fk, fc, keys)
        lt.append(edge_parent[first])
        lh.append(ids)
        lc.append(cap - used)
        edge_parent = ids[invk]
        level_keys.append(keys)
        level_nodes.append(ids)
    rev0 = node
    sink = rev0 + R
    tails = [*lt, edge_parent, rev0 + np.arange(R)]
    heads = [*lh, rev0 + er, np.full(R, sink)]
    caps = [*lc, np.ones(len(ep)), st.hi - st.lo]
    return _Net(
        np.concatenate([np.asarray(x, np.int64) for x in tails]),
        np.concatenate([np.asarray(x, np.int64) for x in heads]),
        np.concatenate([np.asarray(x, np.int64) for x in caps]),
        sum(len(x) for x in lt),
        rev0,
        sink,
        level_keys,
        level_nodes,
    )


def _max_flow_shortfall(
    st: _State, ep: IntArray, er: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Max flow on the candidate graph: (per proposal reviewers missing, per reviewer min load
    missing, per reviewer load). All zero shortfalls iff the candidate graph is feasible: the
    arcs into the terminal (min loads, and the sink's sum k - sum min) carry at most sum k, so a
    flow of sum k saturates every one of them."""
    P, R = st.nm.P, st.nm.R
    net = _network(st, ep, er)
    src, term = net.sink + 1, net.sink + 2
    need = int(st.k.sum())
    t = np.concatenate([net.tails, np.full(P, src), net.rev0 + np.arange(R), [net.sink]])
    h = np.concatenate([net.heads, np.arange(P), np.full(R, term), [term]])
    u = np.concatenate([net.caps, st.k, st.lo, [need - int(st.lo.sum())]])
    mf = max_flow.SimpleMaxFlow()
    mf.add_arcs_with_capacity(t.astype(np.int32), h.astype(np.int32), u.astype(np.int64))
    status = mf.solve(src, term)
    if status != mf.OPTIMAL:
        raise RuntimeError(f"max flow failed with status {status}")
    f = np.asarray(mf.flows(np.arange(len(t), dtype=np.int32)), np.int64)
    n0 = len(net.tails)
    served = f[n0 : n0 + P]
    got_min = f[n0 + P : n0 + P + R]
    e0 = net.edge_arc0
    load = np.bincount(er, weights=f[e0 : e0 + len(ep)], minlength=R).astype(np.int64)
    return st.k - served, st.lo - got_min, load


def _solve_flow(
    st: _State, ep: IntArray, er: IntArray, es: IntArray, seed: int, artificial: bool = True
) -> _Flow:
    """Min-cost flow on the candidate graph. With ``artificial``, arcs of prohibitive cost keep
    it feasible (flow left on them proves the instance infeasible once pricing is done);
    without, the candidate graph must be feasible (checked by ``_max_flow_shortfall``)."""
    P, R = st.nm.P, st.nm.R
    net = _network(st, ep, er)
    rev0, sink = net.rev0, net.sink
    n_nodes = sink + 1 + int(artificial)
    kk = st.k
    t, h, u = net.tails, net.heads, net.caps
    w = np.zeros(len(t), np.int64)
    e0 = net.edge_arc0
    w[e0 : e0 + len(ep)] = -es
    if artificial:
        art = sink + 1
        maxs = int(np.abs(es).max()) if len(es) else 0
        big_m = (maxs + 1) * (n_nodes + 1)
        one = np.ones(1, np.int64)
        t = np.concatenate([t, np.arange(P), np.full(R, art), art * one])
        h = np.concatenate([h, np.full(P, art), rev0 + np.arange(R), sink * one])
        u = np.concatenate([u, kk, st.lo, int(kk.sum()) * one])
        w = np.concatenate([w, np.full(P, big_m), np.zeros(R + 1, np.int64)])
    supplies = np.zeros(n_nodes, np.int64)
    supplies[:P] = kk
    supplies[rev0 : rev0 + R] = -st.lo
    supplies[sink] = -(int(kk.sum()) - int(st.lo.sum()))
    # seeded arc order: ties between equally good optima are broken by the seed
    order = np.random.default_rng(seed).permutation(len(t))
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(
        t[order].astype(np.int32), h[order].astype(np.int32), u[order], w[order]
    )
    smcf.set_nodes_supplies(np.arange(n_nodes, dtype=np.int32), supplies)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    f = np.empty(len(t), np.int64)
    f[order] = smcf.flows(np.arange(len(t), dtype=np.int32))
    a0 = len(net.tails)
    zp, zr = np.zeros(P, np.int64), np.zeros(R, np.int64)
    return _Flow(
        n_nodes,
        t,
        h,
        u,
        w,
        f,
        supplies,
        e0,
        len(ep),
        f[a0 : a0 + P] if artificial else zp,
        f[a0 + P : a0 + P + R] if artificial else zr,
        rev0,
        sink,
        net.level_keys,
        net.level_nodes,
    )


def _potentials(fl: _Flow) -> IntArray:
    """Node potentials proving the flow optimal: d(v) = -(shortest distance from v to a
    virtual sink) in the residual graph, so every residual arc has c + d(u) - d(v) >= 0.

    Distances *to* a sink (not from a source) make the potential of a proposal its best
    marginal gain and that of a spare reviewer zero, which is what lets pricing skip almost
    every proposal. Bellman-Ford is hand-written and vectorised with numpy because scipy's
    csgraph drops zero-cost arcs and merges parallel ones, and OR-Tools does not expose its
    own potentials; only nodes whose distance changed are relaxed again.
    """
    fwd = fl.flows < fl.caps
    bwd = fl.flows > 0
    # reversed residual graph: arc v -> u for every residual arc u -> v
    t = np.concatenate([fl.heads[fwd], fl.tails[bwd]])
    h = np.concatenate([fl.tails[fwd], fl.heads[bwd]])
    w = np.concatenate([fl.costs[fwd], -fl.costs[bwd]])
    order = np.argsort(t, kind="stable")
    t, h, w = t[order], h[order], w[order]
    n = fl.n_nodes
    indptr = np.searchsorted(t, np.arange(n + 1))
    d = np.zeros(n, np.int64)
    active = np.arange(n)
    for _ in range(n + 1):
        starts = indptr[active]
        cnt = indptr[active + 1] - starts
        tot = int(cnt.sum())
        if tot == 0:
            return -d
        idx = np.arange(tot) - np.repeat(np.cumsum(cnt) - cnt, cnt) + np.repeat(starts, cnt)
        cand = d[t[idx]] + w[idx]
        hh = h[idx]
        better = cand < d[hh]
        if not better.any():
            return -d
        hh, cand = hh[better], cand[better]
        np.minimum.at(d, hh, cand)
        active = _uniq(hh)
    raise RuntimeError("negative cycle in the residual graph: flow not optimal")


def _dual_bound(fl: _Flow, d: IntArray) -> int:
    """Dual objective of the min-cost flow LP for potentials d (a lower bound on its cost)."""
    rc = fl.costs + d[fl.tails] - d[fl.heads]
    return int(-(fl.supplies * d).sum() - (fl.caps * np.maximum(0, -rc)).sum())


def _price(
    st: _State,
    fl: _Flow,
    d: IntArray,
    cand_keys: IntArray,
    max_new_per_row: int,
    truncate: bool = True,
) -> tuple[IntArray, IntArray, IntArray, bool]:
    """Non-candidate pairs whose reduced cost is negative under potentials d, over the full
    affinity: (p, r, s) of the most violated few per proposal, and whether the pass was
    complete (no block was truncated).

    A new arc p -> r (through p's group nodes) has negative reduced cost iff
    ``s_pr > d(node) - d(r)`` for the deepest existing node of p on r's group path. Since
    ``d(node) >= min d(p's nodes)``, a block of proposals is screened against that minimum in
    single precision with an explicit error margin (every exact violation passes the screen),
    and only the survivors are evaluated exactly. Proposals whose largest possible affinity
    cannot beat their threshold against the most valuable reviewer are skipped.
    """
    P, R = st.nm.P, st.nm.R
    node_min = d[:P].copy()
    for lvl, keys in enumerate(fl.level_keys):
        nlab = int(st.chain[lvl][0].max()) + 1
        np.minimum.at(node_min, keys // nlab, d[fl.level_nodes[lvl]])
    dr = d[fl.rev0 : fl.rev0 + R]
    drmax = int(dr.max()) if R else 0
    live = np.flatnonzero((st.rowmax_s > np.iinfo(np.int64).min) & (st.rowmax_s > node_min - drmax))
    sc = st.scale
    drf = dr / sc
    drabs = float(np.abs(drf).max()) if R else 0.0
    found: list[tuple[IntArray, IntArray, IntArray, IntArray]] = []
    complete = True
    evaluated = 0
    cap_rows = 16 * (max_new_per_row + (int(st.nm.k.max()) if P else 0) + 4)
    step = max(1, _BLOCK_ENTRIES // max(R, 1))
    for lo in range(0, len(live), step):
        rows = live[lo : lo + step]
        X, err = st.oracle.block(rows)
        t = node_min[rows] / sc
        # every exact violation has a64 >= (thr - d_r + 0.5) / scale, and X >= a64 - err; the
        # last term covers rounding of the screen's own sums
        slack = err + 4.0 * 2.0**-24 * (np.abs(t) + drabs + 2.0)
        X += drf.astype(X.dtype)[None, :]
        X -= (t - slack).astype(X.dtype)[:, None]
        evaluated += X.size
        ii, jj = np.nonzero(X > 0)
        if truncate and len(ii) > cap_rows * len(rows):
            # too many survivors (poor potentials): keep the best per row, pass incomplete
            complete = False
            v = X[ii, jj]
            order = np.lexsort((-v, ii))
            ii, jj = ii[order], jj[order]
            keep = (np.arange(len(ii)) - np.searchsorted(ii, ii)) < cap_rows
            ii, jj = ii[keep], jj[keep]
        del X
        p = rows[ii]
        r = jj.astype(np.int64)
        keys = p * R + r
        ok = ~(_member(st.banned, keys) | _member(cand_keys, keys))
        p, r = p[ok], r[ok]
        S = _scaled(st, st.oracle.pairs(p, r))
        v = S - _pair_thresholds(st, fl, d, p, r)
        hit = v > 0
        found.append((p[hit], r[hit], S[hit], v[hit]))
    st.timings["priced_pairs"] = st.timings.get("priced_pairs", 0.0) + evaluated
    return (*_top_per_proposal(found, max_new_per_row), complete)


def _member(sorted_keys: IntArray, q: IntArray) -> BoolArray:
    if len(sorted_keys) == 0:
        return np.zeros(len(q), bool)
    pos = np.minimum(np.searchsorted(sorted_keys, q), len(sorted_keys) - 1)
    return np.asarray(sorted_keys[pos] == q)


def _top_per_proposal(
    found: list[tuple[IntArray, IntArray, IntArray, IntArray]], m: int
) -> tuple[IntArray, IntArray, IntArray]:
    """The ``m`` most violated pairs (p, r, s) of every proposal among those found."""
    z = np.zeros(0, np.int64)
    if not found:
        return z, z, z
    pp = np.concatenate([x[0] for x in found])
    rr = np.concatenate([x[1] for x in found])
    ss = np.concatenate([x[2] for x in found])
    vv = np.concatenate([x[3] for x in found])
    cap = np.int64(2**40 - 1)
    order = np.argsort(pp * (cap + 1) + (cap - np.minimum(vv, cap)), kind="stable")
    pp, rr, ss = pp[order], rr[order], ss[order]
    keep = (np.arange(len(pp)) - np.searchsorted(pp, pp)) < m
    return pp[keep], rr[keep], ss[keep]


def _pair_thresholds(st: _State, fl: _Flow, d: IntArray, p: IntArray, r: IntArray) -> IntArray:
    """d(deepest existing node of p on r's group path) - d(r), for each pair."""
    thr = d[p].copy()
    for lvl, (lab, _cap, _fk, _fc) in enumerate(st.chain):
        nlab = int(lab.max()) + 1
        keys = fl.level_keys[lvl]
        if len(keys) == 0:
            continue
        q = p * nlab + lab[r]
        pos = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
        thr = np.where(keys[pos] == q, d[fl.level_nodes[lvl][pos]], thr)
    return np.asarray(thr - d[fl.rev0 + r], dtype=np.int64)


# --------------------------------------------------------------------------------------------
# Public entry points


def solve_assignment(
    problem: AssignmentProblem,
    *,
    candidates_per_proposal: int | None = None,
    scale: float = 1e6,
    max_pricing_rounds: int = 100,
    mip_time_limit_s: float = 120.0,
    fair_mip_max_edges: int = 5_000,
    fair_total_bound: bool = True,
) -> AssignmentResult:
    """Solve an assignment problem; raise ``InfeasibleAssignment`` with the reason if none exists.

    In fair mode, ``fair_total_bound=False`` skips bounding (and improving) the total given
    the max-min over every allowed pair (see the module docstring), which is the costly part
    at conference scale; ``total_upper_bound`` is then inf.
    """
    t0 = time.perf_counter()
    st = _prepare(problem, scale)
    _diagnose(problem, st)
    P, R = st.nm.P, st.nm.R
    kmax = int(st.nm.k.max()) if P else 0
    c = candidates_per_proposal or max(1, 3 * kmax)
    # each reviewer also keeps its best few proposals: spare reviewers then have edges, and
    # the first candidate graph is usually feasible (pricing would get there, slower)
    per_rev = (int(st.lo.max()) + kmax) if R and P else 0
    ep, er, es = _candidates(st, min(c, R), per_rev, problem.seed)
    st.timings["candidates"] = time.perf_counter() - t0
    fl, d, rounds, ep, er, es = _flow_with_pricing(st, ep, er, es, problem.seed, max_pricing_rounds)
    art, art_r = fl.art, fl.art_r
    certified = rounds < max_pricing_rounds
    if art.sum() > 0 or art_r.sum() > 0:
        if certified:
            raise InfeasibleAssignment(_infeasible_message(st, art, art_r))
        raise RuntimeError("pricing did not converge; raise max_pricing_rounds")
    sel = fl.flows[fl.edge_arc0 : fl.edge_arc0 + fl.n_edges] > 0
    ap, ar = ep[sel], er[sel]
    scaled_total = int(es[sel].sum())
    ub_scaled = -_dual_bound(fl, d)
    method = "flow+layers" if st.chain else "flow"
    forced_s = int(_scaled(st, st.oracle.pairs(st.forced_p, st.forced_r)).sum())
    if problem.objective == "fair" and P:
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
            ap, ar, opt = _mip_total(st, ep, er, es, mip_time_limit_s)
            st.timings["mip"] = time.perf_counter() - t1
            method = "mip"
            achieved = float(es[_member(_uniq(ap * R + ar), ep * R + er)].sum())
            certified = certified and opt
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
    timings = st.timings
    timings["total"] = time.perf_counter() - t0
    return AssignmentResult(
        proposals=pp,
        reviewers=rr,
        total_affinity=float(aff.sum()),
        min_proposal_affinity=float(per_p.min()) if P else 0.0,
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
    )


def _flow_with_pricing(
    st: _State,
    ep: IntArray,
    er: IntArray,
    es: IntArray,
    seed: int,
    max_rounds: int,
) -> tuple[_Flow, IntArray, int, IntArray, IntArray, IntArray]:
    """Make the candidate graph feasible (max flow + repair edges), then solve, price the full
    affinity and add the most violated pairs per proposal until a complete pass finds none."""
    R = st.nm.R
    rounds = full_passes = repairs = 0
    tf = tp = tpr = 0.0
    # many violators per proposal per round: a round costs a flow solve, edges are cheap
    m = max(2, 8 * int(st.nm.k.max()) if st.nm.P else 2)
    t = time.perf_counter()
    feasible = False
    for _ in range(8):
        short, needy, load = _max_flow_shortfall(st, ep, er)
        if not short.any() and not needy.any():
            feasible = True
            break
        np_, nr, ns = _repair(st, ep, er, short, needy, load, m)
        if len(np_) == 0:
            break
        repairs += 1
        ep, er, es = _merge(R, ep, er, es, np_, nr, ns)
    st.timings["feasibility"] = time.perf_counter() - t
    while True:
        t = time.perf_counter()
        fl = _solve_flow(st, ep, er, es, seed, artificial=not feasible)
        tf += time.perf_counter() - t
        t = time.perf_counter()
        d = _potentials(fl)
        tp += time.perf_counter() - t
        t = time.perf_counter()
        full_passes += 1
        np_, nr, ns, complete = _price(st, fl, d, ep * R + er, m)
        if not complete and len(np_) == 0:  # the truncated screen missed: price everything
            np_, nr, ns, complete = _price(st, fl, d, ep * R + er, m, truncate=False)
        tpr += time.perf_counter() - t
        if len(np_) == 0 or rounds >= max_rounds:
            break
        rounds += 1
        ep, er, es = _merge(R, ep, er, es, np_, nr, ns)
    st.timings.update(
        {
            "flow": tf,
            "potentials": tp,
            "pricing": tpr,
            "full_pricing_passes": float(full_passes),
            "repairs": float(repairs),
        }
    )
    return fl, d, rounds, ep, er, es


def _merge(
    R: int, ep: IntArray, er: IntArray, es: IntArray, np_: IntArray, nr: IntArray, ns: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Union of two edge sets, in key order (p * R + r)."""
    keys = np.concatenate([ep * R + er, np_ * R + nr])
    s_all = np.concatenate([es, ns])
    keys, idx = np.unique(keys, return_index=True)
    return keys // R, keys % R, s_all[idx]


def _repair(
    st: _State,
    ep: IntArray,
    er: IntArray,
    short: IntArray,
    needy: IntArray,
    load: IntArray,
    m: int,
) -> tuple[IntArray, IntArray, IntArray]:
    """Edges that let the candidate graph become feasible: for every proposal short of
    reviewers, its best reviewers among those with spare capacity; for every reviewer short of
    its minimum load, its best proposals. A heuristic only (the potentials of an infeasible
    graph are dominated by the big-M cost, so pricing from there is slow); pricing stays the
    proof of optimality, and of infeasibility."""
    P, R = st.nm.P, st.nm.R
    z = np.zeros(0, np.int64)
    cand_keys = ep * R + er
    spare = st.hi - load > 0
    out_p: list[IntArray] = []
    out_r: list[IntArray] = []
    rows_short = np.flatnonzero(short > 0)
    if len(rows_short) and spare.any():
        cols = np.flatnonzero(spare)
        step = max(1, _BLOCK_ENTRIES // max(R, 1))
        for lo in range(0, len(rows_short), step):
            rows = rows_short[lo : lo + step]
            X, _ = st.oracle.block(rows)
            _mask_banned(st, rows, X, cand_keys)
            X = X[:, cols]
            q = min(len(cols), m + int(short[rows].max()))
            if q < len(cols):
                part = np.argpartition(-X, q - 1, axis=1)[:, :q]
            else:
                part = np.tile(np.arange(len(cols)), (len(rows), 1))
            ok = np.isfinite(np.take_along_axis(X, part, axis=1))
            out_p.append(np.repeat(rows, ok.sum(axis=1)))
            out_r.append(cols[part[ok]].astype(np.int64))
    cols_needy = np.flatnonzero(needy > 0)
    if len(cols_needy):
        q = min(P, m + int(needy.max()))
        best_v = np.full((0, len(cols_needy)), -np.inf)
        best_i = np.zeros((0, len(cols_needy)), np.int64)
        for lo, hi in _blocks(P, R):
            rows = np.arange(lo, hi, dtype=np.int64)
            X, _ = st.oracle.block(rows)
            _mask_banned(st, rows, X, cand_keys)
            Xn = X[:, cols_needy].astype(np.float64)
            allv = np.concatenate([best_v, Xn])
            alli = np.concatenate([best_i, np.tile(rows[:, None], (1, len(cols_needy)))])
            if len(allv) > q:
                sel = np.argpartition(-allv, q - 1, axis=0)[:q]
                allv = np.take_along_axis(allv, sel, axis=0)
                alli = np.take_along_axis(alli, sel, axis=0)
            best_v, best_i = allv, alli
        ok = np.isfinite(best_v)
        out_p.append(best_i[ok])
        out_r.append(np.broadcast_to(cols_needy, best_v.shape)[ok].astype(np.int64))
    if not out_p:
        return z, z, z
    keys = _uniq(np.concatenate(out_p) * R + np.concatenate(out_r))
    p, r = keys // R, keys % R
    return p, r, _scaled(st, st.oracle.pairs(p, r))


def _diagnose(pb: AssignmentProblem, st: _State) -> None:
    """Cheap necessary conditions, each with a clear message."""
    nm = st.nm
    P, R = nm.P, nm.R
    why: list[str] = []
    need = int(nm.k.sum())
    if (nm.min_load > nm.max_load).any():
        r = int(np.flatnonzero(nm.min_load > nm.max_load)[0])
        why.append(f"reviewer {r} has min_load {nm.min_load[r]} > max_load {nm.max_load[r]}")
    if int(nm.max_load.sum()) < need:
        why.append(f"total reviewer capacity {int(nm.max_load.sum())} < {need} reviews needed")
    if int(nm.min_load.sum()) > need:
        why.append(f"minimum loads add up to {int(nm.min_load.sum())} > {need} reviews needed")
    if (nm.k > R).any():
        why.append(f"proposal {int(np.flatnonzero(nm.k > R)[0])} needs more reviewers than exist")
    fk_hit = nm.forced[_member(nm.banned, nm.forced)]
    if len(fk_hit):
        why.append(f"forced pairs that are also conflicted or forbidden: {_show(fk_hit, R)}")
    if (st.k < 0).any():
        why.append(f"proposal {int(np.flatnonzero(st.k < 0)[0])} has more forced pairs than k")
    if (st.hi < 0).any():
        r = int(st.perm[np.flatnonzero(st.hi < 0)[0]])
        why.append(f"reviewer {r} has more forced pairs than max_load")
    if not why and int(st.lo.sum()) > int(st.k.sum()):
        why.append(
            f"after forced pairs, minimum loads still need {int(st.lo.sum())} reviews "
            f"but only {int(st.k.sum())} remain to assign"
        )
    for lab, cap, fk, fc in st.chain:
        if (fc > cap).any():
            why.append(f"forced pairs exceed a diversity cap of {cap}")
        del lab, fk
    if not why and P:
        allowed = R - np.bincount(nm.banned // R, minlength=P)
        bad = np.flatnonzero(allowed < nm.k)
        if len(bad):
            p = int(bad[0])
            why.append(
                f"proposal {p} has only {int(allowed[p])} non-conflicted reviewers, needs {nm.k[p]}"
            )
        for lab, cap, _ in nm.groupings:
            if len(why):
                break
            # reviewers available per (proposal, group): at most cap count each
            ng = int(lab.max()) + 1
            size = np.bincount(lab, minlength=ng)
            bk = nm.banned
            bg = np.unique(bk // R * ng + lab[bk % R], return_counts=True)
            avail = np.full(P, int(np.minimum(size, cap).sum()), np.int64)
            full = np.minimum(size[bg[0] % ng], cap)
            left = np.minimum(size[bg[0] % ng] - bg[1], cap)
            np.add.at(avail, bg[0] // ng, left - full)
            bad = np.flatnonzero(avail < nm.k)
            if len(bad):
                p = int(bad[0])
                why.append(
                    f"proposal {p} can get at most {int(avail[p])} reviewers under the cap of "
                    f"{cap} per group, needs {nm.k[p]}"
                )
    if why:
        raise InfeasibleAssignment("; ".join(why))


def _infeasible_message(st: _State, art: IntArray, art_r: IntArray) -> str:
    parts = []
    if art.sum():
        ps = np.flatnonzero(art)
        parts.append(
            f"{len(ps)} proposals cannot get k reviewers within loads, conflicts and caps "
            f"(proved by the flow), e.g. {ps[:5].tolist()}"
        )
    if art_r.sum():
        rs = st.perm[np.flatnonzero(art_r)]
        parts.append(f"{len(rs)} reviewers cannot reach min_load, e.g. {rs[:5].tolist()}")
    return "; ".join(parts)


# --------------------------------------------------------------------------------------------
# MIP paths (HiGHS through scipy.optimize.milp)


def _mip_rows(
    st: _State, ep: IntArray, er: IntArray
) -> tuple[list[Any], list[FloatArray], list[FloatArray]]:
    """Assignment constraints over candidate edges: counts, loads, every grouping's caps."""
    P, R = st.nm.P, st.nm.R
    n = len(ep)
    cols = np.arange(n)
    mats: list[Any] = [sp.csr_matrix((np.ones(n), (ep, cols)), shape=(P, n))]
    lbs: list[FloatArray] = [st.k.astype(float)]
    ubs: list[FloatArray] = [st.k.astype(float)]
    mats.append(sp.csr_matrix((np.ones(n), (er, cols)), shape=(R, n)))
    lbs.append(st.lo.astype(float))
    ubs.append(st.hi.astype(float))
    groups = [(lab, cap) for lab, cap, _, _ in st.chain] + list(st.extra)
    for lab, cap in groups:
        nlab = int(lab.max()) + 1
        keys = ep * nlab + lab[er]
        uk, invk = np.unique(keys, return_inverse=True)
        fk, fc = np.unique(st.forced_p * nlab + lab[st.forced_r], return_counts=True)
        used = _lookup(fk, fc, uk)
        mats.append(sp.csr_matrix((np.ones(n), (invk, cols)), shape=(len(uk), n)))
        lbs.append(np.full(len(uk), -np.inf))
        ubs.append((cap - used).astype(float))
    return mats, lbs, ubs


def _mip_total(
    st: _State,
    ep: IntArray,
    er: IntArray,
    es: IntArray,
    time_limit: float,
) -> tuple[IntArray, IntArray, bool]:
    mats, lbs, ubs = _mip_rows(st, ep, er)
    A = sp.vstack(mats).tocsr()
    res = milp(
        -es.astype(float) / st.scale,
        integrality=np.ones(len(ep)),
        bounds=Bounds(0, 1),
        constraints=LinearConstraint(A, np.concatenate(lbs), np.concatenate(ubs)),
        options={"time_limit": time_limit, "mip_rel_gap": 0.0},
    )
    if res.x is None:
        raise InfeasibleAssignment(
            "no assignment meets all diversity groupings together on the candidate graph"
        )
    x = np.rint(res.x) > 0
    return ep[x], er[x], bool(res.status == 0)


def _fair(
    st: _State,
    ep: IntArray,
    er: IntArray,
    es: IntArray,
    x0_p: IntArray,
    x0_r: IntArray,
    time_limit: float,
    max_rounds: int,
    mip_max_edges: int,
    total_bound: bool = True,
) -> tuple[IntArray, IntArray, float, float, bool, float]:
    """Lexicographic max-min then max-total.

    Returns (p, r, ub_min, achieved_min, certified_min, ub_total): ``ub_total`` bounds the
    total (forced pairs excluded) of any assignment whose lowest proposal reaches
    ``achieved_min``, over every allowed pair (inf when its column generation did not
    converge). ``x0`` is the total-mode optimum. Values are in scaled units (the forced
    pairs' affinity is included per proposal).
    """
    P, R = st.nm.P, st.nm.R
    fs = _scaled(st, st.oracle.pairs(st.forced_p, st.forced_r)) if len(st.forced_p) else None
    forced_aff = np.bincount(st.forced_p, weights=fs, minlength=P) if fs is not None else None
    base = np.zeros(P) if forced_aff is None else forced_aff.astype(np.float64)
    # LP relaxation with column generation over the full affinity: a valid bound for the min
    rounds = 0
    cp, cr, cs = ep, er, es
    t0 = time.perf_counter()
    while True:
        ub_tau, y_fair, y_cnt, y_load, x_lp = _fair_lp(st, cp, cr, cs, base)
        new_p, new_r, new_s = _fair_price(st, cp * R + cr, y_fair, y_cnt, y_load)
        if len(new_p) == 0 or rounds >= max_rounds:
            break
        rounds += 1
        cp, cr, cs = _merge(R, cp, cr, cs, new_p, new_r, new_s)
    lp_certified = rounds < max_rounds
    st.timings["fair_lp"] = time.perf_counter() - t0
    st.timings["fair_lp_rounds"] = float(rounds)
    ub_int = math.floor(ub_tau + 1e-6)  # affinities are integers: so is the best minimum
    n = len(cp)
    x0 = _member(_uniq(x0_p * R + x0_r), cp * R + cr)
    # small graphs: MIPs over every candidate edge; large ones: over the support of the LP
    # optimum plus the total-mode optimum (the LP is integral but for a few hundred edges, and
    # the total-mode optimum adds room to round them)
    whole_graph = n <= mip_max_edges
    supp = np.ones(n, bool) if whole_graph else (x_lp > 1e-7) | x0
    t0 = time.perf_counter()
    idx = np.flatnonzero(supp)
    x: BoolArray | None = None
    ok1 = ok2 = False
    if not whole_graph:
        # the LP bound is usually reached: then one MIP (max total with every proposal at the
        # bound) settles both stages, and reaching the bound certifies the first
        sel, got, ok2 = _fair_mip(
            st, cp[idx], cr[idx], cs[idx], base, float(ub_int), ub_int, time_limit
        )
        if sel is not None and got >= ub_int:
            x = np.zeros(n, bool)
            x[idx[sel]] = True
            ok1 = True
            st.timings["fair_stage1"] = 0.0
    if x is None:
        # stage 1: max-min on the support (whole graph when small, or when the support is too
        # narrow for the diversity caps)
        sel1, tau, ok1 = _fair_mip(st, cp[idx], cr[idx], cs[idx], base, None, ub_int, time_limit)
        if sel1 is None and not whole_graph:
            idx = np.arange(n)
            sel1, tau, ok1 = _fair_mip(st, cp, cr, cs, base, None, ub_int, time_limit)
        if sel1 is None:
            raise RuntimeError("fair stage 1 MIP found no solution within the time limit")
        st.timings["fair_stage1"] = time.perf_counter() - t0
        x1 = np.zeros(n, bool)
        x1[idx[sel1]] = True
        # stage 2: max total subject to every proposal >= tau, on the same edges (on the whole
        # graph while that stays cheap)
        t0 = time.perf_counter()
        idx2 = np.arange(n) if n <= 4 * mip_max_edges else np.flatnonzero(supp | x1)
        sel2, _, ok2 = _fair_mip(st, cp[idx2], cr[idx2], cs[idx2], base, tau, ub_int, time_limit)
        x = x1
        if sel2 is not None:
            x = np.zeros(n, bool)
            x[idx2[sel2]] = True
    st.timings["fair_stage2"] = time.perf_counter() - t0
    st.timings["fair_stage2_optimal_on_support"] = float(ok2)
    achieved = float(np.min(np.bincount(cp[x], weights=cs[x], minlength=P) + base))
    # exact when the LP bound is reached, or when the MIP was solved to optimality over a
    # candidate graph that holds every allowed pair (small instances)
    whole = bool((st.bound_s == np.iinfo(np.int64).min).all()) and whole_graph
    certified = lp_certified and (achieved >= ub_int or (whole and ok1))
    if whole and ok1:
        ub_int = math.floor(achieved)
    # the total given that minimum: an LP bound over every allowed pair (column generation),
    # and when the MIP above falls short of it, one more MIP over the LP's edges
    if not total_bound:  # the caller skips the total's bound (and its cost)
        return cp[x], cr[x], float(ub_int), achieved, certified, math.inf
    t0 = time.perf_counter()
    need = np.full(P, achieved)
    got_total = float(cs[x].sum())
    ub_total, conv, bp, br, bs, duals = _fair_total_bound(st, cp, cr, cs, base, need, max_rounds)
    st.timings["fair_total_bound"] = time.perf_counter() - t0
    st.timings["fair_total_lp_bound"] = ub_total / st.scale
    t0 = time.perf_counter()

    def improve(mp: IntArray, mr: IntArray, ms: IntArray, gap: float) -> bool:
        nonlocal cp, cr, cs, x, got_total
        mp, mr, ms = _merge(R, mp, mr, ms, cp[x], cr[x], cs[x])
        limit = min(time_limit, _FAIR_TOTAL_MIP_S)
        sel, got, ok = _fair_mip(st, mp, mr, ms, base, achieved, ub_int, limit, gap)
        if sel is None or got < achieved:
            return False
        if float(ms[sel].sum()) > got_total:
            cp, cr, cs = _merge(R, cp, cr, cs, mp, mr, ms)
            x = _member(_uniq(mp[sel] * R + mr[sel]), cp * R + cr)
            got_total = float(cs[x].sum())
        return ok

    total_exact = conv and got_total > ub_total - 1.0 + 1e-6
    if conv and not total_exact:
        # a better total on the LP's edges, then reduced-cost fixing: every assignment better
        # than that one uses only the pairs kept, so a MIP over them solved to optimality is
        # the optimum over every allowed pair
        improve(bp, br, bs, 1e-9)
        total_exact = got_total > ub_total - 1.0 + 1e-6
        thr = got_total + 1.0 - ub_total - 1e-6 * max(1.0, abs(ub_total))
        keys = None if total_exact else _rc_fixed_pairs(st, duals, thr, _RC_FIX_MAX_EDGES)
        if keys is not None:
            fk = _uniq(keys)
            fp, fr = fk // R, fk % R
            st.timings["fair_total_mip_edges"] = float(len(fk))
            total_exact = improve(fp, fr, _scaled(st, st.oracle.pairs(fp, fr)), 0.0)
    st.timings["fair_total_mip"] = time.perf_counter() - t0
    ub_tot = got_total if total_exact else ub_total
    return cp[x], cr[x], float(ub_int), achieved, certified, ub_tot if conv else math.inf


class _TotalLP:
    """HiGHS model of the LP "maximise the total with every proposal sum at least ``need``"
    (counts, loads, fairness rows; diversity caps dropped), kept between column-generation
    rounds: the first solve is by interior point with crossover, later ones restart primal
    simplex from the previous optimal basis after the new columns are added."""

    def __init__(self, st: _State, base: FloatArray, need: FloatArray) -> None:
        import highspy

        self.P, self.R = st.nm.P, st.nm.R
        self.h: Any = highspy.Highs()  # type: ignore[no-untyped-call]
        self.h.setOptionValue("output_flag", False)
        inf = highspy.kHighsInf
        lower = np.concatenate([st.k, st.lo, need - base]).astype(np.float64)
        upper = np.concatenate([st.k, st.hi, np.full(self.P, inf)]).astype(np.float64)
        self.h.addRows(
            len(lower), lower, upper, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0)
        )
        self.solved = False

    def add(self, p: IntArray, r: IntArray, s: IntArray) -> None:
        n = len(p)
        if n == 0:
            return
        idx = np.empty(3 * n, np.int32)
        idx[0::3] = p
        idx[1::3] = self.P + r
        idx[2::3] = self.P + self.R + p
        val = np.empty(3 * n)
        val[0::3] = 1.0
        val[1::3] = 1.0
        val[2::3] = s
        starts = np.arange(0, 3 * n, 3, dtype=np.int32)
        self.h.addCols(n, -s.astype(np.float64), np.zeros(n), np.ones(n), 3 * n, starts, idx, val)

    def solve(self) -> tuple[FloatArray, FloatArray, FloatArray] | None:
        """Multipliers (mu >= 0 for the fairness rows, alpha for counts, gamma for loads) of
        an optimal solution, or None if the LP is not solved to optimality."""
        import highspy

        h = self.h
        if self.solved:
            h.setOptionValue("solver", "simplex")
            h.setOptionValue("simplex_strategy", 4)  # primal: the old basis stays feasible
        else:
            h.setOptionValue("solver", "ipm")
        h.run()
        self.solved = True
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        y = np.asarray(h.getSolution().row_dual, np.float64)
        P, R = self.P, self.R
        # HiGHS duals of min -s x: reduced cost -s - y_cnt - y_load - s y_fair
        return np.maximum(y[P + R :], 0.0), -y[:P], -y[P : P + R]


def _fair_total_bound(
    st: _State,
    cp: IntArray,
    cr: IntArray,
    cs: IntArray,
    base: FloatArray,
    need: FloatArray,
    max_rounds: int,
) -> tuple[
    float,
    bool,
    IntArray,
    IntArray,
    IntArray,
    tuple[FloatArray, FloatArray, FloatArray],
]:
    """Upper bound (scaled units, forced pairs excluded) on the total affinity of any
    assignment whose proposal sums are all at least ``need`` (forced pairs' affinity
    ``base`` included), over every allowed pair.

    The LP relaxation (counts, loads, the fairness rows; diversity caps dropped, which only
    loosens it) is solved by column generation from the edges ``cp, cr`` (``_TotalLP``: one
    interior-point solve, then warm-started primal simplex), priced over the full affinity
    by ``_screen``. For the LP's duals (alpha for counts, gamma for loads, mu >= 0 for the
    fairness rows) the bound is the explicit Lagrangian dual value

        sum_p alpha_p k_p - sum_p mu_p (need_p - base_p) + sum_r max(gamma_r hi_r, gamma_r lo_r)
        + sum over every allowed pair of max(0, s_pr (1 + mu_p) - alpha_p - gamma_r),

    valid for any multipliers with mu >= 0 (so it does not rest on the LP solver's accuracy);
    the last sum is taken over all pairs in each pass. Returns (bound, converged, the final
    LP edge set, the final multipliers (mu, alpha, gamma)).
    """
    R = st.nm.R
    m = max(2, 4 * int(st.nm.k.max()))
    rounds = 0
    bound = math.inf
    converged = False
    keys = _uniq(cp * R + cr)
    cp, cr = keys // R, keys % R
    cs = _scaled(st, st.oracle.pairs(cp, cr))
    lp = _TotalLP(st, base, need)
    lp.add(cp, cr, cs)
    z = np.zeros(0)
    duals: tuple[FloatArray, FloatArray, FloatArray] = (z, z, z)
    while True:
        sol = lp.solve()
        if sol is None:
            return math.inf, False, cp, cr, cs, (z, z, z)
        mu, alpha, gamma = duals = sol
        const = float(
            np.dot(alpha, st.k)
            - np.dot(mu, need - base)
            + np.maximum(gamma * st.hi, gamma * st.lo).sum()
        )
        # full pass: the bound for these duals, and the violators outside the LP's edges
        p, r, s, f, pos, _ = _screen(
            st, 1.0 + mu, -gamma, alpha, 0.0, keys, per_row=m, sum_positive=True
        )
        bound = const + pos
        new = f > 1e-6
        if not new.any():
            converged = True
            break
        if rounds >= max_rounds:
            break
        rounds += 1
        lp.add(p[new], r[new], s[new])
        cp, cr, cs = _merge(R, cp, cr, cs, p[new], r[new], s[new])
        keys = cp * R + cr
    st.timings["fair_total_bound_rounds"] = float(rounds)
    return bound, converged, cp, cr, cs, duals


def _rc_fixed_pairs(
    st: _State, duals: tuple[FloatArray, FloatArray, FloatArray], thr: float, limit: int
) -> IntArray | None:
    """Keys of every allowed pair with reduced cost s (1 + mu_p) - alpha_p - gamma_r >= thr
    (the pairs reduced-cost fixing cannot exclude), or None if there are more than ``limit``.

    For any feasible x, total(x) <= bound - sum over its pairs of max(0, -rc) (the bound of
    ``_fair_total_bound`` for the same multipliers), so an assignment better than an
    incumbent by at least one cost unit uses only pairs with rc >= incumbent + 1 - bound.
    """
    mu, alpha, gamma = duals
    R = st.nm.R
    p, r, _s, _f, _pos, complete = _screen(
        st, 1.0 + mu, -gamma, alpha, thr, np.zeros(0, np.int64), None, limit=limit
    )
    return p * R + r if complete else None


def _fair_mip(
    st: _State,
    cp: IntArray,
    cr: IntArray,
    cs: IntArray,
    base: FloatArray,
    tau: float | None,
    ub_int: int,
    time_limit: float,
    gap: float = 1e-9,
) -> tuple[BoolArray | None, float, bool]:
    """HiGHS MIP over the given edges: max-min (``tau`` None) or max total with every proposal
    at least ``tau``. Returns (chosen edges or None, achieved minimum, solved to optimality)."""
    P = st.nm.P
    n = len(cp)
    mats, lbs, ubs = _mip_rows(st, cp, cr)
    A = sp.vstack(mats).tocsr()
    lb = np.concatenate(lbs)
    ubv = np.concatenate(ubs)
    cols = np.arange(n)
    fair = sp.csr_matrix((cs.astype(float), (cp, cols)), shape=(P, n))
    if tau is None:
        A1 = sp.hstack([A, sp.csr_matrix((A.shape[0], 1))]).tocsr()
        fair_rows = sp.hstack([fair, -np.ones((P, 1))]).tocsr()
        c1 = np.zeros(n + 1)
        c1[-1] = -1.0
        integ = np.ones(n + 1)
        integ[-1] = 0
        res = milp(
            c1,
            integrality=integ,
            bounds=Bounds(np.zeros(n + 1), np.concatenate([np.ones(n), [float(ub_int)]])),
            constraints=[
                LinearConstraint(A1, lb, ubv),
                LinearConstraint(fair_rows, -base, np.full(P, np.inf)),
            ],
            options={"time_limit": time_limit, "mip_rel_gap": 0.0},
        )
        st.timings["fair_stage1_gap"] = float(getattr(res, "mip_gap", 0.0) or 0.0)
        xs = None if res.x is None else res.x[:n]
    else:
        res = milp(
            -cs.astype(float),
            integrality=np.ones(n),
            bounds=Bounds(0, 1),
            constraints=[
                LinearConstraint(A, lb, ubv),
                LinearConstraint(fair, tau - base - 0.5, np.full(P, np.inf)),
            ],
            options={"time_limit": time_limit, "mip_rel_gap": gap},
        )
        st.timings["fair_stage2_gap"] = float(getattr(res, "mip_gap", 0.0) or 0.0)
        xs = res.x
    if xs is None:
        return None, -math.inf, False
    sel = np.rint(xs) > 0
    got = float(np.min(np.bincount(cp[sel], weights=cs[sel], minlength=P) + base))
    return sel, got, bool(res.status == 0)


def _fair_lp(
    st: _State, cp: IntArray, cr: IntArray, cs: IntArray, base: FloatArray
) -> tuple[float, FloatArray, FloatArray, FloatArray, FloatArray]:
    """LP: max tau s.t. proposal sums >= tau, counts, loads (caps dropped: still a bound)."""
    P, R = st.nm.P, st.nm.R
    n = len(cp)
    cols = np.arange(n)
    # variables x (n) then tau; minimise -tau
    c = np.zeros(n + 1)
    c[-1] = -1.0
    fair = sp.hstack(
        [sp.csr_matrix((-cs.astype(float), (cp, cols)), shape=(P, n)), np.ones((P, 1))]
    )
    load = sp.hstack([sp.csr_matrix((np.ones(n), (cr, cols)), shape=(R, n)), np.zeros((R, 1))])
    a_ub = sp.vstack([fair, load, -load]).tocsr()
    b_ub = np.concatenate([base, st.hi.astype(float), -st.lo.astype(float)])
    cnt = sp.hstack([sp.csr_matrix((np.ones(n), (cp, cols)), shape=(P, n)), np.zeros((P, 1))])
    res = linprog(
        c,
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=cnt.tocsr(),
        b_eq=st.k.astype(float),
        bounds=[(0, 1)] * n + [(None, None)],
        method="highs-ipm",  # 5x faster than dual simplex here; crossover gives basic duals
    )
    if res.status != 0:
        raise InfeasibleAssignment("fair LP relaxation infeasible")
    y = res.ineqlin.marginals
    return (
        float(-res.fun),
        y[:P],
        res.eqlin.marginals,
        y[P : P + R] - y[P + R :],
        np.asarray(res.x[:n], np.float64),
    )


def _fair_price(
    st: _State, cand_keys: IntArray, y_fair: FloatArray, y_cnt: FloatArray, y_load: FloatArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Columns with negative reduced cost for the fair LP, over the full affinity (the 4 most
    violated of each proposal).

    Reduced cost of x_pr: 0 - (-s_pr * y_fair_p + y_cnt_p + y_load_r); screened by
    ``_screen`` as ``s_pr (-y_fair_p) - y_load_r - y_cnt_p > 1e-7``.
    """
    p, r, s, _f, _pos, _ok = _screen(st, -y_fair, -y_load, y_cnt, 1e-7, cand_keys, per_row=4)
    return p, r, s


def _screen(
    st: _State,
    u: FloatArray,
    v: FloatArray,
    t: FloatArray,
    thr: float,
    exclude: IntArray,
    per_row: int | None,
    sum_positive: bool = False,
    limit: int | None = None,
) -> tuple[IntArray, IntArray, IntArray, FloatArray, float, bool]:
    """Every allowed pair outside ``exclude`` with ``f = s_pr u_p + v_r - t_p >= thr``, over
    the full affinity, with ``s`` the scaled cost; each row blockwise, screened in single
    precision (topic factors) with an explicit error margin so that no such pair is missed,
    then evaluated exactly (``_Oracle.pairs``, the costs every other routine uses).

    Rows whose largest possible ``f`` (from ``rowmax_s``) is below ``thr`` are skipped. With
    ``per_row``, only the ``per_row`` largest ``f`` of each row are returned. With
    ``sum_positive``, also the sum of ``max(0, f)`` over every allowed pair (``exclude`` does
    not apply to it; ``thr`` must then be <= 0). With ``limit``, stop and report
    ``complete=False`` once more than ``limit`` pairs qualify.

    Returns (p, r, s, f, sum of the positive part, complete).

    The margin: ``|a32 - a| <= err_p`` (``_Oracle.block``) and ``|s - a scale| <= 1/2``, so
    ``s u_p <= a32 scale u_p + |u_p| (err_p scale + 1/2)``; the screen's own float32 products,
    sums and conversions add at most ``4 eps (|U_p| amax + max|v| + |t_p - thr|)``, taken
    twice.
    """
    P, R = st.nm.P, st.nm.R
    z = np.zeros(0, np.int64)
    if P == 0:
        return z, z, z, np.zeros(0), 0.0, True
    if sum_positive and thr > 0:
        raise ValueError("sum_positive needs thr <= 0")
    sc = st.scale
    vmax = float(v.max()) if R else 0.0
    vabs = float(np.abs(v).max()) if R else 0.0
    imin = np.iinfo(np.int64).min
    has = st.rowmax_s > imin
    # f <= u_p rowmax_s + vmax - t_p when u_p >= 0 (every allowed pair's s <= rowmax_s)
    top = np.where(u >= 0, u * np.where(has, st.rowmax_s, 0), np.inf) + vmax - t
    live = np.flatnonzero(has & (top >= thr - 1e-9 * (np.abs(top) + abs(thr) + 1.0)))
    orc = st.oracle
    dense = orc.dense is not None
    eps = 2.0**-52 if dense else 2.0**-24
    amax = orc.amax
    U = u * sc
    T = t + thr
    ftype = np.float64 if dense else np.float32
    Vf = v.astype(ftype)
    pos_sum = 0.0
    complete = True
    n_kept = 0
    out: list[tuple[IntArray, IntArray, IntArray, FloatArray]] = []
    step = max(1, _BLOCK_ENTRIES // max(R, 1))
    for lo in range(0, len(live), step):
        rows = live[lo : lo + step]
        X, err = orc.block(rows)
        slack = np.abs(u[rows]) * (err * sc + 0.5) + 8.0 * eps * (
            np.abs(U[rows]) * amax + vabs + np.abs(T[rows]) + 1.0
        )
        X *= U[rows].astype(ftype)[:, None]
        X += Vf[None, :]
        ii, jj = np.nonzero(X >= (T[rows] - slack).astype(ftype)[:, None])
        del X
        p = rows[ii]
        r = jj.astype(np.int64)
        keys = p * R + r
        ok = ~_member(st.banned, keys)
        p, r, keys = p[ok], r[ok], keys[ok]
        S = _scaled(st, orc.pairs(p, r))
        f = S * u[p] + v[r] - t[p]
        hit = f >= thr
        p, r, S, f, keys = p[hit], r[hit], S[hit], f[hit], keys[hit]
        if sum_positive:
            pos_sum += float(f[f > 0].sum())
        ok = ~_member(exclude, keys)
        p, r, S, f = p[ok], r[ok], S[ok], f[ok]
        if per_row is not None and len(p):
            order = np.lexsort((-f, p))
            p, r, S, f = p[order], r[order], S[order], f[order]
            keep = (np.arange(len(p)) - np.searchsorted(p, p)) < per_row
            p, r, S, f = p[keep], r[keep], S[keep], f[keep]
        n_kept += len(p)
        if limit is not None and n_kept > limit:
            complete = False
            break
        out.append((p, r, S, f))
    st.timings["screened_pairs"] = st.timings.get("screened_pairs", 0.0) + float(len(live)) * R
    if not out:
        return z, z, z, np.zeros(0), pos_sum, complete
    return (
        np.concatenate([o[0] for o in out]),
        np.concatenate([o[1] for o in out]),
        np.concatenate([o[2] for o in out]),
        np.concatenate([o[3] for o in out]),
        pos_sum,
        complete,
    )


# --------------------------------------------------------------------------------------------
# Distributed review


def distributed_reviewers(proposal_members: Sequence[Sequence[int]]) -> IntArray:
    """The reviewer ids of a distributed review: every distinct member id, sorted."""
    ids = [int(m) for ms in proposal_members for m in ms]
    return _uniq(np.asarray(ids, np.int64))


def distributed_problem(
    proposal_members: Sequence[Sequence[int]],
    affinity: Any,
    *,
    reviewer_ids: npt.ArrayLike | None = None,
    k: int | npt.ArrayLike = 3,
    min_load: int | npt.ArrayLike = 0,
    max_load: int | npt.ArrayLike | None = None,
    groupings: tuple[Grouping, ...] = (),
    objective: Literal["total", "fair"] = "total",
    seed: int = 0,
) -> AssignmentProblem:
    """Distributed peer review: the applicants review each other.

    Reviewer column j is applicant ``reviewer_ids[j]`` (default ``distributed_reviewers``).
    Each reviewer is in conflict with every proposal they are on and every proposal of any of
    their co-investigators (anyone who shares a proposal with them).
    """
    rid = (
        distributed_reviewers(proposal_members)
        if reviewer_ids is None
        else np.asarray(reviewer_ids, np.int64)
    )
    P, R = len(proposal_members), len(rid)
    uids = _uniq(np.concatenate([rid, distributed_reviewers(proposal_members)]))
    rows = np.repeat(np.arange(P), [len(ms) for ms in proposal_members])
    members = np.searchsorted(uids, np.asarray([m for ms in proposal_members for m in ms], int))
    M = sp.csr_matrix((np.ones(len(rows)), (rows, members)), shape=(P, len(uids)))
    M.data[:] = 1.0
    co = (M.T @ M).tocsr()  # people sharing a proposal (incl. oneself)
    conflict = (M @ co[:, np.searchsorted(uids, rid)]).tocoo()  # P x R: p has a coinvestigator
    pairs = np.stack([conflict.row, conflict.col], axis=1).astype(np.int64)
    return AssignmentProblem(
        n_proposals=P,
        n_reviewers=R,
        affinity=affinity,
        k=k,
        min_load=min_load,
        max_load=max_load,
        conflicts=pairs,
        groupings=groupings,
        objective=objective,
        seed=seed,
    )
