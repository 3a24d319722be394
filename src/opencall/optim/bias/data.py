"""The input: every review's grade with its reviewer's and applicant's groups
(``BiasData``), the cuts and their reference groups, and grades of extreme scales
fitted in units of their size."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from opencall.optim.arrays import FloatArray, IntArray

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
        g = np.asarray(self.grade)
        if n and not (np.issubdtype(g.dtype, np.integer) or np.issubdtype(g.dtype, np.floating)):
            # strings or None crashed in np.isfinite (TypeError)
            out.append(f"grades must be real numbers, got {g.dtype}")
        elif n and not np.all(np.isfinite(g)):
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
