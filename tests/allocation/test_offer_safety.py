"""Freed capacity and the chair's override keep the safety review (trialfac24d): in a call
whose samples get a safety review (``review_settings.hazard_classes``), a proposal the
safety review refused is never awarded by hand, before the release (an override to
awarded) nor after it (an offer of freed capacity, by hand or from the reserve list); after
the release, one not yet reviewed, or whose class needs approval and has none, is not
offered either (no release gate comes after an offer). Each such proposal is kept out of
the next in line and each refusal says why, changing nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.allocation import services as al
from opencall.allocation.models import Decision
from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.optim.messages import render
from opencall.reviews.models import SafetyReview
from opencall.web.i18n import Translator
from tests import factories as F
from tests.allocation.test_offer_under_policy import _proposal
from tests.allocation.test_offer_under_policy_23 import _decline, _refused, _released
from tests.authz.test_workspace_matrix import session_client
from tests.results.decline_world import Declining, build
from tests.results.test_decline_web import _token
from tests.web.conftest import Web

SAFETY = {"hazard_classes": ["none", "radioactive"], "approval_required": ["radioactive"]}


def _safety_call(s: Session, release: bool) -> tuple[Call, list[int]]:
    """A FAST call of four proposals, room for two awards, with a safety review: ranks 1
    and 2 classed ``none`` (no approval needed), ranks 3 and 4 not reviewed yet."""
    call, order, _outcome = _released(s, {}, ["KEN", "PER", "KEN", "PER"], None, release=False)
    call.review_settings = {**(call.review_settings or {}), **SAFETY}
    for pid in order[:2]:
        _review(s, call, pid, "none", "pending")
    al.run_allocation(s, call)
    if release:
        al.release_decisions(s, call)
    return call, order


def _review(s: Session, call: Call, pid: int, hazard: str, decision: str) -> None:
    sr = s.scalar(select(SafetyReview).where(SafetyReview.proposal_id == pid))
    if sr is None:
        sr = SafetyReview(call_id=call.id, proposal_id=pid, reviewer_id=F.user(s).id)
        s.add(sr)
    sr.hazard_class, sr.decision = hazard, decision
    s.flush()


def _line(s: Session, call: Call) -> list[int]:
    return [p.id for _rank, p, _shares in al.next_in_line(s, call)]


def _held(s: Session, call: Call) -> dict[int, str]:
    """The proposals shown as held by their safety review in the next in line, with why."""
    return {p.id: render(why) for _rank, p, why in al.line_and_held(s, call)[1]}


def test_freed_capacity_is_not_offered_against_the_safety_review(db: Session) -> None:
    """Rank 2 declines. Rank 3, refused by the safety review, and rank 4, not reviewed
    and then radioactive awaiting approval, are not in line and not offered; once rank
    4's class is approved it is in line and takes the freed capacity."""
    s = db
    call, order = _safety_call(s, release=True)
    outcome = {d.proposal_id: d.outcome for d in s.scalars(select(Decision))}
    assert [outcome[p] for p in order] == ["awarded", "awarded", "not_awarded", "not_awarded"]
    _decline(s, order[1])
    _review(s, call, order[2], "none", "refused")
    assert _line(s, call) == []
    assert _held(s, call) == {
        order[2]: "held: the safety review refused its samples",
        order[3]: "held: its samples have no safety review yet",
    }
    _refused(s, call, order[2], "the safety review refused")
    _refused(s, call, order[3], "no safety review yet")
    _review(s, call, order[3], "radioactive", "pending")
    assert _line(s, call) == []
    assert "approval" in _held(s, call)[order[3]]
    _refused(s, call, order[3], "needs the safety officer's approval")
    _review(s, call, order[3], "radioactive", "approved")
    assert _line(s, call) == [order[3]]
    assert list(_held(s, call)) == [order[2]]
    assert al.offer_award(s, call, _proposal(s, order[3]), reason="next").outcome == "awarded"


def test_an_override_to_awarded_keeps_a_safety_refusal(db: Session) -> None:
    """Before the release the chair may not override a proposal the safety review
    refused to awarded (the release would then be held on it); a proposal not reviewed
    yet may be (the release waits for its review)."""
    s = db
    call, order = _safety_call(s, release=False)
    al.override_decision(s, call, _proposal(s, order[1]), outcome="not_awarded", reason="out")
    _review(s, call, order[2], "none", "refused")
    counts = F.table_counts(s)
    with pytest.raises(DomainError, match="the safety review refused"):
        al.override_decision(s, call, _proposal(s, order[2]), outcome="awarded", reason="in")
    assert F.table_counts(s) == counts
    d = s.scalar(select(Decision).where(Decision.proposal_id == order[2]))
    assert d is not None and d.outcome == "not_awarded"
    made = al.override_decision(s, call, _proposal(s, order[3]), outcome="awarded", reason="in")
    assert made.outcome == "awarded"


def test_the_chair_sees_the_proposals_held_by_their_safety_review(web: Web) -> None:
    """The declines page and API show the proposal the safety review refused as held,
    with why, in the reader's language, and never to a chair conflicted with it; the
    offer on the page is refused with the reason, nothing changed."""
    with web.factory() as s:
        w = build(s)
        call = s.get(Call, w.call_id)
        assert call is not None
        call.review_settings = {**(call.review_settings or {}), **SAFETY}
        _decline(s, w.awarded[1])
        _review(s, call, w.waiting[0], "none", "refused")
        _review(s, call, w.waiting[1], "none", "pending")
        s.commit()
    chair, _ = session_client(web, w.emails["chair"])
    api = web.client()
    listed = api.get(f"/api/v1/calls/{w.slug}/declines", headers=_bearer(web, "chair", w)).json()
    assert [x["proposal_id"] for x in listed["next_in_line"]] == [w.waiting[1]], listed
    assert [(x["proposal_id"], x["why"]) for x in listed["held_by_safety"]] == [
        (w.waiting[0], "held: the safety review refused its samples")
    ], listed
    chair.cookies.set("oc_lang", "fr")
    said = Translator("fr").gettext("held: the safety review refused its samples")
    assert said != "held: the safety review refused its samples"
    assert said in chair.get(f"/manage/calls/{w.slug}/declines").text
    conflicted, _ = session_client(web, w.emails["conflicted"])
    seen = api.get(f"/api/v1/calls/{w.slug}/declines", headers=_bearer(web, "conflicted", w))
    seen = seen.json()
    assert seen["held_by_safety"] == [], seen
    assert f'id="h{w.waiting[0]}"' not in conflicted.get(f"/manage/calls/{w.slug}/declines").text


def _bearer(web: Web, who: str, w: Declining) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(web, w.emails[who])}"}
