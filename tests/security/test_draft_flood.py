"""Drafts without end (trialcrowd13). Any verified account may start proposals in an open
call, and nothing bounded how many: a script with one account (or its API token) made
60 drafts in a row through `POST /api/v1/proposals`, each with the call's next code, an
audit event written under the audit chain's lock (which every audited write of the site
waits for) and rows that stay; withdrawing each and starting the next escaped any count
of drafts alone. Now a PI holds at most `MAX_UNSUBMITTED` proposals never submitted
(drafts and drafts withdrawn) in one call; the next start is refused with a clear message
and nothing written. A retry of the same start still answers the draft it made, a
submitted proposal does not count, and other applicants are not affected."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from opencall.errors import DomainError
from opencall.proposals import services as ps
from opencall.proposals.services import lifecycle
from tests import factories as f


def test_a_pi_cannot_start_drafts_without_end(db: Session, monkeypatch: Any) -> None:
    monkeypatch.setattr(lifecycle, "MAX_UNSUBMITTED", 3)
    call = f.fast_call(db)
    pi = f.user(db)
    submitted = f.full_proposal(db, call, pi)
    ps.submit(db, submitted, now=f.NOW)  # submitted: not counted
    drafts = [ps.create_proposal(db, call, pi, title=f"Draft {i}", now=f.NOW) for i in range(2)]
    ps.withdraw(db, drafts[0], actor_id=pi.id, now=f.NOW)  # withdrawn before submission: counted
    third = ps.create_proposal(db, call, pi, title="Draft 2", now=f.NOW, reuse_recent=True)
    before = f.table_counts(db)
    with pytest.raises(DomainError) as err:
        ps.create_proposal(db, call, pi, title="Draft 3", now=f.NOW, reuse_recent=True)
    assert err.value.field == "form" and "never submitted" in err.value.message
    assert err.value.params == {"n": 3}
    assert f.table_counts(db) == before
    # the same start sent again answers the draft it made
    again = ps.create_proposal(db, call, pi, title="Draft 2", now=f.NOW, reuse_recent=True)
    assert again.id == third.id and f.table_counts(db) == before
    # others start theirs
    assert ps.create_proposal(db, call, f.user(db), title="Mine", now=f.NOW).status == "draft"


def test_a_draft_holds_a_bounded_number_of_requests(db: Session, monkeypatch: Any) -> None:
    """Each request of a proposal is a row the editor shows as a form, a part of the
    frozen revision, and a variable of the call's allocation: a script could add them
    one after the other without end (the call's total per proposal, where it has one,
    bounds their sum, not their number)."""
    from opencall.proposals.services import requests

    monkeypatch.setattr(requests, "MAX_REQUESTS", 2)
    call = f.fast_call(db)
    p = f.full_proposal(db, call)
    details = {"receiver": "19-beam", "mode": "Tracking", "targets": [dict(f.TARGETS[0])]}
    ps.add_request(db, p, "fast", details, now=f.NOW)
    before = f.table_counts(db)
    with pytest.raises(DomainError) as err:
        ps.add_request(db, p, "fast", details, now=f.NOW)
    assert err.value.params == {"max": 2}, err.value.message
    assert f.table_counts(db) == before and len(p.requests) == 2
