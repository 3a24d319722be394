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
        p = np.asarray(self.proposal_idx)
        r = np.asarray(self.reviewer_idx)
        g = np.asarray(self.grade)
        shape = self._shape_problem(p, r, g)
        if shape:
            return [shape]
        out: list[str] = []
        if p.min() < 0 or p.max() >= self.n_proposals:
            out.append(f"proposal_idx outside 0..{self.n_proposals - 1}")
        if r.min() < 0 or r.max() >= self.n_reviewers:
            out.append(f"reviewer_idx outside 0..{self.n_reviewers - 1}")
        out += _grade_problems(g, self.scale)
        if self.confidence is not None:
            out += _confidence_problems(np.asarray(self.confidence), g)
        if not out:
            out += self._ungraded_problems(p)
        return out

    def _shape_problem(self, p: np.ndarray, r: np.ndarray, g: np.ndarray) -> str:
        """The first reason the arrays cannot be read as grades at all ("" when none)."""
        if self.n_proposals < 1 or self.n_reviewers < 1:
            return "n_proposals and n_reviewers must be >= 1"
        if p.ndim != 1 or r.ndim != 1 or g.ndim != 1:
            return "proposal_idx, reviewer_idx and grade must be 1-D"
        if not (p.shape == r.shape == g.shape):
            return (
                f"lengths differ: proposal_idx {p.shape}, reviewer_idx {r.shape}, grade {g.shape}"
            )
        if p.size == 0:
            return "no grades"
        if not np.issubdtype(p.dtype, np.integer) or not np.issubdtype(r.dtype, np.integer):
            return "proposal_idx and reviewer_idx must be integer arrays"
        return ""

    def _ungraded_problems(self, p: np.ndarray) -> list[str]:
        """The proposals without any grade, named (the first ten)."""
        counts = np.bincount(p, minlength=self.n_proposals)
        missing = np.flatnonzero(counts == 0)
        if not missing.size:
            return []
        shown = ", ".join(str(int(i)) for i in missing[:10])
        more = "" if missing.size <= 10 else f" (+{missing.size - 10} more)"
        return [f"proposals without any grade: {shown}{more}; drop them before calibrating"]


def _grade_problems(g: np.ndarray, scale: GradeScale) -> list[str]:
    """The grades are real, finite numbers on the scale."""
    if not (np.issubdtype(g.dtype, np.integer) or np.issubdtype(g.dtype, np.floating)):
        # strings or None crashed in np.isfinite (TypeError)
        return [f"grades must be real numbers, got {g.dtype}"]
    if not np.all(np.isfinite(g)):
        return ["grades must be finite"]
    if g.min() < scale.min or g.max() > scale.max:
        return [
            f"grades outside the scale [{scale.min}, {scale.max}]: min {g.min()}, max {g.max()}"
        ]
    return []


def _confidence_problems(c: np.ndarray, g: np.ndarray) -> list[str]:
    """The confidence weights, one a grade, are finite and positive."""
    if c.shape != g.shape:
        return [f"confidence has shape {c.shape}, expected {g.shape}"]
    if (
        not (np.issubdtype(c.dtype, np.integer) or np.issubdtype(c.dtype, np.floating))
        or not np.all(np.isfinite(c))
        or c.min() <= 0
    ):
        return ["confidence weights must be finite and > 0"]
    return []
