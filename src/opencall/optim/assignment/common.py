"""Shared parts of reviewer assignment: the problem and result types, input checks, the
affinity oracle (blockwise, single-precision screening with explicit error bounds), the
feasibility checker, the solver's internal state and the MIP rows both modes use.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from opencall.optim.arrays import BoolArray, FloatArray, IntArray

_BLOCK_ENTRIES = 4_000_000  # affinity entries evaluated per block (32 MB of float64)


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
    """An assignment problem: every proposal gets exactly ``k`` reviewers, every reviewer a
    load in ``[min_load, max_load]``, no conflicted or forbidden pair, every forced pair, at
    most ``cap`` reviewers of a proposal per group of each grouping. Bad input raises
    ``ValueError`` with a clear message when the problem is built.
    """

    n_proposals: int
    n_reviewers: int
    # dense P x R float array, scipy sparse P x R (a pair not stored has affinity 0: the
    # solver's results are those of its ``toarray()``, never materialised), or TopicAffinity
    affinity: Any
    k: int | npt.ArrayLike = 3  # at most MAX_REVIEWS
    min_load: int | npt.ArrayLike = 0
    # None: no upper limit; a load above the proposals counts as the proposals
    max_load: int | npt.ArrayLike | None = None
    conflicts: npt.ArrayLike = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    forced: npt.ArrayLike = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    forbidden: npt.ArrayLike = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    groupings: tuple[Grouping, ...] = ()
    objective: Literal["total", "fair"] = "total"
    seed: int = 0
    #: a proposal may get fewer than ``k`` reviewers (none, if no reviewer free of conflicts
    #: has room): the solver first assigns as many reviews as it can, a reviewer's unmet
    #: minimum load counting as a missing review, then optimises the objective among those
    #: assignments; the result's ``short`` and ``short_load`` say what is missing. Without
    #: it, such an instance raises ``InfeasibleAssignment``
    allow_short: bool = False

    def __post_init__(self) -> None:
        _normalise(self)  # raises ValueError with a clear message on bad input


@dataclass(frozen=True, eq=False)
class AssignmentResult:
    """A solved assignment with its certificate (see ``solve_assignment``); affinities in the
    problem's units, bounds valid for the costs rounded to the grid ``1 / scale``."""

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
    #: per proposal, reviews missing (``allow_short``; zeros otherwise)
    short: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: per reviewer, minimum load not met (``allow_short``; zeros otherwise)
    short_load: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))

    def check(self, problem: AssignmentProblem) -> list[str]:
        """Violated constraints of this result for ``problem`` (see ``check_assignment``)."""
        return check_assignment(problem, self.proposals, self.reviewers)


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


#: the most reviews one proposal may ask for (``AssignmentProblem.k``)
MAX_REVIEWS = 1_000_000_000


def _per(
    x: int | npt.ArrayLike | None,
    n: int,
    name: str,
    default: int,
    cap: int | None = None,
    most: int = int(np.iinfo(np.int64).max),
) -> IntArray:
    """``x`` as ``n`` non-negative int64 values (a scalar spread over them), each above
    ``cap`` lowered to it. Values above ``most`` (``10**20``, ``2**63`` in uint64) are
    lowered to ``cap`` where there is one, else refused: a load of ``2**62`` made the
    reviewers' total capacity wrap round to 0, ``2**63`` in uint64 read as negative, and
    ``k = 2**62`` overflowed the flow's costs."""
    if x is None:
        return np.full(n, default, np.int64)
    a = np.asarray(x)
    if a.dtype == object and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in a.flat
    ):
        # Python integers beyond int64
        if any(int(v) < 0 for v in a.flat):
            raise ValueError(f"{name} must be non-negative")
        if cap is None:
            raise ValueError(f"{name} must be at most {most:,}")
        a = np.array([min(int(v), cap) for v in a.flat], np.int64).reshape(a.shape)
    if not np.issubdtype(a.dtype, np.integer):  # checked before a scalar is spread: int(1.5)
        raise ValueError(f"{name} must be integers")
    if a.ndim == 0:
        a = np.full(n, a, a.dtype)
    if a.shape != (n,):
        raise ValueError(f"{name} must be a scalar or an array of length {n}")
    if (a < 0).any():
        raise ValueError(f"{name} must be non-negative")
    if cap is not None:
        a = np.minimum(a, np.asarray(cap, a.dtype))
    elif a.size and int(a.max()) > most:
        raise ValueError(f"{name} must be at most {most:,}")
    return a.astype(np.int64)


