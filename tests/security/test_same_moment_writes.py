"""Two writes of the same thing at the same moment (a double click, two tabs, a script
and a page): the one that commits second finds the row the first one added (a unique
key) and is answered 409 "someone else saved this at the same moment; nothing was
changed", on the pages and the API, instead of a 500; the first one's write is kept.
Reproduced here by letting the second request read the state from before the first
one's commit: two tabs saving a reviewer's first draft both find no review and both
insert one. Before the fix the second answered 500 (IntegrityError on the unique
``reviews.assignment_id``)."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from opencall.reviews import queries as rq
from opencall.reviews.models import Review
from tests.review_cycle import Cycle
from tests.web.conftest import Web, api_bearer, csrf

pytestmark = pytest.mark.filterwarnings("ignore")


def _reviews(web: Web, aid: int) -> list[tuple[float, str]]:
    with web.factory() as s:
        return [
            (r.grade, r.comments_to_applicants)
            for r in s.scalars(select(Review).where(Review.assignment_id == aid))
        ]


def test_the_second_of_two_first_drafts_is_a_409(
    web: Web, cycle: Cycle, monkeypatch: pytest.MonkeyPatch
) -> None:
    rev = web.login(cycle.emails["assigned"], lang="fr")
    aid = cycle.ids["assignment"]
    path = f"/review/assignments/{aid}"
    tok = csrf(rev, "/review")
    r = rev.post(f"{path}/respond", data={"csrf_token": tok, "action": "accept"})
    assert r.status_code == 303
    draft = {"csrf_token": tok, "grade": "3", "confidence": "2", "action": "save"}
    r = rev.post(path, data={**draft, "comments_to_applicants": "first tab"})
    assert r.status_code == 303, r.text[:300]
    # the second tab read the assignment before the first one's draft was committed
    monkeypatch.setattr(rq, "review_of", lambda _s, _aid: None)
    r = rev.post(path, data={**draft, "comments_to_applicants": "second tab"})
    assert r.status_code == 409, r.status_code
    assert "au même moment" in html.unescape(r.text)
    h = api_bearer(web, cycle.emails["assigned"], ("review",))
    r = web.client().post(
        f"/api/v1/assignments/{aid}/review",
        json={"grade": 2, "confidence": 2, "comments_to_applicants": "script", "final": False},
        headers=h,
    )
    assert r.status_code == 409, r.text[:300]
    assert "at the same moment" in r.json()["detail"]
    assert _reviews(web, aid) == [(3.0, "first tab")]
