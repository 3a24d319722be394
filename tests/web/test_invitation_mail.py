"""A team invitation mails the invitee the same message whether the PI invites on the
site or through the API: the invitation's link, in the invitee's language when they have
an account, otherwise in the inviter's (the site: the page's language; the API: the
inviter's account's)."""

from __future__ import annotations

import email
from email.header import decode_header, make_header

import pytest
from sqlalchemy import select

from opencall import jobs
from opencall.proposals.models import TeamMember
from tests import factories as F
from tests.web.conftest import Web, World, api_bearer, invite_by_api, invite_on_site

pytestmark = [
    pytest.mark.filterwarnings("ignore"),
    pytest.mark.parametrize("engine", ["sqlite"], indirect=True),  # the web layer's mail
]


def _mail_to(web: Web, address: str) -> tuple[str, str]:
    """The subject and body of the last mail to ``address``, with the link to the
    invitation checked in it."""
    jobs.run_pending(web.app.state.sessions, web.app.state.jobs)
    raw = [m for m in web.mails() if f"To: {address}" in m][-1]
    msg = email.message_from_string(raw)
    body = msg.get_payload(decode=True)
    assert isinstance(body, bytes)
    with web.factory() as s:
        mid = s.scalar(select(TeamMember.id).where(TeamMember.email == address))
    assert mid is not None and f"/invitations/{mid}" in body.decode()
    return str(make_header(decode_header(msg["Subject"]))), body.decode()


def test_the_site_and_the_api_mail_the_same_invitation(web: Web, world: World) -> None:
    pid = world.ids["proposal"]
    with web.factory() as s:
        F.user(s, email="amelie@example.net", name="Amélie Account", language="fr")
        s.commit()
    c = web.login(world.emails["pi"], lang="es")
    for address in ("amelie@example.net", "nobody@example.net"):
        assert invite_on_site(c, pid, address).status_code == 303
    # the invitee's own language; a person without an account reads the page's
    subject, body = _mail_to(web, "amelie@example.net")
    assert "vous invite à rejoindre" in body, body
    subject, body = _mail_to(web, "nobody@example.net")
    assert subject == "Le invitan a unirse a una propuesta en OpenCall"
    assert "le invita a unirse al equipo de la propuesta" in body, body
    assert "/register" in body
    # the API: no page language; the inviter's account's (English here)
    r = invite_by_api(web, api_bearer(web, world.emails["pi"]), pid, "someone@example.net")
    assert r.status_code == 201, r.text
    subject, body = _mail_to(web, "someone@example.net")
    assert subject == "You are invited to join a proposal on OpenCall"
    assert "invites you to join the team of the proposal" in body


def test_a_co_applicant_without_an_account_registers_from_the_mail_and_lands_on_it(
    web: Web, world: World
) -> None:
    """The mail's "register first" link brings a co-applicant with no account, once
    registered, verified and signed in, to the invitation itself (trialapp14), not to an
    empty dashboard; her name is in Chinese, the mail and the pages in the inviter's
    Chinese."""
    import re

    from tests.web.conftest import PASSWORD, csrf

    pi = web.login(world.emails["pi"], lang="zh")
    assert invite_on_site(pi, world.ids["proposal"], "li.hua@example.cn", "李华").status_code == 303
    _subject, body = _mail_to(web, "li.hua@example.cn")
    m = re.search(r"http://testserver(/register\S*)", body)
    assert m, body
    c = web.client("zh")
    form = c.get(m.group(1)).text
    nxt = re.search(r'name="next" value="([^"]*)"', form)
    assert nxt, "the register link keeps no way back to the invitation"
    data = {
        "csrf_token": csrf(c, m.group(1)),
        "next": nxt.group(1),
        "name": "李华",
        "email": "li.hua@example.cn",
        "password": PASSWORD,
        "password2": PASSWORD,
        "institution": "中国科学院国家天文台",
        "country_iso3": "CHN",
        "language": "zh",
    }
    assert c.post("/register", data=data).status_code == 303
    web.settle()  # the registration's job, queued after the answer
    jobs.run_pending(web.app.state.sessions, web.app.state.jobs)
    verify = None
    for mail in web.mails():
        raw = email.message_from_string(mail).get_payload(decode=True)
        if "To: li.hua@example.cn" in mail and isinstance(raw, bytes):
            verify = re.search(r"http://testserver(/verify/\S+)", raw.decode()) or verify
    assert verify, "no verification mail"
    page = c.get(verify.group(1)).text
    r = c.post(
        verify.group(1),
        data={
            "csrf_token": re.findall(r'name="csrf_token" value="([^"]+)"', page)[-1],
            **dict(re.findall(r'<input type="hidden" name="(next)" value="([^"]*)"', page)),
        },
    )
    assert r.status_code == 303
    login = r.headers["location"]
    page = c.get(login).text
    r = c.post(
        "/login",
        data={
            "csrf_token": re.findall(r'name="csrf_token" value="([^"]+)"', page)[-1],
            "email": "li.hua@example.cn",
            "password": PASSWORD,
            "next": (re.search(r'name="next" value="([^"]*)"', page) or [None, ""])[1],
        },
    )
    assert r.status_code == 303
    with web.factory() as s:
        mid = s.scalar(select(TeamMember.id).where(TeamMember.email == "li.hua@example.cn"))
    assert r.headers["location"].split("?")[0] == f"/invitations/{mid}", r.headers["location"]
    assert c.get(f"/invitations/{mid}").status_code == 200  # hers to accept or decline
