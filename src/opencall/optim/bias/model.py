"""Reviewer-group x applicant-group interactions: is a bias found, how large, could it be seen?

Model
-----
For review ``i`` of proposal ``p`` by reviewer ``r`` (grades oriented so that higher is more
favourable)::

    y_i = a_p + b_r + sum_A gamma_A [group(r) = R] [group(p) = A] + e_i

* ``a_p`` -- the proposal's quality as its reviewers see it (one effect per proposal);
* ``b_r`` -- the reviewer's leniency (one effect per reviewer);
* ``gamma_A`` -- how much more favourably reviewers of group ``R`` grade applicants of group
  ``A``, relative to applicants of the reference group, than the other reviewers do.  A
  negative ``gamma`` is a harsher grading.

One such model is fitted per reviewer group ``R`` (of each reviewer cut: UN region, income
group, LDC status) and applicant cut.  The applicant cuts and their references:

* income group (low, lower-middle, upper-middle against high income), jointly, with
  "nuisance" columns for unclassified or thin groups so that each contrast is against the
  reference alone;
* ``lmic``: low or lower-middle income against upper-middle or high (the project's
  ``low_lmic`` group; a bias against both poorer groups is one cell here, not two half-powered
  ones);
* LDC against non-LDC;
* UN region: each region against all other regions (one column at a time; no region is a
  natural reference).

For a reviewer cut with exactly two groups only the smaller is tested (the other is the same
contrast with the sign flipped).  Every tested ``gamma`` is one hypothesis; the whole set is one
Benjamini-Hochberg family at the report's ``alpha``.

Because the proposal and reviewer effects are differenced out, ``gamma`` is identified only
*within* proposals (reviewers of group ``R`` against the other reviewers of the same proposals)
and *within* reviewers (how a reviewer grades ``A`` against how the same reviewer grades the
reference group).  That is the distinction between an **outcome difference** and a
**reviewer-group effect**: :attr:`Interaction.marginal_difference` is the plain difference in mean
grade between applicant groups ``A`` and the reference group (which mixes quality, topic,
reviewers and any bias), while :attr:`Interaction.estimate` is what is left of the grading
difference once every proposal and every reviewer is compared only with itself.

Why fixed effects and not ``statsmodels.MixedLM``
-------------------------------------------------
The issue asks for reviewer leniency and proposal quality as random effects.  We measured
``MixedLM`` with both as crossed variance components (``groups`` = one group, ``vc_formula``
for proposal and reviewer, fixed effects for the reviewer group, the applicant group and their
interaction; ``bench/bench_bias.py --mixedlm``) on validation worlds of 400 proposals and 1,200
reviews: it converged without warnings and gave the same interaction and standard error as this
module to about two decimals, but one fit of one cell took 1.3 s on a quiet machine and 25 to
33 s under load, where this module fitted all of a report's 46 to 63 cells in 25 ms (quiet) and
200 to 290 ms (the same loaded run): a report of about 60 cells would wait minutes, and the
validation bench (hundreds of worlds) days.  The two-way fixed-effects estimator is the limit of the
crossed random-effects model as the variance components grow; it is exact weighted least
squares (no optimiser that can fail), and it stays unbiased for ``gamma`` when quality differs
between applicant groups or leniency between reviewer groups (random effects assume them
independent of the groups, which is exactly what cannot be assumed here).  Its cost is one sparse
factorisation of the reviewer graph, shared by every cell of a report.

Weights: the reviews are weighted by ``1 / sigma_r^2``, each reviewer's residual variance after
the proposal and reviewer effects, shrunk toward the pooled one (:func:`reviewer_weights`);
reviewers differ a lot in how noisy they are.  Measured on 200 worlds without bias (50 of each
validation mix): with these weights 7 worlds raised a flag (3.5 %) and 4.9 % of p-values fell
below 0.05; unweighted 10 (5.0 %); with weights from residuals that also fit every group
interaction (``weight_interactions=True``) 13 (6.5 %, p-values too small: estimated weights
that fit the data too closely).  The price of the default: a reviewer whose grades happen to
show less of a group-level bias gets a little more weight, which pulls estimates toward zero
(a planted -0.50 read about -0.42 on average); :func:`correct_grades` therefore sizes its
correction with weights from residuals that include the chosen cells.

Intervals and p-values: ordinary least-squares covariance with ``n - k`` degrees of freedom
(``k`` counts the proposal and reviewer effects), Student t.  With ``cluster=True`` the
covariance is cluster-robust by reviewer (CR1); on the same 200 worlds without bias it raised a
flag in 8.5 % of them (a reviewer group of a few members is a handful of clusters, where CR1 is
known to be anti-conservative), so the classical covariance is the default.

Minimum detectable bias
-----------------------
For a tested cell with standard error ``SE``, the bias that would be flagged with probability
``power`` is ``(z_{1 - alpha / (2 m)} + z_{power}) * SE`` where ``m`` is the number of tested
cells: the Benjamini-Hochberg step rejects a single real effect among ``m`` hypotheses when its
p-value is at most ``alpha / m``, so this is the honest (slightly conservative) size at the
report's alpha.  ``bench/bench_bias.py`` checks it by planting a bias of exactly that size.

Correction
----------
:func:`correct_grades` chooses, among the flagged cells where a reviewer group grades an
applicant group less favourably, a small set that explains them (forward selection in a joint
model), and subtracts the jointly fitted effects from the grades those cells cover.  Ranking
then calibrates the corrected grades as usual.  Why only the harsher cells, and why a
selection: see its docstring.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from statsmodels.stats.multitest import multipletests

from opencall.optim import limits
from opencall.optim.arrays import FloatArray, IntArray

__all__ = [
    "BiasData",
    "BiasModel",
    "Correction",
    "FixedEffects",
    "Interaction",
    "correct_grades",
    "interaction_model",
    "minimum_detectable_bias",
]

Cut = Literal["un_region", "income_group", "ldc"]
UNKNOWN = "unknown"
#: Reference applicant group of a cut (``None``: each group against all the others).
REFERENCES: dict[str, str | None] = {
    "income_group": "high",
    "lmic": "upper-middle or high",
    "ldc": "non-LDC",
    "un_region": None,
}
#: Reference label of a one-vs-rest contrast (regions: each region against all the others).
OTHERS = "other applicants"


def minimum_detectable_bias(
    se: float, *, alpha: float = 0.05, n_tests: int = 1, power: float = 0.8
) -> float:
    """Smallest bias (grade points) flagged with probability ``power`` at ``alpha`` among
    ``n_tests`` hypotheses (two-sided, normal approximation): ``(z_{1-a/2m} + z_power) * se``."""
    from scipy import stats

    if not (se >= 0 and math.isfinite(se)):
        raise ValueError("se must be finite and >= 0")
    if not 0 < alpha < 1 or not 0 < power < 1 or n_tests < 1:
        raise ValueError("need 0 < alpha < 1, 0 < power < 1 and n_tests >= 1")
    z_a = float(stats.norm.ppf(1 - alpha / (2 * n_tests)))
    z_b = float(stats.norm.ppf(power))
    return (z_a + z_b) * se


# --------------------------------------------------------------------------- fixed effects


class FixedEffects:
    """Projection off proposal and reviewer effects (two-way within transformation).

    ``residualize(V)`` returns ``V - a_{p(i)} - b_{r(i)}`` with ``(a, b)`` the (weighted)
    least-squares fit of every column of ``V``.  The proposals are eliminated exactly (their block is diagonal);
    the reviewers' Schur complement, with one reviewer per connected component of the
    review graph held at zero, is factorised once with SuperLU.
    """

    def __init__(
        self,
        proposal_idx: IntArray,
        reviewer_idx: IntArray,
        n_p: int,
        n_r: int,
        weight: FloatArray | None = None,
    ):
        import scipy.sparse as sp
        from scipy.sparse import csgraph
        from scipy.sparse.linalg import splu

        self.p = np.asarray(proposal_idx, dtype=np.int64)
        self.r = np.asarray(reviewer_idx, dtype=np.int64)
        self.n_p, self.n_r = int(n_p), int(n_r)
        n = self.p.shape[0]
        self.n = n
        if np.any(np.bincount(self.p, minlength=self.n_p) == 0) or np.any(
            np.bincount(self.r, minlength=self.n_r) == 0
        ):
            raise ValueError("every proposal and every reviewer needs at least one review")
        self.w = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
        if self.w.shape != (n,) or not np.all(self.w > 0) or not np.all(np.isfinite(self.w)):
            raise ValueError("weights must be finite and positive, one per review")
        self.count_p = np.bincount(self.p, weights=self.w, minlength=self.n_p)
        self.count_r = np.bincount(self.r, weights=self.w, minlength=self.n_r)
        ones = np.ones(n)
        self.P = sp.csr_matrix((ones, (np.arange(n), self.p)), shape=(n, self.n_p))
        self.R = sp.csr_matrix((ones, (np.arange(n), self.r)), shape=(n, self.n_r))
        bip = sp.bmat([[None, self.P.T @ self.R], [self.R.T @ self.P, None]]).tocsr()
        self.n_components, labels = csgraph.connected_components(bip, directed=False)
        # one grounded reviewer per component (components without reviewers cannot exist)
        rl = labels[self.n_p :]
        grounded = np.zeros(self.n_r, dtype=bool)
        for c in range(self.n_components):
            members = np.flatnonzero(rl == c)
            if members.size:
                grounded[members[0]] = True
        self.free = np.flatnonzero(~grounded)
        N = (self.P.T @ sp.diags(self.w) @ self.R).tocsr()  # n_p x n_r weighted counts
        S = sp.diags(self.count_r) - N.T @ sp.diags(1.0 / self.count_p) @ N
        S = S.tocsc()[self.free][:, self.free].tocsc()
        self._N = N
        self._lu = splu(S) if self.free.size else None
        #: parameters absorbed by the two effects
        self.k = self.n_p + self.n_r - self.n_components

    def residualize(self, V: FloatArray) -> FloatArray:
        V = np.asarray(V, dtype=np.float64)
        one = V.ndim == 1
        V2 = V[:, None] if one else V
        WV = V2 * self.w[:, None]
        sum_p = np.asarray(self.P.T @ WV)
        sum_r = np.asarray(self.R.T @ WV)
        mean_p = sum_p / self.count_p[:, None]
        rhs = sum_r - np.asarray(self._N.T @ mean_p)
        b = np.zeros((self.n_r, V2.shape[1]))
        if self._lu is not None:
            b[self.free] = self._lu.solve(np.ascontiguousarray(rhs[self.free]))
        a = mean_p - np.asarray(self._N @ b) / self.count_p[:, None]
        out = V2 - a[self.p] - b[self.r]
        return out[:, 0] if one else out


# --------------------------------------------------------------------------- data

#: grades whose largest magnitude lies outside this range are fitted in units of it (squares
#: of residuals stay finite and nonzero) and the results reported in the grades' own units
_GRADE_UNIT_RANGE = (1e-100, 1e100)


def _grade_unit(grade: FloatArray) -> float:
    """1, or the grades' largest magnitude where it lies outside ``_GRADE_UNIT_RANGE``."""
    g = np.asarray(grade, dtype=np.float64)
    size = float(np.max(np.abs(g))) if g.size and np.all(np.isfinite(g)) else 1.0
    return size if size > 0 and not _GRADE_UNIT_RANGE[0] <= size <= _GRADE_UNIT_RANGE[1] else 1.0


