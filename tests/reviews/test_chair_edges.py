"""Edge cases of a call as its chair runs it: a grade changed after the calibration, a
reviewer's account deactivated after their grades are in. Each was a finding: the test
failed before the fix."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from opencall.allocation import services as al
from opencall.calls.models import Call
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.models import SolverRun
from opencall.web.i18n import Translator
from tests import factories as F
from tests.kept_builds import kept


def _graded_ids(built: tuple[Any, list[Any], dict[int, User]]) -> tuple[int, list[int], list[int]]:
    call, props, by_id = built
    return call.id, [p.id for p in props], list(by_id)


def _graded_again(
    s: Session, ids: tuple[int, list[int], list[int]]
) -> tuple[object, list[object], dict[int, User]]:
    call_id, proposal_ids, reviewer_ids = ids
    by_id = {i: s.get(User, i) for i in reviewer_ids}
    return s.get(Call, call_id), [s.get(Proposal, i) for i in proposal_ids], by_id  # type: ignore[return-value]


@kept(_graded_ids, _graded_again)
def _graded(s: Session) -> tuple[object, list[object], dict[int, User]]:
    """A single-anonymous call in review, every assignment graded 1 to 5 (kept and copied:
    ``tests.kept_builds``)."""
    call, props, reviewers = F.call_in_review(s, 3, 3)
    call.anonymity = "single"  # the allocation needs no freeze
    rv.run_assignment(s, call)
    by_id = {u.id: u for u in reviewers}
    for i, a in enumerate(rq.assignments_of_call(s, call)):
        rv.submit_review(s, a, by_id[a.reviewer_id], grade=1 + i % 5, comments_to_applicants="ok")
    return call, props, by_id


def test_a_grade_cannot_change_under_a_frozen_ranking(db: Session) -> None:
    """Before: a reviewer re-submitted a new grade while the call was still in review
    and the ranking frozen; the frozen ranking the allocation reads no longer matched the
    grades, and could not be calibrated again."""
    s = db
    call, _props, by_id = _graded(s)
    rv.run_calibration(s, call, n_bootstrap=10)
    rv.freeze_ranking(s, call)
    a = rq.assignments_of_call(s, call)[0]
    review = rq.review_of(s, a.id)
    assert review is not None
    before = review.grade
    with pytest.raises(DomainError, match="ranking is frozen"):
        rv.submit_review(
            s,
            a,
            by_id[a.reviewer_id],
            grade=5 if before != 5 else 1,
            comments_to_applicants="changed my mind",
        )
    assert review.grade == before


@pytest.mark.parametrize(
    ("case", "said", "not_said"),
    [
        ("single", "(the chair may unfreeze it)", "never undone"),
        ("dual", "in a dual-anonymous call a freeze is never undone", "may unfreeze"),
        ("allocated", "the allocation has run on it", "may unfreeze"),
    ],
)
def test_the_reviewer_is_told_whether_the_freeze_can_be_undone(
    db: Session, case: str, said: str, not_said: str
) -> None:
    """Before: the reviewer was told "the chair may unfreeze it" even where the freeze is
    never undone (a dual-anonymous call) or can no longer be (the allocation read it);
    the message says what ``reviews.services.unfreeze_refusal`` decides, in each language."""
    s = db
    call, _props, by_id = _graded(s)
    rv.run_calibration(s, call, n_bootstrap=10)
    rv.freeze_ranking(s, call)
    if case == "dual":
        call.anonymity = "dual"  # type: ignore[attr-defined]
    if case == "allocated":
        s.add(
            SolverRun(
                call_id=call.id,  # type: ignore[attr-defined]
                kind="allocation",
                inputs_hash="x",
                version="t",
                status="ok",
            )
        )
    s.flush()
    a = rq.assignments_of_call(s, call)[0]
    with pytest.raises(DomainError, match="ranking is frozen") as err:
        rv.submit_review(s, a, by_id[a.reviewer_id], grade=2, comments_to_applicants="again")
    assert said in err.value.message and not_said not in err.value.message
    assert (rv.unfreeze_refusal(s, call) is None) == (case == "single")  # type: ignore[arg-type]
    for lang in ("zh", "fr", "es"):
        said_there = Translator(lang).error(err.value)
        assert said_there != err.value.message and "ranking" not in said_there, lang


def test_the_allocation_refuses_a_ranking_older_than_the_grades(db: Session) -> None:
    """Before: a grade changed after the calibration was silently ignored by the
    allocation (and the freeze), which read the older ranking."""
    s = db
    call, _props, by_id = _graded(s)
    rv.run_calibration(s, call, n_bootstrap=10)
    a = rq.assignments_of_call(s, call)[0]
    review = rq.review_of(s, a.id)
    assert review is not None
    rv.submit_review(
        s,
        a,
        by_id[a.reviewer_id],
        grade=5 if review.grade != 5 else 1,
        comments_to_applicants="changed my mind",
    )
    with pytest.raises(DomainError, match="calibrate again"):
        rv.freeze_ranking(s, call)
    assert call.ranking_frozen_at is None
    cycle.transition_call(s, call, "ranking")
    cycle.transition_call(s, call, "allocation")
    with pytest.raises(DomainError, match="calibrate again"):
        al.run_allocation(s, call)
    assert al.decisions(s, call) == []
    cycle.transition_call(s, call, "ranking")
    rv.run_calibration(s, call, n_bootstrap=10)
    cycle.transition_call(s, call, "allocation")
    al.run_allocation(s, call)
    assert len(al.decisions(s, call)) == 3


def test_a_deactivated_reviewers_grades_still_count(db: Session) -> None:
    """A reviewer removed mid-review (account deactivated) after submitting: the grades
    given stay in the ranking, the open assignments can be reassigned, nothing breaks."""
    s = db
    call, props, reviewers = F.call_in_review(s, 3, 3)
    call.anonymity = "single"
    rv.run_assignment(s, call)
    by_id = {u.id: u for u in reviewers}
    gone = reviewers[0]
    theirs = [a for a in rq.assignments_of_call(s, call) if a.reviewer_id == gone.id]
    assert theirs
    rv.submit_review(s, theirs[0], gone, grade=4, comments_to_applicants="ok")
    gone.is_active = False
    s.flush()
    for a in rq.assignments_of_call(s, call):
        if a.reviewer_id != gone.id:
            rv.submit_review(s, a, by_id[a.reviewer_id], grade=3, comments_to_applicants="ok")
    rv.run_calibration(s, call, n_bootstrap=10)
    counted = al.counted_reviews(s, call)
    pid = theirs[0].proposal_id
    # every review of that proposal counts, the deactivated reviewer's included
    assert counted[pid] == sum(a.proposal_id == pid for a in rq.assignments_of_call(s, call))
    assert (pid, gone.id) in rq.submitted_pairs(s, call)
    assert {r.proposal_id for r in rq.ranking(s, call)} == {p.id for p in props}


def test_a_deactivated_reviewer_gets_no_new_proposals(db: Session) -> None:
    """Before: re-running the assignment (or adding a reviewer by hand) after a reviewer's
    account was deactivated gave that account proposals it could never review."""
    s = db
    call, props, reviewers = F.call_in_review(s, 3, 4, reviewers_per_proposal=2)
    gone = reviewers[0]
    gone.is_active = False
    s.flush()
    rv.run_assignment(s, call)
    assert gone.id not in {a.reviewer_id for a in rq.assignments_of_call(s, call)}
    free = next(
        p for p in props if gone.id not in {a.reviewer_id for a in rq.assignments_of_call(s, call)}
    )
    with pytest.raises(DomainError, match="deactivated"):
        rv.add_assignment(s, call, free, gone)
    assert gone.id not in {a.reviewer_id for a in rq.assignments_of_call(s, call)}
