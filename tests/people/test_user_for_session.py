"""``people.queries.user_for_session``: the user behind a browser's session id, read
with its roles in one statement a request."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from opencall.db import utcnow
from opencall.facilities import services as fac_services
from opencall.people import services as people_services
from opencall.people.models import User, UserSession
from opencall.people.queries import user_for_session
from opencall.people.services import token_hash
from tests import factories as F


def _session_id(s: Session, user: User, **changes: object) -> str:
    """A signed-in session of ``user`` (the sign-in's own service), then ``changes``."""
    sid = people_services.start_user_session(s, user)
    row = s.scalars(select(UserSession).where(UserSession.token_hash == token_hash(sid))).one()
    for name, value in changes.items():
        setattr(row, name, value)
    s.flush()
    return sid


def _fresh(s: Session, sid: str) -> tuple[User | None, int]:
    """user_for_session in a session with nothing loaded, and its statements."""
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    s.expunge_all()
    engine = s.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        return user_for_session(s, sid), len(seen)
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_user_of_a_live_session_with_the_workspaces_of_their_roles(db: Session) -> None:
    prov = fac_services.create_provider(db, name="Obs", slug="obs-s", country_iso3="CHN")
    chair = F.user(db, name="Chair Person")
    people_services.grant_role(db, chair.id, "call_manager", provider_id=prov.id)
    people_services.grant_role(db, chair.id, "chair", provider_id=prov.id)
    admin = F.user(db, name="Site Admin")
    admin.is_site_admin = True
    plain = F.user(db, name="Plain Applicant")
    sids = {u.name: _session_id(db, u) for u in (chair, admin, plain)}
    db.commit()

    found = {}
    for name, sid in sids.items():
        user, statements = _fresh(db, sid)
        assert user is not None and user.name == name
        assert statements == 1, name
        found[name] = user.nav_roles  # type: ignore[attr-defined]
    assert found == {
        "Chair Person": {"call_manager", "chair"},
        "Site Admin": {"site_admin"},
        "Plain Applicant": set(),
    }


def test_no_user_for_an_unknown_revoked_or_expired_session_or_an_inactive_account(
    db: Session,
) -> None:
    prov = fac_services.create_provider(db, name="Obs", slug="obs-t", country_iso3="CHN")
    live = F.user(db)
    people_services.grant_role(db, live.id, "chair", provider_id=prov.id)
    gone = F.user(db)
    gone.is_active = False
    now = utcnow()
    cases = {
        "revoked": _session_id(db, live, revoked_at=now, revoked_reason="logout"),
        "expired": _session_id(db, live, expires_at=now - dt.timedelta(seconds=1)),
        "inactive": _session_id(db, gone),
    }
    ok = _session_id(db, live)
    db.commit()
    assert {name: _fresh(db, sid)[0] for name, sid in cases.items()} == dict.fromkeys(cases)
    for sid in ("", "sid-unknown", "x" * 101):
        assert _fresh(db, sid)[0] is None
    user, _ = _fresh(db, ok)
    assert user is not None and user.id == live.id
    assert user.nav_roles == {"chair"}  # type: ignore[attr-defined]