def _in_units(data: BiasData, unit: float) -> BiasData:
    return replace(data, grade=np.asarray(data.grade, dtype=np.float64) / unit)


@dataclass(frozen=True)
class BiasData:
    """Reviews with the groups of their reviewers and applicants.

    ``grade`` is oriented so that higher is more favourable (the caller flips a
    lower-is-better scale).  ``reviewer_groups[cut][r]`` / ``applicant_groups[cut][p]`` are
    group labels per reviewer / per proposal index; ``"unknown"`` is never tested.
    """

    proposal_idx: IntArray
    reviewer_idx: IntArray
    grade: FloatArray
    n_proposals: int
    n_reviewers: int
    reviewer_groups: Mapping[str, Sequence[str]]
    applicant_groups: Mapping[str, Sequence[str]]

    def problems(self) -> list[str]:
        out = []
        n = len(self.grade)
        if len(self.proposal_idx) != n or len(self.reviewer_idx) != n:
            out.append("proposal_idx, reviewer_idx and grade differ in length")
        if n and not np.all(np.isfinite(self.grade)):
            out.append("grades must be finite")
        if n and (min(self.proposal_idx) < 0 or max(self.proposal_idx) >= self.n_proposals):
            out.append("proposal index out of range")
        if n and (min(self.reviewer_idx) < 0 or max(self.reviewer_idx) >= self.n_reviewers):
            out.append("reviewer index out of range")
        for cut, labels in self.reviewer_groups.items():
            if len(labels) != self.n_reviewers:
                out.append(f"reviewer_groups[{cut!r}] needs one label per reviewer")
        for cut, labels in self.applicant_groups.items():
            if len(labels) != self.n_proposals:
                out.append(f"applicant_groups[{cut!r}] needs one label per proposal")
        return out


