"""Two releases of a call's decisions at the same moment (a double click, two chairs,
the page and the API) mail every applicant once. Before the fix each request read
"not released yet" before either wrote, both released and both queued the decision
e-mails: every applicant was mailed their decision twice (two ``allocation.notify``
jobs, two ``decisions.released`` events). The release now locks the call's row and
reads the release time again under the lock; the e-mails are queued by the request
that released."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from opencall import auditlog, jobs
from opencall.allocation import services as al
from opencall.allocation.models import Decision
from opencall.app import create_app
from opencall.people import services as people_services
from opencall.proposals import services as prop_services
from tests import factories as F
from tests.security.races import post_held_together
from tests.web.conftest import Web, web_settings


def _world(s: Session) -> tuple[str, str]:
    call, _pool = F.samples_call(s)
    for i in range(3):
        who = F.user(s, email=f"applicant{i}@example.org")
        p = prop_services.create_proposal(
            s, call, who, title=f"Ages {i}", abstract="a", science_case="b", now=F.NOW
        )
        s.add(Decision(call_id=call.id, proposal_id=p.id, outcome="not_awarded", explanation=""))
    call.status = "allocation"
    s.execute(delete(jobs.Job))
    chair = F.user(s, email="chair@example.org")
    people_services.grant_role(s, chair.id, "call_manager", provider_id=call.provider_id)
    s.flush()
    return call.slug, chair.email


def test_two_releases_at_once_mail_once(web: Web, monkeypatch: Any) -> None:
    settings = web_settings(web.factory.kw["bind"], web.tmp, inline_jobs=False)
    web = Web(create_app(settings), settings, web.factory, web.tmp)
    with web.factory() as s:
        slug, chair = _world(s)
        s.commit()
    # both requests have read the call before either releases (the race's window)
    answers = post_held_together(
        web,
        monkeypatch,
        al,
        "release_decisions",
        email=chair,
        form_page=f"/manage/calls/{slug}/decisions",
        path=f"/manage/calls/{slug}/release",
    )
    assert answers == [303, 303], answers
    with web.factory() as s:
        notify = s.scalar(
            select(func.count()).select_from(jobs.Job).where(jobs.Job.kind == "allocation.notify")
        )
        released = s.scalar(
            select(func.count())
            .select_from(auditlog.AuditEvent)
            .where(auditlog.AuditEvent.action == "decisions.released")
        )
    assert (notify, released) == (1, 1)
    web.app.state.engine.dispose()
