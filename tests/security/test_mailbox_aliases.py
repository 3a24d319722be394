"""One mailbox, one account (trialcrowd17). An address with a ``+tag`` reaches the mailbox
of the address without it ("pi+2@example.org" is read in pi@example.org's mailbox), and at
Gmail dots and "googlemail.com" change nothing: one person with one mailbox registered an
account an alias, each verified by a click in that mailbox, and so had as many "applicants"
as they liked: each its own drafts in a call, its own share of a cap per PI, and a reviewer
who is not on the team of their own proposal. Registration now takes an address whose
mailbox already has an account as it takes the account's own address: the same answer as
a new registration, nothing created, the owner told by e-mail."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update

from opencall.db import utcnow
from opencall.people.domain import mailbox_key
from opencall.people.models import User
from tests.web.conftest import Web, World, register_on_site


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("pi@example.org", "pi@example.org"),
        ("pi+2@example.org", "pi@example.org"),
        ("pi+a+b@example.org", "pi@example.org"),
        ("p.i@example.org", "p.i@example.org"),  # dots matter outside Gmail
        ("+x@example.org", "+x@example.org"),  # nothing before the tag: the whole part
        ("p.i.x+y@gmail.com", "pix@gmail.com"),
        ("PiX@GoogleMail.com", "pix@gmail.com"),
        ("сергей+1@почта.рф", "сергей@почта.рф"),
    ],
)
def test_the_mailbox_of_an_address(typed: str, key: str) -> None:
    assert mailbox_key(typed) == key


def _register(web: Web, email: str, address: str | None = None) -> str:
    r = register_on_site(web.client(address=address), email, "Alias Person")
    assert r.status_code == 303, r.text[:500]
    return r.headers["location"]


def _accounts(web: Web) -> list[str]:
    with web.factory() as s:
        return list(s.scalars(select(User.email).order_by(User.id)))


def test_an_alias_of_a_mailbox_with_an_account_makes_no_account(web: Web, world: World) -> None:
    fresh = _register(web, "someone.new@gmail.com")
    with web.factory() as s:  # verified: not a double click of its registration
        s.execute(update(User).values(email_verified_at=utcnow()))
        s.commit()
    before = _accounts(web)
    mailed = len(web.mails())
    for alias in (
        "pi+2@example.org",
        "PI+second@Example.org",
        "someonenew@gmail.com",
        "Some.One.New+x@googlemail.com",
    ):
        # the same answer as a new registration: the form tells nobody who has an account
        assert _register(web, alias) == fresh, alias
    assert _accounts(web) == before
    mails = web.mails()[mailed:]
    # the owners are told, at the addresses of their accounts (their own mailboxes)
    assert sum(f"To: {world.emails['pi']}" in m for m in mails) >= 1
    assert sum("To: someone.new@gmail.com" in m for m in mails) >= 1
    assert not any("+second" in m or "+x@" in m for m in mails)


def test_a_first_account_may_have_a_tag_and_others_their_own_mailboxes(
    web: Web, world: World
) -> None:
    with web.factory() as s:
        n = s.scalar(select(func.count(User.id)))
    _register(web, "newcomer+opencall@example.org")
    _register(web, "pi.other@example.org")  # another mailbox at the same domain
    _register(web, "p.i@example.org")  # dots are letters outside Gmail
    with web.factory() as s:
        assert s.scalar(select(func.count(User.id))) == n + 3


def test_aliases_registered_at_the_same_moment_make_one_account(
    web: Web, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two aliases of one mailbox registered at once (held together after the password's
    hash, before the address is looked up): both read no account and both inserted, the
    addresses being different. Now the lookup and the insert run under a lock of the
    mailbox (PostgreSQL: an advisory lock; SQLite writes one at a time, and the form's
    throttle count, written first, already holds its write lock)."""
    import threading

    from opencall.people import services

    with web.factory() as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("an advisory lock: PostgreSQL (SQLite has one write lock)")
    both = threading.Barrier(2, timeout=20)
    real = services.hash_password

    def at_once(password: str) -> str:
        out = real(password)
        both.wait()
        return out

    monkeypatch.setattr(services, "hash_password", at_once)
    answers: list[str] = []

    def register(email: str, address: str) -> None:
        answers.append(_register(web, email, address))

    # from two networks: one network's registrations are counted one at a time, each
    # holding its network's count until it commits (trialcrowd22), and never meet here
    threads = [
        threading.Thread(target=register, args=(e, a))
        for e, a in (
            ("race@example.org", "198.51.100.1"),
            ("race+again@example.org", "203.0.113.1"),
        )
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(answers) == 2
    with web.factory() as s:
        made = list(s.scalars(select(User.email).where(User.email.like("race%"))))
    assert len(made) == 1, made


def test_an_invitation_to_an_alias_is_answered_by_the_mailboxs_account(
    web: Web, world: World
) -> None:
    """An alias can no longer register, so a team invitation sent to one ("other+lab@"
    for the account other@) is the account's: on its dashboard, its to answer; and an
    alias of a member's mailbox is that member, already on the team."""
    from opencall.errors import DomainError
    from opencall.people.queries import user_by_email
    from opencall.proposals import services as ps
    from opencall.proposals.models import Proposal
    from opencall.proposals.policies import may_respond_to_invitation
    from opencall.proposals.services.team import open_invitations

    def invite(s: Any, p: Proposal, email: str) -> Any:
        data = {"email": email, "name": "Ola Other", "institution": "Somewhere"}
        return ps.invite_member(s, p, {**data, "country_iso3": "FRA"})

    with web.factory() as s:
        p = s.get(Proposal, world.ids["proposal"])
        other = user_by_email(s, world.emails["other"])
        assert p is not None and other is not None and other.email_verified_at is not None
        m = invite(s, p, "Other+Lab@example.org")
        assert m.email == "other+lab@example.org" and m.user_id == other.id
        assert [x.id for x in open_invitations(s, other.email)] == [m.id]
        assert may_respond_to_invitation(other, m)
        ps.respond_to_invitation(s, m, other, accept=True)
        assert m.status == "accepted"
        with pytest.raises(DomainError, match="already on the team"):
            invite(s, p, "coi+again@example.org")
        s.rollback()


def test_the_mail_throttle_counts_a_mailbox_not_an_address(db: Any) -> None:
    """The per-address e-mail throttle counted the address as typed: mails of one kind
    to "victim+1@", "victim+2@", ... (team invitations sent, removed and sent again from
    an account; registrations of new aliases from many networks before this round) each
    had their own allowance, and all land in one mailbox. Now they share the mailbox's."""
    from opencall.people.services import may_send_email

    sent = [
        may_send_email(db, address, "team_invite", per_hour=2)
        for address in ("victim+1@example.org", "Victim+2@example.org", "victim+3@example.org")
    ]
    assert sent == [True, True, False]
    assert may_send_email(db, "v.ictim@gmail.com", "team_invite", per_hour=1)
    assert not may_send_email(db, "victim+x@googlemail.com", "team_invite", per_hour=1)
    assert may_send_email(db, "someone.else@example.org", "team_invite", per_hour=2)