@dataclass(frozen=True)
class Interaction:
    """One reviewer-group x applicant-group cell.

    ``estimate`` (grade points, higher = more favourable): how much more favourably reviewers of
    ``reviewer_group`` grade ``applicant_group`` than ``reference_group``, beyond what the other
    reviewers do (negative = harsher).  ``marginal_difference``: the plain difference of mean
    grades between ``applicant_group`` and ``reference_group`` over all reviewers -- an outcome
    difference, not evidence of bias.  ``mdb``: the bias that would have been flagged with 80 %
    probability (at ``power``) given these reviews.
    """

    reviewer_cut: str
    reviewer_group: str
    applicant_cut: str
    applicant_group: str
    reference_group: str
    n_reviews: int
    n_reviewers: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    p_adjusted: float = 1.0
    significant: bool = False
    mdb: float = math.nan
    marginal_difference: float = math.nan

    @property
    def direction(self) -> Literal["harsher", "kinder", "same"]:
        if not self.significant:
            return "same"
        return "harsher" if self.estimate < 0 else "kinder"

    def describe(self) -> str:
        """An English sentence (the web layer translates from the fields)."""
        how = "less" if self.estimate < 0 else "more"
        return (
            f"Reviewers from {self.reviewer_group} grade applicants from {self.applicant_group} "
            f"{abs(self.estimate):.2f} points {how} favourably, relative to applicants from "
            f"{self.reference_group}, than other reviewers do (95 % interval "
            f"{self.ci_low:+.2f} to {self.ci_high:+.2f}, adjusted p={self.p_adjusted:.3g})."
        )

    def power_sentence(self) -> str:
        return (
            f"With these reviews, a bias of at least {self.mdb:.2f} points between reviewers from "
            f"{self.reviewer_group} and applicants from {self.applicant_group} would have been "
            f"detected with 80 % probability."
        )


