"""Declining an award on the web and in the API: the PI's confirmation step, the
decline shown to the applicant and the chair, a resend that changes nothing; the
co-applicant, a reviewer and another PI refused (404, nothing changed); the chair's
next in line, without the proposal a chair is conflicted with, and the offer."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from opencall import jobs
from opencall.allocation.models import Award, AwardDecline, Decision
from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from opencall.proposals.models import Proposal
from opencall.web.i18n import Translator
from tests import factories as F
from tests.authz.test_workspace_matrix import session_client
from tests.results.decline_world import Declining, build
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def _world(web: Web) -> Declining:
    with web.factory() as s:
        w = build(s)
        s.commit()
    return w


def _count(web: Web, model: Any) -> int:
    with web.factory() as s:
        return s.scalar(select(func.count(model.id))) or 0


def _mails(web: Web) -> list[str]:
    with web.factory() as s:
        return [
            j.payload["to"]
            for j in s.scalars(
                select(jobs.Job).where(jobs.Job.kind == "mail").order_by(jobs.Job.id)
            )
        ]


def _token(web: Web, email: str) -> str:
    with web.factory() as s:
        u = user_by_email(s, email)
        assert u is not None
        raw = people_services.create_api_token(s, u, "t")[1]
        s.commit()
    return raw


def _code(web: Web, pid: int) -> str:
    with web.factory() as s:
        p = s.get(Proposal, pid)
        assert p is not None
        return p.code


def test_the_pi_declines_on_the_web_after_confirming(web: Web) -> None:
    w = _world(web)
    pid = w.awarded[0]
    c, tok = session_client(web, w.emails["pi"])
    r = c.get(f"/proposals/{pid}/outcome")
    assert r.status_code == 200 and f"/awards/{pid}/decline" in r.text
    r = c.get(f"/awards/{pid}/decline")
    assert r.status_code == 200 and 'name="reason"' in r.text
    # without the confirmation: asked again, nothing changed
    r = c.post(f"/awards/{pid}/decline", data={"csrf_token": tok, "reason": "visa"})
    assert r.status_code == 400 and _count(web, AwardDecline) == 0
    # a reason not on the list: refused, nothing changed
    r = c.post(f"/awards/{pid}/decline",
               data={"csrf_token": tok, "reason": "bored", "confirm": "yes"})  # fmt: skip
    assert r.status_code == 400 and _count(web, AwardDecline) == 0
    before = len(_mails(web))
    data = {"csrf_token": tok, "reason": "visa", "note": "Visa refused.", "confirm": "yes"}
    r = c.post(f"/awards/{pid}/decline", data=data)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/proposals/{pid}/outcome")
    assert _count(web, AwardDecline) == 1
    with web.factory() as s:
        assert not s.scalar(select(func.count(Award.id)).where(Award.proposal_id == pid))
    told = _mails(web)[before:]
    assert sorted(told) == sorted([w.emails["chair"], w.emails["conflicted"]])
    page = c.get(f"/proposals/{pid}/outcome").text
    assert "declined by the applicant" in page and f"/awards/{pid}/decline" not in page
    # the resent form: the same decline, no second mail
    r = c.post(f"/awards/{pid}/decline", data={**data, "reason": "funding"})
    assert r.status_code == 303 and _count(web, AwardDecline) == 1
    assert len(_mails(web)) == before + len(told)
    # in the applicant's language
    c.cookies.set("oc_lang", "fr")
    said = Translator("fr").gettext("declined by the applicant")
    assert said != "declined by the applicant" and said in c.get(f"/proposals/{pid}/outcome").text
    c.cookies.set("oc_lang", "en")
    # the chair reads it on the decisions page
    chair, _ = session_client(web, w.emails["chair"])
    assert "declined by the applicant" in chair.get(f"/manage/calls/{w.slug}/decisions").text


@pytest.mark.parametrize("who", ["coi", "reviewer", "other_pi", "chair"])
def test_nobody_but_the_pi_may_decline(web: Web, who: str) -> None:
    w = _world(web)
    pid = w.awarded[0]
    c, tok = session_client(web, w.emails[who])
    assert c.get(f"/awards/{pid}/decline").status_code == 404
    r = c.post(f"/awards/{pid}/decline",
               data={"csrf_token": tok, "reason": "visa", "confirm": "yes"})  # fmt: skip
    assert r.status_code == 404
    r = web.client().post(
        f"/api/v1/awards/{pid}/decline",
        headers={"Authorization": f"Bearer {_token(web, w.emails[who])}"},
        json={"reason": "visa", "confirm": True},
    )
    assert r.status_code == 404
    assert _count(web, AwardDecline) == 0
    with web.factory() as s:
        assert s.scalar(select(func.count(Award.id)).where(Award.proposal_id == pid))


def test_the_api_declines_once_and_the_chair_offers_to_the_next_in_line(web: Web) -> None:
    w = _world(web)
    pid = w.awarded[0]
    api = web.client()
    pi = {"Authorization": f"Bearer {_token(web, w.emails['pi'])}"}
    r = api.post(f"/api/v1/awards/{pid}/decline", headers=pi, json={"reason": "funding"})
    assert r.status_code == 400 and _count(web, AwardDecline) == 0  # not confirmed
    body = {"reason": "funding", "note": "Grant cut.", "confirm": True}
    r = api.post(f"/api/v1/awards/{pid}/decline", headers=pi, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["created"] is True and r.json()["freed"]
    r = api.post(f"/api/v1/awards/{pid}/decline", headers=pi, json=body)
    assert r.status_code == 200 and r.json()["created"] is False
    assert (
        api.get(f"/api/v1/proposals/{pid}/outcome", headers=pi).json()["declined"]["reason"]
        == "funding"
    )
    first, second = w.waiting
    # the conflicted chair sees neither the proposal nor a way to offer it
    conflicted, ctok = session_client(web, w.emails["conflicted"])
    page = conflicted.get(f"/manage/calls/{w.slug}/declines")
    assert page.status_code == 200
    assert _code(web, first) not in page.text and _code(web, second) in page.text
    cj = {"Authorization": f"Bearer {_token(web, w.emails['conflicted'])}"}
    listed = api.get(f"/api/v1/calls/{w.slug}/declines", headers=cj).json()
    assert [x["proposal_id"] for x in listed["next_in_line"]] == [second]
    r = conflicted.post(f"/manage/calls/{w.slug}/declines/{first}/offer",
                        data={"csrf_token": ctok, "reason": "next"})  # fmt: skip
    assert r.status_code == 404
    r = api.post(f"/api/v1/calls/{w.slug}/declines/{first}/offer", headers=cj,
                 json={"reason": "next"})  # fmt: skip
    assert r.status_code == 404
    # the chair offers it in one action; its PI is mailed
    chair, tok = session_client(web, w.emails["chair"])
    page = chair.get(f"/manage/calls/{w.slug}/declines").text
    assert _code(web, first) in page and _code(web, second) in page
    before = len(_mails(web))
    r = chair.post(f"/manage/calls/{w.slug}/declines/{first}/offer",
                   data={"csrf_token": tok, "reason": "A berth was declined"})  # fmt: skip
    assert r.status_code == 303, r.text[:2000]
    with web.factory() as s:
        d = s.scalar(select(Decision).where(Decision.proposal_id == first))
        assert d is not None and d.outcome == "awarded"
        p = s.get(Proposal, first)
        assert p is not None and p.status == "accepted"
        pi_email = p.pi_member.email if p.pi_member else ""
    assert pi_email in _mails(web)[before:]
    # the second no longer fits: refused (400), nothing changed
    counts = _count(web, Award)
    r = chair.post(f"/manage/calls/{w.slug}/declines/{second}/offer",
                   data={"csrf_token": tok, "reason": "and this one"})  # fmt: skip
    assert r.status_code == 400 and _count(web, Award) == counts


def test_the_public_figures_count_the_declines_with_small_cells_hidden(web: Web) -> None:
    from opencall.calls.models import Call

    w = _world(web)
    public = web.client()
    with web.factory() as s:
        call = s.get(Call, w.call_id)
        assert call is not None
        call.status = "published"
        s.commit()
    assert "Awards declined by the applicants" not in public.get(f"/calls/{w.slug}/figures").text
    c, tok = session_client(web, w.emails["pi"])
    r = c.post(f"/awards/{w.awarded[0]}/decline",
               data={"csrf_token": tok, "reason": "visa", "confirm": "yes"})  # fmt: skip
    assert r.status_code == 303
    page = public.get(f"/calls/{w.slug}/figures").text
    assert "Awards declined by the applicants" in page and "visa or travel refused" in page
    declined = page.split('id="declined"', 1)[1]
    assert "&lt;5" in declined and ">1<" not in declined  # one decline: a small cell
    # reasons are split by income group only; region and LDC give each group's number
    # (three tables split by reason let a reader pin a hidden cell from the three)
    assert declined.count(">visa or travel refused</th>") == 1, declined
    assert declined.count("<h3>") == 3
    # the user office's report: every group, however small
    with web.factory() as s:
        call = s.get(Call, w.call_id)
        assert call is not None
        office = F.user(s, email="office@decline.example")
        people_services.grant_role(s, office.id, "call_manager", provider_id=call.provider_id)
        s.commit()
    oc, _ = session_client(web, "office@decline.example")
    report = oc.get(f"/manage/calls/{w.slug}/report")
    assert report.status_code == 200
    section = report.text.split('id="declines"', 1)[1]
    assert "Awards declined by the applicants, by income group" in section


def test_the_decisions_api_and_csv_say_which_awards_were_declined(web: Web) -> None:
    w = _world(web)
    pid = w.awarded[0]
    api = web.client()
    pi = {"Authorization": f"Bearer {_token(web, w.emails['pi'])}"}
    body = {"reason": "visa", "note": "Refused twice.", "confirm": True}
    assert api.post(f"/api/v1/awards/{pid}/decline", headers=pi, json=body).status_code == 200
    chair = {"Authorization": f"Bearer {_token(web, w.emails['chair'])}"}
    items = api.get(f"/api/v1/calls/{w.slug}/decisions?limit=200", headers=chair).json()["items"]
    declined = {x["proposal_code"]: x["declined"] for x in items}
    assert declined[_code(web, pid)] == "visa"
    assert [c for c, v in declined.items() if v] == [_code(web, pid)]
    client, _tok = session_client(web, w.emails["chair"])
    r = client.get(f"/manage/calls/{w.slug}/decisions?format=csv")
    assert r.status_code == 200, r.text[:500]
    lines = r.text.splitlines()
    header = lines[0].split(",")
    assert "declined" in header
    col = header.index("declined")
    by_code = {ln.split(",")[0]: ln.split(",")[col] for ln in lines[1:]}
    assert by_code[_code(web, pid)] == "visa"
    assert [c for c, v in by_code.items() if v] == [_code(web, pid)]
