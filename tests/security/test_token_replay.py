"""One-time links used twice at the same moment (trialcrowd11). A password-reset link
works once: a second use says the link is invalid. But the check read the link's row
without a lock: two posts of one link at the same moment (the owner and whoever else has
the mail: a copied link, a forwarded mail) both read it unused and both set a password;
the owner saw "password changed" while the other password stood. Now the link is spent
by one conditional update (``UPDATE ... WHERE used_at IS NULL``): the second post finds
it spent and is refused ("invalid or has expired"), nothing changed. A verification link
likewise: its use is audited once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from opencall.auditlog import AuditEvent
from opencall.people import services
from opencall.people.models import User
from tests import factories as F
from tests.web.conftest import Web, csrf

pytestmark = pytest.mark.filterwarnings("ignore")


def _held_after_the_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both requests read the link before either writes (SQLite, whose writers take the
    write lock at once, lets only one through: the other waits, and is let go)."""
    both = threading.Barrier(2, timeout=5)
    real = services._valid_token

    def read_then_wait(*args: Any, **kw: Any) -> Any:
        tok = real(*args, **kw)
        try:
            both.wait()
        except threading.BrokenBarrierError:
            pass
        return tok

    monkeypatch.setattr(services, "_valid_token", read_then_wait)


def _together(n: int, work: Any) -> list[Any]:
    out: list[Any] = [None] * n

    def one(i: int) -> None:
        out[i] = work(i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def _events(web: Web, action: str) -> int:
    with web.factory() as s:
        return s.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action)) or 0


def test_a_reset_link_posted_twice_at_once_sets_one_password(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    with web.factory() as s:
        u = F.user(s, email="owner@example.org")
        found = services.request_password_reset(s, u.email)
        assert found is not None
        s.commit()
        uid, raw = u.id, found[1]
    clients = [web.client() for _ in range(2)]
    tokens = [csrf(c) for c in clients]
    passwords = ["the owner's new password", "the other one's password"]
    _held_after_the_read(monkeypatch)

    def post(i: int) -> int:
        data = {"csrf_token": tokens[i], "password": passwords[i], "password2": passwords[i]}
        return clients[i].post(f"/password/reset/{raw}", data=data).status_code

    answers = _together(2, post)
    # before the fix, on PostgreSQL: [303, 303], two passwords set, the last one standing
    assert sorted(answers) == [303, 404], answers
    winner = passwords[answers.index(303)]
    with web.factory() as s:
        user = s.get(User, uid)
        assert user is not None and services.verify_password(user.password_hash, winner)
    assert _events(web, "user.password_reset") == 1


def test_a_verification_link_used_twice_at_once_is_used_once(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    with web.factory() as s:
        user, raw = services.start_registration(
            s, email="new@example.org", name="Ana Lima", password="a long password 1"
        )
        s.commit()
    _held_after_the_read(monkeypatch)

    def verify(_i: int) -> str:
        with web.factory() as s:
            try:
                services.verify_email(s, raw)
                s.commit()
                return "ok"
            except Exception as exc:  # noqa: BLE001 - the refusal, or the race's error
                s.rollback()
                return type(exc).__name__

    answers = _together(2, verify)
    # before the fix, on PostgreSQL: ["ok", "ok"], the link used twice
    assert sorted(answers) == ["DomainError", "ok"], answers
    assert _events(web, "user.verified") == 1


def test_a_role_invitation_revoked_as_it_is_accepted_grants_no_role_unseen(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An administrator revokes an invitation to a role (a reviewer who should not
    review, after all) while the invitee accepts it. Both read the invitation pending;
    before the fix both wrote: the invitation ended revoked *and* accepted, and the role
    was granted though the administrator's page said it was revoked. Now exactly one of
    them happens: revoked and no role, or accepted (and the revocation refused)."""
    from opencall.people.models import RoleGrant, RoleInvitation
    from opencall.people.services import accept_role_invitation, revoke_role_invitation
    from tests.people.test_roles import _provider

    with web.factory() as s:
        p = _provider(s)
        _g, inv, raw = services.invite_to_role(
            s, email="late@uni.example", role="reviewer", provider_id=p.id
        )
        invitee = F.user(s, email="late@uni.example")
        s.commit()
        assert inv is not None and raw
        inv_id, uid = inv.id, invitee.id
    both = threading.Barrier(2, timeout=5)

    def wait() -> None:
        try:
            both.wait()
        except threading.BrokenBarrierError:
            pass

    real = services.invitation_for_token

    def read_then_wait(*args: Any, **kw: Any) -> Any:
        found = real(*args, **kw)
        wait()
        return found

    monkeypatch.setattr(services, "invitation_for_token", read_then_wait)

    def work(i: int) -> str:
        with web.factory() as s:
            try:
                if i == 0:
                    user = s.get(User, uid)
                    assert user is not None
                    accept_role_invitation(s, user, raw)
                else:
                    one = s.get(RoleInvitation, inv_id)
                    assert one is not None and one.revoked_at is None
                    wait()  # read pending, as the invitee's request has
                    revoke_role_invitation(s, one)
                s.commit()
                return "ok"
            except Exception as exc:  # noqa: BLE001 - the refusal
                s.rollback()
                return type(exc).__name__

    accepted, revoked = _together(2, work)
    with web.factory() as s:
        one = s.get(RoleInvitation, inv_id)
        assert one is not None
        granted = s.scalar(
            select(func.count(RoleGrant.id)).where(
                RoleGrant.user_id == uid, RoleGrant.role == "reviewer"
            )
        )
        state = (one.accepted_at is not None, one.revoked_at is not None, granted)
    # before the fix: ("ok", "ok") and (True, True, 1)
    assert (accepted, revoked) in (("ok", "DomainError"), ("DomainError", "ok")), (
        accepted,
        revoked,
    )
    assert state in ((True, False, 1), (False, True, 0)), state
