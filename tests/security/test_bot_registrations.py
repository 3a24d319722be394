"""Bots registering accounts (trialcrowd10). A bot farm registers from many networks with
addresses of throwaway-mailbox services (mailinator.com and its like, thousands of
domains): each registration stays under every per-address limit, and each address is a
fresh one, so the per-address e-mail throttle never starts either; the site mailed a
verification link to every one, and the verified bot accounts then raised their
networks' allowances (docs/security.md, "Crowds behind one address"). Now an address at a
known throwaway-mailbox domain (the ``disposable-email-domains`` list, shipped offline;
subdomains too) is refused at registration, nothing created or mailed. Institutes keep
their crowds: students of one university behind one NAT, and the big free mail
services, are not refused as bots."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from opencall.people.models import User
from tests.web.conftest import Web, csrf

pytestmark = pytest.mark.filterwarnings("ignore")

REFUSED = "throwaway mailbox"


def _register(web: Web, address: str, email: str) -> tuple[int, str]:
    c = web.client(address=address)
    data = {"csrf_token": csrf(c, "/register"), "name": "Ana Lima", "email": email}
    data |= {"password": "a long password 1", "password2": "a long password 1"}
    r = c.post("/register", data=data)
    return r.status_code, r.text


def test_throwaway_mailboxes_cannot_register(web: Web, one_loop: None) -> None:
    with web.factory() as s:
        users = s.scalar(select(func.count(User.id)))
    mails = len(web.mails())
    for i, email in enumerate(
        ("bot1@mailinator.com", "bot2@MAILINATOR.COM", "bot3@eu.mailinator.com", "b4@yopmail.com")
    ):
        status, text = _register(web, f"100.70.{i}.1", email)
        # before the fix: 303, an account made and a verification link mailed
        assert status == 400 and REFUSED in text, (email, status)
    with web.factory() as s:
        assert s.scalar(select(func.count(User.id))) == users
    assert len(web.mails()) == mails


def test_students_behind_one_nat_are_not_taken_for_bots(web: Web, one_loop: None) -> None:
    for i in range(40):
        status, _ = _register(web, "196.200.1.1", f"student{i}@students.uonbi.ac.ke")
        assert status in (303, 429)
    with web.factory() as s:
        made = s.scalar(
            select(func.count(User.id)).where(User.email.like("%@students.uonbi.ac.ke"))
        )
    # the plain per-address limit (20 an hour) before any of them signs in: the rest wait
    # for their classmates' sign-ins (test_shared_address.py); none is refused as a bot
    assert made == web.settings.register_throttle_per_hour
    for email in ("ana@gmail.com", "li@qq.com", "kofi@yahoo.com"):
        assert _register(web, "41.90.0.1", email)[0] == 303
