"""A review draft is saved with whatever the reviewer has written so far (trialrev14):
before, "Save draft" without a grade (or without a confidence chosen) was refused on the
page ("This field is required"), by the API (422: ``grade`` required) and by the service
(the grade had to be a number), so a reviewer's first notes could not be kept. A grade
and a confidence are still required to submit, and a draft counts nowhere."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session, sessionmaker

from opencall.errors import DomainError
from opencall.people.models import User
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.models import ReviewAssignment
from tests import factories as F
from tests.review_cycle import Cycle, Web, accepting_reviewer
from tests.web.conftest import api_bearer, csrf

NOTES = "First reading: the pulsar timing case is strong; check the RFI plan."


def test_a_draft_without_grade_is_kept_and_counts_nowhere(db: Session) -> None:
    call, _props, reviewers = F.call_in_review(db, 2, 3, reviewers_per_proposal=1)
    rv.run_assignment(db, call)
    by_id = {u.id: u for u in reviewers}
    a = rq.assignments_of_call(db, call)[0]
    me = by_id[a.reviewer_id]
    review = rv.submit_review(
        db, a, me, grade=None, confidence=None, comments_to_panel=NOTES, final=False
    )
    db.flush()
    assert review.grade is None and review.confidence is None
    assert review.comments_to_panel == NOTES and review.submitted_at is None
    assert a.status == "accepted"
    assert rq.submitted_grades(db, call) == [] and rq.feedback_for(db, a.proposal_id) == []
    # submitting still needs a grade and a confidence: refused, the draft unchanged
    for grade, confidence, field in ((None, 3, "grade"), (4.0, None, "confidence")):
        with pytest.raises(DomainError) as refused:
            rv.submit_review(
                db, a, me, grade=grade, confidence=confidence, comments_to_applicants="ok"
            )
        assert refused.value.field == field
        assert review.grade is None and review.submitted_at is None
    assert rv.submitted_as(db, a, grade=None, confidence=None) is None  # never "the same"
    rv.submit_review(db, a, me, grade=4, confidence=2, comments_to_applicants="Good.")
    assert review.grade == 4 and review.confidence == 2 and a.status == "submitted"


def test_the_page_and_the_api_save_a_draft_without_grade(
    web: Web, cycle: Cycle, factory: sessionmaker[Session]
) -> None:
    aid = cycle.ids["assignment"]
    rev, path = accepting_reviewer(web, cycle)
    page = rev.get(path).text
    # the draft button skips the browser's checks (the confidence select is required)
    assert re.search(r'<button[^>]*value="save"[^>]*formnovalidate', page), page

    def form(action: str, **fields: str) -> dict[str, str]:
        """The review form as posted: no grade, no confidence unless given."""
        blank = {"grade": "", "confidence": ""}
        return {"csrf_token": csrf(rev, path), **blank, **fields, "action": action}

    saved = rev.post(path, data=form("save", comments_to_panel=NOTES))
    assert saved.status_code == 303, saved.text[:800]
    again = rev.get(path).text
    assert NOTES in again
    assert re.search(r'<input[^>]*id="f-grade"[^>]*value=""', again)
    select = re.search(r'<select id="f-confidence".*?</select>', again, re.S)
    assert select and "selected" not in select.group(0)
    # the background save (safe-save.js) answers the draft as stored
    bg = rev.post(path, data=form("save"), headers={"Accept": "application/json"})
    assert bg.status_code == 200 and bg.json()["fields"]["grade"] == "", bg.text
    # submitting without a grade is still refused on the page
    bad = rev.post(path, data=form("submit", confidence="3", comments_to_applicants="ok"))
    assert bad.status_code == 400
    # the API: a draft of notes only; then no grade on submit is refused
    headers = api_bearer(web, cycle.emails["assigned"], scopes=("review",))
    c = web.client()
    r = c.post(
        f"/api/v1/assignments/{aid}/review",
        headers=headers,
        json={"final": False, "comments_to_panel": NOTES + " More."},
    )
    assert r.status_code == 200, r.text
    assert r.json()["grade"] is None and r.json()["submitted"] is False
    r = c.post(
        f"/api/v1/assignments/{aid}/review",
        headers=headers,
        json={"comments_to_applicants": "ok"},
    )
    assert r.status_code == 400 and "Give a grade to submit" in r.json()["detail"], r.text
    detail = c.get(f"/api/v1/assignments/{aid}", headers=headers).json()
    assert detail["review"]["grade"] is None and not detail["review"]["submitted"]
    with factory() as s:
        a = s.get(ReviewAssignment, aid)
        assert a is not None and a.status == "accepted"
        assert s.get(User, a.reviewer_id) is not None
