"""Calibration of review grades for reviewer leniency and scale, with bootstrap uncertainty.

Model
-----
Grades are first oriented so that higher is better (for FAST/ESO-style scales where a lower grade
is better, ``g -> min + max - g``) and standardised (weighted mean ``m``, standard deviation
``d``).  For review ``i`` of proposal ``p`` by reviewer ``r`` with weight ``w_i`` (the optional
confidence, rescaled to mean 1)::

    y_i = mu + s_r * q_p + b_r + e_i

* ``q_p`` -- quality of proposal ``p`` (the quantity we rank on);
* ``b_r`` -- leniency of reviewer ``r`` (positive: grades more favourably than peers);
* ``s_r`` -- scale of reviewer ``r`` (how widely they spread their grades); fixed to 1 unless
  ``fit_scale=True``.

The estimate minimises the penalised weighted least-squares objective::

    sum_i w_i (y_i - mu - s_r q_p - b_r)^2
        + lambda_b sum_r b_r^2 + lambda_s sum_r (log s_r)^2 + lambda_q sum_p q_p^2

The ridge terms shrink a reviewer with few grades toward "average" (``b = 0``, ``s = 1``), so one
or two grades never produce a large correction: ``lambda_b`` reads as a number of pseudo-grades
given at the consensus (:func:`leniency_shrinkage`, module ``shrinkage``, sets it from the grades
as a random-intercept model would, ``sigma_e^2 / sigma_b^2``: what "Calibrate and rank" uses).
``lambda_q`` is tiny and only fixes the ``mu``/``q`` split.
Identifiability: ``sum_r b_r = 0`` and ``sum_p q_p = 0`` (exact constraints, so ``mu`` is the
grand mean and ``b_r`` the leniency at average quality, also when scales are fitted).

Solution: for fixed ``s``, the problem is linear in ``(mu, q, b)``.  The default solver
(``solver="normal"``) forms the sparse normal equations, eliminates ``q`` (its block is diagonal)
and factorises the reviewers' Schur complement, bordered by Lagrange rows for the two
sum-to-zero constraints.  Up to a few thousand reviewers that bordered system is assembled
densely from index arrays built once per grade set (every same-proposal pair of reviews), so
a step, and a bootstrap replicate (integer weights on the reviews), costs a few ``bincount``s
and one dense Cholesky, with BLAS on one thread; above that it is built as a sparse matrix and
factorised with SuperLU.  ``solver="lsqr"`` solves the stacked sparse system
(data rows scaled by ``sqrt(w)``, ridge rows, constraint rows) with
``scipy.sparse.linalg.lsqr`` and serves as a cross-check.  With ``fit_scale=True`` this
alternates with an ``s``-step: for fixed ``(mu, q)`` each reviewer's ``(s_r, b_r)`` minimises a
1-D function of ``t = log s_r`` after profiling ``b_r`` out; it is minimised globally on a grid
over ``scale_bounds`` and refined by safeguarded Newton steps, followed by an exact step along
the near-gauge direction ``q -> c q, s -> s / c``.  No step increases the objective.

Outputs (:class:`CalibrationResult`) are reported on the original scale and orientation:
``consensus_p = m + d (mu + q_p)`` (the grade a typical reviewer, ``b = 0``, ``s = 1``, would
give), ``leniency_r = d b_r`` in grade units (positive = more favourable, whatever the
orientation), and adjusted per-review grades ``m + d (mu + (y_i - mu - b_r) / s_r)``.

Uncertainty: a stratified bootstrap resamples, with replacement, the reviews of each proposal
(so every proposal keeps as many reviews as it had), refits the whole model (reviewer effects
included, warm-started), and records each proposal's consensus and rank.  Percentile intervals
at ``level`` (default 90 %: the 5-95 % range) are widened, if needed, to contain the point
estimate.  Proposals tied (in a replicate, or in the point estimate on both consensus and raw
mean) are told apart by no grade, only by their index: a tie counts as every place it spans,
so ten proposals with the same grades each have the rank interval 1-10 (before, 1-1, 2-2,
..., and none was flagged at a capacity line between them).  :meth:`CalibrationResult.discuss` lists the proposals whose rank interval straddles a
capacity line.  A proposal with a single review has only the variability that comes from its
reviewer's effect: bootstrap intervals are narrow there by construction.

The package has one part a module: the grades and their scale (``grades``), the result
(``result``), the linear step (``linear``), the scale step (``scale_step``), the fit that
alternates them (``fit``), ranks and ties (``ranks``), the bootstrap (``bootstrap``), the
driver ``calibrate`` (``solver``), diagnostics with synthetic test data
(``synthetic``), and the scores of a letter or word scale's labels (``ordinal``). Everything public is importable from ``opencall.optim.calibration``.
"""

from __future__ import annotations

from opencall.optim.calibration.grades import GradeScale, GradeSet
from opencall.optim.calibration.result import CalibrationResult
from opencall.optim.calibration.shrinkage import leniency_shrinkage
from opencall.optim.calibration.solver import calibrate
from opencall.optim.calibration.synthetic import SyntheticGrades, leniency_gap, synthetic_grades

__all__ = [
    "CalibrationResult",
    "GradeScale",
    "GradeSet",
    "SyntheticGrades",
    "calibrate",
    "leniency_gap",
    "leniency_shrinkage",
    "synthetic_grades",
]
