"""Writes about people: countries, institutions, users and role grants."""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import hashlib
import hmac
import secrets
import zlib
from dataclasses import asdict, dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ColumnElement, and_, case, delete, func, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session

from opencall import auditlog, jobs
from opencall.db import begin_write, utcnow
from opencall.errors import DomainError
from opencall.inputs import control_char, one_line
from opencall.people.bibliography import BibliographyError, Work, clean_doi, parse_publications
from opencall.people.domain import (
    LANGUAGES,
    bidi_control_in,
    email_lookalike,
    fold_email,
    institution_key,
    invisible_in_name,
    link_in_name,
    lookalike_word,
    mailbox_key,
    normalise_email,
    orcid_id,
    throwaway_mailbox,
    word_mixes_scripts,
    zone_name,
)
from opencall.people.models import (
    Country,
    EmailToken,
    ExpertiseProfile,
    Institution,
    LoginAttempt,
    ReviewerPublication,
    RoleGrant,
    RoleInvitation,
    User,
)
from opencall.people.queries import account_of_mailbox
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


#: codes people write that are not their country's ISO 3166 code (the EU's for the
#: United Kingdom and Greece): their alpha-2 code
COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}


def country_suggestion(session: Session, code: str) -> str | None:
    """The country a code the reference data does not hold may mean, as "GBR (United
    Kingdom)": its alpha-2 code (or a usual alias of one, UK), else the closest alpha-3
    code or name (a slip: KEY for KEN); None when nothing is close."""
    rows = session.execute(select(Country.iso3, Country.iso2, Country.name)).all()
    typed = code.strip().upper()
    two = COUNTRY_ALIASES.get(typed, typed)
    found = [r for r in rows if r.iso2 == two]
    if not found:
        by_key = {r.iso3: r for r in rows} | {r.name.upper(): r for r in rows}
        # sorted, so that of equally close ones the first in order is said
        close = difflib.get_close_matches(typed, sorted(by_key), n=1, cutoff=0.6)
        found = [by_key[close[0]]] if close else []
    return f"{found[0].iso3} ({found[0].name})" if found else None


def check_country(session: Session, iso3: str, *, field: str = "country") -> None:
    """Refuse a country code the reference data does not hold, suggesting the one meant
    where one is close (:func:`country_suggestion`)."""
    if session.get(Country, iso3) is None:
        meant = country_suggestion(session, iso3)
        if meant is None:
            raise DomainError(
                "Unknown country code %(code_value)s.", field=field, code_value=repr(iso3)
            )
        raise DomainError(
            "Unknown country code %(code_value)s. Did you mean %(suggestion)s?",
            field=field,
            code_value=repr(iso3),
            suggestion=meant,
        )


def _person_name(raw: str) -> str:
    """A person's own name on one line: required, at most 200 characters, written in
    letters (:func:`check_person_name`)."""
    name = one_line(raw)
    if not name:
        raise DomainError("Your name is required.", field="name")
    if len(name) > 200:
        raise DomainError("Name is too long (200 characters at most).", field="name")
    check_person_name(name)
    return name


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise DomainError(
            "Language must be one of %(languages)s.",
            field="language",
            languages=", ".join(LANGUAGES),
        )


def _email_taken() -> DomainError:
    return DomainError("An account with this e-mail address already exists.", field="email")


def _check_institution_name(name: str) -> None:
    """Refuse an institution's name that passes for another: conflicts of interest are
    found by the name's key, and staff read the name (trialcrowd13)."""
    char = invisible_in_name(name)
    if char:
        raise DomainError(
            "An institution's name may not contain an invisible character (%(char)s).",
            field="institution",
            char=char,
        )
    word = lookalike_word(name)
    if word:
        raise DomainError(
            "An institution's name may not write a word with letters of another alphabet "
            "that look like Latin ones (%(word)s); type it with the letters of one alphabet.",
            field="institution",
            word=word[:60],
        )


def get_or_create_institution(
    session: Session, name: str, country_iso3: str, ror_id: str | None = None
) -> Institution:
    name = one_line(name)
    if not name:
        raise DomainError("Institution name is required.", field="institution")
    if len(name) > 300:
        raise DomainError(
            "Institution name is too long (300 characters at most).", field="institution"
        )
    _check_institution_name(name)
    check_country(session, country_iso3)
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


#: the first key of the advisory lock of a mailbox's registration (PostgreSQL)
MAILBOX_LOCK = 7262017


