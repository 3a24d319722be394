"""The output: calibrated consensus, leniency and scale with bootstrap intervals
(``CalibrationResult``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from opencall.optim.arrays import FloatArray, IntArray
from opencall.optim.calibration.grades import GradeSet


@dataclass(frozen=True, eq=False)
class CalibrationResult:
    """Calibrated consensus with uncertainty; arrays are per proposal unless noted.

    Ranks are 1-based (1 = best).  ``consensus``/``raw_mean`` are on the original scale and
    orientation; ``leniency`` (per reviewer) is in grade units, positive = more favourable.
    """

    consensus: FloatArray
    consensus_lo: FloatArray
    consensus_hi: FloatArray
    raw_mean: FloatArray
    n_reviews: IntArray
    rank: IntArray
    rank_lo: IntArray
    rank_hi: IntArray
    leniency: FloatArray  # per reviewer
    scale: FloatArray  # per reviewer
    reviewer_n_grades: IntArray  # per reviewer
    adjusted_grade: FloatArray  # per review
    mu: float
    lower_is_better: bool
    level: float
    n_bootstrap: int
    n_iter: int
    converged: bool
    seed: int
    params: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def n_proposals(self) -> int:
        return int(self.consensus.shape[0])

    @property
    def oriented_consensus(self) -> FloatArray:
        """Consensus with higher = better whatever the scale's orientation."""
        return -self.consensus if self.lower_is_better else self.consensus.copy()

    def order(self) -> IntArray:
        """Proposal indices from best to worst."""
        return np.argsort(self.rank, kind="stable").astype(np.int64)

    def discuss(self, cutoff: int) -> IntArray:
        """Proposals whose rank interval straddles ``cutoff`` (capacity: the number of proposals
        that fit), i.e. ``rank_lo <= cutoff < rank_hi``: inside the line in some bootstrap
        replicates and outside in others.  Ordered by point rank."""
        if int(cutoff) != cutoff or cutoff < 0:
            raise ValueError(f"cutoff must be a non-negative integer, got {cutoff!r}")
        sel = np.flatnonzero((self.rank_lo <= cutoff) & (self.rank_hi > cutoff))
        return sel[np.argsort(self.rank[sel], kind="stable")].astype(np.int64)

    def check(self, problem: GradeSet) -> list[str]:
        """Consistency problems against ``problem``; empty list when sound."""
        return self._shape_problems(problem) or self._non_finite() or self._inconsistencies(problem)

    def _per_proposal_and_reviewer(self) -> tuple[dict[str, Any], dict[str, Any]]:
        per_p = {
            "consensus": self.consensus,
            "consensus_lo": self.consensus_lo,
            "consensus_hi": self.consensus_hi,
            "raw_mean": self.raw_mean,
            "n_reviews": self.n_reviews,
            "rank": self.rank,
            "rank_lo": self.rank_lo,
            "rank_hi": self.rank_hi,
        }
        per_r = {
            "leniency": self.leniency,
            "scale": self.scale,
            "reviewer_n_grades": self.reviewer_n_grades,
        }
        return per_p, per_r

    def _shape_problems(self, problem: GradeSet) -> list[str]:
        """Arrays whose shape does not fit ``problem``."""
        out: list[str] = []
        n_p, n_r, n_g = problem.n_proposals, problem.n_reviewers, problem.n_grades
        per_p, per_r = self._per_proposal_and_reviewer()
        for name, arr in per_p.items():
            if np.asarray(arr).shape != (n_p,):
                out.append(f"{name} has shape {np.asarray(arr).shape}, expected ({n_p},)")
        for name, arr in per_r.items():
            if np.asarray(arr).shape != (n_r,):
                out.append(f"{name} has shape {np.asarray(arr).shape}, expected ({n_r},)")
        if self.adjusted_grade.shape != (n_g,):
            out.append(f"adjusted_grade has shape {self.adjusted_grade.shape}, expected ({n_g},)")
        return out

    def _non_finite(self) -> list[str]:
        """Arrays with a NaN or an infinity."""
        per_p, per_r = self._per_proposal_and_reviewer()
        return [
            f"{name} has non-finite values"
            for name, arr in {**per_p, **per_r, "adjusted_grade": self.adjusted_grade}.items()
            if not np.all(np.isfinite(arr))
        ]

    def _inconsistencies(self, problem: GradeSet) -> list[str]:
        """Intervals, ranks, scales, leniencies and review counts that contradict each other
        or ``problem``."""
        out: list[str] = []
        n_p, n_r = problem.n_proposals, problem.n_reviewers
        eps = 1e-9 * max(1.0, abs(problem.scale.max) + abs(problem.scale.min))
        if np.any(self.consensus_lo > self.consensus + eps) or np.any(
            self.consensus_hi < self.consensus - eps
        ):
            out.append("a consensus interval does not contain its point estimate")
        if not np.array_equal(np.sort(self.rank), np.arange(1, n_p + 1)):
            out.append("ranks are not a permutation of 1..n_proposals")
        if np.any(self.rank_lo > self.rank) or np.any(self.rank_hi < self.rank):
            out.append("a rank interval does not contain its point rank")
        if np.any(self.rank_lo < 1) or np.any(self.rank_hi > n_p):
            out.append("rank interval outside 1..n_proposals")
        merit = self.oriented_consensus[self.order()]
        if np.any(np.diff(merit) > eps):
            out.append("ranks do not follow the consensus")
        if np.any(self.scale <= 0):
            out.append("reviewer scale must be > 0")
        spread = problem.scale.max - problem.scale.min
        if abs(float(self.leniency.sum())) > 1e-5 * spread * max(1, n_r):
            out.append(f"leniencies do not sum to zero ({float(self.leniency.sum()):.3g})")
        counts = np.bincount(np.asarray(problem.proposal_idx), minlength=n_p)
        if not np.array_equal(counts, self.n_reviews):
            out.append("n_reviews does not match the grade set")
        return out
