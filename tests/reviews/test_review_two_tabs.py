"""A reviewer writing the same review in two tabs (trialrev22): before, the review form
carried no version, so the tab opened first and saved last (its background save on a slow
link, or "Save draft" pressed) silently replaced what the other tab had saved — the notes
written there were gone, with "Saved" shown in both tabs. Now the form carries the
review's version; a save made against an older one is refused (409 for the page's script,
with the review as stored so that the tab can show it; the page again with the typed text
kept otherwise), and nothing changes."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session, sessionmaker

from opencall.reviews import queries as rq
from opencall.reviews.models import ReviewAssignment
from tests.review_cycle import Cycle, Web, accepting_reviewer
from tests.web.conftest import api_bearer, csrf

JSON = {"Accept": "application/json"}
STALE = "This review was changed elsewhere since you opened it"


def _version(html: str) -> str:
    found = re.search(r'<input type="hidden" name="version" value="([^"]*)"', html)
    assert found, "the review form carries no version"
    return found.group(1)


def test_the_tab_opened_first_does_not_erase_the_other(
    web: Web, cycle: Cycle, factory: sessionmaker[Session]
) -> None:
    aid = cycle.ids["assignment"]
    rev, path = accepting_reviewer(web, cycle)
    first = _version(rev.get(path).text)  # tab A opened
    second = _version(rev.get(path).text)  # tab B opened
    assert first == second

    def form(version: str, notes: str, action: str = "save") -> dict[str, str]:
        return {
            "csrf_token": csrf(rev, path),
            "grade": "",
            "confidence": "",
            "comments_to_panel": notes,
            "version": version,
            "action": action,
        }

    # tab B saves its notes (the background save answers the new version)
    b = rev.post(path, data=form(second, "B: the RFI plan is thin."), headers=JSON)
    assert b.status_code == 200, b.text
    assert b.json()["version"] != first
    # tab A, opened before, saves in the background: refused, B's notes kept
    a = rev.post(path, data=form(first, "A: strong timing case."), headers=JSON)
    assert a.status_code == 409, a.text
    answer = a.json()
    assert STALE in answer["errors"]["form"]
    assert answer["fields"]["comments_to_panel"] == "B: the RFI plan is thin."
    assert answer["version"] == b.json()["version"]
    # without the script: the page again, A's text in the form, the message said
    page = rev.post(path, data=form(first, "A: strong timing case."))
    assert page.status_code == 409
    assert STALE in page.text and "A: strong timing case." in page.text
    assert _version(page.text) == b.json()["version"]  # saving again is on the latest
    # submitting from the stale tab is refused too
    sub = form(first, "A: strong timing case.", "submit")
    sub.update(grade="4", confidence="3", comments_to_applicants="Good.")
    assert rev.post(path, data=sub, headers=JSON).status_code == 409
    with factory() as s:
        a_row = s.get(ReviewAssignment, aid)
        assert a_row is not None and a_row.status == "accepted"
        review = rq.review_of(s, aid)
        assert review is not None and review.comments_to_panel == "B: the RFI plan is thin."
    # tab A saves again on the version it was given: kept
    again = rev.post(path, data=form(answer["version"], "A and B merged."), headers=JSON)
    assert again.status_code == 200, again.text
    with factory() as s:
        review = rq.review_of(s, aid)
        assert review is not None and review.comments_to_panel == "A and B merged."


def test_the_api_checks_the_version_it_is_given(web: Web, cycle: Cycle) -> None:
    """An API client may send the ``version`` it read (``review.version``): another one is
    refused, 409, nothing written; without it the save is not checked, as before."""
    aid = cycle.ids["assignment"]
    headers = api_bearer(web, cycle.emails["assigned"], scopes=("review",))
    c = web.client()
    path = f"/api/v1/assignments/{aid}/review"
    first = c.post(path, headers=headers, json={"final": False, "comments_to_panel": "One."})
    assert first.status_code == 200, first.text
    v1 = first.json()["version"]
    assert c.get(f"/api/v1/assignments/{aid}", headers=headers).json()["review"]["version"] == v1
    second = c.post(
        path, headers=headers, json={"final": False, "comments_to_panel": "Two.", "version": v1}
    )
    assert second.status_code == 200 and second.json()["version"] == v1 + 1, second.text
    stale = c.post(
        path, headers=headers, json={"final": False, "comments_to_panel": "Old.", "version": v1}
    )
    assert stale.status_code == 409, stale.text
    assert "version" in stale.json()["detail"]
    review = c.get(f"/api/v1/assignments/{aid}", headers=headers).json()["review"]
    assert review["comments_to_panel"] == "Two."
    unchecked = c.post(path, headers=headers, json={"final": False, "comments_to_panel": "Three."})
    assert unchecked.status_code == 200 and unchecked.json()["version"] == v1 + 2


def test_a_save_after_the_other_tab_submitted_says_so(web: Web, cycle: Cycle) -> None:
    """Tab B submits; tab A, still open on the form, saves its draft in the background.
    Before, a bare 404 page, which the page's script read as "no answer from the server"
    and sent again every few minutes; now 409 "This review was already submitted.",
    nothing written."""
    rev, path = accepting_reviewer(web, cycle)
    version = _version(rev.get(path).text)
    token = csrf(rev, path)
    sub = {
        "csrf_token": token,
        "grade": "4",
        "confidence": "3",
        "comments_to_applicants": "Good.",
        "comments_to_panel": "",
        "version": version,
        "action": "submit",
    }
    assert rev.post(path, data=sub).status_code == 303
    draft = {**sub, "action": "save", "comments_to_panel": "Tab A's notes."}
    a = rev.post(path, data=draft, headers=JSON)
    assert (a.status_code, a.headers["content-type"]) == (409, "application/json"), a.text
    assert "This review was already submitted." in a.json()["errors"]["form"]
    page = rev.post(path, data=draft)
    assert page.status_code == 409 and "This review was already submitted." in page.text
