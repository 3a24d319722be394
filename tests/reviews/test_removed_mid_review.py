"""A reviewer removed by the chair while writing (trialrev22): before, the next save of
the open form answered a bare 404 page. The page's background save (safe-save.js) read
that as "sent, no answer came back: may have been stored" and sent it again and again
(at most every 5 minutes, for as long as the tab stayed open), telling the reviewer the
connection was at fault; without the script the text typed was lost behind "Not found".
Now the save is refused as what it is (410, nothing written): the script is told why in
the reader's words and stops, and the page without it shows the reviewer their own text
to keep, and nothing of the proposal."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from opencall.proposals.models import Proposal
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.models import ReviewAssignment
from tests.review_cycle import Cycle, Web, accepting_reviewer
from tests.web.conftest import csrf

JSON = {"Accept": "application/json"}
GONE = "This review is no longer assigned to you"
NOTES = "Second half: the noise budget ignores the 2 GHz band."


def test_a_save_after_the_chair_removed_the_review_says_so(
    web: Web, cycle: Cycle, factory: sessionmaker[Session]
) -> None:
    aid = cycle.ids["assignment"]
    rev, path, first, (title, _abstract) = _saved_then_removed(web, cycle, factory, "First.")
    form = {**first, "comments_to_panel": NOTES, "action": "save"}
    bg = rev.post(path, data=form, headers=JSON)
    assert (bg.status_code, bg.headers["content-type"]) == (410, "application/json"), bg.text
    assert GONE in bg.json()["errors"]["form"]
    page = rev.post(path, data=form)
    assert page.status_code == 410
    assert GONE in page.text and NOTES in page.text
    assert title not in page.text
    rev.get("/lang/fr")  # in the reader's language
    fr = rev.post(path, data=form, headers=JSON)
    assert "Cette évaluation ne vous est plus confiée" in fr.json()["errors"]["form"]
    with factory() as s:
        review = rq.review_of(s, aid)
        assert review is not None and review.comments_to_panel == "First."
    # to another reviewer of the call, the assignment is still a plain 404
    other = web.login(cycle.emails["unassigned"])
    t = csrf(other, "/review")
    assert other.post(path, data={**form, "csrf_token": t}).status_code == 404
    assert other.post(path, data={**form, "csrf_token": t}, headers=JSON).status_code == 404


def test_the_email_link_of_a_removed_review_says_it_was_removed(
    web: Web, cycle: Cycle, factory: sessionmaker[Session]
) -> None:
    """trialapp23: the reviewer follows the link of the e-mail that assigned the review
    (``/review/assignments/<id>``) after the chair removed it. Before, a plain 404 "Not
    found", as for a link mistyped; now 410 saying the review is no longer theirs, their
    own saved draft shown back to copy, nothing of the proposal; anyone else still 404."""
    rev, path, _draft, (title, abstract) = _saved_then_removed(web, cycle, factory, NOTES)
    page = rev.get(path)
    assert page.status_code == 410, (page.status_code, page.text[-600:])
    assert "This review is no longer assigned to you" in page.text
    assert NOTES in page.text  # their own draft, to keep
    assert title not in page.text and abstract not in page.text
    rev.get("/lang/es")
    assert "Esta evaluación ya no le está asignada" in rev.get(path).text
    other = web.login(cycle.emails["unassigned"])
    assert other.get(path).status_code == 404


def _saved_then_removed(
    web: Web, cycle: Cycle, factory: sessionmaker[Session], notes: str
) -> tuple[Any, str, dict[str, str], tuple[str, str]]:
    """The reviewer saves a draft with ``notes`` for the panel, then the chair removes the
    review: their client, the assignment's path, the draft's form, and the proposal's
    title and abstract (which the reviewer's pages must not show any more)."""
    rev, path = accepting_reviewer(web, cycle)
    token = csrf(rev, path)
    draft = {"csrf_token": token, "grade": "", "confidence": "", "comments_to_panel": notes}
    assert rev.post(path, data={**draft, "action": "save"}).status_code == 303
    with factory() as s:
        a = s.get(ReviewAssignment, cycle.ids["assignment"])
        assert a is not None
        rv.remove_assignment(s, a, reason="reviewer unreachable")
        proposal = s.get(Proposal, a.proposal_id)
        assert proposal is not None
        shown = (proposal.title, proposal.abstract)
        s.commit()
    return rev, path, draft, shown
