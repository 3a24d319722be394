"""The leniency ridge as a random-effects model would set it, from the grades themselves.

The calibration's ridge ``lambda_b`` (``calibrate(leniency_shrinkage=...)``) reads as a
number of pseudo-grades given at the consensus. A fixed 2 keeps a reviewer of one or two
grades from being over-corrected, but it also keeps very harsh or very lenient reviewers
from being corrected fully: checked against ``statsmodels``' mixed model (proposal fixed
effects, a random intercept per reviewer), three reviewers 1.2 points below their peers and
three 1.2 above, each given a block of proposals, left 0.17 to 0.34 points between the
lenient and the harsh reviewers' blocks (0.71 to 0.82 with raw means; the mixed model
about 0; ``tests/optim/test_calibration_mixedlm.py``).

In a random-intercept model the leniencies are shrunk by ``sigma_e^2 / sigma_b^2`` (the
noise variance over the leniencies' variance) pseudo-grades: :func:`leniency_shrinkage`
estimates both by moments from a lightly shrunk fit and answers that ratio, within
``[least, most]``: reviewers who do not differ get ``most`` (the fixed ridge as before),
reviewers who clearly do get less, down to ``least``.
"""

from __future__ import annotations

import numpy as np

from opencall.optim.calibration.grades import GradeSet
from opencall.optim.calibration.solver import calibrate

#: the ridge's bounds: ``most`` is the fixed default of :func:`calibrate`
LEAST, MOST = 0.1, 2.0


def leniency_shrinkage(grades: GradeSet, *, least: float = LEAST, most: float = MOST) -> float:
    """``sigma_e^2 / sigma_b^2`` of the grades within ``[least, most]`` (see the module).

    From a fit with the ridge at ``least`` (scales not fitted): each proposal's quality
    given the leniencies, the residual variance ``sigma_e^2`` on the residual degrees of
    freedom, and ``sigma_b^2`` as the leniencies' mean square less each one's sampling
    variance (``sigma_e^2`` over the information its grades carry once their proposals'
    means are taken out: ``1 - 1/k`` a grade of a proposal with ``k`` reviews). ``most``
    when the grades cannot tell (too few, or no spread between reviewers)."""
    p = np.asarray(grades.proposal_idx, dtype=np.int64)
    r = np.asarray(grades.reviewer_idx, dtype=np.int64)
    n_p, n_r, n_g = grades.n_proposals, grades.n_reviewers, len(p)
    dof = n_g - n_p - (n_r - 1)
    if dof <= 0 or n_r < 2:
        return most
    fit = calibrate(grades, leniency_shrinkage=least, n_bootstrap=0)
    oriented = grades.scale.orient(np.asarray(grades.grade, dtype=np.float64))
    lenient = np.asarray(fit.leniency, dtype=np.float64)
    k = np.bincount(p, minlength=n_p).astype(np.float64)
    # each proposal's quality given the leniencies (not the clipped consensus)
    less = oriented - lenient[r]
    quality = np.bincount(p, weights=less, minlength=n_p) / np.maximum(k, 1.0)
    resid = less - quality[p]
    s2e = float(resid @ resid) / dof
    info = np.bincount(r, weights=1.0 - 1.0 / k[p], minlength=n_r)
    seen = info > 0
    if not seen.any():
        return most
    s2b = float(np.mean(lenient[seen] ** 2) - np.mean(s2e / info[seen]))
    if not s2b > 0:
        return most
    return float(min(max(s2e / s2b, least), most))
