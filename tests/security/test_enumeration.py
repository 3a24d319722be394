"""No account enumeration at sign-in: every refused attempt (unknown address, deactivated
account, wrong password, over-long password) costs the same argon2 work and gets the same
answer. Before the fix a deactivated account, or a known address with an over-long
password, cost no argon2 work against one verification for an unknown address: the
answer's time (tens of milliseconds apart) told which addresses have an account."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from opencall.people import services
from tests import factories as F
from tests.web.conftest import PASSWORD


def test_every_refused_sign_in_costs_one_argon2_verification(
    factory: sessionmaker[Session], monkeypatch: Any
) -> None:
    with factory() as s:
        known = F.user(s, email="known@example.org").email
        gone = F.user(s, email="gone@example.org")
        gone.is_active = False
        s.commit()
    services._dummy_hash()  # made once per process, before the first attempt is timed
    work: list[str] = []
    real_hash, real_verify = services.hash_password, services.verify_password

    def hash_(password: str) -> str:
        work.append("hash")
        return real_hash(password)

    def verify(stored: str, password: str) -> bool:
        work.append("verify")
        return real_verify(stored, password)

    monkeypatch.setattr(services, "hash_password", hash_)
    monkeypatch.setattr(services, "verify_password", verify)
    attempts = {
        "unknown": ("nobody@example.org", PASSWORD),
        "deactivated": ("gone@example.org", PASSWORD),
        "wrong password": (known, PASSWORD + "!"),
        "over-long password": (known, "x" * 201),
        "unknown, over-long": ("nobody@example.org", "x" * 201),
    }
    for what, (email, password) in attempts.items():
        work.clear()
        with factory() as s:
            result = services.authenticate(
                s, email, password, max_attempts=100, window_s=60, client=what
            )
            s.rollback()
        assert (result.user, result.error) == (None, "bad_credentials"), what
        assert work == ["verify"], (what, work)
    with factory() as s:  # the right password still signs in, with the same one verification
        work.clear()
        result = services.authenticate(s, known, PASSWORD, max_attempts=100, window_s=60)
        assert result.user is not None and work == ["verify"]
