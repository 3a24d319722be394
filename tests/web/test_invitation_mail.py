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
from opencall.people import services as people_services
from opencall.proposals.models import Proposal, TeamMember
from tests.web.conftest import Web, World, api_bearer, csrf, version_of

pytestmark = [
    pytest.mark.filterwarnings("ignore"),
    pytest.mark.parametrize("engine", ["sqlite"], indirect=True),  # the web layer's mail
]


def _mail_to(web: Web, address: str) -> tuple[str, str]:
    jobs.run_pending(web.app.state.sessions, web.app.state.jobs)
    raw = [m for m in web.mails() if f"To: {address}" in m][-1]
    msg = email.message_from_string(raw)
    body = msg.get_payload(decode=True)
    assert isinstance(body, bytes)
    return str(make_header(decode_header(msg["Subject"]))), body.decode()


def _member_id(web: Web, address: str) -> int:
    with web.factory() as s:
        mid = s.scalar(select(TeamMember.id).where(TeamMember.email == address))
    assert mid is not None
    return mid


def test_the_site_and_the_api_mail_the_same_invitation(web: Web, world: World) -> None:
    pid = world.ids["proposal"]
    with web.factory() as s:
        people_services.register_user(
            s,
            email="amelie@example.net",
            name="Amélie Account",
            password_hash="x",
            institution="Somewhere",
            country_iso3="FRA",
            verified=True,
            language="fr",
        )
        s.commit()
    c = web.login(world.emails["pi"], lang="es")
    for address, name in (("amelie@example.net", "Amélie Account"), ("nobody@example.net", "N B")):
        r = c.post(
            f"/proposals/{pid}/team",
            data={
                "csrf_token": csrf(c, f"/proposals/{pid}"),
                "version": version_of(c, pid),
                "email": address,
                "name": name,
                "institution": "Somewhere",
                "country_iso3": "FRA",
            },
        )
        assert r.status_code == 303, r.text
    # the invitee's own language; a person without an account reads the page's
    subject, body = _mail_to(web, "amelie@example.net")
    assert "vous invite à rejoindre" in body, body
    assert f"/invitations/{_member_id(web, 'amelie@example.net')}" in body
    subject, body = _mail_to(web, "nobody@example.net")
    assert subject == "Le invitan a unirse a una propuesta en OpenCall"
    assert "le invita a unirse al equipo de la propuesta" in body, body
    assert "/register" in body and f"/invitations/{_member_id(web, 'nobody@example.net')}" in body
    # the API: no page language; the inviter's account's (English here)
    bearer = api_bearer(web, world.emails["pi"])
    with web.factory() as s:
        version = s.get(Proposal, pid).version  # type: ignore[union-attr]
    r = web.client().post(
        f"/api/v1/proposals/{pid}/members",
        headers=bearer,
        json={
            "version": version,
            "email": "someone@example.net",
            "name": "S O",
            "institution": "Somewhere",
            "country_iso3": "FRA",
        },
    )
    assert r.status_code == 201, r.text
    subject, body = _mail_to(web, "someone@example.net")
    assert subject == "You are invited to join a proposal on OpenCall"
    assert "invites you to join the team of the proposal" in body
    assert f"/invitations/{_member_id(web, 'someone@example.net')}" in body