@dataclass
class BiasModel:
    """All tested cells, one Benjamini-Hochberg family at ``alpha``."""

    interactions: list[Interaction]
    alpha: float
    power: float
    n_reviews: int
    method: str = "two-way fixed effects, OLS covariance"
    skipped: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[Interaction]:
        return [c for c in self.interactions if c.significant]

    def mdb_summary(self) -> dict[str, float | None]:
        """Smallest and median minimum detectable bias over the tested cells."""
        v = sorted(c.mdb for c in self.interactions if math.isfinite(c.mdb))
        if not v:
            return {"min": None, "median": None, "max": None}
        return {"min": v[0], "median": float(np.median(v)), "max": v[-1]}


# --------------------------------------------------------------------------- fitting


@dataclass(frozen=True)
class _Block:
    reviewer_cut: str
    reviewer_group: str
    applicant_cut: str
    reference: str
    tested: list[str]
    nuisance: list[str]


def _reference(cut: str, counts: Mapping[str, int]) -> str:
    fixed = REFERENCES.get(cut)
    if fixed is not None and counts.get(fixed, 0) > 0:
        return fixed
    return OTHERS


def _fit_block(
    X: FloatArray, y: FloatArray, w: FloatArray, groups: IntArray, dof_fe: int, cluster: bool
) -> tuple[FloatArray, FloatArray, int]:
    """Weighted LS of residualized y on residualized X; returns (beta, covariance, df)."""
    n, k = X.shape
    XtX = X.T @ (X * w[:, None])
    XtX_inv = np.linalg.pinv(XtX)
    beta = XtX_inv @ (X.T @ (w * y))
    e = y - X @ beta
    df = max(n - dof_fe - k, 1)
    if not cluster:
        s2 = float(e @ (w * e)) / df
        return beta, s2 * XtX_inv, df
    G = int(groups.max()) + 1
    scores = np.zeros((G, k))
    np.add.at(scores, groups, X * (w * e)[:, None])
    meat = scores.T @ scores
    c = G / max(G - 1, 1) * (n - 1) / df
    return beta, c * XtX_inv @ meat @ XtX_inv, max(G - 1, 1)


