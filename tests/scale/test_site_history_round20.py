"""A site after years of calls, round 20 (scale20): what grows with history.

* The staff calendar of a slot resource (page and iCalendar) read every proposal under
  review of the call (with its team, for the identities) to name the few booked on that
  resource: now only the proposals the resource's slots and unplaced requests name, by a
  subquery in SQL; the page and the file byte for byte the same.
* The allocation and the reviewer assignment read the 250 countries of the reference
  data on every run: now the countries the proposals (their PIs, the destinations their
  requests name) and the reviewers name.
* GET pages that wrote to the database: see ``test_a_get_walk_writes_nothing``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from opencall.proposals.models import Proposal, TeamMember
from tests import factories as F
from tests.authz.test_workspace_matrix import session_client
from tests.scale.test_paged_lists import _loaded
from tests.scheduling.conftest import SlotWorld, get_call
from tests.scheduling.conftest import _schedule_clock, stored  # noqa: F401  (fixtures)
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


@contextmanager
def statements(engine: Any) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements run meanwhile (text and parameters)."""
    seen: list[tuple[str, Any]] = []

    def on(_conn: Any, _cursor: Any, sql: str, params: Any, *_a: Any) -> None:
        seen.append((sql, params))

    event.listen(engine, "before_cursor_execute", on)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on)


def same(body: bytes) -> bytes:
    """The answer without what changes from request to request (its form's token, the
    scripts' nonce)."""
    body = re.sub(rb'(csrf_token"? value=")[^"]+', rb"\1", body)
    return re.sub(rb'(nonce=")[^"]+', rb"\1", body)


def more_under_review(s: Session, call_id: int, n: int) -> None:
    """``n`` more proposals under review in the call (years of a call's history: the
    proposals that never book this resource), each with its PI on the team."""
    from opencall.calls.models import Call

    call = s.get(Call, call_id)
    assert call is not None
    for i in range(n):
        pi = F.user(s, country="KEN")
        p = Proposal(
            call_id=call.id,
            code=f"{call.slug[:3].upper()}-X{i:03d}",
            pi_user_id=pi.id,
            title=f"Elsewhere {i}",
            status="under_review",
        )
        s.add(p)
        s.flush()
        s.add(
            TeamMember(
                proposal_id=p.id,
                user_id=pi.id,
                role="pi",
                email=pi.email,
                name=pi.name,
                country_iso3="KEN",
                status="accepted",
            )
        )
    s.flush()


def test_the_staff_calendar_reads_only_the_proposals_of_its_resource(
    web: Web, stored: SlotWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thirty more proposals under review (none on the resource): the staff calendar's
    page and file read the two proposals booked on it, not the call's 32; and both are
    byte for byte what the whole list gave."""
    from opencall.reviews import queries as rq
    from opencall.reviews.presenters import proposal_rows
    from opencall.scheduling import slot_views
    from opencall.scheduling.models import ScheduleEntry

    sw = stored
    with web.factory() as s:
        more_under_review(s, sw.call_id, 30)
        s.commit()
        call = get_call(s, sw)
        on_pool = set(
            s.scalars(select(ScheduleEntry.proposal_id).where(ScheduleEntry.pool_id == sw.pools["b"]))
        )
        assert 1 <= len(on_pool) <= 2 and len(rq.proposals_for_review(s, call)) >= 32
    base = f"/manage/calls/{sw.slug}/resources/{sw.pools['b']}"
    bodies: dict[tuple[str, str], bytes] = {}
    for who in ("manager", "chair"):
        c, _ = session_client(web, sw.emails[who])
        for path in (f"{base}/calendar", f"{base}/calendar.ics"):
            c.get(path)  # warm
            with _loaded(Proposal, TeamMember) as n:
                r = c.get(path)
            assert r.status_code == 200, (who, path, r.text[:300])
            bodies[(who, path)] = same(r.content)
            assert n["Proposal"] <= len(on_pool), (who, path, n)
            assert n["TeamMember"] <= 2 * len(on_pool), (who, path, n)
    # the rows as the whole list of the call's proposals under review named them
    monkeypatch.setattr(
        slot_views,
        "_staff_rows",
        lambda page, call, *_a: proposal_rows(page, call, rq.proposals_for_review(page.db, call)),
    )
    for (who, path), body in bodies.items():
        c, _ = session_client(web, sw.emails[who])
        assert same(c.get(path).content) == body, (who, path)
