"""What a reviewer reads: the frozen revision, or the live content of a draft never
submitted, anonymised by the call's rule (``reviews.policies.reviewer_content``, a
decision over ``reviews.queries.revision``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall.proposals import services as ps
from opencall.reviews import queries as rq
from opencall.reviews.policies import reviewer_content
from tests import factories as f


def test_a_never_submitted_draft_is_read_live_and_anonymised(db: Session) -> None:
    call = f.fast_call(db)  # dual-anonymous
    p = f.full_proposal(db, call)
    assert p.current_revision_id is None
    content = rq.revision(db, p)
    assert content["title"] == "Pulsar timing with FAST"
    assert content["team"] and content["team"][0]["email"]
    seen = reviewer_content(db, p)
    assert seen["title"] == "Pulsar timing with FAST"
    assert seen["team"] == []  # dual-anonymous: no team at all
    assert seen["requests"] == content["requests"]


def test_a_submitted_proposal_is_read_as_frozen(db: Session) -> None:
    call = f.fast_call(db)
    p = f.full_proposal(db, call)
    ps.submit(db, p, now=f.NOW)
    ps.update_proposal(db, p, {"title": "Edited after submission"}, now=f.NOW)
    assert rq.revision(db, p)["title"] == "Pulsar timing with FAST"
    assert reviewer_content(db, p)["title"] == "Pulsar timing with FAST"
    assert ps.snapshot(p)["title"] == "Edited after submission"