#: the least the largest affinity may be in absolute value when not all are 0: below it
#: the rounding grid (``cost_scale``) is no finite number (a largest of 5e-324 made the
#: flow fail with BAD_COST_RANGE)
MIN_TOP_AFFINITY = 1e-300
#: the most the affinities of every review may add up to in absolute value
_MAX_TOTAL = 1e307


def _check_affinity_values(values: Any) -> float:
    """Raise ``ValueError`` naming the affinity unless ``values`` are finite real numbers
    whose largest absolute value (returned) the solver can round to its grid."""
    dtype = np.asarray(values).dtype
    if not (
        np.issubdtype(dtype, np.integer)
        or np.issubdtype(dtype, np.floating)
        or np.issubdtype(dtype, np.bool_)
    ):
        raise ValueError(f"affinity must hold real numbers, got {dtype}")
    if not np.isfinite(values).all():
        raise ValueError("affinity must be finite")
    top = float(np.abs(values).max()) if np.size(values) else 0.0
    if 0.0 < top < MIN_TOP_AFFINITY:
        raise ValueError(
            f"affinity: the largest absolute value, {top:g}, is below {MIN_TOP_AFFINITY:g}; "
            "multiply them all by one positive number (which changes no assignment)"
        )
    return top


def _normalise(pb: AssignmentProblem) -> _Norm:
    import scipy.sparse as sp

    P, R = int(pb.n_proposals), int(pb.n_reviewers)
    if P < 0 or R < 0:
        raise ValueError("need n_proposals >= 0 and n_reviewers >= 0")
    if pb.objective not in ("total", "fair"):
        raise ValueError("objective must be 'total' or 'fair'")
    top = 1.0  # a TopicAffinity's: cosines
    if isinstance(pb.affinity, TopicAffinity):
        ps, rs = pb.affinity.proposal_topics.shape, pb.affinity.reviewer_topics.shape
        if ps[0] != P or rs[0] != R or ps[1] != rs[1]:
            raise ValueError(f"topic matrices must be {P} x T and {R} x T, got {ps} and {rs}")
        for m in (pb.affinity.proposal_topics, pb.affinity.reviewer_topics):
            values = m.data if sp.issparse(m) else np.asarray(m, dtype=np.float64)
            if not np.isfinite(values).all():
                raise ValueError("topic vectors must be finite")
    else:
        a = pb.affinity
        if not (isinstance(a, np.ndarray) or sp.issparse(a)) or a.shape != (P, R):
            raise ValueError(
                f"affinity must be a {P} x {R} numpy array, scipy sparse matrix or a TopicAffinity"
            )
        top = _check_affinity_values(a.data if sp.issparse(a) else a)
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
    # (more reviews than reviewers is allowed, the rest short; beyond a billion the flow's
    # costs, a big-M times k, would leave int64)
    k = _per(pb.k, P, "k", 0, most=MAX_REVIEWS)
    # the reviews given, at most one a pair, times the largest affinity must stay a finite
    # total: two affinities of 1e308 summed to inf
    reviews = min(int(k.sum()), P * R)
    if top * reviews > _MAX_TOTAL:
        raise ValueError(
            f"affinity: the largest absolute value, {top:g}, times the {reviews:,} reviews "
            f"passes {_MAX_TOTAL:g}; divide them all by one positive number (which changes "
            "no assignment)"
        )
    return _Norm(
        P=P,
        R=R,
        k=k,
        min_load=_per(pb.min_load, R, "min_load", 0),
        # a reviewer reviews a proposal once: a load above the proposals is no limit
        max_load=_per(pb.max_load, R, "max_load", max(P, 1), cap=max(P, 1)),
        banned=banned,
        forced=_pairs(pb.forced, "forced", P, R),
        groupings=tuple(groupings),
    )