def _lock_mailbox(session: Session, email: str) -> None:
    """Hold, until the transaction ends, the lock of the mailbox ``email`` reaches, so that
    two registrations of its aliases at once cannot both find it free (its addresses
    differ: the unique index does not see them). PostgreSQL: an advisory lock on the
    mailbox's key; SQLite: the database's write lock."""
    if session.connection().dialect.name != "postgresql":
        begin_write(session)
        return
    key = zlib.crc32(mailbox_key(email).encode()) & 0x7FFFFFFF
    session.execute(sql_text("SELECT pg_advisory_xact_lock(:k, :m)"), {"k": MAILBOX_LOCK, "m": key})


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
    email = clean_email(email, check_deliverability=check_deliverability)
    name = _person_name(name)
    _check_language(language)
    if password_hash is None:
        if password is None:
            raise DomainError(
                "Password must have at least %(n)s characters.", field="password", n=MIN_PASSWORD
            )
        _check_password(password)
        password_hash = hash_password(password)
    if country_iso3 is not None:
        check_country(session, country_iso3)
    if institution and not country_iso3:
        raise DomainError("Country is required with an institution.", field="country")
    if institution:
        _check_institution_name(one_line(institution))
    # last of the checks, after the password is hashed: the registration form answers
    # an address that has an account as a new one, so every other input is judged, and
    # the same argon2 work done, whether or not the address has an account; an alias of
    # an account's mailbox ("pi+2@", at Gmail "p.i@") is that account's (trialcrowd17),
    # looked up and inserted under the mailbox's lock (two aliases sent at once)
    _lock_mailbox(session, email)
    if account_of_mailbox(session, email) is not None:
        raise _email_taken()
    inst = None
    if institution and country_iso3:
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
        user.email_verified_at = utcnow()
    try:
        # two registrations of one address at the same instant (a double click) both
        # passed the check above: the later insert meets the unique address and is the
        # same refusal (its savepoint undone, the caller's unit of work kept)
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:
        if session.scalar(select(User.id).where(User.email == email)) is None:
            raise
        raise _email_taken() from None
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
    _scope_ok(role, provider_id, call_id)
    existing = session.scalar(
        select(RoleGrant).where(
            RoleGrant.user_id == user_id,
            RoleGrant.role == role,
            _matches(RoleGrant.provider_id, provider_id),
            _matches(RoleGrant.call_id, call_id),
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


# ---------------------------------------------------------------- accounts and sign-in

VERIFY_TTL = dt.timedelta(days=3)
RESET_TTL = dt.timedelta(hours=1)
MAX_PASSWORD = 200
EXPERTISE_MAX = 5000


def token_hash(raw: str) -> str:
    """What is stored for a one-time link (never the token itself)."""
    return hashlib.sha256(raw.encode()).hexdigest()


def new_token(
    now: dt.datetime, ttl: dt.timedelta, *, prefix: str = ""
) -> tuple[str, dict[str, Any]]:
    """A fresh secret token, for a row that stands for a link, a cookie or a bearer
    token (an e-mail token, a signed-in session, an invitation, an API token): the raw
    token (``prefix`` and 32 random bytes), handed out and never stored, and the columns
    such a row keeps of it (``token_hash``, ``created_at`` ``now`` and ``expires_at``
    ``now + ttl``)."""
    raw = prefix + secrets.token_urlsafe(32)
    return raw, {"token_hash": token_hash(raw), "created_at": now, "expires_at": now + ttl}


def issue_email_token(
    session: Session,
    purpose: str,
    email: str,
    *,
    user_id: int | None,
    ttl: dt.timedelta,
    now: dt.datetime | None = None,
) -> str:
    """Store the hash of a fresh one-time token and return the token (for the e-mail)."""
    raw, token = new_token(now or utcnow(), ttl)
    session.add(EmailToken(purpose=purpose, user_id=user_id, email=email, **token))
    session.flush()
    return raw


def _valid_token(
    session: Session, purpose: str, raw: str, now: dt.datetime | None = None
) -> EmailToken:
    now = now or utcnow()
    tok = session.scalar(
        select(EmailToken).where(
            EmailToken.token_hash == token_hash(raw or ""), EmailToken.purpose == purpose
        )
    )
    if tok is None or tok.used_at is not None or tok.expires_at <= now:
        raise DomainError(
            "This link is invalid or has expired. Ask for a new one.", code="bad_token"
        )
    return tok


def _token_user(session: Session, tok: EmailToken) -> User:
    """The account a valid link was sent for; the link is bad when it has none, or when
    the account was deactivated since the link was sent (a reset link must not set the
    password of, or verify, an account the site has closed)."""
    user = session.get(User, tok.user_id) if tok.user_id is not None else None
    if user is None or not user.is_active:
        raise DomainError(
            "This link is invalid or has expired. Ask for a new one.", code="bad_token"
        )
    return user


def check_email_token(session: Session, purpose: str, raw: str) -> EmailToken:
    """Raise DomainError unless the token is valid (used by the confirmation pages): unused,
    unexpired, and sent for an account that is still active."""
    tok = _valid_token(session, purpose, raw)
    _token_user(session, tok)
    return tok


def start_registration(session: Session, **fields: Any) -> tuple[User, str]:
    """Register an unverified account; returns the user and the verification token.
    An address at a throwaway-mailbox service is refused (``domain.throwaway_mailbox``):
    bots register with them by the thousand, from every network."""
    if throwaway_mailbox(clean_email(str(fields.get("email") or ""))):
        raise DomainError(
            "This address is at a throwaway mailbox service; register with an address you "
            "will keep (your institution's, or a personal one).",
            field="email",
        )
    user = register_user(session, **fields)
    raw = issue_email_token(session, "verify", user.email, user_id=user.id, ttl=VERIFY_TTL)
    return user, raw


#: a second registration of an address this soon after the first is taken as a double click
DOUBLE_SUBMIT = dt.timedelta(minutes=2)


def just_registered(user: User, now: dt.datetime | None = None) -> bool:
    """An unverified account made moments ago: registering it again is its owner's double
    click (or a form sent twice), whose verification mail is on its way, so the "you
    already have an account" mail would only confuse them."""
    return user.email_verified_at is None and user.created_at > (now or utcnow()) - DOUBLE_SUBMIT


def _spend(session: Session, tok: EmailToken, now: dt.datetime) -> None:
    """Mark a one-time link used, or refuse it when a request beside this one used it
    since it was read (trialcrowd11): one conditional update, so that two posts of one
    link at the same moment cannot both pass (PostgreSQL re-reads the row after the
    other's commit; SQLite writes one at a time)."""
    spent = session.execute(
        update(EmailToken)
        .where(EmailToken.id == tok.id, EmailToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise DomainError(
            "This link is invalid or has expired. Ask for a new one.", code="bad_token"
        )
    session.refresh(tok)


def verify_email(session: Session, raw: str, *, now: dt.datetime | None = None) -> User:
    tok = _valid_token(session, "verify", raw, now)
    user = _token_user(session, tok)
    now = now or utcnow()
    _spend(session, tok, now)
    if user.email_verified_at is None:
        user.email_verified_at = now
    session.flush()
    auditlog.record(session, "user.verified", "user", user.id, actor_id=user.id)
    return user


def _retire_reset_links(session: Session, user_id: int, now: dt.datetime) -> None:
    """One reset link valid at a time: every unused one of the account stops working."""
    for tok in session.scalars(
        select(EmailToken).where(
            EmailToken.user_id == user_id,
            EmailToken.purpose == "reset",
            EmailToken.used_at.is_(None),
        )
    ):
        tok.used_at = now


def request_password_reset(
    session: Session, email: str, *, client: str = "", now: dt.datetime | None = None
) -> tuple[User, str] | None:
    """A reset token for an active account, or None (the caller says the same either way).
    A new link retires the older ones."""
    now = now or utcnow()
    user = session.scalar(select(User).where(User.email == normalise_email(email or "")))
    if user is None or not user.is_active:
        return None
    _retire_reset_links(session, user.id, now)
    raw = issue_email_token(session, "reset", user.email, user_id=user.id, ttl=RESET_TTL, now=now)
    auditlog.record(
        session, "user.password_reset_requested", "user", user.id, data={"client": client[:64]}
    )
    return user, raw


PASSWORD_RESET_JOB = "people.password_reset"


def queue_password_reset(session: Session, email: str, *, client: str = "") -> None:
    """A password-reset request, the same for every address (caller commits): one job
    (``people.jobs.password_reset``) that looks the account up and mails the link, so
    the request's work, answer and time do not tell who has an account."""
    jobs.enqueue(
        session, PASSWORD_RESET_JOB, {"email": (email or "")[:254], "client": (client or "")[:64]}
    )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise DomainError(
            "Password must have at least %(n)s characters.", field="password", n=MIN_PASSWORD
        )
    if len(password) > MAX_PASSWORD:
        raise DomainError(
            "Password is too long (%(n)s characters at most).", field="password", n=MAX_PASSWORD
        )


def reset_password(
    session: Session, raw: str, new_password: str, *, now: dt.datetime | None = None
) -> User:
    """Set a new password with a reset token; this also ends the account's other sessions."""
    tok = _valid_token(session, "reset", raw, now)
    _check_password(new_password)
    user = _token_user(session, tok)
    now = now or utcnow()
    _spend(session, tok, now)
    _retire_reset_links(session, user.id, now)
    user.password_hash = hash_password(new_password)
    # the link proves the address, so an unverified account becomes verified
    if user.email_verified_at is None:
        user.email_verified_at = now
    session.flush()
    auditlog.record(session, "user.password_reset", "user", user.id, actor_id=user.id)
    # whoever knew the old password may hold a session or a token: both end here
    revoke_sessions(session, user.id, reason="password_reset", actor_id=user.id, now=now)
    revoke_all_api_tokens(session, user.id, actor_id=user.id, now=now)
    return user


@functools.cache
def _dummy_hash() -> str:
    """A hash no password matches, made once per process: checking a password against it
    costs one argon2 verification, as against a real account's hash."""
    return hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    # "" (signed in) | "bad_credentials" | "throttled" | "unverified"
    error: str = ""
    retry_after_s: int = 0


def _backoff_s(failures: int, free: int, base_s: int, cap_s: int) -> int:
    """Seconds to wait after the last failure: none for the first ``free`` failures,
    then ``base_s``, twice that, four times... never more than ``cap_s``."""
    if failures < free:
        return 0
    return int(min(cap_s, base_s * 2 ** min(failures - free, 30)))


BACKOFF_BASE_S = 30
# the account-wide backoff (guesses from many addresses) starts later and stays short,
# so a stranger can slow an account down but never lock its owner out
ACCOUNT_FREE_FACTOR = 4
ACCOUNT_BASE_S = 5
ACCOUNT_CAP_S = 60


def _wait(
    session: Session,
    cond: Any,
    free: int,
    base_s: int,
    cap_s: int,
    since: dt.datetime,
    now: dt.datetime,
) -> int:
    rows = list(
        session.scalars(
            select(LoginAttempt.at)
            .where(cond, LoginAttempt.ok.is_(False), LoginAttempt.at > since)
            .order_by(LoginAttempt.at.desc())
            .limit(64)
        )
    )
    delay = _backoff_s(len(rows), free, base_s, cap_s)
    if not delay:
        return 0
    left = (rows[0] + dt.timedelta(seconds=delay) - now).total_seconds()
    return max(0, int(left + 0.999))


def _site_wait(session: Session, per_min: int, now: dt.datetime) -> int:
    """Seconds until fewer than ``per_min`` sign-ins failed, site-wide, in the last minute
    from browsers that are not a known device (0: one more may be checked now)."""
    rows = list(
        session.scalars(
            select(LoginAttempt.at)
            .where(
                LoginAttempt.ok.is_(False),
                LoginAttempt.at > now - dt.timedelta(minutes=1),
                ~LoginAttempt.client.startswith(DEVICE_PREFIX, autoescape=True),
            )
            .order_by(LoginAttempt.at.desc())
            .limit(per_min)
        )
    )
    if len(rows) < per_min:
        return 0
    return max(1, int((rows[-1] + dt.timedelta(minutes=1) - now).total_seconds() + 0.999))


def password_stamp(user: User, secret: str) -> str:
    """What a known-device cookie holds of the account's password: a keyed digest of its
    hash (nothing a guess can be checked against), so that a new password (a reset)
    makes every device the account signed in on before unknown."""
    return hmac.new(secret.encode(), user.password_hash.encode(), hashlib.sha256).hexdigest()[:32]


# what each verified account signed in from a client adds to the client's allowances
CROWD_ALLOWANCE = 2


def crowd_allowance(
    session: Session, client: str, *, seconds: int, now: dt.datetime | None = None
) -> int:
    """``CROWD_ALLOWANCE`` for each verified account signed in from ``client`` in the
    last ``seconds``: a crowd behind one address (a campus NAT, a network's proxy) shows
    itself by its successes, which guessing and stuffing do not have (and each one costs
    an attacker a mailbox that verified an account). The per-client limits (failed
    sign-ins across accounts, registrations, reset requests) grow by it."""
    if not client:
        return 0
    since = (now or utcnow()) - dt.timedelta(seconds=seconds)
    return CROWD_ALLOWANCE * int(
        session.scalar(
            select(func.count(func.distinct(LoginAttempt.email)))
            .join(User, User.email == LoginAttempt.email)
            .where(
                LoginAttempt.client == client,
                LoginAttempt.ok.is_(True),
                LoginAttempt.at > since,
                User.email_verified_at.is_not(None),
            )
        )
        or 0
    )


DEVICE_PREFIX = "device:"


#: PostgreSQL advisory lock namespaces of the sign-in counts: an account, a client
LOGIN_ACCOUNT_LOCK = 7262022
LOGIN_CLIENT_LOCK = 7262023


def _lock_attempts(session: Session, email: str, client: str) -> None:
    """Hold, until the transaction ends, the locks of the sign-in counts of ``email`` and
    of ``client`` (none when empty), so that what they count is read and the attempt
    recorded one request at a time. PostgreSQL: advisory locks, the account's first;
    SQLite: the database's write lock (taken after the password check, never during it)."""
    if session.connection().dialect.name != "postgresql":
        begin_write(session)
        return
    for space, value in ((LOGIN_ACCOUNT_LOCK, email), (LOGIN_CLIENT_LOCK, client)):
        if value:
            k = zlib.crc32(value.encode()) & 0x7FFFFFFF
            session.execute(sql_text("SELECT pg_advisory_xact_lock(:s, :k)"), {"s": space, "k": k})


def _login_wait(
    session: Session,
    email: str,
    key: str,
    client: str,
    device: str,
    max_attempts: int,
    window_s: int,
    global_per_min: int,
    now: dt.datetime,
) -> int:
    """Seconds the next sign-in of ``email`` from ``key`` (a device, else the client)
    must wait under :func:`authenticate`'s counts (0: it may be checked now)."""
    since = now - dt.timedelta(seconds=window_s)
    waits = [
        _wait(
            session,
            (LoginAttempt.email == email) & (LoginAttempt.client == key),
            max_attempts,
            BACKOFF_BASE_S,
            window_s,
            since,
            now,
        )
    ]
    if not device:
        if client:
            crowd = crowd_allowance(session, client, seconds=window_s, now=now)
            waits.append(
                _wait(
                    session,
                    LoginAttempt.client == client,
                    2 * max_attempts + crowd,
                    BACKOFF_BASE_S,
                    window_s,
                    since,
                    now,
                )
            )
        waits.append(
            _wait(
                session,
                LoginAttempt.email == email,
                ACCOUNT_FREE_FACTOR * max_attempts,
                ACCOUNT_BASE_S,
                ACCOUNT_CAP_S,
                since,
                now,
            )
        )
        if global_per_min:
            waits.append(_site_wait(session, global_per_min, now))
    return max(waits)


def authenticate(
    session: Session,
    email: str,
    password: str,
    *,
    max_attempts: int,
    window_s: int,
    client: str = "",
    device: str = "",
    global_per_min: int = 0,
    now: dt.datetime | None = None,
) -> LoginResult:
    """Check a password under the login throttle; records the attempt (caller commits).

    Failures within ``window_s`` are counted three ways, each with an exponential
    backoff (the next attempt must wait longer and longer after the last failure)
    rather than a hard lock:

    - per account and client address: after ``max_attempts`` failures, 30 s, 60 s...
      capped at the window;
    - per client address, all accounts (a client spraying many addresses): after
      ``2 * max_attempts`` failures, 30 s, 60 s... capped at the window;
    - per account, all addresses: after ``4 * max_attempts`` failures, 5 s, 10 s...
      capped at a minute, so that nobody can lock another person out of their account.

    While waiting, even the right password is refused (guessing gains nothing) and
    the refused attempt is not counted (it checks nothing).

    The per-client allowance grows by :func:`crowd_allowance` (verified accounts signed in
    from the client in the window), so that the typos of a crowd behind one address do
    not stop the crowd. ``device`` is the id of a browser this account signed in on
    before (its known-device cookie, checked by the caller): its attempts are counted
    on their own, per account and device (``max_attempts`` free, then 30 s, 60 s...),
    and neither the client's nor the account's backoff applies, so that guesses from
    many addresses or a crowd's typos never stop the owner on their own browser.

    Credential stuffing spread thin (a guess or two per account and per address, from
    many addresses) stays under all three counts. ``global_per_min`` (0: off) bounds it
    site-wide: once that many sign-ins failed in the last minute from browsers that are
    not a known device, every such sign-in waits, unchecked, until the minute's count
    falls (:func:`_site_wait`), the right password included, so that a list of stolen
    passwords is tried no faster than that whatever the number of addresses. Known
    devices are not counted and never wait.
    """
    now = now or utcnow()
    email = normalise_email(email or "")[:254]
    client = (client or "")[:64]
    # where the attempt is counted: the known device, else the client address
    key = (DEVICE_PREFIX + device)[:64] if device else client

    def wait() -> int:
        return _login_wait(
            session, email, key, client, device, max_attempts, window_s, global_per_min, now
        )

    # a guess that must wait is refused at once, unchecked (it costs no argon2 work)...
    waited = wait()
    if waited:
        return LoginResult(None, "throttled", waited)
    user = session.scalar(select(User).where(User.email == email))
    candidate = user is not None and user.is_active and len(password) <= MAX_PASSWORD
    # exactly one argon2 verification whatever the address (unknown, deactivated, an
    # over-long password): the time of the answer does not tell who has an account
    stored = user.password_hash if candidate and user is not None else _dummy_hash()
    verified = verify_password(stored, password[:MAX_PASSWORD])
    # ...and counted, once checked, under the locks of its account and client, read again:
    # guesses sent at once all read the counts before any was recorded, and each step of
    # the backoff let through as many as the attacker had connections (trialcrowd22)
    _lock_attempts(session, email, "" if device else client)
    waited = wait()
    if waited:
        return LoginResult(None, "throttled", waited)
    ok = candidate and verified
    if ok:
        # the throttles read only the latest success of an account from a client (who
        # signed in from an address, ``crowd_allowance``): one row each, not one a
        # sign-in, which a script holding the password repeated without end
        session.execute(
            delete(LoginAttempt).where(
                LoginAttempt.email == email, LoginAttempt.client == key, LoginAttempt.ok.is_(True)
            )
        )
    session.add(LoginAttempt(email=email, ok=bool(ok), at=now, client=key))
    session.flush()
    if not ok or user is None:
        auditlog.record(
            session,
            "user.login_failed",
            "user",
            user.id if user is not None else "-",
            data={"client": client} if user is not None else {"client": client, "known": False},
        )
        return LoginResult(None, "bad_credentials")
    if user.email_verified_at is None:
        return LoginResult(None, "unverified")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return LoginResult(user)


# ---------------------------------------------------------------- browser sessions

SESSION_TTL = dt.timedelta(days=14)
#: session rows kept per account (trialcrowd16): one a browser the person uses is plenty
MAX_SESSIONS = 30


def start_user_session(
    session: Session,
    user: User,
    *,
    client: str = "",
    user_agent: str = "",
    now: dt.datetime | None = None,
) -> str:
    """A new signed-in session; returns its raw id (for the cookie; only its hash is stored)."""
    from opencall.people.models import UserSession

    now = now or utcnow()
    _make_room(session, user.id, now)
    raw, token = new_token(now, SESSION_TTL)
    session.add(
        UserSession(
            user_id=user.id,
            **token,
            client=client[:64],
            user_agent=user_agent[:200],
        )
    )
    session.flush()
    auditlog.record(
        session, "user.login", "user", user.id, actor_id=user.id, data={"client": client[:64]}
    )
    return raw


def _make_room(session: Session, user_id: int, now: dt.datetime) -> None:
    """Keep the account's session rows under :data:`MAX_SESSIONS` before one more is
    added: the oldest ended ones (signed out, replaced, expired) go first, then the
    oldest open one, whose browser is signed out. A script signing one account in again
    and again grew the table by a row a request (trialcrowd16)."""
    from opencall.people.models import UserSession

    mine = UserSession.user_id == user_id
    if (session.scalar(select(func.count()).where(mine)) or 0) < MAX_SESSIONS:
        return
    live = and_(UserSession.revoked_at.is_(None), UserSession.expires_at > now)
    keep = (
        select(UserSession.id)
        .where(mine)
        .order_by(case((live, 1), else_=0).desc(), UserSession.id.desc())
        .limit(MAX_SESSIONS - 1)
    )
    kept = set(session.scalars(keep))
    open_dropped = (
        session.scalar(select(func.count()).where(mine, live, UserSession.id.not_in(kept))) or 0
    )
    session.execute(
        delete(UserSession)
        .where(mine, UserSession.id.not_in(kept))
        .execution_options(synchronize_session=False)
    )
    if open_dropped:
        auditlog.record(
            session,
            "user.sessions_revoked",
            "user",
            user_id,
            data={"reason": "limit", "sessions": open_dropped},
        )


def end_user_session(
    session: Session, raw: str, *, reason: str = "logout", now: dt.datetime | None = None
) -> None:
    """Logout (or a new sign-in on the same browser, ``reason="replaced"``): this session
    stops working, wherever its cookie was copied to."""
    from opencall.people.models import UserSession

    row = session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(raw)))
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = now or utcnow()
    row.revoked_reason = reason
    session.flush()
    auditlog.record(
        session,
        "user.logout",
        "user",
        row.user_id,
        actor_id=row.user_id,
        data=None if reason == "logout" else {"reason": reason},
    )


def rotate_user_session(
    session: Session,
    old_raw: str | None,
    user: User,
    *,
    reason: str,
    client: str = "",
    user_agent: str = "",
) -> str:
    """A new session id for a browser whose privileges just changed (``reason``): the
    old one ends, wherever its cookie was copied to; returns the new raw id."""
    if old_raw:
        end_user_session(session, old_raw, reason=reason)
    return start_user_session(session, user, client=client, user_agent=user_agent)


def revoke_sessions(
    session: Session,
    user_id: int,
    *,
    reason: str = "admin",
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> int:
    """End every session of an account (a password reset, or an administrator); returns
    how many were open."""
    from opencall.people.models import UserSession

    now = now or utcnow()
    rows = list(
        session.scalars(
            select(UserSession).where(
                UserSession.user_id == user_id, UserSession.revoked_at.is_(None)
            )
        )
    )
    for row in rows:
        row.revoked_at = now
        row.revoked_reason = reason
    session.flush()
    auditlog.record(
        session,
        "user.sessions_revoked",
        "user",
        user_id,
        actor_id=actor_id,
        data={"reason": reason, "sessions": len(rows)},
    )
    return len(rows)


# ---------------------------------------------------------------- e-mail throttle


#: PostgreSQL advisory lock namespace of the hourly limits (a kind and a key)
SEND_LOCK = 7262024


def _throttle_wait(
    session: Session, key: str, kind: str, *, per_hour: int, now: dt.datetime | None
) -> int:
    """A sliding-hour limit of ``per_hour`` sends of ``kind`` under ``key`` (an address,
    or a client's key), stored in ``email_sends``: 0 when one more may go this hour, and
    then it is counted (caller commits); else the seconds until it may. The count is read
    and the send recorded under the lock of ``kind`` and ``key`` (held to the commit), so
    that sends asked for at once pass one at a time (trialcrowd22: all passed)."""
    from opencall.people.models import EmailSend

    now = now or utcnow()
    if session.connection().dialect.name == "postgresql":
        k = zlib.crc32(f"{kind}:{key}".encode()) & 0x7FFFFFFF
        session.execute(sql_text("SELECT pg_advisory_xact_lock(:s, :k)"), {"s": SEND_LOCK, "k": k})
    else:
        begin_write(session)
    recent = list(
        session.scalars(
            select(EmailSend.at)
            .where(
                EmailSend.email == key,
                EmailSend.kind == kind,
                EmailSend.at > now - dt.timedelta(hours=1),
            )
            .order_by(EmailSend.at.desc())
            .limit(per_hour)
        )
    )
    if len(recent) >= per_hour:
        left = (recent[-1] + dt.timedelta(hours=1) - now).total_seconds()
        return max(1, int(left + 0.999))
    session.add(EmailSend(email=key, kind=kind, at=now))
    session.flush()
    return 0


def may_send_email(
    session: Session, email: str, kind: str, *, per_hour: int, now: dt.datetime | None = None
) -> bool:
    """Whether one more e-mail of ``kind`` may go to ``email``'s mailbox this hour (its
    aliases share one allowance: ``mailbox_key``, trialcrowd17); when it may, the send
    is counted (caller commits)."""
    key = mailbox_key(email)[:254]
    return _throttle_wait(session, key, kind, per_hour=per_hour, now=now) == 0


# reset requests from one client address are counted in ``email_sends`` too (its
# throttle's storage and index), under this kind and a key that is no e-mail address
RESET_CLIENT_KIND = "reset_client"


def reset_request_wait(
    session: Session, client: str, *, per_hour: int, now: dt.datetime | None = None
) -> int:
    """The per-client limit on password-reset requests (against one client mailing reset
    links to every address): 0 when one more request from ``client`` may go through this
    hour, and then it is counted (caller commits); else the seconds until it may."""
    key = "client:" + (client or "")[:64]
    return _throttle_wait(session, key, RESET_CLIENT_KIND, per_hour=per_hour, now=now)


REGISTER_CLIENT_KIND = "register_client"


def register_request_wait(
    session: Session, client: str, *, per_hour: int, now: dt.datetime | None = None
) -> int:
    """The per-client limit on registrations (each mails the address typed: a link to
    verify it, or a note that it has an account), against one client mailing every
    address through the form: 0 when one more may go through this hour, and then it is
    counted (caller commits); else the seconds until it may. Counted the same whether
    the address has an account or not (the count tells nothing)."""
    key = "client:" + (client or "")[:64]
    return _throttle_wait(session, key, REGISTER_CLIENT_KIND, per_hour=per_hour, now=now)


INVITE_SENDER_KIND = "invite_sender"


def invite_sender_wait(
    session: Session, user_id: int, *, per_hour: int, now: dt.datetime | None = None
) -> int:
    """The per-account limit on team invitations (each mails the address typed, with a
    title the inviter chose), against one account mailing stranger after stranger
    (invite, remove, invite the next): 0 when one more may go this hour, and then it is
    counted (caller commits); else the seconds until it may."""
    return _throttle_wait(
        session, f"user:{user_id}", INVITE_SENDER_KIND, per_hour=per_hour, now=now
    )


UPLOAD_KIND = "upload"


def upload_wait(
    session: Session, user_id: int, *, per_hour: int, now: dt.datetime | None = None
) -> int:
    """The per-account limit on stored uploads (each file is kept twice, and for good:
    a replaced file is not deleted), against one account filling the site's disk: 0 when
    one more may be stored this hour, and then it is counted (caller commits, with the
    upload; a refused file is not counted); else the seconds until it may."""
    return _throttle_wait(session, f"user:{user_id}", UPLOAD_KIND, per_hour=per_hour, now=now)


def clean_time_zone(value: Any) -> str | None:
    """An account's time zone: an IANA name ("Africa/Kinshasa") or None (times in UTC
    alone); anything else is refused with a message."""
    return zone_name(str(value or ""))


def update_account(session: Session, user: User, data: dict[str, Any]) -> User:
    """Change name, institution, country, language, time zone, ORCID iD and expertise
    (validated first)."""
    name = _person_name(str(data.get("name", user.name) or ""))
    language = str(data.get("language", user.language) or "")
    _check_language(language)
    expertise = str(data.get("expertise", user.expertise) or "")
    if len(expertise) > EXPERTISE_MAX:
        raise DomainError(
            "The expertise statement is too long (%(n)s characters at most).",
            field="expertise",
            n=EXPERTISE_MAX,
        )
    country = str(data.get("country_iso3") or "").strip().upper() or None
    if country is not None:
        check_country(session, country)
    time_zone = clean_time_zone(data.get("time_zone", user.time_zone))
    raw_orcid = str(data.get("orcid", user.orcid or "") or "").strip()
    orcid = orcid_id(raw_orcid) if raw_orcid else None
    institution = one_line(str(data.get("institution") or ""))
    if institution and not country:
        raise DomainError("Country is required with an institution.", field="country")
    if len(institution) > 300:
        raise DomainError(
            "Institution name is too long (300 characters at most).", field="institution"
        )
    inst = (
        get_or_create_institution(session, institution, country)
        if institution and country
        else None
    )
    user.name = name
    user.language = language
    user.expertise = expertise
    user.country_iso3 = country
    user.time_zone = time_zone
    user.orcid = orcid
    user.institution_id = inst.id if inst else None
    session.flush()
    session.refresh(user)
    auditlog.record(session, "user.updated", "user", user.id, actor_id=user.id)
    return user


# ---------------------------------------------------------------- personal API tokens
# (hashed at rest with sha256 like the e-mail tokens: a token is random, so a
# slow hash adds nothing; revocable; the raw value is shown once)

API_TOKEN_PREFIX = "oc_"
MAX_API_TOKENS = 20
# read: your own and public data; apply: write your own proposals; review: submit reviews;
# manage: a call's management data
SCOPES = ("read", "apply", "review", "manage")
TOKEN_DAYS = (30, 90, 365)


def create_api_token(
    session: Session,
    user: User,
    name: str,
    *,
    scopes: tuple[str, ...] | list[str] = SCOPES,
    days: int = 90,
    now: dt.datetime | None = None,
) -> tuple[Any, str]:
    """A new personal API token; returns the row and the raw token (shown once).
    Every token can read; ``review`` and ``manage`` are granted when asked for."""
    from opencall.people.models import ApiToken

    name = name.strip()
    if not name:
        raise DomainError("Give the token a name.", field="name")
    if len(name) > 100:
        raise DomainError("The name is too long (100 characters at most).", field="name")
    unknown = [sc for sc in scopes if sc not in SCOPES]
    if unknown:
        raise DomainError("Unknown scope %(scope)s.", field="scopes", scope=repr(unknown[0]))
    if days not in TOKEN_DAYS:
        raise DomainError("A token lasts 30, 90 or 365 days.", field="days")
    now = now or utcnow()
    active = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    if len(active) >= MAX_API_TOKENS:
        raise DomainError("At most %(n)s active tokens; revoke one first.", n=MAX_API_TOKENS)
    granted = " ".join(sc for sc in SCOPES if sc == "read" or sc in scopes)
    raw, token = new_token(now, dt.timedelta(days=days), prefix=API_TOKEN_PREFIX)
    tok = ApiToken(user_id=user.id, name=name, scopes=granted, **token)
    auditlog.record_new(
        session,
        tok,
        "api_token.created",
        "api_token",
        actor_id=user.id,
        data={"scopes": granted, "days": days},
    )
    return tok, raw


def api_tokens_of(session: Session, user_id: int) -> list[Any]:
    from opencall.people.models import ApiToken

    stmt = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
    return list(session.scalars(stmt))


def revoke_api_token(session: Session, user: User, token_id: int) -> Any:
    from opencall.people.models import ApiToken

    tok = session.get(ApiToken, token_id)
    if tok is None or tok.user_id != user.id:
        raise DomainError("Not found", code="not_found")
    if tok.revoked_at is None:
        tok.revoked_at = utcnow()
        session.flush()
        auditlog.record(session, "api_token.revoked", "api_token", tok.id, actor_id=user.id)
    return tok


def revoke_all_api_tokens(
    session: Session, user_id: int, *, actor_id: int | None = None, now: dt.datetime | None = None
) -> int:
    from opencall.people.models import ApiToken

    now = now or utcnow()
    n = 0
    for tok in session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    ):
        tok.revoked_at = now
        n += 1
        session.flush()
        auditlog.record(
            session, "api_token.revoked", "api_token", tok.id, actor_id=actor_id, data={"all": True}
        )
    return n


@dataclass(frozen=True)
class TokenUser:
    user: User
    scopes: frozenset[str]


def token_user(session: Session, raw: str) -> TokenUser | None:
    """The account and scopes of a raw token, or None (unknown, revoked, expired, inactive)."""
    from opencall.people.models import ApiToken

    if not raw.startswith(API_TOKEN_PREFIX) or len(raw) > 200:
        return None
    tok = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(raw)))
    now = utcnow()
    if tok is None or tok.revoked_at is not None:
        return None
    if tok.expires_at is None or tok.expires_at <= now:
        return None
    user = session.get(User, tok.user_id)
    if user is None or not user.is_active:
        return None
    if tok.last_used_at is None or now - tok.last_used_at > dt.timedelta(minutes=5):
        tok.last_used_at = now  # the caller's unit of work commits it
    return TokenUser(user, frozenset(tok.scopes.split()))


