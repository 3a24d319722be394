"""A panel with very harsh and very lenient reviewers, through "Calibrate and rank"
(trialrev14). Before, the calibration's fixed leniency ridge (2 pseudo-grades) left a
share of each extreme reviewer's harshness or leniency on the proposals they happened to
get (tests/optim/test_calibration_mixedlm.py: 0.17 to 0.34 points between a lenient and a
harsh reviewer's blocks); now the ridge is set from the grades as a mixed model would
(``optim.calibration.shrinkage``), recorded with the run, and the scores follow the
proposals' quality whoever graded them."""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session

from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from tests import factories as F

SHIFT = {0: -1.2, 1: -1.2, 2: 1.2, 3: 1.2}  # reviewers by position: harsh, then lenient


def test_extreme_reviewers_neither_punish_nor_reward_their_proposals(db: Session) -> None:
    call, props, reviewers = F.call_in_review(db, 18, 9, reviewers_per_proposal=3)
    rv.run_assignment(db, call)
    rng = np.random.default_rng(7)
    truth = {p.id: round(3.0 + 0.5 * float(rng.standard_normal()), 2) for p in props}
    pos = {u.id: i for i, u in enumerate(reviewers)}
    by_id = {u.id: u for u in reviewers}
    exposure = dict.fromkeys(truth, 0.0)  # the extreme reviewers' net shift on each
    for a in rq.assignments_of_call(db, call):
        shift = SHIFT.get(pos[a.reviewer_id], 0.0)
        exposure[a.proposal_id] += shift
        noise = 0.1 * float(rng.standard_normal())
        grade = min(5.0, max(1.0, round(truth[a.proposal_id] + shift + noise, 1)))
        rv.submit_review(
            db, a, by_id[a.reviewer_id], grade=grade, confidence=3, comments_to_applicants="ok"
        )
    run = rv.run_calibration(db, call, n_bootstrap=0)
    lam = run.parameters["leniency_shrinkage"]
    assert 0.1 <= lam < 0.5, lam  # the reviewers clearly differ: a light ridge
    ranked = {r.proposal_id: r for r in rq.ranking(db, call)}
    ids = sorted(truth)
    err = np.array([ranked[i].score - truth[i] for i in ids])
    raw = np.array([ranked[i].raw_mean - truth[i] for i in ids])
    shifted = np.array([exposure[i] for i in ids])
    # the raw means follow the reviewers' shifts; the scores do not
    assert np.corrcoef(raw, shifted)[0, 1] > 0.9
    slope = float(np.polyfit(shifted, err, 1)[0])
    # of each point of net shift, the score keeps 0.02 (0.12 with the fixed ridge before)
    assert abs(slope) < 0.06, slope
    assert float(np.abs(err - err.mean()).max()) < 0.2
