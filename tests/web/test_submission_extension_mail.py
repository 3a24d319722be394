"""The PI is told of their proposal's own submission deadline (mend22): when the user
office extends it (``PUT /api/v1/proposals/{id}/deadline`` or the cockpit's form), the PI
gets an e-mail in their language, the new deadline on their own clock, with the link to
the proposal. Before, nobody was told. The PI alone may submit, so the PI alone is mailed
(as the draft reminders are): not the co-investigators, nor the office. The mail names no
one of the office (who may also review) and not the reason given (the office's note)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from opencall import jobs
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.proposals import services as ps
from tests import factories as f
from tests.people.mailbox import mails
from tests.web.conftest import Web, csrf

UNTIL = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)  # later than any clock the suite runs on
UTC_ISO = UNTIL.isoformat()


def _world(factory: sessionmaker[Session]) -> dict[str, object]:
    with factory() as s:
        call = f.fast_call(s)
        p = f.full_proposal(s, call)
        pi = s.get(User, p.pi_user_id)
        assert pi is not None
        pi.language, pi.time_zone = "fr", "Asia/Tokyo"
        coi = f.user(s)
        invited = ps.invite_member(
            s,
            p,
            {"email": coi.email, "name": coi.name, "institution": "IISc", "country_iso3": "IND"},
            now=f.NOW,
        )
        ps.respond_to_invitation(s, invited, coi, accept=True)  # a co-investigator who may see it
        office = f.user(s, name="Octavia Officewright")
        people_services.grant_role(s, office.id, "call_manager", call_id=call.id)
        people_services.grant_role(s, office.id, "reviewer", call_id=call.id)
        _t, raw = people_services.create_api_token(s, office, "t")
        s.commit()
        return {
            "pid": p.id,
            "code": p.code,
            "title": p.title,
            "slug": call.slug,
            "pi": pi.email,
            "coi": coi.email,
            "office": office.email,
            "office_name": office.name,
            "raw": raw,
        }


def _check(web: Web, w: dict[str, object], reason: str) -> None:
    jobs.run_pending(web.app.state.sessions, web.app.state.jobs)  # the API queues, a worker sends
    sent = mails(web.settings.mail_dir)
    assert [m.to for m in sent] == [w["pi"]], [(m.to, m.subject) for m in sent]
    mail = sent[0]
    assert str(w["code"]) in mail.subject and "prolong" in mail.subject.lower(), mail.subject
    # French, on the PI's clock (Tokyo), and the link to the proposal
    assert "1 janv. 2099, 09:00 (heure : Japon, UTC+09:00)" in mail.body, mail.body
    assert f"http://testserver/proposals/{w['pid']}" in mail.body
    assert str(w["title"]) in mail.body
    for hidden in (w["office"], w["office_name"], reason):
        assert str(hidden) not in mail.body and str(hidden) not in mail.subject


def test_the_api_extension_mails_the_pi_alone(web: Web, factory: sessionmaker[Session]) -> None:
    w = _world(factory)
    body = {"until": UTC_ISO, "reason": "Visa office closed"}
    r = web.client().put(
        f"/api/v1/proposals/{w['pid']}/deadline",
        headers={"Authorization": f"Bearer {w['raw']}"},
        json=body,
    )
    assert r.status_code == 200, r.text
    _check(web, w, "Visa office closed")
    # refused (no reason): nothing more is sent
    r = web.client().put(
        f"/api/v1/proposals/{w['pid']}/deadline",
        headers={"Authorization": f"Bearer {w['raw']}"},
        json={**body, "reason": " "},
    )
    assert r.status_code == 400, r.text
    jobs.run_pending(web.app.state.sessions, web.app.state.jobs)
    assert len(mails(web.settings.mail_dir)) == 1


def test_the_cockpit_extension_mails_the_pi_alone(web: Web, factory: sessionmaker[Session]) -> None:
    w = _world(factory)
    c = web.login(str(w["office"]))
    form = {"csrf_token": csrf(c, f"/manage/calls/{w['slug']}")}
    form |= {"proposal": str(w["code"]), "reason": "Power cut", "until": "2099-01-01"}
    # the cockpit's day ends on the call's clock: 23:59:59 UTC for this call
    r = c.post(f"/manage/calls/{w['slug']}/submission-extension", data=form)
    assert r.status_code == 303, r.text[:2000]
    sent = mails(web.settings.mail_dir)
    assert [m.to for m in sent] == [w["pi"]]
    assert "2 janv. 2099, 08:59 (heure : Japon, UTC+09:00)" in sent[0].body, sent[0].body
    assert "Power cut" not in sent[0].body and str(w["office_name"]) not in sent[0].body


def test_the_same_deadline_granted_again_mails_nobody(
    web: Web, factory: sessionmaker[Session]
) -> None:
    """mend23: the page and the API each queued the mail after the grant, so the office
    granting the same deadline again (a second click, the API call retried, the cockpit
    after the API) mailed the PI again. One step now (``proposals.workflow``): the same
    deadline again mails nobody, by either path; a changed one mails once."""
    w = _world(factory)
    url = f"/api/v1/proposals/{w['pid']}/deadline"
    bearer = {"Authorization": f"Bearer {w['raw']}"}
    for reason in ("Visa office closed", "Visa office closed", "Retried, a new note"):
        r = web.client().put(url, headers=bearer, json={"until": UTC_ISO, "reason": reason})
        assert r.status_code == 200, r.text
    jobs.run_pending(web.app.state.sessions, web.app.state.jobs)
    assert len(mails(web.settings.mail_dir)) == 1
    # the cockpit's form, the same instant (2099-01-01 09:00 on the call's clock, UTC)
    c = web.login(str(w["office"]))
    form = {"csrf_token": csrf(c, f"/manage/calls/{w['slug']}")}
    form |= {"proposal": str(w["code"]), "reason": "Power cut", "until": "2099-01-01 00:00"}
    r = c.post(f"/manage/calls/{w['slug']}/submission-extension", data=form)
    assert r.status_code == 303, r.text[:2000]
    assert len(mails(web.settings.mail_dir)) == 1
    # a later deadline: one mail, with it
    later = (UNTIL + dt.timedelta(days=7)).isoformat()
    r = web.client().put(url, headers=bearer, json={"until": later, "reason": "Longer"})
    assert r.status_code == 200, r.text
    jobs.run_pending(web.app.state.sessions, web.app.state.jobs)
    sent = mails(web.settings.mail_dir)
    assert len(sent) == 2, [(m.to, m.subject) for m in sent]
    assert ["8 janv. 2099" in m.body for m in sent].count(True) == 1, [m.body for m in sent]
