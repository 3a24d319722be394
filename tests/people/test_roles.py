"""Roles at a provider: grants by e-mail, invitations for people without an
account, acceptance by the invited address only, revocation, the audit trail;
site administrators for a fresh install."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.facilities import services as fac_services
from opencall.people import queries, services
from opencall.people.models import RoleGrant, RoleInvitation, User
from tests import factories as F

THROTTLE = {"max_attempts": 5, "window_s": 300}


def _provider(db: Session):  # noqa: ANN202
    return fac_services.create_provider(db, name="Cryo-EM Centre", slug="cryo", country_iso3="ZAF")


def _events(db: Session, action: str) -> list[auditlog.AuditEvent]:
    return list(db.scalars(select(auditlog.AuditEvent).where(auditlog.AuditEvent.action == action)))


def test_an_existing_account_gets_the_role_at_once(db: Session) -> None:
    p = _provider(db)
    admin = F.user(db, email="admin@cryo.example")
    u = F.user(db, email="Chair@Cryo.example")
    g, inv, raw = services.invite_to_role(
        db, email=" chair@cryo.EXAMPLE ", role="chair", provider_id=p.id, actor_id=admin.id
    )
    assert inv is None and raw is None and g is not None
    assert g.user_id == u.id and g.role == "chair" and g.provider_id == p.id
    assert queries.has_role(db, u.id, ("chair",), provider_id=p.id)
    ev = _events(db, "role.granted")[-1]
    assert ev.actor_id == admin.id and ev.data["role"] == "chair"


def test_an_invitation_is_accepted_by_the_invited_address_only(db: Session) -> None:
    p = _provider(db)
    _g, inv, raw = services.invite_to_role(
        db, email="new.reviewer@uni.example", role="reviewer", provider_id=p.id
    )
    assert inv is not None and raw
    assert db.scalar(select(RoleInvitation.token_hash)) != raw  # only the hash is stored
    assert [i.id for i in queries.pending_invitations_in_scope(db, p.id, [])] == [inv.id]
    intruder = F.user(db, email="someone.else@uni.example")
    with pytest.raises(DomainError, match="another e-mail address"):
        services.accept_role_invitation(db, intruder, raw)
    assert not queries.has_role(db, intruder.id, ("reviewer",), provider_id=p.id)
    invited = services.register_user(
        db, email="new.reviewer@uni.example", name="New Reviewer", password="long password 1"
    )
    with pytest.raises(DomainError, match="verify your e-mail"):
        services.accept_role_invitation(db, invited, raw)
    invited.email_verified_at = utcnow()
    g = services.accept_role_invitation(db, invited, raw)
    assert g.user_id == invited.id and g.role == "reviewer" and g.provider_id == p.id
    assert inv.accepted_by == invited.id and inv.accepted_at is not None
    assert queries.pending_invitations_in_scope(db, p.id, []) == []
    with pytest.raises(DomainError, match="invalid, was revoked or has expired"):
        services.accept_role_invitation(db, invited, raw)
    assert _events(db, "role.invited") and _events(db, "role.invitation_accepted")


def test_a_new_invitation_replaces_the_old_link_and_links_expire(db: Session) -> None:
    p = _provider(db)
    _g, first, raw1 = services.invite_to_role(
        db, email="x@uni.example", role="technical_reviewer", provider_id=p.id
    )
    _g, second, raw2 = services.invite_to_role(
        db, email="x@uni.example", role="technical_reviewer", provider_id=p.id
    )
    assert first is not None and second is not None and raw1 and raw2
    assert first.revoked_at is not None and second.revoked_at is None
    with pytest.raises(DomainError):
        services.invitation_for_token(db, raw1)
    assert services.invitation_for_token(db, raw2).id == second.id
    later = utcnow() + services.INVITE_TTL + dt.timedelta(seconds=1)
    with pytest.raises(DomainError):
        services.invitation_for_token(db, raw2, now=later)


def test_revoking_an_invitation_and_a_role(db: Session) -> None:
    p = _provider(db)
    a1, a2 = F.user(db), F.user(db)
    g1 = services.grant_role(db, a1.id, "provider_admin", provider_id=p.id)
    _g, inv, raw = services.invite_to_role(
        db, email="y@uni.example", role="chair", provider_id=p.id
    )
    assert inv is not None and raw
    services.revoke_role_invitation(db, inv, actor_id=a1.id)
    with pytest.raises(DomainError):
        services.invitation_for_token(db, raw)
    assert _events(db, "role.invitation_revoked")[-1].actor_id == a1.id
    # the last administrator cannot be revoked, and the refusal changes nothing
    before = F.table_counts(db)
    with pytest.raises(DomainError, match="at least one administrator"):
        services.revoke_role(db, g1, actor_id=a1.id)
    assert F.table_counts(db) == before
    g2 = services.grant_role(db, a2.id, "provider_admin", provider_id=p.id)
    services.revoke_role(db, g1, actor_id=a2.id)
    assert db.get(RoleGrant, g1.id) is None and db.get(RoleGrant, g2.id) is not None
    ev = _events(db, "role.revoked")[-1]
    assert (
        ev.entity_id == str(a1.id) and ev.actor_id == a2.id and ev.data["role"] == "provider_admin"
    )


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"email": "not an address", "role": "chair"}, "Invalid e-mail"),
        ({"email": "z@uni.example", "role": "emperor"}, "Unknown role"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(db: Session, kw: dict, message: str) -> None:
    p = _provider(db)
    before = F.table_counts(db)
    with pytest.raises(DomainError, match=message):
        services.invite_to_role(db, provider_id=p.id, **kw)
    with pytest.raises(DomainError, match="exactly one provider or one call"):
        services.invite_to_role(db, email="z@uni.example", role="chair")
    assert F.table_counts(db) == before


def test_site_admin_with_a_password_or_a_link(db: Session) -> None:
    user, raw = services.create_site_admin(
        db, email="ops@opencall.example", name="Ops", country_iso3="KEN", password="a long password"
    )
    assert raw is None and user.is_site_admin and user.email_verified_at is not None
    assert (
        services.authenticate(db, "ops@opencall.example", "a long password", **THROTTLE).user
        is not None
    )
    other, raw2 = services.create_site_admin(db, email="root@opencall.example", name="Root")
    assert other.is_site_admin and raw2
    services.reset_password(db, raw2, "chosen by root 123")
    assert services.authenticate(db, "root@opencall.example", "chosen by root 123", **THROTTLE).user
    # promoting an existing account keeps its password
    plain = F.user(db, email="plain@opencall.example")
    promoted, _ = services.create_site_admin(
        db, email="plain@opencall.example", name="x", password="ignored password"
    )
    assert promoted.id == plain.id and promoted.is_site_admin
    assert len(_events(db, "user.site_admin_granted")) == 3
    with pytest.raises(DomainError, match="at least 10"):
        services.create_site_admin(db, email="short@opencall.example", name="S", password="short")
    assert db.scalar(select(User).where(User.email == "short@opencall.example")) is None


def test_provider_validation(db: Session) -> None:
    _provider(db)
    before = F.table_counts(db)
    for kw, msg in [
        ({"slug": "cryo"}, "already taken"),
        ({"slug": "Bad Slug"}, "only a-z"),
        ({"slug": "ok", "country_iso3": "ZZZ"}, "Unknown country"),
    ]:
        args = {"name": "X", "slug": "x", "country_iso3": "ZAF", **kw}
        with pytest.raises(DomainError, match=msg):
            fac_services.create_provider(db, **args)
    assert F.table_counts(db) == before
