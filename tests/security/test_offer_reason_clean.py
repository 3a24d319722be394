"""The hand offer's reason (trialop19b). The chair who offers a declined award's freed
capacity to the next in line gives a reason that the new awardee reads in their decision
("overridden by the chair: ..."); the TAC chair's reasons were refused when they named a
reviewer or another proposal (its code, its title, a member of its team), but this one
was not, so the chair could name the declined proposal there. Now the same check
(``allocation.reasons.require_clean``) refuses it on the service, the page and the API,
saying neither which, and nothing changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.allocation import services as al
from opencall.allocation.models import Decision
from opencall.errors import DomainError
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.results import declines
from opencall.reviews.models import ReviewAssignment
from tests import factories as F
from tests.allocation.test_edges import ranked_call
from tests.authz.test_workspace_matrix import session_client
from tests.results.decline_world import build, get_call, get_proposal
from tests.results.test_decline_web import _count, _token, _world
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")

REFUSED = "name no reviewer and no other proposal"


def test_a_hand_offer_s_reason_naming_the_declined_proposal_is_refused(db: Session) -> None:
    s = db
    w = build(s)
    call = get_call(s, w)
    chair = s.get(User, w.ids["chair"])
    assert chair is not None
    first = get_proposal(s, w.awarded[0])
    first.title = "Deep field survey of faint dwarf galaxies"
    s.flush()
    declines.decline_award(s, first, reason="dates", actor_id=w.ids["pi"])
    nxt = get_proposal(s, w.waiting[0])
    reviewer = s.scalar(
        select(User.email)
        .join(ReviewAssignment, ReviewAssignment.reviewer_id == User.id)
        .where(ReviewAssignment.call_id == call.id)
    )
    assert reviewer
    counts = F.table_counts(s)
    for reason in (
        f"{first.code} declined its award",
        "freed by Deep field survey of faint dwarf galaxies",
        "Co Applicant's team declined",  # a member of the declined proposal's team
        "coi@decline.example declined",
        f"{reviewer.upper()} said so",  # a reviewer of the call (e-mail)
    ):
        with pytest.raises(DomainError, match=REFUSED):
            al.offer_award(s, call, nxt, reason=reason, actor_id=chair.id)
    assert F.table_counts(s) == counts
    # the applicant's own code and a plain reason are fine
    d = al.offer_award(s, call, nxt, reason=f"{nxt.code} is next in line", actor_id=chair.id)
    assert d.outcome == "awarded"


def test_the_page_and_the_api_refuse_it_and_change_nothing(web: Web) -> None:
    w = _world(web)
    api = web.client()
    pi = {"Authorization": f"Bearer {_token(web, w.emails['pi'])}"}
    body = {"reason": "funding", "note": "", "confirm": True}
    assert api.post(f"/api/v1/awards/{w.awarded[0]}/decline", headers=pi, json=body).is_success
    with web.factory() as s:
        declined = get_proposal(s, w.awarded[0]).code
    first = w.waiting[1]
    chair, tok = session_client(web, w.emails["chair"])
    r = chair.post(f"/manage/calls/{w.slug}/declines/{first}/offer",
                   data={"csrf_token": tok, "reason": f"{declined} declined"})  # fmt: skip
    assert r.status_code == 400 and "no other proposal" in r.text
    cj = {"Authorization": f"Bearer {_token(web, w.emails['chair'])}"}
    r = api.post(f"/api/v1/calls/{w.slug}/declines/{first}/offer", headers=cj,
                 json={"reason": f"freed by {declined}"})  # fmt: skip
    assert r.status_code == 400 and "no other proposal" in r.text
    with web.factory() as s:
        d = s.scalar(select(Decision).where(Decision.proposal_id == first))
        assert d is not None and d.outcome == "not_awarded"
    assert _count(web, Decision) > 0


def test_a_chair_s_override_reason_is_checked_alike(db: Session) -> None:
    """The override's reason is read by the applicant too ("overridden by the chair: ...")."""
    s = db
    call = ranked_call(s, n_proposals=3)
    al.run_allocation(s, call)
    one, other = s.scalars(select(Proposal).where(Proposal.call_id == call.id)).all()[:2]
    counts = F.table_counts(s)
    with pytest.raises(DomainError, match=REFUSED):
        al.override_decision(
            s, call, one, outcome="not_awarded", reason=f"{other.code} is stronger"
        )
    assert F.table_counts(s) == counts
    d = al.override_decision(s, call, one, outcome="not_awarded", reason="outside the scope")
    assert d.outcome == "not_awarded"
