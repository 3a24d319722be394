"""outcomes24: the later parts of a multi-period award on the web and the API.

Round 23 held a programme's later periods' parts (``allocation.later_parts``) through the
command line alone: its PI could not see on the award's page, nor read in the API, that a
part of a later period was held for the programme (nor whether its progress report was
accepted), and the user office could hold a part and answer the progress report only on
the server's shell. Now the award's page and ``GET /api/v1/awards/<id>`` show the later
parts to the award's team and office; the office holds a part and answers the progress
report on the award's page and through the API (``POST /api/v1/calls/<slug>/awards/<id>/
later-parts``, ``.../later-parts/<part>/progress``), in a later call its office manages
only; the PI is mailed when a part is held (the progress report is then due) and when the
report is answered. Refused input changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.allocation import later_parts as lp
from opencall.allocation.models import AwardLaterPart
from opencall.calls.models import Call
from opencall.jobs import Job
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.proposals.models import Proposal
from tests import factories as F
from tests.authz.test_workspace_matrix import session_client
from tests.results.course_world import course_world
from tests.web.conftest import Web

OFFICE = "office@later.example"
STRANGER = "stranger@later.example"


def _world(db: Session) -> dict[str, Any]:
    """A programme awarded in the course's call, a later call in review offering a
    resource, the course provider's office (also the later call's), an office of the
    course's provider alone, and their ids and e-mails."""
    call, props = course_world(db, ["ETH", "KEN"])
    for p in props.values():
        p.status = "accepted"  # as the release of the decisions leaves it
    later, _props, _reviewers = F.call_in_review(db, 3, 3)
    office = F.user(db, email=OFFICE)
    stranger = F.user(db, email=STRANGER)
    for provider_id in (call.provider_id, later.provider_id):
        people_services.grant_role(db, office.id, "call_manager", provider_id=provider_id)
    people_services.grant_role(db, stranger.id, "call_manager", provider_id=call.provider_id)
    programme = props["ETH"]
    pi = next(m for m in programme.members if m.role == "pi")
    db.flush()
    return {
        "slug": call.slug,
        "pid": programme.id,
        "later": later.slug,
        "later_title": later.title,
        "pool": later.pools[0].pool_id,
        "pool_name": later.pools[0].pool.name,
        "unit": later.pools[0].pool.unit,
        "pi": pi.email,
        "pi_id": pi.user_id,
        "office_id": office.id,
    }


def _built(web: Web) -> dict[str, Any]:
    with web.factory() as db:
        w = _world(db)
        db.commit()
    return w


def _token(web: Web, email: str) -> str:
    with web.factory() as db:
        u = db.scalar(select(User).where(User.email == email))
        assert u is not None
        raw = people_services.create_api_token(db, u, "t")[1]
        db.commit()
    return raw


def _parts(web: Web) -> list[tuple[int, str, float, str]]:
    with web.factory() as db:
        return [
            (p.pool_id, p.status, p.amount, p.note)
            for p in db.scalars(select(AwardLaterPart).order_by(AwardLaterPart.id))
        ]


def _mails_to(web: Web, email: str) -> list[str]:
    with web.factory() as db:
        return [
            j.payload["subject"] + "\n" + j.payload["body"]
            for j in db.scalars(select(Job).where(Job.kind == "mail").order_by(Job.id))
            if j.payload.get("to") == email
        ]


