"""Who benefits, soundly: differences with intervals, one false-discovery family
per report, a minimum cell size, and reviewer-group x applicant-group cross-tables.

Pure functions of plain values (no database, no files), like ``outcomes.domain``.

- ``group_differences``: for each group against the rest of the applicants, the
  award rate, the pass rate of each informative funnel stage, the mean
  calibrated grade and the share of the awarded amount (minus the share of the
  requested amount, per capacity unit), each as a difference with a 95 %
  bootstrap interval.
- ``crosstab``: reviewer group x applicant group cells. Each grade is compared
  with the consensus of the OTHER reviewers of the same proposal (leave one
  out), their grades adjusted for their own cell's estimated effect; effects are
  centred on the median reviewer group of each applicant group, so that the
  grades of one biased group do not make the fair groups look kind (see
  ``loo_residuals``). A cell's statistic is its reviewers' mean residual on that
  applicant group minus their mean residual on all other applicant groups (a
  group that is harsh on everybody is not flagged).
- Intervals, seeded and deterministic. Proposal-level measures (rates, grades,
  shares): proposals resampled, percentile interval. Review-level cross-table
  cells: clustered by proposal AND by reviewer, with the two-way variance
  V_proposal + V_reviewer - V_review (Cameron, Gelbach and Miller 2011), each
  from its own bootstrap, and a normal interval (``two_way_summary``); the
  product-weight "pigeonhole" bootstrap was tried first and found conservative
  (under no effect, 0.2 % of cells had p < 0.05). p-values are two-sided from
  the bootstrap standard error (normal approximation, continuous, as BH needs).
- ``fdr``: every tested statement of a report in one Benjamini-Hochberg family.
- No test where the group or the rest has fewer than ``MIN_TEST_N`` units: the
  statement is kept, marked "too few to judge", and not tested.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from statistics import NormalDist
from typing import Any, Literal

import numpy as np

from opencall.outcomes.domain import (
    ApplicantRecord,
    FunnelStage,
    GroupBy,
    bh_adjust,
    funnel_stages,
    group_of,
    informative_stages,
    stage_reached,
    wilson_interval,
)

#: No difference is tested where the group or the rest has fewer units than this
#: (proposals for rates and shares, reviews for cross-table cells).
MIN_TEST_N = 20
#: Bootstrap replicates for every interval of a report.
N_BOOTSTRAP = 1000
#: The report's false-discovery rate (one Benjamini-Hochberg family per report).
FDR_Q = 0.05
#: Iterations of the adjusted leave-one-out consensus.
LOO_ITERATIONS = 25

Status = Literal["tested", "too few", "no data"]


@dataclass(frozen=True)
class Difference:
    """One statement: a group (or cross-table cell) against the rest.

    ``value``/``rest`` are the group's and the rest's estimates, ``difference``
    their difference with its bootstrap interval ``[low, high]``. ``status``
    "too few" means the group or the rest is below ``MIN_TEST_N`` (no test, no
    flag). ``flagged`` when the BH-adjusted p-value of the report's family is at
    most q; ``direction`` is "higher" or "lower" (of the measure; for grades and
    cross-tables "higher" is always more favourable).
    """

    family: str
    grouping: str
    group: str
    measure: str
    n: int
    n_rest: int
    value: float | None
    value_low: float | None
    value_high: float | None
    rest: float | None
    difference: float | None
    low: float | None
    high: float | None
    p_value: float | None
    status: Status
    unit: str = ""
    reviewer_group: str = ""
    p_adjusted: float | None = None
    flagged: bool = False
    direction: Literal["higher", "lower", ""] = ""


# --------------------------------------------------------------------------- bootstrap


#: Bootstrap weights converted to floats at a time (bytes): the replicates are summed a
#: chunk of rows at a time, so that no B x n float matrix is held whatever the call's size
#: (10,000 proposals: 80 MB per set of units before; ``bench/README.md``).
CHUNK_BYTES = 16 * 2**20


def _resample_counts(rng: np.random.Generator, b: int, n: int) -> np.ndarray:
    """B x n counts of n units drawn with replacement, B times (``rng``'s draws in the
    order they always had: one ``integers(0, n, n)`` per replicate), kept as the smallest
    unsigned integers that hold them (a count is rarely above 10: one byte, not eight)."""
    out = np.empty((b, n), dtype=np.uint8)
    for i in range(b if n else 0):
        row = np.bincount(rng.integers(0, n, n), minlength=n)
        top = int(row.max())
        if top > np.iinfo(out.dtype).max:  # never seen: widen, the values kept
            out = out.astype(np.min_scalar_type(top))
        out[i] = row
    return out


class Replicates:
    """B x n bootstrap weights, held as B x N small-integer counts and the n columns
    (units) taken from them; :meth:`sums` multiplies them out a chunk of rows at a time.
    ``np.asarray`` gives the whole float matrix (for tests)."""

    def __init__(self, counts: np.ndarray, columns: np.ndarray | None = None) -> None:
        self.counts = counts
        self.columns = columns
        n = counts.shape[1] if columns is None else len(columns)
        self.shape = (counts.shape[0], n)

    def _rows(self, r0: int, r1: int) -> np.ndarray:
        block = self.counts[r0:r1] if self.columns is None else self.counts[r0:r1, self.columns]
        return block.astype(float)

    def sums(self, columns: np.ndarray) -> np.ndarray:
        """``self @ columns`` (B x k) for an n x k matrix, ``CHUNK_BYTES`` of weights at a
        time."""
        b, n = self.shape
        out = np.empty((b, columns.shape[1]))
        step = max(1, CHUNK_BYTES // (8 * max(n, 1)))
        for r0 in range(0, b, step):
            r1 = min(b, r0 + step)
            out[r0:r1] = self._rows(r0, r1) @ columns
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = self._rows(0, self.shape[0])
        return whole if dtype is None else whole.astype(dtype)


class TwoWayBootstrap:
    """Seeded bootstrap weights over proposals and reviewers (counts, see ``Replicates``)."""

    def __init__(
        self,
        proposals: Sequence[str],
        reviewers_of: Mapping[str, Sequence[str]],
        *,
        n: int = N_BOOTSTRAP,
        seed: int = 0,
    ) -> None:
        self.proposals = sorted(set(proposals))
        self.reviewers = sorted({r for p in self.proposals for r in reviewers_of.get(p, ())})
        rng = np.random.default_rng(seed)
        npr, nrv = len(self.proposals), len(self.reviewers)
        self.cp = _resample_counts(rng, n, npr)
        self.cr = _resample_counts(rng, n, nrv) if nrv else np.ones((n, 0), dtype=np.uint8)
        self.p_index = {p: i for i, p in enumerate(self.proposals)}
        self.r_index = {r: i for i, r in enumerate(self.reviewers)}
        self.reviewers_of = reviewers_of
        self.seed = seed
        self._review_cache: dict[tuple[str, ...], tuple[Replicates, Replicates, Replicates]] = {}

    def proposal_weights(self, proposal_ids: Sequence[str]) -> Replicates:
        """B x n weights for proposal-level units: proposals resampled."""
        idx = np.asarray([self.p_index[p] for p in proposal_ids], dtype=np.intp)
        return Replicates(self.cp, idx)

    def review_weights(
        self, pairs: Sequence[tuple[str, str]]
    ) -> tuple[Replicates, Replicates, Replicates]:
        """Three B x n weight sets for reviews given as (proposal id, reviewer id):
        proposals resampled, reviewers resampled, reviews resampled (for
        ``two_way_summary``)."""
        key = ("\x00reviews", *(f"{p}\x00{r}" for p, r in pairs))
        if key not in self._review_cache:
            self._review_cache[key] = self._review_weights(pairs)
        return self._review_cache[key]

    def _review_weights(
        self, pairs: Sequence[tuple[str, str]]
    ) -> tuple[Replicates, Replicates, Replicates]:
        pi = np.asarray([self.p_index[p] for p, _ in pairs], dtype=np.intp)
        ri = np.asarray([self.r_index[r] for _, r in pairs], dtype=np.intp)
        b = self.cp.shape[0]
        # the reviews' own resampling: its counts (one byte each), drawn as before
        w0 = _resample_counts(np.random.default_rng(self.seed + 1), b, len(pairs))
        return Replicates(self.cp, pi), Replicates(self.cr, ri), Replicates(w0)


def _p_value(point: float, se: float) -> float:
    if not math.isfinite(se) or se <= 0.0:
        return 1.0 if point == 0 else 0.0
    return float(min(1.0, max(0.0, 2.0 * (1.0 - NormalDist().cdf(abs(point) / se)))))


def _summarise(point: float, reps: np.ndarray) -> tuple[float, float, float]:
    """Percentile interval and a two-sided p-value (bootstrap standard error)."""
    reps = reps[np.isfinite(reps)]
    if len(reps) < 10:
        return (math.nan, math.nan, 1.0)
    lo, hi = np.percentile(reps, [2.5, 97.5])
    return float(lo), float(hi), _p_value(point, float(np.std(reps, ddof=1)))


def two_way_summary(
    point: float, by_proposal: np.ndarray, by_reviewer: np.ndarray, by_review: np.ndarray
) -> tuple[float, float, float]:
    """Interval and p-value of a review-level statistic clustered by proposal AND by
    reviewer: the two-way variance V_proposal + V_reviewer - V_review (Cameron,
    Gelbach and Miller 2011, J. Bus. Econ. Stat. 29:238), each V from its own
    bootstrap; where it comes out below the larger one-way variance, that is used.
    Normal interval point +- 1.96 sd."""

    def var(x: np.ndarray) -> float:
        x = x[np.isfinite(x)]
        return float(np.var(x, ddof=1)) if len(x) >= 10 else math.nan

    vp, vr, v0 = var(by_proposal), var(by_reviewer), var(by_review)
    if not all(math.isfinite(v) for v in (vp, vr, v0)):
        return (math.nan, math.nan, 1.0)
    v = max(vp + vr - v0, vp, vr)
    se = math.sqrt(v)
    z = NormalDist().inv_cdf(0.975)
    return point - z * se, point + z * se, _p_value(point, se)


def _weighted_sums(w: Replicates | np.ndarray, columns: Sequence[np.ndarray]) -> np.ndarray:
    """``(w * c).sum(axis=-1)`` for each column ``c``, as one B x n by n x k product
    (B x k, a chunk of rows at a time for ``Replicates``): no B x n temporary per column."""
    stacked = np.stack([np.asarray(c, dtype=float) for c in columns], axis=1)
    if isinstance(w, Replicates):
        return w.sums(stacked)
    sums: np.ndarray = w @ stacked
    return sums


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


# --------------------------------------------------------------------------- group differences


def _mean_diff(
    family: str,
    grouping: str,
    measure: str,
    ids: Sequence[str],
    values: np.ndarray,
    in_group: np.ndarray,
    group: str,
    boot: TwoWayBootstrap,
    *,
    weights: np.ndarray | None = None,
    unit: str = "",
    min_n: int = MIN_TEST_N,
) -> Difference:
    n = int(in_group.sum())
    n_rest = int((~in_group).sum())
    base = np.ones(len(values)) if weights is None else weights

    def est(w: np.ndarray, mask: np.ndarray) -> np.ndarray | float:
        num = (w * base * values * mask).sum(axis=-1)
        den = (w * base * mask).sum(axis=-1)
        return _ratio(np.asarray(num), np.asarray(den))

    one = np.ones(len(values))
    v = float(est(one, in_group)) if n else None
    r = float(est(one, ~in_group)) if n_rest else None
    diff = v - r if v is not None and r is not None else None
    if diff is None or math.isnan(diff):
        return Difference(
            family, grouping, group, measure, n, n_rest, v, None, None, r, None, None, None,
            None, "no data", unit,
        )  # fmt: skip
    w = boot.proposal_weights(ids)
    # the B replicates at once: each is a weighted sum over the n records, so a B x n by
    # n x 4 product (the same sums as est(w, ...), up to the order of the additions)
    bv = base * values
    reps = _weighted_sums(w, [bv * in_group, base * in_group, bv * ~in_group, base * ~in_group])
    g_reps = _ratio(reps[:, 0], reps[:, 1])
    r_reps = _ratio(reps[:, 2], reps[:, 3])
    vlo, vhi, _ = _summarise(v or 0.0, np.asarray(g_reps))
    if family in ("rate", "stage") and v is not None:
        # a proportion's own interval: Wilson (honest at 0 %, 100 % and small n)
        vlo, vhi = wilson_interval(round(v * n), n)
    if n < min_n or n_rest < min_n:
        return Difference(
            family, grouping, group, measure, n, n_rest, v, vlo, vhi, r, diff, None, None,
            None, "too few", unit,
        )  # fmt: skip
    lo, hi, p = _summarise(diff, np.asarray(g_reps) - np.asarray(r_reps))
    return Difference(
        family, grouping, group, measure, n, n_rest, v, vlo, vhi, r, diff, lo, hi, p,
        "tested", unit,
    )  # fmt: skip


def _share_diff(
    grouping: str,
    ids: Sequence[str],
    requested: np.ndarray,
    awarded: np.ndarray,
    in_group: np.ndarray,
    group: str,
    boot: TwoWayBootstrap,
    unit: str,
    min_n: int = MIN_TEST_N,
) -> Difference:
    """The group's share of the awarded amount minus its share of the requested amount."""
    n, n_rest = int(in_group.sum()), int((~in_group).sum())

    def est(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = _ratio((w * awarded * in_group).sum(axis=-1), (w * awarded).sum(axis=-1))
        q = _ratio((w * requested * in_group).sum(axis=-1), (w * requested).sum(axis=-1))
        return a, q

    a0, q0 = est(np.ones(len(ids)))
    v, r = float(a0), float(q0)
    if math.isnan(v) or math.isnan(r):
        return Difference(
            "share", grouping, group, "award_share", n, n_rest, None, None, None, None, None,
            None, None, None, "no data", unit,
        )  # fmt: skip
    w = boot.proposal_weights(ids)
    reps = _weighted_sums(w, [awarded * in_group, awarded, requested * in_group, requested])
    a = _ratio(reps[:, 0], reps[:, 1])
    q = _ratio(reps[:, 2], reps[:, 3])
    vlo, vhi, _ = _summarise(v, a)
    if n < min_n or n_rest < min_n:
        return Difference(
            "share", grouping, group, "award_share", n, n_rest, v, vlo, vhi, r, v - r, None,
            None, None, "too few", unit,
        )  # fmt: skip
    lo, hi, p = _summarise(v - r, a - q)
    return Difference(
        "share", grouping, group, "award_share", n, n_rest, v, vlo, vhi, r, v - r, lo, hi, p,
        "tested", unit,
    )  # fmt: skip


def group_differences(
    records: Sequence[ApplicantRecord],
    groupings: Sequence[GroupBy],
    boot: TwoWayBootstrap,
    *,
    higher_is_better: bool = True,
    stages: Sequence[FunnelStage] | None = None,
    min_n: int = MIN_TEST_N,
) -> list[Difference]:
    """Each group against the rest, for every grouping: see the module docstring.

    Not yet adjusted: pass the whole report's list to ``fdr``."""
    defs = funnel_stages(stages)
    shown = informative_stages(records, defs)
    out: list[Difference] = []
    for by in groupings:
        labels = [group_of(r, by) for r in records]
        groups = list(dict.fromkeys(labels))
        for g in groups:
            # award rate over all applications
            ids = [r.proposal_id for r in records]
            mask = np.asarray([lab == g for lab in labels])
            awarded = np.asarray([stage_reached(r, "awarded", defs) for r in records], float)
            out.append(
                _mean_diff("rate", by, "award_rate", ids, awarded, mask, g, boot, min_n=min_n)
            )
            # pass rate of each informative stage, among those at its base
            for st in defs:
                if st.base is None or shown.get(st.key) is not None or st.key == "awarded":
                    continue
                at = [
                    (r, lab)
                    for r, lab in zip(records, labels, strict=True)
                    if stage_reached(r, st.base, defs)
                ]
                if not at:
                    continue
                out.append(
                    _mean_diff(
                        "stage",
                        by,
                        f"pass:{st.key}",
                        [r.proposal_id for r, _ in at],
                        np.asarray([st.reached(r) for r, _ in at], float),
                        np.asarray([lab == g for _, lab in at]),
                        g,
                        boot,
                        min_n=min_n,
                    )
                )
            graded = [
                (r, lab)
                for r, lab in zip(records, labels, strict=True)
                if r.calibrated_grade is not None
            ]
            if graded:
                sign = 1.0 if higher_is_better else -1.0
                out.append(
                    _mean_diff(
                        "grade",
                        by,
                        "mean_grade",
                        [r.proposal_id for r, _ in graded],
                        np.asarray([sign * float(r.calibrated_grade or 0.0) for r, _ in graded]),
                        np.asarray([lab == g for _, lab in graded]),
                        g,
                        boot,
                        min_n=min_n,
                    )
                )
            units = sorted({u for r in records for u in r.unit_amounts()})
            for unit in units:
                rows = [
                    (r, lab, r.unit_amounts()[unit])
                    for r, lab in zip(records, labels, strict=True)
                    if unit in r.unit_amounts() and r.unit_amounts()[unit][0] > 0
                ]
                if not rows or not any(a[1] > 0 for _, _, a in rows):
                    continue
                out.append(
                    _share_diff(
                        by,
                        [r.proposal_id for r, _, _ in rows],
                        np.asarray([a[0] for _, _, a in rows], float),
                        np.asarray([a[1] for _, _, a in rows], float),
                        np.asarray([lab == g for _, lab, _ in rows]),
                        g,
                        boot,
                        unit,
                        min_n,
                    )
                )
    return out


# --------------------------------------------------------------------------- cross-tables


@dataclass(frozen=True)
class GradeRecord:
    """One review: its grade oriented so that higher is more favourable, and the
    groups of its reviewer and of the proposal's lead applicant (by grouping)."""

    reviewer_id: str
    proposal_id: str
    grade: float
    reviewer: Mapping[str, str]
    applicant: Mapping[str, str]


def loo_residuals(
    grades: Sequence[float],
    proposals: Sequence[str],
    cells: Sequence[tuple[str, str]],
    *,
    iterations: int = LOO_ITERATIONS,
) -> np.ndarray:
    """Each grade minus the adjusted consensus of the other reviewers of its proposal.

    ``cells[i]`` is review i's (reviewer group, applicant group). The other
    reviewers' grades are first adjusted by their own cell's estimated effect,
    re-estimated each iteration as the cell's mean residual, centred for each
    applicant group on the median over reviewer groups (assumption: at least
    half of the reviewer groups grade each applicant group fairly). Without
    the adjustment a biased group's grades pull the consensus, and every other
    group of reviewers of the same applicants looks lenient. Reviews of
    proposals with a single review have no consensus: NaN.
    """
    g = np.asarray(grades, dtype=float)
    n = len(g)
    pos = {p: i for i, p in enumerate(dict.fromkeys(proposals))}
    pids = list(pos)
    pidx = np.asarray([pos[p] for p in proposals], dtype=int)
    cpos = {c: i for i, c in enumerate(dict.fromkeys(cells))}
    ckeys = list(cpos)
    cidx = np.asarray([cpos[c] for c in cells], dtype=int)
    count = np.bincount(pidx, minlength=len(pids)).astype(float)
    effect = np.zeros(len(ckeys))
    res = np.full(n, np.nan)
    ok = count[pidx] > 1
    for _ in range(max(1, iterations)):
        adj = g - effect[cidx]
        total = np.bincount(pidx, weights=adj, minlength=len(pids))
        cons = np.where(ok, (total[pidx] - adj) / np.where(ok, count[pidx] - 1, 1), np.nan)
        res = g - cons
        sums = np.bincount(cidx[ok], weights=res[ok], minlength=len(ckeys))
        ns = np.bincount(cidx[ok], minlength=len(ckeys))
        means = np.where(ns > 0, sums / np.where(ns > 0, ns, 1), 0.0)
        for a in {c[1] for c in ckeys}:
            idx = [i for i, c in enumerate(ckeys) if c[1] == a and ns[i] > 0]
            if idx:
                means[idx] -= float(np.median(means[idx]))
        effect = means
    return res


def crosstab(
    reviews: Sequence[GradeRecord],
    reviewer_by: str,
    applicant_by: str,
    boot: TwoWayBootstrap,
    *,
    min_n: int = MIN_TEST_N,
    iterations: int = LOO_ITERATIONS,
) -> list[Difference]:
    """Reviewer group x applicant group cells (``family`` "crosstab", grouping
    "<reviewer_by>x<applicant_by>"); not yet adjusted (see ``fdr``).

    A cell's ``value`` is the mean residual (``loo_residuals``) of its reviews;
    ``rest`` the median of the cell means of the same reviewer group over the
    applicant groups (those with at least ``min_n`` reviews when two or more
    have), so that a group strict or lenient with everyone is not flagged, and a
    group's one biased cell does not make its other cells look kind (a mean over
    the other cells would). ``difference`` = value - rest."""
    name = f"{reviewer_by}x{applicant_by}"
    if not reviews:
        return []
    cells = [(r.reviewer[reviewer_by], r.applicant[applicant_by]) for r in reviews]
    res = loo_residuals(
        [r.grade for r in reviews], [r.proposal_id for r in reviews], cells, iterations=iterations
    )
    ok = np.isfinite(res)
    wp, wr, w0 = boot.review_weights([(r.proposal_id, r.reviewer_id) for r in reviews])
    rv = np.where(ok, res, 0.0)
    rlab = np.asarray([c[0] for c in cells], dtype=object)
    alab = np.asarray([c[1] for c in cells], dtype=object)
    out: list[Difference] = []
    for rg in sorted(set(rlab.tolist())):
        mine = (rlab == rg) & ok
        ags = sorted(set(alab[mine].tolist()))
        if not ags:  # no review of this group has a residual (e.g. one review per proposal)
            continue
        masks = [mine & (alab == ag) for ag in ags]
        ns = [int(m.sum()) for m in masks]
        big = [i for i, n in enumerate(ns) if n >= min_n]
        ref_cols = big if len(big) >= 2 else list(range(len(ags)))

        def means(wt: np.ndarray, masks: list[np.ndarray] = masks) -> np.ndarray:
            cols = [_ratio((wt * rv * m).sum(axis=-1), (wt * m).sum(axis=-1)) for m in masks]
            return np.stack(cols, axis=-1)

        point = means(np.ones(len(rv)))
        ref = float(np.median(point[ref_cols]))
        # the replicates of every cell at once (see _weighted_sums)
        cols = [rv * m for m in masks] + list(masks)
        k = len(masks)
        reps = []
        for w in (wp, wr, w0):
            sums = _weighted_sums(w, cols)
            reps.append(_ratio(sums[:, :k], sums[:, k:]))
        for i, ag in enumerate(ags):
            n, n_rest = ns[i], int(mine.sum()) - ns[i]
            v = float(point[i])
            diff = v - ref
            status: Status = "tested"
            lo = hi = p = None
            if n < min_n or n_rest < min_n or len(ags) < 3:
                status = "too few"
            else:
                draws = [rep[:, i] - np.median(rep[:, ref_cols], axis=1) for rep in reps]
                lo, hi, p = two_way_summary(diff, *draws)
            out.append(
                Difference(
                    "crosstab",
                    name,
                    ag,
                    "grade_residual",
                    n,
                    n_rest,
                    v,
                    None,
                    None,
                    ref,
                    diff,
                    lo,
                    hi,
                    p,
                    status,
                    "",
                    rg,
                )  # fmt: skip
            )
    return out


# --------------------------------------------------------------------------- one family


def _p_or_one(p: float | None) -> float:
    """A missing or undefined p-value counts as 1 (0.0 is a p-value, not a missing one)."""
    return 1.0 if p is None or math.isnan(p) else float(p)


def fdr(statements: Sequence[Difference], q: float = FDR_Q) -> list[Difference]:
    """All tested statements of a report in ONE Benjamini-Hochberg family.

    Statements not tested ("too few", "no data") keep ``p_adjusted`` None and are
    never flagged; they do not enter the family."""
    tested = [i for i, s in enumerate(statements) if s.status == "tested"]
    adjusted = bh_adjust([_p_or_one(statements[i].p_value) for i in tested])
    out = list(statements)
    for i, p_adj in zip(tested, adjusted, strict=True):
        s = statements[i]
        flagged = p_adj <= q and s.difference is not None
        direction: Literal["higher", "lower", ""] = ""
        if flagged:
            direction = "higher" if (s.difference or 0.0) > 0 else "lower"
        out[i] = replace(s, p_adjusted=p_adj, flagged=flagged, direction=direction)
    return out


def reviewers_by_proposal(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """{proposal id: [reviewer ids]} from (proposal id, reviewer id) pairs."""
    out: dict[str, list[str]] = {}
    for p, r in pairs:
        out.setdefault(p, []).append(r)
    return out
