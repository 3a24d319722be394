"""Two cuts of a continuous call's batches at the same moment (a double click, two
officers, the page and cron) make one batch. Each request reads the call before either
writes; the cut locks the call's row as a close does and reads its cut-offs again under
the lock, so the second finds the cut-off cut and is refused, changing nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.app import create_app
from opencall.calls.models import Call
from opencall.cycle import batches
from opencall.cycle import services as cycle
from opencall.db import utcnow
from opencall.people import services as people_services
from opencall.proposals import services as ps
from tests import factories as F
from tests.security.races import post_held_together
from tests.web.conftest import Web, web_settings


def _world(s: Session) -> tuple[str, str]:
    now = utcnow().replace(microsecond=0)
    call = F.fast_call(s, status="draft")
    call.mode = "continuous"
    call.opens_at = now - dt.timedelta(days=30)
    call.closes_at = F.NOW + dt.timedelta(days=30)  # the factories' proposals are made at NOW
    call.cutoffs = [(now - dt.timedelta(hours=1)).isoformat(), call.closes_at.isoformat()]
    cycle.transition_call(s, call, "open", now=now)
    for _ in range(2):
        ps.submit(s, F.full_proposal(s, call), now=now - dt.timedelta(hours=2))
    officer = F.user(s, email="office@example.org")
    people_services.grant_role(s, officer.id, "call_manager", provider_id=call.provider_id)
    s.flush()
    return call.slug, officer.email


def test_two_cuts_at_once_make_one_batch(
    pinned_clock: dt.datetime, web: Web, monkeypatch: Any
) -> None:
    """On the pinned clock (flake21): the call opens 30 days before the clock and the
    factories make its proposals at ``F.NOW`` (2027-04-01), so on the real clock it
    failed once the real date passed 2027-05-01 ("This call opens at 2027-05-06 ...
    it is not open yet", ``pytest --clock-ahead=180``)."""
    settings = web_settings(web.factory.kw["bind"], web.tmp, inline_jobs=False)
    web = Web(create_app(settings), settings, web.factory, web.tmp)
    with web.factory() as s:
        slug, officer = _world(s)
        s.commit()
    answers = post_held_together(
        web,
        monkeypatch,
        batches,
        "cut",
        email=officer,
        form_page=f"/manage/calls/{slug}/batches",
        path=f"/manage/calls/{slug}/batches/cut",
    )
    assert answers == [303, 400], answers
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        made = list(s.scalars(select(Call).where(Call.parent_id == call.id)))
        cuts = s.scalar(
            select(func.count())
            .select_from(auditlog.AuditEvent)
            .where(auditlog.AuditEvent.action == "call.batch_cut")
        )
        assert call.cutoffs_done == 1 and len(made) == 1 and cuts == 1
    web.app.state.engine.dispose()
