"""Writes about people: countries, institutions, users and role grants."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.errors import DomainError
from opencall.people.domain import LANGUAGES, institution_key, normalise_email
from opencall.people.models import Country, Institution, RoleGrant, User
from opencall.reference.loader import countries as reference_countries

_hasher = PasswordHasher()

MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


def load_countries(session: Session) -> int:
    """Insert or update countries from the shipped reference data; returns the count."""
    existing = {c.iso3: c for c in session.scalars(select(Country))}
    for ref in reference_countries().values():
        row = existing.get(ref.iso3)
        if row is None:
            row = Country(iso3=ref.iso3)
            session.add(row)
        row.iso2 = ref.iso2
        row.name = ref.name
        row.un_region = ref.un_region
        row.un_subregion = ref.un_subregion
        row.ldc = ref.ldc
        row.income_group = ref.income_group
        row.wb_region = ref.wb_region
    session.flush()
    return len(reference_countries())


def get_or_create_institution(
    session: Session, name: str, country_iso3: str, ror_id: str | None = None
) -> Institution:
    name = " ".join(name.split())
    if not name:
        raise DomainError("Institution name is required.", field="institution")
    if len(name) > 300:
        raise DomainError(
            "Institution name is too long (300 characters at most).", field="institution"
        )
    if session.get(Country, country_iso3) is None:
        raise DomainError(f"Unknown country code {country_iso3!r}.", field="country")
    if ror_id:
        found = session.scalar(select(Institution).where(Institution.ror_id == ror_id))
        if found:
            return found
    key = institution_key(name)
    found = session.scalar(
        select(Institution).where(
            Institution.name_key == key, Institution.country_iso3 == country_iso3
        )
    )
    if found:
        if ror_id and not found.ror_id:
            found.ror_id = ror_id
        return found
    inst = Institution(name=name, name_key=key, country_iso3=country_iso3, ror_id=ror_id)
    session.add(inst)
    session.flush()
    return inst


def register_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str | None = None,
    password_hash: str | None = None,
    institution: str | None = None,
    country_iso3: str | None = None,
    language: str = "en",
    expertise: str = "",
    verified: bool = False,
    check_deliverability: bool = False,
) -> User:
    """Create an account. Raises DomainError with a clear message on bad input."""
    try:
        email = validate_email(email, check_deliverability=check_deliverability).normalized
    except EmailNotValidError as exc:
        raise DomainError(f"Invalid e-mail address: {exc}", field="email") from exc
    email = normalise_email(email)
    name = " ".join((name or "").split())
    if not name:
        raise DomainError("Your name is required.", field="name")
    if len(name) > 200:
        raise DomainError("Name is too long (200 characters at most).", field="name")
    if language not in LANGUAGES:
        raise DomainError(f"Language must be one of {', '.join(LANGUAGES)}.", field="language")
    if password_hash is None:
        if password is None or len(password) < MIN_PASSWORD:
            raise DomainError(
                f"Password must have at least {MIN_PASSWORD} characters.", field="password"
            )
        password_hash = hash_password(password)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise DomainError("An account with this e-mail address already exists.", field="email")
    inst = None
    if country_iso3 is not None and session.get(Country, country_iso3) is None:
        raise DomainError(f"Unknown country code {country_iso3!r}.", field="country")
    if institution:
        if not country_iso3:
            raise DomainError("Country is required with an institution.", field="country")
        inst = get_or_create_institution(session, institution, country_iso3)
    user = User(
        email=email,
        name=name,
        password_hash=password_hash,
        language=language,
        institution_id=inst.id if inst else None,
        country_iso3=country_iso3,
        expertise=expertise,
    )
    if verified:
        from opencall.db import utcnow

        user.email_verified_at = utcnow()
    session.add(user)
    session.flush()
    auditlog.record(session, "user.registered", "user", user.id, actor_id=user.id)
    return user


def grant_role(
    session: Session,
    user_id: int,
    role: str,
    *,
    provider_id: int | None = None,
    call_id: int | None = None,
    actor_id: int | None = None,
) -> RoleGrant:
    from opencall.people.models import ROLES

    if role not in ROLES:
        raise DomainError(f"Unknown role {role!r}.", field="role")
    if (provider_id is None) == (call_id is None):
        raise DomainError("A role is scoped to exactly one provider or one call.")
    existing = session.scalar(
        select(RoleGrant).where(
            RoleGrant.user_id == user_id,
            RoleGrant.role == role,
            RoleGrant.provider_id.is_(None)
            if provider_id is None
            else RoleGrant.provider_id == provider_id,
            RoleGrant.call_id.is_(None) if call_id is None else RoleGrant.call_id == call_id,
        )
    )
    if existing:
        return existing
    grant = RoleGrant(user_id=user_id, role=role, provider_id=provider_id, call_id=call_id)
    session.add(grant)
    session.flush()
    auditlog.record(
        session,
        "role.granted",
        "user",
        user_id,
        actor_id=actor_id,
        call_id=call_id,
        data={"role": role, "provider_id": provider_id, "call_id": call_id},
    )
    return grant