def reviewer_weights(
    fe: FixedEffects, y: FloatArray, X: FloatArray | None = None, prior: float = 10.0
) -> FloatArray:
    """Per-review weights ``1 / sigma_r^2``: each reviewer's residual variance after the
    proposal and reviewer effects and, when given, the group interaction columns ``X`` (fitted
    jointly), shrunk toward the pooled variance with ``prior`` pseudo-reviews (so a reviewer
    with few grades gets about the pooled weight).

    The interaction columns matter: without them a reviewer whose grades happen to show *less*
    of a group-level bias has a smaller residual variance, hence a larger weight, which pulls
    every estimate toward zero (measured: a planted -0.50 came out at -0.42 on average; with
    them, see ``bench/bench_bias.py``)."""
    prior = limits.non_negative("prior", prior)
    n = y.shape[0]
    if X is not None and X.shape[1]:
        M = fe.residualize(np.column_stack([y, X]))
        Xt = M[:, 1:]
        beta = np.linalg.lstsq(Xt, M[:, 0], rcond=None)[0]
        e = M[:, 0] - Xt @ beta
        k = fe.k + int(np.linalg.matrix_rank(Xt))
    else:
        e = fe.residualize(y)
        k = fe.k
    dof = max(n - k, 1) / n
    pooled = float(e @ e) / max(n - k, 1)
    if not pooled > 0:
        return np.ones(n)
    n_eff = np.bincount(fe.r, minlength=fe.n_r) * dof
    rss = np.bincount(fe.r, weights=e * e, minlength=fe.n_r)
    var = (rss + prior * pooled) / (n_eff + prior)
    w = 1.0 / var[fe.r]
    return np.asarray(w / w.mean(), dtype=np.float64)