class _Oracle:
    """Evaluates the affinity with reviewers in internal order ``perm``.

    Every entry is computed by the same sequence of floating-point operations whichever rows
    are evaluated together (CSR proposal factors times dense reviewer factors, accumulated in
    stored order), so a value seen while choosing candidates is bit-identical when priced or
    reported later: the pricing bounds need no tolerance.
    """

    def __init__(self, affinity: Any, perm: IntArray) -> None:
        import scipy.sparse as sp

        self.perm = perm
        self.dense: FloatArray | None = None
        #: a sparse affinity: CSR with columns in internal order, and its stored entries'
        #: sorted keys ``p * R + r_internal`` for ``pairs``
        self.csr: Any = None
        self.csr_keys: IntArray = np.zeros(0, np.int64)
        self.rnt: Any = None
        if sp.issparse(affinity):
            c = sp.csr_matrix(affinity, dtype=np.float64, copy=True)
            c.sum_duplicates()  # entries as ``toarray()`` has them; sorted indices
            c = sp.csr_matrix(c[:, perm])
            c.sort_indices()
            self.csr = c
            rows = np.repeat(np.arange(c.shape[0], dtype=np.int64), np.diff(c.indptr))
            self.csr_keys = rows * c.shape[1] + c.indices.astype(np.int64)
        elif isinstance(affinity, TopicAffinity):
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
        #: bound on |affinity| (rows of a TopicAffinity are unit vectors: cosines); for a
        #: sparse affinity the largest |stored entry|, the same as over its ``toarray()``
        if self.csr is not None:
            self.amax = float(np.abs(self.csr.data).max()) if self.csr.nnz else 0.0
        elif self.dense is not None:
            self.amax = float(np.abs(self.dense).max()) if self.dense.size else 0.0
        else:
            self.amax = 1.0 + 1e-6
        # single-precision copies for fast screening (pricing, candidate choice); every pair a
        # screen keeps is re-evaluated exactly in double precision by ``pairs``
        self.pn32: Any = None
        self.rnt32: Any = None
        self.err: FloatArray = np.zeros(0)
        if not self.exact:
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

    @property
    def exact(self) -> bool:
        """Blocks are the exact double-precision values (a dense or sparse affinity)."""
        return self.dense is not None or self.csr is not None

    def block(self, idx: IntArray) -> tuple[npt.NDArray[Any], FloatArray]:
        """Rows ``idx`` (all reviewers, internal order) as a screening block, and per row a bound
        on its error against the exact values of ``pairs`` (zero for a dense or sparse
        affinity)."""
        import scipy.sparse as sp

        if self.exact:
            return self.rows(idx), np.zeros(len(idx))
        out = self.pn32[idx] @ self.rnt32
        if sp.issparse(out):
            out = out.toarray()
        return np.asarray(out, dtype=np.float32), self.err[idx]

    def rows(self, idx: IntArray) -> FloatArray:
        import scipy.sparse as sp

        if self.csr is not None:
            return dense_rows(self.csr[idx])
        if self.dense is not None:
            return np.asarray(self.dense[idx][:, self.perm], dtype=np.float64)
        out = self.pn[idx] @ self.rnt
        if sp.issparse(out):
            out = out.toarray()
        return np.asarray(out, dtype=np.float64)

    def pairs(self, p: IntArray, r_internal: IntArray) -> FloatArray:
        import scipy.sparse as sp

        if self.csr is not None:
            keys = self.csr_keys
            q = np.asarray(p, np.int64) * self.csr.shape[1] + np.asarray(r_internal, np.int64)
            if len(keys) == 0:
                return np.zeros(len(q), np.float64)
            pos = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
            return np.where(keys[pos] == q, self.csr.data[pos], 0.0)
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


def dense_rows(m: Any) -> FloatArray:
    """A CSR matrix (canonical: no duplicate entries) as a dense float64 array whose entries
    are the stored values bit for bit (``toarray()`` adds them to zeros, turning -0.0 into 0.0)."""
    out = np.zeros(m.shape, np.float64)
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    out[rows, m.indices] = m.data
    return out


def _row_normalise(m: Any) -> Any:
    """Rows scaled to unit length (a zero row stays zero). A row whose squared length
    overflows or underflows (entries near 1e+-155 or beyond) is first divided by its largest
    magnitude, which is exact in binary up to the subnormals, so its cosines survive; other
    rows are scaled as they always were, bit for bit."""
    import scipy.sparse as sp

    if sp.issparse(m):
        c = sp.csr_matrix(m, dtype=np.float64, copy=True)
        with np.errstate(over="ignore", under="ignore"):
            norms = np.sqrt(np.asarray(c.multiply(c).sum(axis=1)).ravel())
        big = abs(c).max(axis=1).toarray().ravel()
        bad = _unsafe_norm(norms, big)
        if bad.any():
            # divided, not multiplied by the inverse: 1 / 1e-310 overflows
            c.data /= np.repeat(np.where(bad, big, 1.0), np.diff(c.indptr))
            norms = np.where(bad, np.sqrt(np.asarray(c.multiply(c).sum(axis=1)).ravel()), norms)
        inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        return sp.csr_matrix(sp.diags(inv) @ c)
    a = np.asarray(m, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):
        norms = np.linalg.norm(a, axis=1)
    big = np.abs(a).max(axis=1) if a.shape[1] else np.zeros(len(a))
    bad = _unsafe_norm(norms, big)
    if bad.any():
        a = a.copy()
        a[bad] /= big[bad, None]
        norms[bad] = np.linalg.norm(a[bad], axis=1)
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return a * inv[:, None]


