"""E-mail addresses that pass for others (unicode confusables) are refused, and
compatibility forms are folded, so no account or invitation can impersonate another
address. Before the fix "pаul@example.org" (a Cyrillic "а") and "ａ@example.org" (a
fullwidth "ａ") were accounts of their own beside "paul@" and "a@"."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opencall.errors import DomainError
from opencall.people import services
from opencall.people.domain import email_lookalike
from opencall.people.models import User

LOOKALIKES = [
    "pаul@example.org",  # Cyrillic а among Latin letters
    "paul@exаmple.org",  # ... in the domain
    "раураl@example.org",  # only Cyrillic letters drawn like Latin ones
    "pαul@example.org",  # Greek α
]
GENUINE = ["paul@example.org", "сергей@example.ru", "用户@example.cn", "josé@example.org"]


def test_lookalike_addresses_are_told_apart() -> None:
    assert [e for e in LOOKALIKES if not email_lookalike(e)] == []
    assert [e for e in GENUINE if email_lookalike(e)] == []


def test_an_account_or_invitation_cannot_pass_for_another_address(
    factory: sessionmaker[Session],
) -> None:
    with factory() as s:
        services.register_user(s, email="a@example.org", name="A", password="x" * 12)
        s.commit()
        before = s.scalar(select(func.count()).select_from(User))
        for email in LOOKALIKES:
            with pytest.raises(DomainError) as err:
                services.register_user(s, email=email, name="B", password="x" * 12)
            assert err.value.field == "email" and "alphabets" in str(err.value.message)
            with pytest.raises(DomainError):
                services.clean_email(email)  # invitations (team, reviewers, roles)
        # fullwidth "ａ" is folded to "a": the address of the account that exists
        with pytest.raises(DomainError, match="already exists"):
            services.register_user(s, email="ａ@example.org", name="B", password="x" * 12)
        s.rollback()
        assert s.scalar(select(func.count()).select_from(User)) == before
        assert services.clean_email("Ｐaul@Example.org") == "paul@example.org"


def test_an_address_typed_in_fullwidth_signs_in_to_its_account(
    factory: sessionmaker[Session],
) -> None:
    """The folding is where addresses are compared, not only at registration: typed in
    fullwidth forms (as some input methods do), the address signs in to the account
    registered in plain ASCII (before, sign-in compared the unfolded text and refused)."""
    from opencall.db import utcnow

    with factory() as s:
        user = services.register_user(s, email="wei@example.org", name="W", password="x" * 12)
        user.email_verified_at = utcnow()
        s.commit()
        res = services.authenticate(
            s,
            "ｗｅｉ@ｅｘａｍｐｌｅ.ｏｒｇ",
            "x" * 12,
            max_attempts=5,
            window_s=900,
            client="192.0.2.9",
        )
        assert res.error == "" and res.user is not None and res.user.id == user.id