def interaction_model(
    data: BiasData,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    min_cell_reviews: int = 20,
    min_group_reviewers: int = 3,
    cluster: bool = False,
    weighting: Literal["reviewer", "none"] = "reviewer",
    weight_prior: float = 10.0,
    weight_interactions: bool = False,
    reviewer_cuts: Sequence[str] | None = None,
    applicant_cuts: Sequence[str] | None = None,
) -> BiasModel:
    """Fit every reviewer-group x applicant-group cell; BH across all of them at ``alpha``.

    A cell is tested when reviewers of the group (at least ``min_group_reviewers`` of them)
    gave at least ``min_cell_reviews`` grades to the applicant group and to the reference
    group.  For a cut with exactly two reviewer groups only the smaller is tested (the other
    is the same contrast with the sign flipped).
    """
    from scipy import stats

    problems = data.problems()
    if problems:
        raise ValueError("invalid BiasData: " + "; ".join(problems))
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie strictly between 0 and 1")
    weight_prior = limits.non_negative("weight_prior", weight_prior)
    unit = _grade_unit(data.grade)
    if unit != 1.0:
        # grades of 1e-300 gave standard errors of 0 (p = 1: a bias reported as none), of
        # 1e300 overflowing residuals; fitted in units of the largest, reported in their own
        model = interaction_model(
            _in_units(data, unit),
            alpha=alpha,
            power=power,
            min_cell_reviews=min_cell_reviews,
            min_group_reviewers=min_group_reviewers,
            cluster=cluster,
            weighting=weighting,
            weight_prior=weight_prior,
            weight_interactions=weight_interactions,
            reviewer_cuts=reviewer_cuts,
            applicant_cuts=applicant_cuts,
        )
        model.interactions = [
            replace(
                c,
                estimate=c.estimate * unit,
                se=c.se * unit,
                ci_low=c.ci_low * unit,
                ci_high=c.ci_high * unit,
                mdb=c.mdb * unit,
                marginal_difference=c.marginal_difference * unit,
            )
            for c in model.interactions
        ]
        return model
    p = np.asarray(data.proposal_idx, dtype=np.int64)
    r = np.asarray(data.reviewer_idx, dtype=np.int64)
    y = np.asarray(data.grade, dtype=np.float64)
    n = y.shape[0]
    model = BiasModel([], alpha=alpha, power=power, n_reviews=n)
    if cluster:
        model.method = "two-way fixed effects, cluster-robust (reviewer) covariance"
    if n == 0:
        return model
    fe = FixedEffects(p, r, data.n_proposals, data.n_reviewers)
    rcuts = [c for c in (reviewer_cuts or list(data.reviewer_groups)) if c in data.reviewer_groups]
    acuts = [
        c for c in (applicant_cuts or list(data.applicant_groups)) if c in data.applicant_groups
    ]
    rlab = {c: np.asarray(data.reviewer_groups[c], dtype=str)[r] for c in rcuts}
    alab = {c: np.asarray(data.applicant_groups[c], dtype=str)[p] for c in acuts}
    refs: dict[str, str] = {}
    for ac in acuts:
        vals, cnt = np.unique(alab[ac], return_counts=True)
        refs[ac] = _reference(ac, dict(zip(vals.tolist(), cnt.tolist(), strict=True)))

    blocks: list[_Block] = []
    for rc in rcuts:
        per_reviewer = np.asarray(data.reviewer_groups[rc], dtype=str)
        used = np.unique(r)
        rgroups = sorted({str(g) for g in per_reviewer[used]} - {UNKNOWN})
        if len(rgroups) < 2:
            model.skipped.append(f"{rc}: fewer than two reviewer groups")
            continue
        if len(rgroups) == 2:
            sizes = {g: int(np.sum(per_reviewer[used] == g)) for g in rgroups}
            rgroups = [min(rgroups, key=lambda g: (sizes[g], g))]
        for rg in rgroups:
            n_members = int(np.sum(per_reviewer[used] == rg))
            if n_members < min_group_reviewers:
                model.skipped.append(f"{rc}={rg}: {n_members} reviewers")
                continue
            in_r = rlab[rc] == rg
            for ac in acuts:
                ref = refs[ac]
                groups_here, cnt = np.unique(alab[ac][in_r], return_counts=True)
                counts = dict(zip(groups_here.tolist(), cnt.tolist(), strict=True))
                if ref == OTHERS:
                    total = sum(counts.values())
                    tested = [
                        g
                        for g in sorted(counts)
                        if g != UNKNOWN and min(counts[g], total - counts[g]) >= min_cell_reviews
                    ]
                    if tested:
                        blocks.append(_Block(rc, rg, ac, ref, tested, []))
                    continue
                if counts.get(ref, 0) < min_cell_reviews:
                    model.skipped.append(f"{rc}={rg} x {ac}: few reviews of {ref}")
                    continue
                tested = [
                    g
                    for g in sorted(counts)
                    if g not in (ref, UNKNOWN) and counts[g] >= min_cell_reviews
                ]
                nuisance = [g for g in sorted(counts) if g != ref and g not in tested]
                if tested:
                    blocks.append(_Block(rc, rg, ac, ref, tested, nuisance))

    # residualize every column of every block, and y, in one solve
    cols: list[FloatArray] = [y]
    spans: list[tuple[int, int]] = []
    for b in blocks:
        start = len(cols)
        in_r = rlab[b.reviewer_cut] == b.reviewer_group
        for g in b.tested + b.nuisance:
            cols.append((in_r & (alab[b.applicant_cut] == g)).astype(np.float64))
        spans.append((start, len(cols)))
    w = np.ones(n)
    if weighting == "reviewer":
        w = reviewer_weights(
            fe,
            y,
            np.column_stack(cols[1:]) if len(cols) > 1 and weight_interactions else None,
            prior=weight_prior,
        )
        fe = FixedEffects(p, r, data.n_proposals, data.n_reviewers, weight=w)
        model.method += ", weighted by each reviewer's estimated noise"
    M = fe.residualize(np.column_stack(cols))
    y_t = M[:, 0]

    raw: list[Interaction] = []
    for b, (s, e) in zip(blocks, spans, strict=True):
        X = M[:, s:e]
        keep = np.linalg.norm(X, axis=0) > 1e-8 * math.sqrt(n)
        if not keep[: len(b.tested)].any():
            continue
        names = [g for g, k in zip(b.tested + b.nuisance, keep, strict=True) if k]
        in_r = rlab[b.reviewer_cut] == b.reviewer_group
        ac = b.applicant_cut
        fits: list[tuple[str, float, float, int]] = []
        if b.reference == OTHERS:  # one column at a time: each group against all others
            for j, g in enumerate(names):
                beta, cov, df = _fit_block(X[:, keep][:, [j]], y_t, w, r, fe.k, cluster)
                fits.append((g, float(beta[0]), float(cov[0, 0]), df))
        else:  # jointly, against the reference group
            beta, cov, df = _fit_block(X[:, keep], y_t, w, r, fe.k, cluster)
            fits += [(g, float(beta[j]), float(cov[j, j]), df) for j, g in enumerate(names)]
        for g, est, var, df in fits:
            if g not in b.tested:
                continue
            tcrit = float(stats.t.ppf(0.975, df))
            se = float(math.sqrt(max(var, 0.0)))
            pval = float(2 * stats.t.sf(abs(est) / se, df)) if se > 0 else 1.0
            cell = in_r & (alab[b.applicant_cut] == g)
            raw.append(
                Interaction(
                    reviewer_cut=b.reviewer_cut,
                    reviewer_group=b.reviewer_group,
                    applicant_cut=b.applicant_cut,
                    applicant_group=g,
                    reference_group=b.reference,
                    n_reviews=int(cell.sum()),
                    n_reviewers=int(np.unique(r[cell]).size),
                    estimate=est,
                    se=se,
                    ci_low=est - tcrit * se,
                    ci_high=est + tcrit * se,
                    p_value=pval,
                    marginal_difference=float(
                        y[alab[ac] == g].mean()
                        - (
                            y[alab[ac] != g].mean()
                            if b.reference == OTHERS
                            else y[alab[ac] == b.reference].mean()
                        )
                    ),
                )
            )
    if raw:
        reject, p_adj, _, _ = multipletests([c.p_value for c in raw], alpha=alpha, method="fdr_bh")
        m = len(raw)
        model.interactions = [
            Interaction(
                **{
                    **c.__dict__,
                    "p_adjusted": float(pa),
                    "significant": bool(rj),
                    "mdb": minimum_detectable_bias(c.se, alpha=alpha, n_tests=m, power=power),
                }
            )
            for c, rj, pa in zip(raw, reject, p_adj, strict=True)
        ]
    return model


