"""Decision e-mails after the release: queued as one job by the release (never sent
by the web request, never capped per request), then every message goes out through
the worker with no further web request, each in the member's language."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from opencall import jobs, worker
from opencall.allocation.models import Decision
from opencall.calls.models import Call
from opencall.people import services as people_services
from opencall.proposals import services as prop_services
from opencall.web.i18n import Translator
from tests import factories as F
from tests.people.mailbox import mails
from tests.web import conftest as webconf
from tests.web.conftest import Web, csrf, web_settings

web = webconf.web  # the web fixture
N = 130  # more than the old cap of 100 messages per request


def _world(s: Session, n: int = N) -> tuple[str, str, list[str]]:
    call, pool = F.samples_call(s)
    emails = []
    for i in range(n):
        who = F.user(s, email=f"applicant{i}@example.org", language=["fr", "zh", "es"][i % 3])
        p = prop_services.create_proposal(
            s, call, who, title=f"Ages {i}", abstract="a", science_case="b", now=F.NOW
        )
        s.add(Decision(call_id=call.id, proposal_id=p.id, outcome="not_awarded", explanation=""))
        emails.append(who.email)
    call.status = "allocation"
    s.execute(delete(jobs.Job))  # the applicants' anonymity scans: not this test's business
    chair = F.user(s, email="chair@example.org")
    people_services.grant_role(s, chair.id, "call_manager", provider_id=call.provider_id)
    s.flush()
    return call.slug, chair.email, emails


def test_every_decision_mail_goes_out_through_the_worker(web: Web) -> None:
    settings = web_settings(web.factory.kw["bind"], web.tmp, inline_jobs=False)
    from opencall.app import create_app

    web = Web(create_app(settings), settings, web.factory, web.tmp)
    with web.factory() as s:
        slug, chair, emails = _world(s)
        s.commit()
    c = web.login(chair)
    token = csrf(c, f"/manage/calls/{slug}/decisions")
    r = c.post(f"/manage/calls/{slug}/release", data={"csrf_token": token, "confirm": "yes"})
    assert r.status_code == 303, r.text[:1000]
    assert not list(settings.mail_dir.glob("*.eml"))  # the request sent nothing itself
    with web.factory() as s:
        kinds = dict(
            s.execute(
                select(jobs.Job.kind, func.count())
                .where(jobs.Job.status == "queued")
                .group_by(jobs.Job.kind)
            ).all()
        )
    assert kinds == {"allocation.notify": 1}
    # the worker alone, no web request: every message goes out
    worker.work(settings, once=True, poll=0.01)
    sent = mails(settings.mail_dir)
    assert sorted(m.to for m in sent) == sorted(emails)
    by_to = {m.to: m for m in sent}
    subject = by_to["applicant1@example.org"].subject  # in Chinese, with the code
    assert subject == Translator("zh").gettext(
        "The decision on your proposal %(code)s", code=subject.split()[1]
    )
    with web.factory() as s:
        left = s.scalar(select(func.count()).select_from(jobs.Job).where(jobs.Job.status != "done"))
    assert left == 0
    web.app.state.engine.dispose()


def test_the_decision_mails_of_one_proposal(db: Session) -> None:
    """What both the worker's job and the API's release queue for a proposal: one mail
    per accepted member (in their language, or English without an account), none for
    a member who has not accepted, each linking to the proposal's outcome page."""
    from opencall.allocation.notify import queue_decision_mails
    from opencall.proposals.models import TeamMember

    call, _pool = F.samples_call(db)
    pi = F.user(db, email="pi@example.org", language="fr")
    p = prop_services.create_proposal(
        db, call, pi, title="Ages", abstract="a", science_case="b", now=F.NOW
    )
    for email, status in (("coi@example.org", "accepted"), ("late@example.org", "invited")):
        db.add(TeamMember(proposal_id=p.id, role="coi", email=email, name=email, status=status))
    db.flush()
    db.refresh(p)
    db.execute(delete(jobs.Job))
    ids = queue_decision_mails(db, call, p, "https://oc.example/")
    queued = {j.payload["to"]: j.payload for j in db.scalars(select(jobs.Job)).all()}
    assert sorted(ids) == sorted(j.id for j in db.scalars(select(jobs.Job)).all())
    assert set(queued) == {"pi@example.org", "coi@example.org"}
    fr = Translator("fr").gettext("The decision on your proposal %(code)s", code=p.code)
    en = Translator("en").gettext("The decision on your proposal %(code)s", code=p.code)
    assert queued["pi@example.org"]["subject"] == fr != en
    assert queued["coi@example.org"]["subject"] == en
    for m in queued.values():
        assert f"https://oc.example/proposals/{p.id}/outcome" in m["body"]


def test_the_decision_mails_link_to_the_address_set_when_they_are_queued(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """An allocation.notify job queued (or failed and retried) before OPENCALL_BASE_URL
    changed links to the site's address as it is when the job runs, not to the one of the
    release (the job once carried it in its payload)."""
    from opencall.registry import build_registry
    from opencall.settings import Settings

    with factory() as s:
        slug, _chair, emails = _world(s, n=2)
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        # the payload the release queued under the old address
        job = jobs.enqueue(
            s, "allocation.notify", {"call_id": call.id, "base_url": "http://old.example"}
        )
        s.commit()
        job_id = job.id
    settings = Settings(
        base_url="https://new.example.org", mail_dir=tmp_path / "mail", upload_dir=tmp_path
    )
    done = jobs.run_one(factory, build_registry(settings), ids=[job_id])
    assert done is not None and done.status == "done", done and done.error
    with factory() as s:
        bodies = [
            j.payload["body"] for j in s.scalars(select(jobs.Job).where(jobs.Job.kind == "mail"))
        ]
    assert len(bodies) == len(emails) == 2
    for body in bodies:
        assert "https://new.example.org/proposals/" in body
        assert "old.example" not in body
