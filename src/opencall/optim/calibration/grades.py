"""The input: a call's grades (``GradeSet``) on their scale (``GradeScale``), validated on
creation."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from opencall.optim.arrays import FloatArray, IntArray


@dataclass(frozen=True)
class GradeScale:
    """Grade range and orientation (``lower_is_better`` for FAST/ESO-style 1 = best scales)."""

    min: float
    max: float
    lower_is_better: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.min) and math.isfinite(self.max)) or self.min >= self.max:
            raise ValueError(f"grade scale needs finite min < max, got [{self.min}, {self.max}]")

    def orient(self, grades: FloatArray) -> FloatArray:
        """Map grades to the higher-is-better orientation (an involution)."""
        g = np.asarray(grades, dtype=np.float64)
        return (self.min + self.max) - g if self.lower_is_better else g.copy()


@dataclass(frozen=True, eq=False)
class GradeSet:
    """All grades of one call: review ``i`` is ``grade[i]`` given by ``reviewer_idx[i]`` to
    ``proposal_idx[i]``; ``confidence`` (optional, > 0) weights the reviews.

    Every proposal ``0 .. n_proposals-1`` needs at least one grade; reviewers may have none.
    Invalid input raises ``ValueError`` listing every problem.
    """

    proposal_idx: IntArray
    reviewer_idx: IntArray
    grade: FloatArray
    n_proposals: int
    n_reviewers: int
    scale: GradeScale
    confidence: FloatArray | None = None

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("invalid GradeSet: " + "; ".join(problems))

    @property
    def n_grades(self) -> int:
        return int(np.asarray(self.grade).shape[0])

    def problems(self) -> list[str]:
        out: list[str] = []
        p = np.asarray(self.proposal_idx)
        r = np.asarray(self.reviewer_idx)
        g = np.asarray(self.grade)
        if self.n_proposals < 1 or self.n_reviewers < 1:
            out.append("n_proposals and n_reviewers must be >= 1")
            return out
        if p.ndim != 1 or r.ndim != 1 or g.ndim != 1:
            out.append("proposal_idx, reviewer_idx and grade must be 1-D")
            return out
        if not (p.shape == r.shape == g.shape):
            out.append(
                f"lengths differ: proposal_idx {p.shape}, reviewer_idx {r.shape}, grade {g.shape}"
            )
            return out
        if p.size == 0:
            out.append("no grades")
            return out
        if not np.issubdtype(p.dtype, np.integer) or not np.issubdtype(r.dtype, np.integer):
            out.append("proposal_idx and reviewer_idx must be integer arrays")
            return out
        if p.min() < 0 or p.max() >= self.n_proposals:
            out.append(f"proposal_idx outside 0..{self.n_proposals - 1}")
        if r.min() < 0 or r.max() >= self.n_reviewers:
            out.append(f"reviewer_idx outside 0..{self.n_reviewers - 1}")
        if not (np.issubdtype(g.dtype, np.integer) or np.issubdtype(g.dtype, np.floating)):
            # strings or None crashed in np.isfinite (TypeError)
            out.append(f"grades must be real numbers, got {g.dtype}")
        elif not np.all(np.isfinite(g)):
            out.append("grades must be finite")
        elif g.min() < self.scale.min or g.max() > self.scale.max:
            out.append(
                f"grades outside the scale [{self.scale.min}, {self.scale.max}]: "
                f"min {g.min()}, max {g.max()}"
            )
        if self.confidence is not None:
            c = np.asarray(self.confidence)
            if c.shape != g.shape:
                out.append(f"confidence has shape {c.shape}, expected {g.shape}")
            elif (
                not (np.issubdtype(c.dtype, np.integer) or np.issubdtype(c.dtype, np.floating))
                or not np.all(np.isfinite(c))
                or c.min() <= 0
            ):
                out.append("confidence weights must be finite and > 0")
        if not out:
            counts = np.bincount(p, minlength=self.n_proposals)
            missing = np.flatnonzero(counts == 0)
            if missing.size:
                shown = ", ".join(str(int(i)) for i in missing[:10])
                more = "" if missing.size <= 10 else f" (+{missing.size - 10} more)"
                out.append(
                    f"proposals without any grade: {shown}{more}; drop them before calibrating"
                )
        return out
