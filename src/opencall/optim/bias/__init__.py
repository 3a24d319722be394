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

The package has one part a module: the input and its cuts (``data``), the two-way
fixed-effects least squares (``fixed_effects``), the minimum detectable bias (``power``),
the tested cells (``result``), the interaction model (``model``) and the correction of
grades (``correction``). Everything public is importable from ``opencall.optim.bias``.
"""

from __future__ import annotations

from opencall.optim.bias.correction import Correction, correct_grades
from opencall.optim.bias.data import OTHERS, REFERENCES, UNKNOWN, BiasData, Cut
from opencall.optim.bias.fixed_effects import FixedEffects
from opencall.optim.bias.model import interaction_model, reviewer_weights
from opencall.optim.bias.power import minimum_detectable_bias
from opencall.optim.bias.result import BiasModel, Interaction

__all__ = [
    "BiasData",
    "BiasModel",
    "Correction",
    "Cut",
    "FixedEffects",
    "Interaction",
    "OTHERS",
    "REFERENCES",
    "UNKNOWN",
    "correct_grades",
    "interaction_model",
    "minimum_detectable_bias",
    "reviewer_weights",
]
