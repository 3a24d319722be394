"""Who may do what with accounts: one function per question."""

from __future__ import annotations

from opencall.people.models import User


def may_sign_in(user: User) -> bool:
    return user.is_active and user.email_verified_at is not None


def may_edit_account(actor: User | None, account: User) -> bool:
    return actor is not None and actor.id == account.id


def may_apply(user: User | None) -> bool:
    """May this person start proposals at all (a verified, active account)?"""
    return user is not None and user.is_active and user.email_verified_at is not None
