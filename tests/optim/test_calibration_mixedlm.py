"""Very harsh and very lenient reviewers, checked against an independent fit (trialrev14).

A call where three reviewers grade 1.2 points below their peers and three 1.2 above, each
given a block of proposals (not at random: the harsh ones one third of the call, the
lenient ones another), as a chair's panel might: the calibration must neither punish the
proposals the harsh reviewers happened to get nor reward the lenient ones'. Its consensus
is compared with ``statsmodels``' linear mixed model (proposal fixed effects, a random
intercept per reviewer), fitted on the same grades: an independent estimate of the same
thing (the module docstring's model with ``s = 1``; the ridge on the leniencies plays the
part of the random effects' variance). "Calibrate and rank" no longer uses the default
ridge: it sets it from the grades (``leniency_shrinkage``, tests/optim/
test_calibration_shrinkage.py), which closes the gap measured here."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from opencall.optim.calibration import GradeScale, GradeSet, calibrate

N_P, N_R, K = 60, 15, 3
HARSH, LENIENT = (0, 1, 2), (3, 4, 5)
SHIFT = 1.2


def _panel(seed: int) -> tuple[GradeSet, np.ndarray, np.ndarray]:
    """Grades on a 1-5 scale (0.1 steps) and the true quality; block ``b`` of each review:
    0 the harsh reviewers' proposals, 1 the lenient ones', 2 the rest."""
    rng = np.random.default_rng(seed)
    quality = 3.0 + 0.5 * rng.standard_normal(N_P)
    leniency = np.zeros(N_R)
    leniency[list(HARSH)] = -SHIFT
    leniency[list(LENIENT)] = SHIFT
    neutral = list(range(6, N_R))
    pi, ri = [], []
    for p in range(N_P):
        block = p * 3 // N_P
        first = [HARSH[p % 3]] if block == 0 else [LENIENT[p % 3]] if block == 1 else []
        others = rng.choice(neutral, size=K - len(first), replace=False).tolist()
        for r in first + others:
            pi.append(p)
            ri.append(r)
    p_idx, r_idx = np.array(pi), np.array(ri)
    g = quality[p_idx] + leniency[r_idx] + 0.25 * rng.standard_normal(len(pi))
    g = np.clip(np.round(g, 1), 1.0, 5.0)
    gs = GradeSet(
        proposal_idx=p_idx,
        reviewer_idx=r_idx,
        grade=g,
        n_proposals=N_P,
        n_reviewers=N_R,
        scale=GradeScale(1.0, 5.0, False),
    )
    return gs, quality, np.array([p * 3 // N_P for p in range(N_P)])


def _mixedlm_quality(gs: GradeSet) -> np.ndarray:
    """Each proposal's fixed effect under a random intercept per reviewer (REML)."""
    import statsmodels.formula.api as smf

    df = pd.DataFrame(
        {
            "g": np.asarray(gs.grade),
            "p": [f"p{i:03d}" for i in gs.proposal_idx],
            "r": np.asarray(gs.reviewer_idx),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter, not a result
        fit = smf.mixedlm("g ~ 0 + C(p)", df, groups=df["r"]).fit(reml=True)
    return np.array([fit.fe_params[f"C(p)[p{i:03d}]"] for i in range(gs.n_proposals)])


@pytest.mark.parametrize("seed", [0, 1])
def test_harsh_and_lenient_reviewers_against_a_mixed_model(seed: int) -> None:
    gs, quality, block = _panel(seed)
    mixed = _mixedlm_quality(gs)

    def gap(estimate: np.ndarray) -> float:
        """How much better the lenient reviewers' block comes out than the harsh ones',
        against the truth (0: neither punished nor rewarded)."""
        err = np.asarray(estimate) - quality
        return float(err[block == 1].mean() - err[block == 0].mean())

    def centred(x: np.ndarray) -> np.ndarray:
        return x - x.mean()

    raw = calibrate(gs, n_bootstrap=0)
    # the raw means reward the lenient block over the harsh one by about 2/3 of the
    # 2.4-point spread shared by a third of the reviews; the mixed model by nothing
    assert gap(raw.raw_mean) > 0.6 and abs(gap(mixed)) < 0.1, (gap(raw.raw_mean), gap(mixed))
    # the calibration's model with a light ridge on the leniencies IS the mixed model:
    # the same proposal effects to a few thousandths of a point, the same (nil) gap
    light = calibrate(gs, n_bootstrap=0, leniency_shrinkage=0.1)
    assert np.abs(centred(light.consensus) - centred(mixed)).max() < 0.02
    assert abs(gap(light.consensus)) < 0.1
    assert np.all(light.leniency[list(HARSH)] < -0.8)
    assert np.all(light.leniency[list(LENIENT)] > 0.8)
    # the default ridge (2 pseudo-grades, so that a reviewer of one or two grades is not
    # over-corrected) removes most of the gap but not all of it: measured 0.17 to 0.34
    # points over seeds 0-3 (0.20 and 0.20 here), against 0.71 to 0.82 for the raw means
    # (docs/reviewer-bias.md); asserted: at least half removed, within 0.2 of the mixed
    # model everywhere
    default = calibrate(gs, n_bootstrap=0)
    assert abs(gap(default.consensus)) < 0.5 * gap(raw.raw_mean)
    assert np.abs(centred(default.consensus) - centred(mixed)).max() < 0.2
    assert np.all(default.leniency[list(HARSH)] < -0.5)
    assert np.all(default.leniency[list(LENIENT)] > 0.5)