# --------------------------------------------------------------------------- correction


@dataclass(frozen=True)
class Correction:
    """Corrected grades (same orientation as the input) and what was removed per cell."""

    grade: FloatArray
    removed: FloatArray  # per review: the fitted interaction subtracted (0 where none)
    cells: list[Interaction]
    joint_estimates: list[float]

    @property
    def n_changed(self) -> int:
        return int(np.count_nonzero(self.removed))


def _cell_column(data: BiasData, c: Interaction) -> FloatArray:
    r = np.asarray(data.reviewer_idx, dtype=np.int64)
    p = np.asarray(data.proposal_idx, dtype=np.int64)
    in_r = np.asarray(data.reviewer_groups[c.reviewer_cut], dtype=str)[r] == c.reviewer_group
    in_a = np.asarray(data.applicant_groups[c.applicant_cut], dtype=str)[p] == c.applicant_group
    return np.asarray(in_r & in_a, dtype=np.float64)


def correct_grades(
    data: BiasData,
    model: BiasModel,
    *,
    cells: Sequence[Interaction] | None = None,
    direction: Literal["harsher", "both"] = "harsher",
) -> Correction:
    """Remove the fitted interaction of the flagged cells (or ``cells``) from the grades.

    Flagged cells overlap and mirror each other.  Low income, lower-middle income and LDC
    applicants are nearly the same people.  And the data only ever say that one reviewer group
    grades a pair of applicant groups differently from the *other* reviewers: when most
    reviewers of a call are harsher on a group, every other reviewer group is, equally truly,
    "kinder than the other reviewers".  Which of the two is the bias cannot be told from the
    grades.  The correction therefore makes a stated choice:

    * ``direction="harsher"`` (the default, the call policy's behaviour): only cells where a
      reviewer group grades an applicant group *less* favourably are corrected, so the
      correction can only give an applicant group the benefit of the doubt, never take a
      kinder grading away.  Kinder cells stay in the report.
    * ``direction="both"``: every flagged cell is a candidate.

    Among the candidates, forward selection: the most significant first, then, in a joint model
    with proposal and reviewer effects, the next cell that is still significant (p at most the
    family's Benjamini-Hochberg cut-off) given the cells already chosen, until none is.  Each
    review covered by a chosen cell loses that cell's jointly fitted effect; every other review
    is unchanged.  With ``cells`` given, exactly those cells are used, without selection.
    """
    from scipy import stats

    if direction not in ("harsher", "both"):
        raise ValueError("direction must be 'harsher' or 'both'")
    unit = _grade_unit(data.grade)
    if unit != 1.0:  # see ``interaction_model``: fitted in units of the largest grade
        out = correct_grades(_in_units(data, unit), model, cells=cells, direction=direction)
        return Correction(
            out.grade * unit, out.removed * unit, out.cells, [b * unit for b in out.joint_estimates]
        )
    y = np.asarray(data.grade, dtype=np.float64)
    if cells is None:
        pool = [c for c in model.flagged if direction == "both" or c.estimate < 0]
    else:
        pool = list(cells)
    if not pool:
        return Correction(y.copy(), np.zeros_like(y), [], [])
    p = np.asarray(data.proposal_idx, dtype=np.int64)
    r = np.asarray(data.reviewer_idx, dtype=np.int64)
    fe0 = FixedEffects(p, r, data.n_proposals, data.n_reviewers)
    X = np.column_stack([_cell_column(data, c) for c in pool])
    w = reviewer_weights(fe0, y, X)
    fe = FixedEffects(p, r, data.n_proposals, data.n_reviewers, weight=w)
    M = fe.residualize(np.column_stack([y, X]))
    y_t, X_t = M[:, 0], M[:, 1:]
    if cells is not None:
        chosen = list(range(len(pool)))
    else:
        cut_p = max(c.p_value for c in model.flagged)
        order = sorted(range(len(pool)), key=lambda j: pool[j].p_value)
        chosen = [order[0]]
        while True:
            best, best_p = -1, math.inf
            for j in order:
                if j in chosen:
                    continue
                cols = [*chosen, j]
                beta, cov, df = _fit_block(X_t[:, cols], y_t, w, r, fe.k, False)
                se = math.sqrt(max(cov[-1, -1], 0.0))
                pj = float(2 * stats.t.sf(abs(beta[-1]) / se, df)) if se > 0 else 1.0
                if pj < best_p:
                    best, best_p = j, pj
            if best < 0 or best_p > cut_p:
                break
            chosen.append(best)
    beta, _, _ = _fit_block(X_t[:, chosen], y_t, w, r, fe.k, False)
    removed = X[:, chosen] @ beta
    return Correction(y - removed, removed, [pool[j] for j in chosen], [float(b) for b in beta])
