"""``optim.calibration.leniency_shrinkage``: the leniency ridge set from the grades as a
mixed model would (trialrev14)."""

from __future__ import annotations

import numpy as np
import pytest
from tests.optim.test_calibration_mixedlm import _panel

from opencall.optim.calibration import (
    GradeSet,
    calibrate,
    leniency_shrinkage,
    synthetic_grades,
)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_extreme_reviewers_get_a_light_ridge_and_no_gap(seed: int) -> None:
    gs, quality, block = _panel(seed)
    lam = leniency_shrinkage(gs)
    assert 0.1 <= lam < 0.25, lam
    for fit_scale in (False, True):
        err = np.asarray(calibrate(gs, leniency_shrinkage=lam, n_bootstrap=0).consensus) - quality
        assert abs(err[block == 1].mean() - err[block == 0].mean()) < 0.1, fit_scale


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reviewers_who_do_not_differ_keep_the_fixed_ridge(seed: int) -> None:
    syn = synthetic_grades(120, 40, 3, seed=seed, group_gap=0.0)
    assert leniency_shrinkage(syn.grades) == 2.0
    # and a planted gap lowers it, never below the floor nor above the default
    gapped = synthetic_grades(120, 40, 3, seed=seed, group_gap=1.0)
    assert 0.1 <= leniency_shrinkage(gapped.grades) < 2.0


def test_too_few_grades_to_tell_keep_the_fixed_ridge() -> None:
    gs, _quality, _block = _panel(0)
    one_each = GradeSet(
        proposal_idx=np.arange(5),
        reviewer_idx=np.arange(5),
        grade=np.asarray(gs.grade)[:5],
        n_proposals=5,
        n_reviewers=5,
        scale=gs.scale,
    )  # one review a proposal: no residual degrees of freedom
    assert leniency_shrinkage(one_each) == 2.0
