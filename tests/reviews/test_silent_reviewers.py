"""Reviewers who say no or say nothing (trialrev15). A reviewer who declined a proposal
was offered it again when the chair assigned the pair by hand (the declined row was set
back to "assigned"); now the hand assignment is refused, as the automatic one never
offers it. A reviewer silent past their review deadline left their proposal looking
covered: the chair's shortfall list did not name it; now it is listed as ``overdue``
(the deadline each reviewer has, an extension included), and once the chair removes the
silent assignment the automatic assignment replaces the reviewer, never with the same one,
keeping conflicts and loads."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.shortfall import uncovered_rows
from opencall.web.i18n import Translator
from tests import factories as F


def test_a_declined_reviewer_is_not_offered_the_proposal_again_by_hand(db: Session) -> None:
    s = db
    call, props, reviewers = F.call_in_review(s, 2, 3, reviewers_per_proposal=2)
    rv.run_assignment(s, call)
    a = next(x for x in rq.assignments_of_call(s, call) if x.proposal_id == props[0].id)
    declined_by = next(r for r in reviewers if r.id == a.reviewer_id)
    rv.respond_to_assignment(s, a, declined_by, accept=False)
    before = F.table_counts(s)
    with pytest.raises(DomainError, match="declined"):
        rv.add_assignment(s, call, props[0], declined_by)
    assert a.status == "declined" and F.table_counts(s) == before
    # nor by the automatic assignment, which replaces them with someone else
    rv.run_assignment(s, call, seed=1)
    now = {
        (x.proposal_id, x.reviewer_id): x.status
        for x in rq.assignments_of_call(s, call, active=False)
    }
    assert now[(props[0].id, declined_by.id)] == "declined"
    active = [r for (p, r), st in now.items() if p == props[0].id and st == "assigned"]
    assert len(active) == 2 and declined_by.id not in active


def test_a_reviewer_silent_past_the_deadline_is_listed_and_replaced(db: Session) -> None:
    s = db
    call, props, reviewers = F.call_in_review(s, 2, 3, reviewers_per_proposal=2)
    rv.run_assignment(s, call)
    pairs = rq.assignments_of_call(s, call)
    by_id = {u.id: u for u in reviewers}
    now = utcnow()
    call.review_settings = {
        **call.review_settings,
        "review_deadline": (now + dt.timedelta(days=1)).isoformat(),
    }
    s.flush()
    # every proposal's reviewers but one of p0's answer in time
    silent = next(a for a in pairs if a.proposal_id == props[0].id)
    for a in pairs:
        if a is not silent:
            rv.submit_review(s, a, by_id[a.reviewer_id], grade=3, comments_to_applicants="ok")
    assert rv.uncovered_proposals(s, call, now=now) == []  # not due yet
    later = now + dt.timedelta(days=2)
    short = rv.uncovered_proposals(s, call, now=later)
    assert [(u.proposal_id, u.needed, u.assigned, u.reason) for u in short] == [
        (props[0].id, 2, 1, "overdue")
    ]
    rows = uncovered_rows(s, call, frozenset(), Translator("en"), now=later)
    assert "has not submitted by the review deadline" in rows[0]["explanation"]
    assert by_id[silent.reviewer_id].name not in rows[0]["explanation"]
    # a proposal withheld from the reader is not listed
    assert rv.uncovered_proposals(s, call, withheld=frozenset({props[0].id}), now=later) == []
    # an extension for the silent reviewer: not overdue until it passes
    rv.extend_review_deadline(
        s, call, by_id[silent.reviewer_id], now + dt.timedelta(days=3), actor_id=None, now=now
    )
    assert rv.uncovered_proposals(s, call, now=later) == []
    even_later = now + dt.timedelta(days=4)
    assert [u.reason for u in rv.uncovered_proposals(s, call, now=even_later)] == ["overdue"]
    # the chair removes the silent assignment; the automatic assignment replaces the
    # reviewer with the third one, never the silent one again
    rv.remove_assignment(s, silent, reason="silent past the deadline")
    rv.run_assignment(s, call, seed=2)
    mine = {
        a.reviewer_id: a.status
        for a in rq.assignments_of_call(s, call, active=False)
        if a.proposal_id == props[0].id
    }
    assert mine[silent.reviewer_id] == "removed"
    assert sorted(st for st in mine.values()) == ["assigned", "removed", "submitted"]
