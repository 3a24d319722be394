"""The panel's consensus (trialchair23): at the meeting the chair records the panel's
grade of a proposal and a written consensus comment that its applicants receive. Before,
there was nowhere to record either: the applicants read only the individual reviews'
comments, and the ranking only the calibrated grades. Now the consensus grade (on the
call's scale, a label on a letter scale) replaces the calibrated score at the next
"Calibrate and rank", the comment reaches the applicants' outcome (page, letter, API)
with no reviewer named, and a chair with a conflict of interest with the proposal (or on
its team) is refused: another chair of the call (a vice-chair) records it."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call
from opencall.calls.schemas import review_settings
from opencall.errors import DomainError
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.models import Conflict, ReviewAssignment
from tests import factories as F
from tests.review_cycle import Cycle, Web
from tests.web.conftest import api_bearer, csrf

COMMENT = "The panel found the timing case strong but the RFI mitigation thin."


def _graded(db: Session, labels: list[str] | None = None) -> tuple:
    call, props, reviewers = F.call_in_review(db, 5, 4, reviewers_per_proposal=2)
    if labels:
        call.review_settings = review_settings(
            {**call.review_settings, "grade_labels": labels}
        ).model_dump(mode="json")
    rv.run_assignment(db, call)
    by_id = {u.id: u for u in reviewers}
    pos = {p.id: i for i, p in enumerate(props)}
    for a in rq.assignments_of_call(db, call):
        grade = (1 + pos[a.proposal_id] % 3) if labels else 5.0 - pos[a.proposal_id] * 0.8
        rv.submit_review(
            db,
            a,
            by_id[a.reviewer_id],
            grade=grade,
            confidence=3,
            comments_to_applicants=f"Review of {a.proposal_id} by {a.reviewer_id}.",
        )
    chair = F.user(db, name="Chair Person")
    vice = F.user(db, name="Vice Chair")
    for u in (chair, vice):
        people_services.grant_role(db, u.id, "chair", call_id=call.id)
    db.flush()
    return call, props, chair, vice


def test_the_consensus_grade_ranks_and_its_comment_reaches_the_applicants(db: Session) -> None:
    call, props, chair, _vice = _graded(db)
    rv.run_calibration(db, call, n_bootstrap=0)
    last = max(rq.ranking(db, call), key=lambda r: r.rank)
    worst = next(p for p in props if p.id == last.proposal_id)
    rv.record_consensus(db, call, worst, chair, grade="5", comment=COMMENT)
    db.flush()
    assert not rv.ranking_is_current(db, call), "a consensus recorded leaves the ranking current"
    run = rv.run_calibration(db, call, n_bootstrap=0)
    top = rq.ranking(db, call)[0]
    assert top.proposal_id == worst.id and top.score == 5.0, (top.proposal_id, top.score)
    assert top.score_lo == top.score_hi == 5.0
    assert run.summary["panel_grades"] == 1
    assert rv.ranking_is_current(db, call)
    # the applicants read the panel's comment first, and no reviewer is named
    feedback = rq.feedback_for(db, worst.id)
    assert rq.panel_comment_for(db, worst.id) == COMMENT
    assert COMMENT not in feedback
    # recorded again: replaced (one consensus a proposal), audited each time
    rv.record_consensus(db, call, worst, chair, grade=4.5, comment=COMMENT + " Revised.")
    assert rq.panel_comment_for(db, worst.id) == COMMENT + " Revised."


def test_bad_consensus_input_changes_nothing(db: Session) -> None:
    call, props, chair, _vice = _graded(db)
    p = props[0]
    for grade, comment, field in (
        ("9", COMMENT, "grade"),
        ("", COMMENT, "grade"),
        ("4", "  ", "comment"),
        ("4", "x" * 20001, "comment"),
    ):
        with pytest.raises(DomainError) as refused:
            rv.record_consensus(db, call, p, chair, grade=grade, comment=comment)
        assert refused.value.field == field, (grade, refused.value.message)
    assert rq.panel_comment_for(db, p.id) == ""


def test_a_conflicted_chair_leaves_it_to_the_vice_chair(db: Session) -> None:
    call, props, chair, vice = _graded(db, labels=["A", "B", "C"])
    p = props[2]
    db.add(
        Conflict(
            call_id=call.id, proposal_id=p.id, reviewer_id=chair.id, source="declared_reviewer"
        )
    )
    db.flush()
    with pytest.raises(DomainError):
        rv.record_consensus(db, call, p, chair, grade="B", comment=COMMENT)
    assert rq.panel_comment_for(db, p.id) == ""
    rv.record_consensus(db, call, p, vice, grade="b", comment=COMMENT)
    assert rq.panel_grades(db, call) == {p.id: 2.0}


def test_no_consensus_once_the_ranking_is_frozen(db: Session) -> None:
    call, props, chair, _vice = _graded(db)
    rv.run_calibration(db, call, n_bootstrap=0)
    rv.freeze_ranking(db, call)
    with pytest.raises(DomainError, match="frozen"):
        rv.record_consensus(db, call, props[0], chair, grade=3, comment=COMMENT)


def test_the_chair_records_the_consensus_through_the_api(web: Web, cycle: Cycle) -> None:
    headers = api_bearer(web, cycle.emails["chair"], scopes=("manage",))
    c = web.client()
    url = f"/api/v1/calls/{cycle.slug}/proposals/{cycle.ids['proposal']}/consensus"
    r = c.put(url, headers=headers, json={"grade": 4, "comment": COMMENT})
    assert r.status_code == 200, r.text
    assert r.json()["grade"] == 4 and r.json()["comment"] == COMMENT, r.text
    assert not any(name in r.text for name in ("Assigned Person", "Conflicted Person"))
    bad = c.put(url, headers=headers, json={"grade": 4, "comment": " "})
    assert bad.status_code == 400 and "consensus comment" in bad.json()["detail"], bad.text
    # a reviewer's token cannot record it
    rev = api_bearer(web, cycle.emails["assigned"], scopes=("manage",))
    assert c.put(url, headers=rev, json={"grade": 4, "comment": COMMENT}).status_code in (
        403,
        404,
    )


def test_the_chair_records_the_consensus_on_the_ranking_page(
    web: Web, cycle: Cycle, factory: sessionmaker[Session]
) -> None:
    chair = web.login(cycle.emails["chair"])
    path = f"/manage/calls/{cycle.slug}/ranking"
    url = f"{path}/{cycle.ids['proposal']}/consensus"
    form = {"csrf_token": csrf(chair, path), "grade": "4.5", "comment": COMMENT}
    r = chair.post(url, data=form)
    assert r.status_code == 303, r.text[:2000]
    bad = chair.post(url, data={**form, "grade": "11"})
    assert bad.status_code == 400 and "between 1 and 5" in bad.text
    with factory() as s:
        assert rq.panel_comment_for(s, cycle.ids["proposal"]) == COMMENT
        call = s.get(Call, cycle.ids["call"])
        assert call is not None and rq.panel_grades(s, call) == {cycle.ids["proposal"]: 4.5}
        # a review in, the call calibrated: the ranking page shows the panel's grade
        a = s.get(ReviewAssignment, cycle.ids["assignment"])
        assert a is not None
        me = s.get(User, a.reviewer_id)
        assert me is not None
        rv.submit_review(s, a, me, grade=2, confidence=3, comments_to_applicants="ok")
        rv.run_calibration(s, call, n_bootstrap=0)
        s.commit()
    page = chair.get(path).text
    assert 'class="panel-grade">4.5<' in page, page
    assert COMMENT in page  # the form holds the comment recorded
    # a reviewer of the call may not
    rev = web.login(cycle.emails["assigned"])
    assert rev.post(url, data={**form, "csrf_token": csrf(rev, "/review")}).status_code in (
        403,
        404,
    )


def test_a_comment_naming_a_reviewer_is_refused(db: Session) -> None:
    """The applicants may not learn who reviewed their proposal: a consensus comment that
    names one of its reviewers (or gives their address) is refused, nothing recorded."""
    call, props, chair, _vice = _graded(db)
    p = props[0]
    a = next(a for a in rq.assignments_of_call(db, call) if a.proposal_id == p.id)
    reviewer = db.get(User, a.reviewer_id)
    assert reviewer is not None
    for named in (f"As {reviewer.name} said, the plan is thin.", f"Ask {reviewer.email}."):
        with pytest.raises(DomainError) as refused:
            rv.record_consensus(db, call, p, chair, grade=3, comment=named)
        assert refused.value.field == "comment", refused.value.message
        assert "reviewer" in refused.value.message
    assert rq.panel_comment_for(db, p.id) == ""
    rv.record_consensus(db, call, p, chair, grade=3, comment=COMMENT)  # no one named
