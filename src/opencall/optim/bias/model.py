"""The interaction model: the reviewer weights, and every reviewer-group x applicant-group
cell fitted, tested and adjusted as one Benjamini-Hochberg family (``interaction_model``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from statsmodels.stats.multitest import multipletests

from opencall.optim import limits
from opencall.optim.arrays import FloatArray, IntArray
from opencall.optim.bias.data import OTHERS, REFERENCES, UNKNOWN, BiasData, _grade_unit, _in_units
from opencall.optim.bias.fixed_effects import FixedEffects
from opencall.optim.bias.power import minimum_detectable_bias
from opencall.optim.bias.result import BiasModel, Interaction
from opencall.optim.messages import M_, Message

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
    them, see ``bench/bench_bias.py``).

    Parameters
    ----------
    fe : FixedEffects
        The proposal and reviewer effects of the reviews.
    y : ndarray
        The oriented grades.
    X : ndarray or None
        Interaction columns fitted jointly, one row per review.
    prior : float
        Pseudo-reviews at the pooled variance (>= 0).

    Returns
    -------
    ndarray
        One weight per review, mean 1.
    """
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

    Parameters
    ----------
    data : BiasData
        The reviews with their reviewer and applicant groups; ``ValueError`` when invalid.
    alpha : float
        The Benjamini-Hochberg family's level, strictly between 0 and 1.
    power : float
        Power of the minimum detectable bias reported per cell.
    min_cell_reviews, min_group_reviewers : int
        The least reviews and reviewers a cell needs to be tested.
    cluster : bool
        Cluster-robust (CR1) covariance by reviewer instead of the classical one.
    weighting : {"reviewer", "none"}
        Weight reviews by ``1 / sigma_r^2`` (``reviewer_weights``) or not.
    weight_prior : float
        The weights' pseudo-reviews at the pooled variance.
    weight_interactions : bool
        Estimate the weights with every group interaction fitted too.
    reviewer_cuts, applicant_cuts : sequence of str or None
        The cuts to test; None for all of them.

    Returns
    -------
    BiasModel
        The tested cells, each with its estimate, interval, adjusted p-value, minimum
        detectable bias and whether it is significant; the cells not tested in
        ``skipped``.
    """
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
        model.interactions = [_in_grade_units(c, unit) for c in model.interactions]
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
    lab = _Labels.of(data, p, r, reviewer_cuts, applicant_cuts)
    blocks = _blocks(data, r, lab, min_group_reviewers, min_cell_reviews, model.skip)
    # residualize every column of every block, and y, in one solve
    cols: list[FloatArray] = [y]
    spans: list[tuple[int, int]] = []
    for b in blocks:
        start = len(cols)
        in_r = lab.reviewer[b.reviewer_cut] == b.reviewer_group
        for g in b.tested + b.nuisance:
            cols.append((in_r & (lab.applicant[b.applicant_cut] == g)).astype(np.float64))
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
    raw: list[Interaction] = []
    for b, (s, e) in zip(blocks, spans, strict=True):
        raw += _block_cells(b, M[:, s:e], M[:, 0], y, w, r, fe.k, cluster, lab)
    if raw:
        model.interactions = _adjusted(raw, alpha, power)
    return model


def _in_grade_units(c: Interaction, unit: float) -> Interaction:
    """A cell fitted in units of ``unit`` in grade units again."""
    return replace(
        c,
        estimate=c.estimate * unit,
        se=c.se * unit,
        ci_low=c.ci_low * unit,
        ci_high=c.ci_high * unit,
        mdb=c.mdb * unit,
        marginal_difference=c.marginal_difference * unit,
    )


@dataclass(frozen=True)
class _Labels:
    """Each review's reviewer group and applicant group by cut, and the reference group of
    each applicant cut."""

    reviewer: dict[str, NDArray[np.str_]]
    applicant: dict[str, NDArray[np.str_]]
    refs: dict[str, str]

    @classmethod
    def of(
        cls,
        data: BiasData,
        p: IntArray,
        r: IntArray,
        reviewer_cuts: Sequence[str] | None,
        applicant_cuts: Sequence[str] | None,
    ) -> _Labels:
        rcuts = [
            c for c in (reviewer_cuts or list(data.reviewer_groups)) if c in data.reviewer_groups
        ]
        acuts = [
            c for c in (applicant_cuts or list(data.applicant_groups)) if c in data.applicant_groups
        ]
        rlab = {c: np.asarray(data.reviewer_groups[c], dtype=str)[r] for c in rcuts}
        alab = {c: np.asarray(data.applicant_groups[c], dtype=str)[p] for c in acuts}
        refs: dict[str, str] = {}
        for ac in acuts:
            vals, cnt = np.unique(alab[ac], return_counts=True)
            refs[ac] = _reference(ac, dict(zip(vals.tolist(), cnt.tolist(), strict=True)))
        return cls(rlab, alab, refs)


def _blocks(
    data: BiasData,
    r: IntArray,
    lab: _Labels,
    min_group_reviewers: int,
    min_cell_reviews: int,
    skip: Callable[[Message], None],
) -> list[_Block]:
    """The blocks to test, in the order of the cuts; what is not tested is said through
    ``skip`` (``BiasModel.skip``)."""
    blocks: list[_Block] = []
    acuts = []
    for ac, groups in lab.applicant.items():
        known = sorted({str(g) for g in groups} - {UNKNOWN})
        if len(known) < 2:
            # one applicant group (every PI of high income, say): nothing to compare it with
            skip(
                M_(
                    "%(cut)s: every applicant in one group (%(group)s)",
                    cut=ac,
                    group=", ".join(known) or UNKNOWN,
                )
            )
        else:
            acuts.append(ac)
    for rc in lab.reviewer:
        per_reviewer = np.asarray(data.reviewer_groups[rc], dtype=str)
        used = np.unique(r)
        rgroups = sorted({str(g) for g in per_reviewer[used]} - {UNKNOWN})
        if len(rgroups) < 2:
            skip(M_("%(cut)s: fewer than two reviewer groups", cut=rc))
            continue
        if len(rgroups) == 2:
            sizes = {g: int(np.sum(per_reviewer[used] == g)) for g in rgroups}
            rgroups = [min(rgroups, key=lambda g: (sizes[g], g))]
        for rg in rgroups:
            n_members = int(np.sum(per_reviewer[used] == rg))
            if n_members < min_group_reviewers:
                skip(M_("%(cut)s=%(group)s: %(n)s reviewers", cut=rc, group=rg, n=n_members))
                continue
            in_r = lab.reviewer[rc] == rg
            for ac in acuts:
                groups_here, cnt = np.unique(lab.applicant[ac][in_r], return_counts=True)
                counts = dict(zip(groups_here.tolist(), cnt.tolist(), strict=True))
                block = _block(rc, rg, ac, lab.refs[ac], counts, min_cell_reviews, skip)
                if block is not None:
                    blocks.append(block)
    return blocks


def _block(
    rc: str,
    rg: str,
    ac: str,
    ref: str,
    counts: Mapping[str, int],
    min_cell_reviews: int,
    skip: Callable[[Message], None],
) -> _Block | None:
    """The block of reviewer group ``rg`` x applicant cut ``ac`` (``counts``: its reviews
    per applicant group), or None when no cell has the reviews to be tested."""
    if ref == OTHERS:
        total = sum(counts.values())
        tested = [
            g
            for g in sorted(counts)
            if g != UNKNOWN and min(counts[g], total - counts[g]) >= min_cell_reviews
        ]
        return _Block(rc, rg, ac, ref, tested, []) if tested else None
    if counts.get(ref, 0) < min_cell_reviews:
        skip(
            M_(
                "%(cut)s=%(group)s x %(applicant_cut)s: few reviews of %(reference)s",
                cut=rc,
                group=rg,
                applicant_cut=ac,
                reference=ref,
            )
        )
        return None
    tested = [
        g for g in sorted(counts) if g not in (ref, UNKNOWN) and counts[g] >= min_cell_reviews
    ]
    nuisance = [g for g in sorted(counts) if g != ref and g not in tested]
    return _Block(rc, rg, ac, ref, tested, nuisance) if tested else None


def _block_cells(
    b: _Block,
    X: FloatArray,
    y_t: FloatArray,
    y: FloatArray,
    w: FloatArray,
    r: IntArray,
    dof_fe: int,
    cluster: bool,
    lab: _Labels,
) -> list[Interaction]:
    """The tested cells of block ``b`` (``X``: its residualized columns, ``y_t`` the
    residualized grades), before the family's adjustment."""
    from scipy import stats

    n = y.shape[0]
    keep = np.linalg.norm(X, axis=0) > 1e-8 * math.sqrt(n)
    if not keep[: len(b.tested)].any():
        return []
    names = [g for g, k in zip(b.tested + b.nuisance, keep, strict=True) if k]
    in_r = lab.reviewer[b.reviewer_cut] == b.reviewer_group
    alab = lab.applicant[b.applicant_cut]
    fits: list[tuple[str, float, float, int]] = []
    if b.reference == OTHERS:  # one column at a time: each group against all others
        for j, g in enumerate(names):
            beta, cov, df = _fit_block(X[:, keep][:, [j]], y_t, w, r, dof_fe, cluster)
            fits.append((g, float(beta[0]), float(cov[0, 0]), df))
    else:  # jointly, against the reference group
        beta, cov, df = _fit_block(X[:, keep], y_t, w, r, dof_fe, cluster)
        fits += [(g, float(beta[j]), float(cov[j, j]), df) for j, g in enumerate(names)]
    out: list[Interaction] = []
    for g, est, var, df in fits:
        if g not in b.tested:
            continue
        tcrit = float(stats.t.ppf(0.975, df))
        se = float(math.sqrt(max(var, 0.0)))
        pval = float(2 * stats.t.sf(abs(est) / se, df)) if se > 0 else 1.0
        cell = in_r & (alab == g)
        out.append(
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
                    y[alab == g].mean()
                    - (
                        y[alab != g].mean()
                        if b.reference == OTHERS
                        else y[alab == b.reference].mean()
                    )
                ),
            )
        )
    return out


def _adjusted(raw: Sequence[Interaction], alpha: float, power: float) -> list[Interaction]:
    """The cells as one Benjamini-Hochberg family at ``alpha``, each with its minimum
    detectable bias at ``power``."""
    reject, p_adj, _, _ = multipletests([c.p_value for c in raw], alpha=alpha, method="fdr_bh")
    m = len(raw)
    return [
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