# ---------------------------------------------------------------- operators: site administrators, roles

INVITE_TTL = dt.timedelta(days=14)
ADMIN_LINK_TTL = dt.timedelta(days=3)


def _scope_ok(role: str, provider_id: int | None, call_id: int | None) -> None:
    from opencall.people.models import ROLES

    if role not in ROLES:
        raise DomainError(
            "Unknown role %(role)s; expected one of %(roles)s.",
            field="role",
            role=repr(role),
            roles=", ".join(ROLES),
        )
    if (provider_id is None) == (call_id is None):
        raise DomainError("A role is scoped to exactly one provider or one call.")


def _matches(column: Mapped[int | None], value: int | None) -> ColumnElement[bool]:
    """``column`` equals ``value``, where None matches NULL (a role's unused scope)."""
    return column.is_(None) if value is None else column == value


def check_person_name(name: str, *, field: str = "name") -> None:
    """Refuse a person's name that carries a web or e-mail address, or a character that
    turns the text around: names are mailed to whatever address was typed (a
    registration's greeting, a team invitation), where either would pass as this site's;
    or that passes for another name: an invisible character, or a word mixing look-alike
    letters of Latin, Cyrillic and Greek (``domain.invisible_in_name``,
    ``domain.word_mixes_scripts``)."""
    found = link_in_name(name)
    if found:
        raise DomainError(
            "A name may not contain a web or e-mail address (%(found)s).",
            field=field,
            found=found[:60],
        )
    char = bidi_control_in(name)
    if char:
        raise DomainError(
            "A name may not contain a character that turns the direction of the text (%(char)s).",
            field=field,
            char=char,
        )
    char = invisible_in_name(name)
    if char:
        raise DomainError(
            "A name may not contain an invisible character (%(char)s).", field=field, char=char
        )
    word = word_mixes_scripts(name)
    if word:
        raise DomainError(
            "A name may not mix letters of different alphabets that look alike (such as "
            "Latin and Cyrillic) in one word (%(word)s); type it with the letters of one "
            "alphabet.",
            field=field,
            word=word[:60],
        )