def test_the_team_sees_the_later_parts_on_the_award_page_and_in_the_api(web: Web) -> None:
    w = _built(web)
    with web.factory() as db:
        p = db.get_one(Proposal, w["pid"])
        later = db.scalar(select(AwardLaterPart.id))
        assert later is None
        part = lp.hold_later_part(db, p, lp_call(db, w["later"]), w["pool"], 6.0)
        db.commit()
        part_id = part.id
    client, _tok = session_client(web, w["pi"])
    page = client.get(f"/awards/{w['pid']}").text
    assert 'id="later-parts"' in page, "the PI's award page says nothing of the later period"
    assert w["later_title"] in page and w["pool_name"] in page and "Held" in page
    raw = _token(web, w["pi"])
    out = web.client().get(f"/api/v1/awards/{w['pid']}",
                           headers={"Authorization": f"Bearer {raw}"}).json()  # fmt: skip
    assert out.get("later_parts") == [
        {"id": part_id, "later_call": w["later"], "later_call_title": w["later_title"],
         "resource_id": w["pool"], "resource": w["pool_name"], "unit": w["unit"], "amount": 6.0,
         "status": "held", "note": "", "decided_at": None}
    ]  # fmt: skip
    with web.factory() as db:
        row = db.get_one(AwardLaterPart, part_id)
        lp.decide_later_part(db, row, accepted=True, note="Two papers; data reduced.")
        db.commit()
    page = client.get(f"/awards/{w['pid']}").text
    assert "Released" in page and "Two papers; data reduced." in page


def lp_call(db: Session, slug: str) -> Any:
    from opencall.calls.queries import call_by_slug

    call = call_by_slug(db, slug)
    assert call is not None
    return call


def test_the_office_holds_and_answers_through_the_api(web: Web) -> None:
    w = _built(web)
    base = f"/api/v1/calls/{w['slug']}/awards/{w['pid']}/later-parts"
    office = {"Authorization": f"Bearer {_token(web, OFFICE)}"}
    body = {"later_call": w["later"], "resource_id": w["pool"], "amount": 4.5}
    client = web.client()
    # the PI and an office that does not manage the later call: nothing held
    r = client.post(base, json=body, headers={"Authorization": f"Bearer {_token(web, w['pi'])}"})
    assert r.status_code == 404
    r = client.post(base, json=body,
                    headers={"Authorization": f"Bearer {_token(web, STRANGER)}"})  # fmt: skip
    assert r.status_code == 400 and "later call" in r.json()["detail"], r.text
    for bad in ({**body, "amount": 0}, {**body, "amount": 1e9}, {**body, "later_call": w["slug"]},
                {**body, "later_call": "no-such-call"}):  # fmt: skip
        r = client.post(base, json=bad, headers=office)
        assert r.status_code in (400, 422), (bad, r.text)
    assert _parts(web) == [] and _mails_to(web, w["pi"]) == []
    r = client.post(base, json=body, headers=office)
    assert r.status_code == 201, r.text
    part = r.json()
    assert (part["status"], part["amount"], part["later_call"]) == ("held", 4.5, w["later"])
    (held_mail,) = _mails_to(web, w["pi"])
    assert w["later_title"] in held_mail and "progress report" in held_mail
    # the progress report: a note is required; answered once
    url = f"{base}/{part['id']}/progress"
    r = client.post(url, json={"accept": False, "note": "  "}, headers=office)
    assert r.status_code == 400
    assert _parts(web) == [(w["pool"], "held", 4.5, "")]
    r = client.post(url, json={"accept": False, "note": "No report came."}, headers=office)
    assert r.status_code == 200 and r.json()["status"] == "returned", r.text
    again = client.post(url, json={"accept": True, "note": "late"}, headers=office)
    assert again.status_code == 400 and "decided already" in again.json()["detail"]
    assert _parts(web) == [(w["pool"], "returned", 4.5, "No report came.")]
    mails = _mails_to(web, w["pi"])
    assert len(mails) == 2 and "No report came." in mails[1]