def _unsafe_norm(norms: FloatArray, big: FloatArray) -> BoolArray:
    """Rows with a nonzero entry whose computed length lost range: infinite, or so small
    that its square lost bits (below 1e-150, 2**-498 < ... : squares near the subnormals)."""
    return np.asarray((big > 0) & (~np.isfinite(norms) | (norms < 1e-150)), bool)


def affinity_of_pairs(problem: AssignmentProblem, p: IntArray, r: IntArray) -> FloatArray:
    """Affinity of given (proposal, reviewer) pairs, evaluated without a dense matrix.

    Parameters
    ----------
    problem : AssignmentProblem
        Its ``affinity`` (dense array or ``TopicAffinity``) is evaluated.
    p, r : array of int
        Proposal and reviewer indices (original order), one pair per position.

    Returns
    -------
    numpy.ndarray of float
        The affinity of each pair, bit-identical to the values the solver uses.
    """
    oracle = _Oracle(problem.affinity, np.arange(problem.n_reviewers, dtype=np.int64))
    return oracle.pairs(np.asarray(p, np.int64), np.asarray(r, np.int64))


def check_assignment(problem: AssignmentProblem, p: npt.ArrayLike, r: npt.ArrayLike) -> list[str]:
    """All violated constraints of an assignment, as messages; empty list = feasible.

    Parameters
    ----------
    problem : AssignmentProblem
        The constraints: counts ``k``, loads, conflicts and forbidden pairs, forced pairs,
        diversity groupings.
    p, r : array_like of int
        The assignment: reviewer ``r[i]`` reviews proposal ``p[i]``.

    Returns
    -------
    list of str
        One message per kind of violation (with a few examples); empty when feasible.
    """
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
    if problem.allow_short:  # fewer than k allowed, as is a load under the minimum
        bad = np.flatnonzero(per_p > nm.k)
        if len(bad):
            errs.append(f"{len(bad)} proposals with more than k reviewers, e.g. {bad[:5]}")
    else:
        bad = np.flatnonzero(per_p != nm.k)
        if len(bad):
            errs.append(f"{len(bad)} proposals without exactly k reviewers, e.g. {bad[:5]}")
    load = np.bincount(rr, minlength=R)
    low = nm.min_load if not problem.allow_short else np.zeros(R, np.int64)
    bad = np.flatnonzero((load < low) | (load > nm.max_load))
    if len(bad):
        errs.append(f"{len(bad)} reviewers with load outside [min, max], e.g. {bad[:5].tolist()}")
    hit = uk[_member(nm.banned, uk)]
    if len(hit):
        errs.append(f"{len(hit)} conflicted or forbidden pairs assigned: {_show(hit, R)}")
    miss = nm.forced[~_member(uk, nm.forced)]
    if len(miss):
        errs.append(f"{len(miss)} forced pairs missing: {_show(miss, R)}")
    for lab, cap, name in nm.groupings:
        gk, gc = np.unique(pp * (int(lab.max(initial=0)) + 1) + lab[rr], return_counts=True)
        if (gc > cap).any():
            errs.append(
                f"grouping {name!r}: {int((gc > cap).sum())} proposal-groups over cap {cap}"
            )
    return errs


def _show(keys: IntArray, R: int) -> str:
    return ", ".join(f"({int(x) // R}, {int(x) % R})" for x in keys[:5])


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


#: the scaled costs stay within this (OR-Tools' min-cost flow refuses costs whose sums over
#: its nodes could overflow 64 bits, and HiGHS loses the fair MIPs' integrality beyond it)
_MAX_COST = 1e11
#: and span at least this many steps of the grid, however small the affinities
_MIN_COST_STEPS = 1e3