def clean_email(email: str, *, check_deliverability: bool = False) -> str:
    """A valid address, normalised (the one e-mail rule for accounts and invitations):
    compatibility forms folded, and no address that passes for another (look-alike
    letters of other alphabets) accepted."""
    try:
        valid = validate_email(
            fold_email(email), check_deliverability=check_deliverability
        ).normalized
    except EmailNotValidError as exc:
        raise DomainError("Invalid e-mail address: %(reason)s", field="email", reason=exc) from exc
    valid = normalise_email(valid)
    if email_lookalike(valid):
        raise DomainError(
            "This e-mail address mixes letters of different alphabets that look alike (such "
            "as Latin and Cyrillic); type it with the letters of one alphabet.",
            field="email",
        )
    return valid


def create_site_admin(
    session: Session,
    *,
    email: str,
    name: str,
    country_iso3: str | None = None,
    password: str | None = None,
) -> tuple[User, str | None]:
    """Create (or promote) a site administrator.

    With a password the account is ready to sign in; without one, a
    password-setting link's token is returned (the reset form sets it), so no
    password ever has to travel through a shell history.
    """
    email = clean_email(email)
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        if password is not None:
            _check_password(password)
        user = register_user(
            session,
            email=email,
            name=name,
            password=password if password is not None else secrets.token_urlsafe(24),
            country_iso3=country_iso3,
            verified=True,
        )
    elif not user.is_active:
        raise DomainError("This account is deactivated.", field="email")
    user.is_site_admin = True
    session.flush()
    auditlog.record(session, "user.site_admin_granted", "user", user.id)
    raw = None
    if password is None:
        raw = issue_email_token(session, "reset", user.email, user_id=user.id, ttl=ADMIN_LINK_TTL)
    return user, raw


