"""Closing a call freezes its submitted proposals with the same number of SELECTs
whatever their number (no query per proposal for its revision or its anonymity
scans), and still restores each to its submitted revision."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from opencall.proposals import services as prop_services
from opencall.proposals.models import AnonymityScan, Proposal
from tests import factories as F


def close_selects(factory: sessionmaker[Session], n: int) -> int:
    with factory() as s:
        call = F.fast_call(s)
        call.anonymity = "dual"
        props = []
        for _ in range(n):
            p = F.full_proposal(s, call)
            prop_services.submit(s, p, now=F.NOW)
            props.append(p)
        # an edit after submission: the close restores the submitted text
        props[0].title = "Edited after submission"
        s.commit()
        call_id, first = call.id, props[0].id
        seen: list[str] = []

        def count(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
            if re.match(r"\s*SELECT\b", statement, re.I):
                seen.append(statement)

        engine = s.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert prop_services.close_call(s, call, reason="test", now=F.NOW) == n
        finally:
            event.remove(engine, "before_cursor_execute", count)
        s.commit()
        s.expire_all()
        frozen = s.get(Proposal, first)
        assert frozen is not None and frozen.status == "under_review"
        assert frozen.title == "Pulsar timing with FAST"
        # the restored text was scanned before: no new scan is queued for it
        scans = s.query(AnonymityScan).filter(AnonymityScan.proposal_id == first).count()
        assert scans >= 1 and call_id
        return len(seen)


def test_close_issues_the_same_selects_for_3_or_15_proposals(factory) -> None:
    assert close_selects(factory, 15) <= close_selects(factory, 3)