def cost_scale(pb: AssignmentProblem, scale: float) -> float:
    """The rounding grid in effect: ``scale``, made coarser where the largest affinity times
    ``scale`` would pass ``_MAX_COST`` (1e11), finer where it would not reach
    ``_MIN_COST_STEPS`` (1e3); affinities in [1e-3, 1e5] keep ``scale`` = 1e6 exactly."""
    import scipy.sparse as sp

    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    a = pb.affinity
    if isinstance(a, TopicAffinity):
        top = 1.0  # cosines
    else:
        vals = a.data if sp.issparse(a) else np.asarray(a)
        top = float(np.abs(vals).max()) if vals.size else 0.0
    if top <= 0.0:
        return float(scale)
    return float(min(max(scale, _MIN_COST_STEPS / top), _MAX_COST / top))


def _prepare(pb: AssignmentProblem, scale: float) -> _State:
    nm = _normalise(pb)
    scale = cost_scale(pb, scale)
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


def _member(sorted_keys: IntArray, q: IntArray) -> BoolArray:
    if len(sorted_keys) == 0:
        return np.zeros(len(q), bool)
    pos = np.minimum(np.searchsorted(sorted_keys, q), len(sorted_keys) - 1)
    return np.asarray(sorted_keys[pos] == q)


def _merge(
    R: int, ep: IntArray, er: IntArray, es: IntArray, np_: IntArray, nr: IntArray, ns: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Union of two edge sets, in key order (p * R + r)."""
    keys = np.concatenate([ep * R + er, np_ * R + nr])
    s_all = np.concatenate([es, ns])
    keys, idx = np.unique(keys, return_index=True)
    return keys // R, keys % R, s_all[idx]


def _diagnose(pb: AssignmentProblem, st: _State) -> None:
    """Cheap necessary conditions, each with a clear message."""
    nm = st.nm
    P, R = nm.P, nm.R
    why: list[str] = []
    need = int(nm.k.sum())
    if (nm.min_load > nm.max_load).any():
        r = int(np.flatnonzero(nm.min_load > nm.max_load)[0])
        why.append(f"reviewer {r} has min_load {nm.min_load[r]} > max_load {nm.max_load[r]}")
    if pb.allow_short:
        # reviews may be missing: only what no assignment can mend is refused (the
        # chair's forced pairs against the rules)
        _diagnose_forced(st, why)
        if why:
            raise InfeasibleAssignment("; ".join(why))
        return
    if int(nm.max_load.sum()) < need:
        # (loads above the proposals are counted as the proposals: ``_normalise``)
        counted = (
            f" (a reviewer's load counted up to the {P} proposals)"
            if P and (nm.max_load >= P).any()
            else ""
        )
        why.append(
            f"total reviewer capacity {int(nm.max_load.sum())}{counted} < {need} reviews needed"
        )
    if int(nm.min_load.sum()) > need:
        why.append(f"minimum loads add up to {int(nm.min_load.sum())} > {need} reviews needed")
    if (nm.k > R).any():
        why.append(f"proposal {int(np.flatnonzero(nm.k > R)[0])} needs more reviewers than exist")
    _diagnose_forced(st, why)
    if not why and int(st.lo.sum()) > int(st.k.sum()):
        why.append(
            f"after forced pairs, minimum loads still need {int(st.lo.sum())} reviews "
            f"but only {int(st.k.sum())} remain to assign"
        )
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


#: what the MIPs of groupings outside a chain say when their model has no solution
NO_GROUPED_ASSIGNMENT = (
    "no assignment meets all diversity groupings together on the candidate graph"
)


def _diagnose_forced(st: _State, why: list[str]) -> None:
    """Forced pairs that break the rules by themselves (appended to ``why``)."""
    nm = st.nm
    fk_hit = nm.forced[_member(nm.banned, nm.forced)]
    if len(fk_hit):
        why.append(f"forced pairs that are also conflicted or forbidden: {_show(fk_hit, nm.R)}")
    if (st.k < 0).any():
        why.append(f"proposal {int(np.flatnonzero(st.k < 0)[0])} has more forced pairs than k")
    if (st.hi < 0).any():
        r = int(st.perm[np.flatnonzero(st.hi < 0)[0]])
        why.append(f"reviewer {r} has more forced pairs than max_load")
    for _lab, cap, _fk, fc in st.chain:
        if (fc > cap).any():
            why.append(f"forced pairs exceed a diversity cap of {cap}")


def _mip_rows(
    st: _State, ep: IntArray, er: IntArray
) -> tuple[list[Any], list[FloatArray], list[FloatArray]]:
    """Assignment constraints over candidate edges: counts, loads, every grouping's caps."""
    import scipy.sparse as sp

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