def invite_to_role(
    session: Session,
    *,
    email: str,
    role: str,
    provider_id: int | None = None,
    call_id: int | None = None,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> tuple[RoleGrant | None, RoleInvitation | None, str | None]:
    """Give ``role`` to the person with ``email``.

    An existing account gets the role at once (``(grant, None, None)``); an
    address without an account gets an invitation (``(None, invitation,
    token)``) that it accepts after registering. Inviting the same address to
    the same role again replaces the earlier link (one valid link at a time).
    The caller checks that ``call_id`` belongs to the provider it manages.
    """
    _scope_ok(role, provider_id, call_id)
    email = clean_email(email)
    user = session.scalar(select(User).where(User.email == email))
    if user is not None:
        if not user.is_active:
            raise DomainError("This account is deactivated.", field="email")
        grant = grant_role(
            session, user.id, role, provider_id=provider_id, call_id=call_id, actor_id=actor_id
        )
        return grant, None, None
    now = now or utcnow()
    for old in _pending_invitations(session, email, role, provider_id, call_id, now):
        old.revoked_at = now
    raw, token = new_token(now, INVITE_TTL)
    inv = RoleInvitation(
        email=email,
        role=role,
        provider_id=provider_id,
        call_id=call_id,
        invited_by=actor_id,
        **token,
    )
    auditlog.record_new(
        session,
        inv,
        "role.invited",
        "role_invitation",
        actor_id=actor_id,
        call_id=call_id,
        data={"email": email, "role": role, "provider_id": provider_id, "call_id": call_id},
    )
    return None, inv, raw


def _pending_invitations(
    session: Session,
    email: str,
    role: str,
    provider_id: int | None,
    call_id: int | None,
    now: dt.datetime,
) -> list[RoleInvitation]:
    stmt = select(RoleInvitation).where(
        RoleInvitation.email == email,
        RoleInvitation.role == role,
        RoleInvitation.accepted_at.is_(None),
        RoleInvitation.revoked_at.is_(None),
        RoleInvitation.expires_at > now,
        _matches(RoleInvitation.provider_id, provider_id),
        _matches(RoleInvitation.call_id, call_id),
    )
    return list(session.scalars(stmt))


def invitation_for_token(
    session: Session, raw: str, *, now: dt.datetime | None = None
) -> RoleInvitation:
    """The pending invitation behind a link, or DomainError (code ``bad_token``)."""
    now = now or utcnow()
    inv = session.scalar(
        select(RoleInvitation).where(RoleInvitation.token_hash == token_hash(raw or ""))
    )
    if inv is None or inv.accepted_at or inv.revoked_at or inv.expires_at <= now:
        raise DomainError(
            "This invitation is invalid, was revoked or has expired. Ask for a new one.",
            code="bad_token",
        )
    return inv


def _audit_invitation(
    session: Session, event: str, inv: RoleInvitation, actor_id: int | None
) -> None:
    auditlog.record(
        session,
        event,
        "role_invitation",
        inv.id,
        actor_id=actor_id,
        call_id=inv.call_id,
        data={"role": inv.role, "provider_id": inv.provider_id, "call_id": inv.call_id},
    )


def require_invitee(user: User, invited_email: str, wrong_account: DomainError) -> None:
    """Refused (``wrong_account``) unless ``user`` is the person an invitation was sent to
    (``invited_email``, normalised) and has verified that address."""
    if normalise_email(user.email) != invited_email:
        raise wrong_account
    if user.email_verified_at is None:
        raise DomainError("Please verify your e-mail address first: open the link we sent you.")


def _while_pending(session: Session, inv: RoleInvitation, **values: Any) -> bool:
    """Write ``values`` on ``inv`` only if it is still pending (neither accepted nor
    revoked) in the database, in one conditional update, and read it again: whether it
    was written (trialcrowd11: an acceptance and a revocation at the same moment both read
    it pending; PostgreSQL re-reads the row after the other's commit, SQLite writes one
    at a time, and the later one writes nothing)."""
    done = session.execute(
        update(RoleInvitation)
        .where(
            RoleInvitation.id == inv.id,
            RoleInvitation.accepted_at.is_(None),
            RoleInvitation.revoked_at.is_(None),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(inv)
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def accept_role_invitation(
    session: Session, user: User, raw: str, *, now: dt.datetime | None = None
) -> RoleGrant:
    """The invited person (signed in with the invited, verified address) takes the role."""
    now = now or utcnow()
    inv = invitation_for_token(session, raw, now=now)
    require_invitee(
        user,
        inv.email,
        DomainError(
            "This invitation was sent to another e-mail address. "
            "Sign in with that address to accept it.",
            code="wrong_account",
        ),
    )
    # taken only while still pending (trialcrowd11): an administrator's revocation at the
    # same moment read it pending too, and one of the two must lose (PostgreSQL re-reads
    # the row after the other's commit; SQLite writes one at a time)
    if not _while_pending(session, inv, accepted_at=now, accepted_by=user.id):
        raise DomainError(
            "This invitation is invalid, was revoked or has expired. Ask for a new one.",
            code="bad_token",
        )
    grant = grant_role(
        session,
        user.id,
        inv.role,
        provider_id=inv.provider_id,
        call_id=inv.call_id,
        actor_id=user.id,
    )
    session.flush()
    _audit_invitation(session, "role.invitation_accepted", inv, user.id)
    return grant


def revoke_role_invitation(
    session: Session, inv: RoleInvitation, *, actor_id: int | None = None
) -> RoleInvitation:
    if inv.accepted_at is None and inv.revoked_at is None:
        # revoked only while still pending: an acceptance at the same moment read it
        # pending too (``accept_role_invitation``), and the later of the two is refused
        if _while_pending(session, inv, revoked_at=utcnow()):
            _audit_invitation(session, "role.invitation_revoked", inv, actor_id)
    if inv.accepted_at is not None:
        raise DomainError("This invitation was already accepted; revoke the role instead.")
    return inv


def revoke_role(session: Session, grant: RoleGrant, *, actor_id: int | None = None) -> None:
    """Take a role back. A provider always keeps at least one administrator."""
    if grant.role == "provider_admin" and grant.provider_id is not None:
        admins = session.scalar(
            select(func.count(RoleGrant.id)).where(
                RoleGrant.role == "provider_admin", RoleGrant.provider_id == grant.provider_id
            )
        )
        if (admins or 0) <= 1:
            raise DomainError(
                "A provider needs at least one administrator: grant the role to someone else "
                "before revoking this one.",
                field="role",
            )
    data = {
        "role": grant.role,
        "provider_id": grant.provider_id,
        "call_id": grant.call_id,
    }
    user_id, call_id = grant.user_id, grant.call_id
    session.delete(grant)
    session.flush()
    auditlog.record(
        session, "role.revoked", "user", user_id, actor_id=actor_id, call_id=call_id, data=data
    )


# ---------------------------------------------------------------- reviewers' expertise

KEYWORDS_MAX = 1000
MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_PUBLICATIONS = 500


def update_expertise(session: Session, user: User, *, keywords: str, statement: str) -> User:
    """Keywords and the free-text statement that affinity reads."""
    keywords = " ".join((keywords or "").split())
    statement = (statement or "").strip()
    if len(keywords) > KEYWORDS_MAX:
        raise DomainError(
            "Keywords are too long (%(n)s characters at most).", field="keywords", n=KEYWORDS_MAX
        )
    if len(statement) > EXPERTISE_MAX:
        raise DomainError(
            "The statement is too long (%(n)s characters at most).",
            field="statement",
            n=EXPERTISE_MAX,
        )
    prof = session.get(ExpertiseProfile, user.id)
    if prof is None:
        prof = ExpertiseProfile(user_id=user.id)
        session.add(prof)
    prof.keywords = keywords
    prof.updated_at = utcnow()
    user.expertise = statement
    session.flush()
    auditlog.record(session, "expertise.updated", "user", user.id, actor_id=user.id)
    return user


def _publication_count(session: Session, user_id: int) -> int:
    return (
        session.scalar(
            select(func.count(ReviewerPublication.id)).where(ReviewerPublication.user_id == user_id)
        )
        or 0
    )


def _publication(user: User, w: Work, source: str) -> ReviewerPublication:
    return ReviewerPublication(user_id=user.id, source=source, **asdict(w))


def _check_work(w: Work) -> Work:
    # an imported file's JSON may spell a NUL or a lone surrogate (\u0000, \ud800), and
    # BibTeX may hold one as it is: the database refuses both (a 500 before)
    for text in (w.title or "", w.doi or "", w.abstract or "", *w.authors):
        bad = control_char(text)
        if bad:
            raise DomainError(
                "Text may not contain control characters (%(char)s).", field="file", char=bad
            )
    w.title = " ".join((w.title or "").split())
    if not w.title:
        raise DomainError("A publication needs a title.", field="title")
    if len(w.title) > 1000:
        raise DomainError("The title is too long (1000 characters at most).", field="title")
    if w.year is not None and not 1800 <= w.year <= utcnow().year + 1:
        raise DomainError("The year is not plausible.", field="year")
    if len(w.abstract or "") > EXPERTISE_MAX:
        raise DomainError(
            "The abstract is too long (%(n)s characters at most).",
            field="abstract",
            n=EXPERTISE_MAX,
        )
    w.authors = [" ".join(a.split())[:200] for a in w.authors if a and a.strip()][:500]
    return w


def add_publication(
    session: Session,
    user: User,
    *,
    title: str,
    doi: str = "",
    abstract: str = "",
    year: int | None = None,
    authors: list[str] | None = None,
    source: str = "typed",
) -> ReviewerPublication:
    """One publication typed in (or imported); a DOI already on the profile is refused."""
    if doi.strip() and not clean_doi(doi):
        raise DomainError("This is not a DOI (it starts with 10.).", field="doi")
    w = _check_work(
        Work(title=title, year=year, doi=clean_doi(doi), abstract=abstract, authors=authors or [])
    )
    if _publication_count(session, user.id) >= MAX_PUBLICATIONS:
        raise DomainError("A profile holds at most %(n)s publications.", n=MAX_PUBLICATIONS)
    if w.doi and session.scalar(
        select(ReviewerPublication.id).where(
            ReviewerPublication.user_id == user.id, ReviewerPublication.doi == w.doi
        )
    ):
        raise DomainError("This DOI is already on your profile.", field="doi")
    pub = _publication(user, w, source)
    session.add(pub)
    session.flush()
    return pub


def import_publications(session: Session, user: User, raw: bytes) -> int:
    """Publications from a BibTeX, ORCID-works or CSL-JSON file; returns how many
    were new (known DOIs and titles are skipped). A bad file changes nothing."""
    try:
        works = parse_publications(raw)
    except BibliographyError as exc:
        raise DomainError.composed(str(exc), field="file") from exc
    known = session.execute(
        select(ReviewerPublication.doi, ReviewerPublication.title).where(
            ReviewerPublication.user_id == user.id
        )
    ).all()
    dois = {d for d, _ in known if d}
    titles = {t.casefold() for _, t in known}
    fresh = []
    for w in works:
        w = _check_work(w)
        if (w.doi and w.doi in dois) or w.title.casefold() in titles:
            continue
        dois.add(w.doi)
        titles.add(w.title.casefold())
        fresh.append(w)
    if _publication_count(session, user.id) + len(fresh) > MAX_PUBLICATIONS:
        raise DomainError("A profile holds at most %(n)s publications.", n=MAX_PUBLICATIONS)
    for w in fresh:
        session.add(_publication(user, w, "import"))
    session.flush()
    auditlog.record(
        session,
        "expertise.publications_imported",
        "user",
        user.id,
        actor_id=user.id,
        data={"added": len(fresh), "in_file": len(works)},
    )
    return len(fresh)


def remove_publication(session: Session, user: User, pub_id: int) -> None:
    pub = session.get(ReviewerPublication, pub_id)
    if pub is None or pub.user_id != user.id:
        raise DomainError("No such publication.", code="not_found")
    session.delete(pub)
    session.flush()