def test_the_office_holds_and_answers_on_the_award_page(web: Web) -> None:
    w = _built(web)
    base = f"/manage/calls/{w['slug']}/awards/{w['pid']}/later-parts"
    form = {"later_call": w["later"], "resource_id": str(w["pool"]), "amount": "3"}
    for email in (w["pi"], STRANGER):
        client, tok = session_client(web, email)
        r = client.post(base, data={**form, "csrf_token": tok})
        assert r.status_code in (400, 404), r.text[:300]
    client, tok = session_client(web, OFFICE)
    page = client.get(f"/awards/{w['pid']}").text
    assert f'action="{base}"' in page, "the office has no form to hold a later part"
    r = client.post(base, data={**form, "amount": "-1", "csrf_token": tok})
    assert r.status_code == 400 and "positive number" in r.text
    assert _parts(web) == []
    r = client.post(base, data={**form, "csrf_token": tok}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    ((pool, status, amount, _note),) = _parts(web)
    assert (pool, status, amount) == (w["pool"], "held", 3.0)
    with web.factory() as db:
        part_id = db.scalar(select(AwardLaterPart.id))
    r = client.post(f"{base}/{part_id}/progress",
                    data={"decision": "accept", "note": "On track.", "csrf_token": tok},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:300]
    assert _parts(web) == [(w["pool"], "released", 3.0, "On track.")]
    pi_client, _t = session_client(web, w["pi"])
    page = pi_client.get(f"/awards/{w['pid']}").text
    assert "On track." in page and f'action="{base}' not in page


def _held_in_review(db: Session) -> tuple[Proposal, AwardLaterPart, str]:
    """A programme's part held in a later call in review (its allocation is next), the
    PI's e-mail."""
    w = _world(db)
    p = db.get_one(Proposal, w["pid"])
    part = lp.hold_later_part(db, p, lp_call(db, w["later"]), w["pool"], 2.0)
    return p, part, w["pi"]


def _reminders(db: Session, email: str) -> int:
    return sum(
        1 for j in db.scalars(select(Job).where(Job.kind == "mail")) if j.payload.get("to") == email
    )


def test_the_pi_is_reminded_of_the_progress_report_until_it_is_answered(db: Session) -> None:
    """A part held in a later call that has closed (its allocation is next) and not yet
    answered: its PI is reminded that the progress report is due, once every
    ``PROGRESS_REMIND_EVERY_DAYS`` days, at most ``PROGRESS_REMINDERS_MAX`` times, and
    never once the report is answered. Twice the same day reminds once."""
    _p, part, pi = _held_in_review(db)
    day = F.NOW.date()
    base = "https://opencall.example"
    assert lp.queue_progress_reminders(db, base, day) == 1, "no reminder of the progress report"
    assert lp.queue_progress_reminders(db, base, day) == 0
    every = lp.PROGRESS_REMIND_EVERY_DAYS
    assert lp.queue_progress_reminders(db, base, day + dt.timedelta(days=every - 1)) == 0
    sent = 1
    for k in range(1, lp.PROGRESS_REMINDERS_MAX + 2):
        sent += lp.queue_progress_reminders(db, base, day + dt.timedelta(days=every * k))
    assert sent == lp.PROGRESS_REMINDERS_MAX == _reminders(db, pi)
    assert part.reminders_sent == lp.PROGRESS_REMINDERS_MAX
    mail = next(j for j in db.scalars(select(Job).where(Job.kind == "mail")))
    assert (
        "progress report" in mail.payload["body"]
        and f"/awards/{part.proposal_id}" in (mail.payload["body"])
    )


def test_no_reminder_before_the_later_call_closes_nor_after_the_answer(db: Session) -> None:
    p, part, pi = _held_in_review(db)
    day = F.NOW.date()
    later = db.get_one(Call, part.later_call_id)
    later.status = "open"  # its proposals are still coming in: not due yet
    db.flush()
    assert lp.queue_progress_reminders(db, "https://x.example", day) == 0
    later.status = "ranking"
    lp.decide_later_part(db, part, accepted=True, note="Fine.")
    assert lp.queue_progress_reminders(db, "https://x.example", day) == 0
    assert _reminders(db, pi) == 0 and part.reminders_sent == 0 and p.id == part.proposal_id


def test_a_deactivated_pi_is_not_reminded(db: Session) -> None:
    _p, part, pi = _held_in_review(db)
    user = db.scalar(select(User).where(User.email == pi))
    assert user is not None
    user.is_active = False
    db.flush()
    assert lp.queue_progress_reminders(db, "https://x.example", F.NOW.date()) == 0
    assert _reminders(db, pi) == 0
