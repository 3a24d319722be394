from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opencall.db import Base, JSONType, UTCDateTime, utcnow
from opencall.people.domain import country_zone


class Country(Base):
    __tablename__ = "countries"

    iso3: Mapped[str] = mapped_column(String(3), primary_key=True)
    iso2: Mapped[str] = mapped_column(String(2), nullable=False, default="")
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    un_region: Mapped[str] = mapped_column(String(40), nullable=False)
    un_subregion: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    ldc: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    income_group: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    wb_region: Mapped[str] = mapped_column(String(80), nullable=False, default="")


class Institution(Base):
    __tablename__ = "institutions"
    __table_args__ = (UniqueConstraint("name_key", "country_iso3"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    name_key: Mapped[str] = mapped_column(String(300), nullable=False, index=True)
    country_iso3: Mapped[str] = mapped_column(ForeignKey("countries.iso3"), nullable=False)
    ror_id: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)

    country: Mapped[Country] = relationship(lazy="joined")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    language: Mapped[str] = mapped_column(String(5), nullable=False, default="en")
    # the IANA zone the account reads times in ("Asia/Dhaka"); None: its country's
    # (``reading_zone``)
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    institution_id: Mapped[int | None] = mapped_column(
        ForeignKey("institutions.id"), nullable=True, index=True
    )
    country_iso3: Mapped[str | None] = mapped_column(ForeignKey("countries.iso3"), nullable=True)
    expertise: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: the person's ORCID iD, canonical ("0000-0002-1825-0097", ``domain.orcid_id``);
    #: shown to the person only (account page, /api/v1/me)
    orcid: Mapped[str | None] = mapped_column(String(19), nullable=True)
    email_verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    is_site_admin: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    institution: Mapped[Institution | None] = relationship(lazy="joined")

    @property
    def reading_zone(self) -> str | None:
        """The zone every date and time is written in for this person (pages, e-mails):
        the one they chose, else their country's where it has one zone, else None (UTC)."""
        return self.time_zone or country_zone(self.country_iso3)


ROLES = (
    "provider_admin",
    "call_manager",
    "chair",
    "reviewer",
    "technical_reviewer",
)


class RoleGrant(Base):
    """A role scoped to a provider (all its calls) or to one call."""

    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("user_id", "role", "provider_id", "call_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(30), nullable=False)
    # indexed: a provider's or a call's roles (its reviewer pool, its people) are found
    # without reading every role of the site (scale22)
    provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), nullable=True, index=True
    )
    call_id: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), nullable=True, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # space-separated: read (always), review (submit reviews), manage (call management data)
    scopes: Mapped[str] = mapped_column(String(100), nullable=False, default="read")
    # None (tokens made before expiry existed) counts as expired
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class UserSession(Base):
    """A signed-in browser: the cookie carries a random id whose hash is stored here,
    so logout, a password reset or an administrator can end it."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # "logout" | "password_reset" | "admin"
    revoked_reason: Mapped[str] = mapped_column(String(30), nullable=False, default="")
    client: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    user_agent: Mapped[str] = mapped_column(String(200), nullable=False, default="")


class EmailSend(Base):
    """One e-mail of a kind sent to an address (the per-address e-mail throttle)."""

    __tablename__ = "email_sends"
    __table_args__ = (Index("ix_email_sends_email_at", "email", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class EmailToken(Base):
    """One-time tokens for e-mail verification, password reset and invitations."""

    __tablename__ = "email_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    # the site-wide count of the last minute's failures (``services.authenticate``)
    __table_args__ = (Index("ix_login_attempts_ok_at", "ok", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False, index=True)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # the client address (per-address throttle across accounts)
    client: Mapped[str] = mapped_column(String(64), nullable=False, default="", index=True)


class RoleInvitation(Base):
    """A role offered by e-mail to someone who may not have an account yet.

    The invitation names its scope (a provider or one call) and is accepted by
    the person who signs in with the invited address; it can be revoked until
    then. Only the token's hash is stored.
    """

    __tablename__ = "role_invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(30), nullable=False)
    provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), nullable=True, index=True
    )
    call_id: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), nullable=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    invited_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    accepted_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ExpertiseProfile(Base):
    """A reviewer's keywords (the statement is ``User.expertise``)."""

    __tablename__ = "expertise_profiles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    keywords: Mapped[str] = mapped_column(Text, nullable=False, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ReviewerPublication(Base):
    """A publication on a reviewer's expertise profile: used for affinity (title,
    abstract) and for co-authorship conflicts (authors, year)."""

    __tablename__ = "reviewer_publications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    doi: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    title: Mapped[str] = mapped_column(String(1000), nullable=False)
    abstract: Mapped[str] = mapped_column(Text, nullable=False, default="")
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # "Family, Given" strings, as the source gave them
    authors: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    source: Mapped[str] = mapped_column(String(20), nullable=False, default="typed")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
