"""The correction of grades for the flagged cells where a reviewer group grades an
applicant group less favourably (``correct_grades``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from opencall.optim.arrays import FloatArray
from opencall.optim.bias.data import BiasData, _grade_unit, _in_units
from opencall.optim.bias.fixed_effects import FixedEffects
from opencall.optim.bias.model import _fit_block, reviewer_weights
from opencall.optim.bias.result import BiasModel, Interaction

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

    Parameters
    ----------
    data : BiasData
        The reviews of ``model``.
    model : BiasModel
        The interaction model of ``data`` (``interaction_model``).
    cells : sequence of Interaction or None
        Exactly the cells to correct; None to select among the flagged ones.
    direction : {"harsher", "both"}
        Which flagged cells may be corrected.

    Returns
    -------
    Correction
        The corrected grades, what was removed from each, the chosen cells and their joint
        estimates.
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
