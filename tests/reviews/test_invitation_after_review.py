"""trialrev21: a reviewer in several calls, one of which has left its review.

An invitation never answered stayed under "Invitations to review" on the reviewer's page
after the chair moved the call on to its ranking (and on to allocation, publication),
beside the invitations of the calls still in review, and accepting it still worked: the
assignment became "accepted" in a call where no review can be written any more (the
review form is shown only while the call is closed or in review). Now such an invitation
is not listed, and an answer to it is refused, saying why, nothing changed; the chair
reopening the review lists it again."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call
from opencall.cycle import services as cycle_services
from opencall.reviews.models import ReviewAssignment
from tests.review_cycle import Cycle, Web, csrf


def _move(factory: sessionmaker[Session], call_id: int, status: str) -> None:
    with factory() as s:
        call = s.get(Call, call_id)
        assert call is not None
        cycle_services.transition_call(s, call, status)
        s.commit()


def _invitations(page: str) -> str:
    return page.split("<h2>Invitations to review</h2>", 1)[1].split("<h2>", 1)[0]


def test_an_invitation_of_a_call_past_review_is_neither_listed_nor_answered(
    web: Web, cycle: Cycle
) -> None:
    aid = cycle.ids["assignment"]
    c = web.login(cycle.emails["assigned"])
    assert f'href="/review/assignments/{aid}"' in _invitations(c.get("/review").text)
    tok = csrf(c, f"/review/assignments/{aid}")
    _move(web.factory, cycle.ids["call"], "ranking")
    assert "No open invitations." in _invitations(c.get("/review").text)
    r = c.post(f"/review/assignments/{aid}/respond", data={"csrf_token": tok, "action": "accept"})
    assert r.status_code == 400
    assert "The review of this call is over: this invitation can no longer be answered." in r.text
    with web.factory() as s:
        a = s.get(ReviewAssignment, aid)
        assert a is not None and a.status == "assigned"
    # the review reopened: the invitation is back, and may be answered
    _move(web.factory, cycle.ids["call"], "review")
    assert f'href="/review/assignments/{aid}"' in _invitations(c.get("/review").text)
    r = c.post(f"/review/assignments/{aid}/respond", data={"csrf_token": tok, "action": "accept"})
    assert r.status_code == 303
