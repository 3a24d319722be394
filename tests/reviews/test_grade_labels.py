"""A call graded with letters or words (trialchair23): "A, B, C" or "excellent, very
good, good, fair, poor", as many facilities grade. Before, the review settings knew only
a numeric range (``grade_labels`` was refused as an unknown field), so such a call had to
ask its reviewers for numbers and its chair to translate. Now the call declares its
labels, best first; reviewers choose a label (page: a list of the labels; API: the label
or its position); every grade is stored as the label's position (1 = the first, best);
the ranking is calibrated on the ordered-probit scores of the labels
(``optim.calibration.ordinal``) and said back on the labels' scale."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call
from opencall.calls.schemas import review_settings
from opencall.errors import DomainError
from opencall.optim.calibration.ordinal import label_scores
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from tests import factories as F
from tests.review_cycle import Cycle, Web, accepting_reviewer
from tests.web.conftest import api_bearer, csrf

WORDS = ["excellent", "very good", "good", "fair", "poor"]


def test_a_call_declares_its_labels_best_first() -> None:
    rs = review_settings({"grade_labels": ["A", "B", "C"]})
    assert (rs.grade_min, rs.grade_max, rs.lower_is_better) == (1, 3, True)
    assert [rs.grade_label(g) for g in (1, 2, 3, 2.4, 2.6)] == ["A", "B", "C", "B", "C"]
    assert review_settings({}).grade_label(3) == ""  # a numeric scale has no labels
    # stored numeric fields of an earlier scale give way to the labels' (a merge)
    again = review_settings({"grade_min": 0, "grade_max": 10, "grade_labels": WORDS})
    assert (again.grade_min, again.grade_max, again.lower_is_better) == (1, 5, True)
    for bad in (["A"], ["A", "a"], ["A", " "], ["x" * 41, "B"]):
        with pytest.raises(DomainError) as refused:
            review_settings({"grade_labels": bad})
        assert "grade_labels" in refused.value.message, refused.value.message


def _labelled_call(db: Session, n_props: int, n_revs: int, labels: list[str]) -> tuple:
    call, props, reviewers = F.call_in_review(db, n_props, n_revs, reviewers_per_proposal=3)
    call.review_settings = review_settings(
        {**call.review_settings, "grade_labels": labels}
    ).model_dump(mode="json")
    db.flush()
    rv.run_assignment(db, call)
    return call, props, reviewers


def test_a_reviewer_grades_with_a_label(db: Session) -> None:
    call, _props, reviewers = _labelled_call(db, 3, 4, ["A", "B", "C"])
    by_id = {u.id: u for u in reviewers}
    a = rq.assignments_of_call(db, call)[0]
    me = by_id[a.reviewer_id]
    for bad, said in (("D", "A, B, C"), (1.5, "A, B, C"), (4, "A, B, C"), ("", "grade")):
        with pytest.raises(DomainError) as refused:
            rv.submit_review(db, a, me, grade=bad, confidence=3, comments_to_applicants="ok")
        assert refused.value.field == "grade" and said in str(refused.value.message), bad
        assert rq.review_of(db, a.id) is None  # nothing written
    review = rv.submit_review(db, a, me, grade=" b ", confidence=3, comments_to_applicants="ok")
    assert review.grade == 2.0
    # the same review sent again by its position is the same review
    assert rv.submitted_as(db, a, grade=2.0, confidence=3, comments_to_applicants="ok")


def test_the_ranking_of_a_labelled_call(db: Session) -> None:
    call, props, reviewers = _labelled_call(db, 12, 6, WORDS)
    by_id = {u.id: u for u in reviewers}
    rng = np.random.default_rng(3)
    merit = {p.id: i for i, p in enumerate(props)}  # the first proposal is the best
    given = []
    for a in rq.assignments_of_call(db, call):
        pos = int(np.clip(1 + merit[a.proposal_id] // 3 + rng.integers(-1, 2), 1, 5))
        given.append(pos)
        rv.submit_review(
            db,
            a,
            by_id[a.reviewer_id],
            grade=WORDS[pos - 1],
            confidence=3,
            comments_to_applicants="ok",
        )
    run = rv.run_calibration(db, call, n_bootstrap=20)
    # the labels' scores as the ordered-probit model gives them from these grades
    np.testing.assert_allclose(
        run.parameters["label_scores"], label_scores(np.array(given), 5), atol=1e-12
    )
    ranked = rq.ranking(db, call)
    for r in ranked:  # on the labels' scale, 1 (excellent) to 5 (poor)
        assert 1 <= r.score_lo <= r.score <= r.score_hi <= 5, (r.score_lo, r.score, r.score_hi)
        assert 1 <= r.raw_mean <= 5
    scores = [r.score for r in ranked]
    assert scores == sorted(scores)  # lower is better: the best first
    rank = {r.proposal_id: r.rank for r in ranked}
    assert rank[props[0].id] < rank[props[-1].id]


def test_the_review_page_and_the_api_speak_the_labels(
    web: Web, cycle: Cycle, factory: sessionmaker[Session]
) -> None:
    with factory() as s:
        call = s.get(Call, cycle.ids["call"])
        assert call is not None
        call.review_settings = review_settings(
            {**call.review_settings, "grade_labels": WORDS}
        ).model_dump(mode="json")
        s.commit()
    rev, path = accepting_reviewer(web, cycle)
    page = rev.get(path).text
    select = re.search(r'<select[^>]*id="f-grade".*?</select>', page, re.S)
    assert select, page[:3000]
    options = re.findall(r'<option value="(\d)"[^>]*>([^<]*)</option>', select.group(0))
    assert options == [(str(i + 1), w) for i, w in enumerate(WORDS)], options
    form = {
        "csrf_token": csrf(rev, path),
        "grade": "2",
        "confidence": "3",
        "comments_to_panel": "",
        "comments_to_applicants": "Clear plan.",
        "action": "save",
    }
    assert rev.post(path, data=form).status_code == 303
    again = rev.get(path).text
    chosen = re.search(r'<option value="2" selected>very good</option>', again)
    assert chosen, re.search(r'<select[^>]*id="f-grade".*?</select>', again, re.S)
    headers = api_bearer(web, cycle.emails["assigned"], scopes=("review",))
    c = web.client()
    aid = cycle.ids["assignment"]
    r = c.post(
        f"/api/v1/assignments/{aid}/review",
        headers=headers,
        json={"grade": "Excellent", "confidence": 4, "comments_to_applicants": "ok"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["grade"] == 1 and r.json()["grade_label"] == "excellent", r.text
    r = c.post(
        f"/api/v1/assignments/{aid}/review",
        headers=headers,
        json={"grade": "superb", "confidence": 4, "comments_to_applicants": "ok", "final": False},
    )
    assert r.status_code in (400, 409), r.text
