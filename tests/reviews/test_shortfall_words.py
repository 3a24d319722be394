"""A proposal short of reviewers says why in the right words (mend11c): "Only 1 reviewer
is free of conflicts" (not "1 reviewers"), and a call whose pool holds fewer reviewers
than the reviews a proposal needs is short for that reason (``pool``), not for conflicts."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall.reviews import services as rv
from opencall.reviews.services.assignment import Uncovered
from opencall.web.i18n import Translator
from tests import factories as F


def _short(reason: str, free: int, needed: int = 2) -> Uncovered:
    return Uncovered(
        proposal_id=1, needed=needed, assigned=0, reason=reason, free=free, load_to_cover=3
    )


def test_the_count_of_free_reviewers_agrees_with_its_noun() -> None:
    from opencall.reviews.shortfall import short_explanation

    en = Translator("en")
    assert short_explanation(en, _short("conflicts", 1)).startswith(
        "Only 1 reviewer is free of conflicts with it"
    )
    assert short_explanation(en, _short("conflicts", 2)).startswith(
        "Only 2 reviewers are free of conflicts with it"
    )
    assert "1 reviewers" not in short_explanation(Translator("fr"), _short("conflicts", 1))
    said = short_explanation(en, _short("pool", 1, needed=3))
    assert said.startswith("The call has fewer reviewers than the 3 reviews"), said


def test_a_pool_smaller_than_the_reviews_needed_is_short_for_that(db: Session) -> None:
    call, props, _reviewers = F.call_in_review(db, 2, 1, reviewers_per_proposal=2)
    rv.run_assignment(db, call)
    assert {(u.reason, u.free) for u in rv.uncovered_proposals(db, call)} == {("pool", 1)}
