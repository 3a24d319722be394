"""A reviewer's requests for more time are bounded (trialcrowd15). Each request is an
audit event, kept for good and written under the audit chain's lock that every audited
write of the site waits for, and the chair's assignments page reads all of them again at
each load: a reviewer's script sent them without end. Now a reviewer asks at most
``reviews.services.reviewing.MAX_MORE_TIME_ASKS`` (3) times about one review; the next is
refused beside the form (400, in the reader's language), nothing recorded."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opencall.auditlog import AuditEvent
from opencall.calls.models import Call
from opencall.db import utcnow
from tests.review_cycle import Cycle
from tests.web.conftest import Web, csrf

pytestmark = pytest.mark.filterwarnings("ignore")


def _asked(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return (
            s.scalar(
                select(func.count(AuditEvent.id)).where(
                    AuditEvent.action == "review.more_time_asked"
                )
            )
            or 0
        )


def test_a_reviewer_asks_for_more_time_a_bounded_number_of_times(
    web: Web, cycle: Cycle, factory: sessionmaker[Session]
) -> None:
    with factory() as s:
        call = s.get(Call, cycle.ids["call"])
        assert call is not None
        due = utcnow() + dt.timedelta(days=2)
        call.review_settings = {**call.review_settings, "review_deadline": due.isoformat()}
        s.commit()
    rev = web.login(cycle.emails["assigned"], lang="es")
    path = f"/review/assignments/{cycle.ids['assignment']}"

    def ask(why: str):  # type: ignore[no-untyped-def]
        return rev.post(
            f"{path}/more-time", data={"csrf_token": csrf(rev, "/review"), "more_time": why}
        )

    for i in range(3):
        assert ask(f"Fieldwork, week {i}").status_code == 303
    assert _asked(factory) == 3
    refused = ask("Fieldwork, once more")
    assert refused.status_code == 400
    assert "3 veces" in html.unescape(refused.text)
    assert _asked(factory) == 3
