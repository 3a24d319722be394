"""Two publications of a call at the same moment (a double click, two officers, the page
and the API) publish it once. Before the fix each request read "scheduling" before either
wrote, both moved the call to "published" and both recorded call.published and
call.transition: the audit log said the call was published twice. The publication now
locks the call's row and reads its status again under the lock (as the release of the
decisions does); the second finds the call published and does nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.app import create_app
from opencall.calls.models import Call
from opencall.db import utcnow
from opencall.people import services as people_services
from opencall.scheduling import services as sched
from tests import factories as F
from tests.security.races import post_held_together
from tests.web.conftest import Web, web_settings


def _transitions(s: Session) -> int:
    return (
        s.scalar(
            select(func.count())
            .select_from(auditlog.AuditEvent)
            .where(auditlog.AuditEvent.action == "call.transition")
        )
        or 0
    )


def _world(s: Session) -> tuple[str, str]:
    call, _pool = F.samples_call(s)
    call.status = "scheduling"
    call.decisions_released_at = utcnow()
    officer = F.user(s, email="office@example.org")
    people_services.grant_role(s, officer.id, "call_manager", provider_id=call.provider_id)
    s.flush()
    return call.slug, officer.email


def test_two_publications_at_once_publish_once(web: Web, monkeypatch: Any) -> None:
    settings = web_settings(web.factory.kw["bind"], web.tmp, inline_jobs=False)
    web = Web(create_app(settings), settings, web.factory, web.tmp)
    with web.factory() as s:
        slug, officer = _world(s)
        s.commit()
        before = _transitions(s)
    # both requests have read the call (still "scheduling") before either publishes
    answers = post_held_together(
        web,
        monkeypatch,
        sched,
        "publish",
        email=officer,
        form_page=f"/manage/calls/{slug}/schedule",
        path=f"/manage/calls/{slug}/publish",
    )
    assert answers == [303, 303], answers
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        assert call.status == "published"
        published = s.scalar(
            select(func.count())
            .select_from(auditlog.AuditEvent)
            .where(auditlog.AuditEvent.action == "call.published")
        )
        transitions = _transitions(s) - before
    assert (published, transitions) == (1, 1)
    web.app.state.engine.dispose()
