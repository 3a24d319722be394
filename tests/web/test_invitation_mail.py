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
