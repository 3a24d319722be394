"""Diagnostics and test data: the leniency gap between two groups of reviewers
(``leniency_gap``) and synthetic grade sets with their ground truth
(``synthetic_grades``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from opencall.optim.arrays import FloatArray
from opencall.optim.calibration.grades import GradeScale, GradeSet
from opencall.optim.calibration.result import CalibrationResult


def leniency_gap(
    grades: GradeSet, group: NDArray[np.bool_], result: CalibrationResult | None = None
) -> float:
    """Mean residual of reviews by reviewers in ``group`` minus that of the other reviewers, in
    grade units, positive = ``group`` grades more favourably.

    Without ``result``: residual = grade - raw mean of the proposal (what a plain average leaves).
    With ``result``: residual = adjusted grade - calibrated consensus.

    Parameters
    ----------
    grades : GradeSet
        The grades.
    group : ndarray of bool, shape (n_reviewers,)
        The reviewers of the group.
    result : CalibrationResult or None
        A calibration of ``grades``; None for the plain average.

    Returns
    -------
    float
        The gap in grade units; ``ValueError`` when ``group`` has the wrong shape or one side
        has no review.
    """
    grp = np.asarray(group, dtype=bool)
    if grp.shape != (grades.n_reviewers,):
        raise ValueError(f"group must have shape ({grades.n_reviewers},)")
    p = np.asarray(grades.proposal_idx)
    in_group = grp[np.asarray(grades.reviewer_idx)]
    if in_group.all() or not in_group.any():
        raise ValueError("both groups need at least one review")
    if result is None:
        w = np.ones(grades.n_grades) if grades.confidence is None else np.asarray(grades.confidence)
        g = np.asarray(grades.grade, dtype=np.float64)
        ref = np.bincount(p, weights=w * g, minlength=grades.n_proposals) / np.bincount(
            p, weights=w, minlength=grades.n_proposals
        )
        resid = g - ref[p]
    else:
        resid = result.adjusted_grade - result.consensus[p]
    if grades.scale.lower_is_better:  # favourable = below the reference on such scales
        resid = -resid
    return float(resid[in_group].mean() - resid[~in_group].mean())


@dataclass(frozen=True, eq=False)
class SyntheticGrades:
    """A synthetic grade set with its ground truth (quality oriented higher = better)."""

    grades: GradeSet
    true_quality: FloatArray
    true_leniency: FloatArray
    true_scale: FloatArray
    lenient_group: NDArray[np.bool_]


def synthetic_grades(
    n_proposals: int,
    n_reviewers: int,
    reviews_per_proposal: int = 3,
    *,
    seed: int = 0,
    scale: GradeScale | None = None,
    quality_sd: float = 0.8,
    leniency_sd: float = 0.3,
    group_gap: float = 1.0,
    scale_sd: float = 0.0,
    noise_sd: float = 0.5,
    step: float | None = 0.5,
) -> SyntheticGrades:
    """Grades ``centre + s_r q_p + b_r + e`` (oriented), clipped to the scale and rounded to
    ``step``; half the reviewers (at random) are lenient by ``group_gap`` grade units.
    Reviewers are spread evenly (least-loaded first, random ties), ``reviews_per_proposal``
    distinct reviewers per proposal.

    Parameters
    ----------
    n_proposals, n_reviewers : int
        Size of the call.
    reviews_per_proposal : int
        Distinct reviewers per proposal (at most ``n_reviewers``).
    seed : int
        Seed of the draws.
    scale : GradeScale or None
        The grade scale; None for 1 to 5, higher is better.
    quality_sd, leniency_sd, scale_sd, noise_sd : float
        Spreads of quality, leniency, log scale and noise.
    group_gap : float
        How much more leniently the lenient half grades, in grade units.
    step : float or None
        Grades rounded to this step; None or 0 for unrounded.

    Returns
    -------
    SyntheticGrades
        The grade set with its true quality, leniency, scale and lenient group.
    """
    if reviews_per_proposal > n_reviewers:
        raise ValueError("reviews_per_proposal exceeds n_reviewers")
    sc = scale if scale is not None else GradeScale(1.0, 5.0)
    rng = np.random.default_rng(seed)
    q = rng.normal(0.0, quality_sd, n_proposals)
    group = np.zeros(n_reviewers, dtype=bool)
    group[rng.permutation(n_reviewers)[: n_reviewers // 2]] = True
    b = rng.normal(0.0, leniency_sd, n_reviewers) + group_gap * (group - 0.5)
    s = np.exp(rng.normal(0.0, scale_sd, n_reviewers))
    load = np.zeros(n_reviewers)
    p_idx = np.repeat(np.arange(n_proposals, dtype=np.int64), reviews_per_proposal)
    r_idx = np.empty(n_proposals * reviews_per_proposal, dtype=np.int64)
    k = reviews_per_proposal
    for i in range(n_proposals):
        key = load + rng.random(n_reviewers)
        chosen = np.argpartition(key, k - 1)[:k] if k < n_reviewers else np.arange(n_reviewers)
        r_idx[i * k : (i + 1) * k] = np.sort(chosen)
        load[chosen] += 1
    centre = 0.5 * (sc.min + sc.max)
    e = rng.normal(0.0, noise_sd, p_idx.shape[0])
    oriented = centre + s[r_idx] * q[p_idx] + b[r_idx] + e
    if step:
        oriented = sc.min + np.round((oriented - sc.min) / step) * step
    oriented = np.clip(oriented, sc.min, sc.max)
    gs = GradeSet(
        proposal_idx=p_idx,
        reviewer_idx=r_idx,
        grade=sc.orient(oriented),
        n_proposals=n_proposals,
        n_reviewers=n_reviewers,
        scale=sc,
    )
    return SyntheticGrades(gs, q, b, s, group)
