"""One settings object for the app, the worker and the CLI.

Nothing reads the environment at import time: call :func:`Settings`
explicitly and pass the object down.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPENCALL_", extra="ignore")

    database_url: str = "sqlite:///./var/opencall.sqlite3"
    # Seconds to wait for PostgreSQL to answer a new connection (psycopg's connect_timeout;
    # 2 at least, as libpq counts): a database host that never answers fails /readyz, the
    # command line and the worker within it, not after the system's TCP timeout
    db_connect_timeout_s: int = Field(default=10, ge=2, le=600)
    secret_key: str = "dev-only-change-me"  # DEFAULT_SECRET
    base_url: str = "http://127.0.0.1:8000"
    # Mail: "console" prints, "file" writes .eml files into mail_dir, "smtp" sends.
    mail_backend: Literal["console", "file", "smtp"] = "file"
    mail_dir: Path = Path("./var/mail")
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    # "none": plain SMTP (a relay on this machine or network); "starttls": plain, then
    # STARTTLS before anything is sent (port 587); "tls": TLS from the first byte (465).
    # The relay's certificate is checked against the system's CAs (or smtp_ca_file) and
    # smtp_host.
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_ca_file: Path | None = None
    smtp_timeout_s: float = Field(default=30.0, gt=0)
    mail_from: str = "opencall@localhost"
    upload_dir: Path = Path("./var/uploads")
    # Attachment storage (see opencall/storage.py and docs/deploy.md): "local" keeps
    # files in upload_dir; "s3" keeps them in a bucket of an S3-compatible store.
    storage_backend: Literal["local", "s3"] = "local"
    s3_bucket: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = ""
    s3_prefix: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_create_bucket: bool = False
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    # Run the jobs a request queued right after it commits, inside that request (the demo
    # does this). Off by default: jobs run in ``opencall worker``, never inside another
    # person's request.
    inline_jobs: bool = False
    # Requests one server process works on at once (each holds one database session in a
    # thread); further requests wait in line. Sizes the thread pool and the database pool.
    concurrency: int = Field(default=24, ge=1, le=1000)
    # Seconds an admitted request may take to send its body: a slower one is answered 408
    # and its place freed (slow clients cannot hold every place; a buffering proxy in
    # front is still recommended, see docs/operators.md)
    body_timeout_s: float = Field(default=60.0, gt=0)
    # Seconds a request's body may take to arrive and still be judged by when the request
    # began (a deadline, a review's due time): a slower body is judged by when it was
    # complete, so that a request begun before a deadline cannot carry text written long
    # after it (600: a 10 MiB upload at about 150 kbit/s; trialcrowd24)
    body_grace_s: float = Field(default=600.0, gt=0)
    # How often a live job's page asks for the job's progress (poll.js), in milliseconds
    job_poll_ms: int = Field(default=2000, ge=100)
    # None: Secure cookies unless base_url points at this machine (localhost, 127.0.0.1)
    secure_cookies: bool | None = None
    # failures allowed per account and client address before the backoff starts
    login_throttle_attempts: int = Field(default=5, ge=1)
    login_throttle_window_s: int = Field(default=900, ge=1)
    # failed sign-ins the whole site takes in a minute from browsers that are not a known
    # device of the account (credential stuffing spread over many accounts and addresses);
    # beyond, such sign-ins wait (429) until the minute's count falls. 0: no such limit
    login_global_failures_per_min: int = Field(default=60, ge=0)
    # e-mails of one kind (verification, reset, ...) sent to one address per hour
    mail_throttle_per_hour: int = Field(default=3, ge=1)
    # password-reset requests one client address may make per hour (whatever addresses
    # they name): beyond, 429 and nothing queued
    reset_throttle_per_hour: int = Field(default=10, ge=1)
    # registrations one client address may send per hour (each mails the address typed):
    # beyond, 429 and nothing created or mailed
    register_throttle_per_hour: int = Field(default=20, ge=1)
    # team invitations one account may send per hour (each mails the address typed, with
    # the proposal's title): beyond, 429 and nobody invited or mailed
    invite_throttle_per_hour: int = Field(default=30, ge=1)
    # PDFs one account may store per hour (each kept twice, and for good: a replaced file
    # is not deleted); beyond, 429 and nothing parsed or stored (trialcrowd13)
    upload_throttle_per_hour: int = Field(default=30, ge=1)
    # a PDF sent in pieces that resumes after a drop (trialapp23): the largest piece the
    # server takes, the uploads one account may have in progress at once (each at most
    # max_upload_bytes), and how long one not written to is kept before the sweep
    upload_chunk_bytes: int = Field(default=256 * 1024, ge=1024)
    partial_uploads_per_user: int = Field(default=3, ge=1)
    partial_upload_keep_hours: int = Field(default=24, ge=1)
    # the key of the audit log's HMAC chain and checkpoints (kept outside the database)
    audit_key: str = ""
    # the secret keys before OPENCALL_SECRET_KEY, comma-separated: cookies they signed are
    # still read (a rotation signs nobody out), new ones are signed with the current key
    secret_key_previous: str = ""
    # the audit keys retired by `opencall audit rotate-key`, comma-separated: `audit verify`
    # checks the MACs of the events written with them (without them, counted as unchecked)
    audit_retired_keys: str = ""
    # "production" refuses to start with the default secret key or insecure cookies
    env: str = "development"
    # Bounds on the work one uploaded PDF may cause (proposals.pdfsafe): the rewrite at
    # upload and the anonymity scan in the job each run in a child process.
    pdf_time_limit_s: float = Field(default=20.0, gt=0)
    pdf_scan_time_limit_s: float = Field(default=60.0, gt=0)
    pdf_memory_limit_mb: int = Field(default=1024, ge=256)
    pdf_max_stream_mb: int = Field(default=64, gt=0)
    pdf_max_page_content_kb: int = Field(default=1024, gt=0)
    # Days before a call closes at which the PI of each unsubmitted draft is reminded by
    # e-mail (``opencall proposals remind``, the ``proposals.remind_drafts`` job); each
    # draft once per threshold. OPENCALL_DRAFT_REMINDER_DAYS='7,1' (or '7 1', '[7, 1]');
    # '[]' or empty: none. Read by ``_days`` (NoDecode: not as JSON only).
    draft_reminder_days: Annotated[list[int], NoDecode] = Field(default_factory=lambda: [7, 1])
    # the first-report reminders to the PI of an award never reported stop after this
    # many (1 to 1,000; the call's overview then says the office must act; mail20b).
    # Kept equal to ``results.domain.REPORT_REMINDERS_MAX`` (a test checks).
    report_reminders_max: int = Field(default=6, ge=1, le=1000)
    default_language: str = "en"
    echo_sql: bool = False

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return check_database_url(value)

    @field_validator("draft_reminder_days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        """A list of days as an environment file writes it: ``7,1``, ``7 1`` or the JSON
        ``[7, 1]``; empty or ``[]``: none. Anything else is refused in one sentence."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        try:
            parsed = json.loads(text) if text.startswith("[") else text.replace(",", " ").split()
            if not isinstance(parsed, list):
                raise ValueError
            return [_whole_days(v) for v in parsed]
        except ValueError:
            raise ValueError(
                f"{value!r}: write the days as whole numbers of days separated by commas "
                "(7,1), or [] for none"
            ) from None

    @field_validator("draft_reminder_days")
    @classmethod
    def _draft_reminder_days(cls, value: list[int]) -> list[int]:
        if any(not 1 <= d <= 366 for d in value):
            raise ValueError(f"{value!r}: each reminder is 1 to 366 days before the close")
        return sorted(set(value), reverse=True)

    @property
    def secret_keys(self) -> list[str]:
        """The keys a signed cookie may carry: the previous ones, then the current one (the
        last signs; itsdangerous's order)."""
        previous = [k.strip() for k in self.secret_key_previous.split(",") if k.strip()]
        return [*previous, self.secret_key]

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        """The public address as e-mail links start with it: http(s), a host, no query."""
        url = urlsplit(value.strip())
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(
                f"{value!r} is not the site's public address: give it as "
                "https://opencall.example.org (the scheme and the host)"
            )
        if url.query or url.fragment:
            raise ValueError(f"{value!r}: the public address has no query or fragment")
        if url.path.strip("/"):
            raise ValueError(
                f"{value!r}: OpenCall is served at the root of its host (its pages link to "
                "/static/..., /calls...): give the address without a path"
            )
        return value.strip().rstrip("/")

    @field_validator("smtp_ca_file")
    @classmethod
    def _smtp_ca_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{str(value)!r} is not a readable file of CA certificates (PEM)")
        return value

    @model_validator(mode="after")
    def _smtp_login(self) -> Settings:
        """A user name and a password go together, and never over a connection in clear
        (the message names the variables only: the password is never printed)."""
        password = self.smtp_password.get_secret_value()
        if bool(self.smtp_username) != bool(password):
            raise ValueError(
                "OPENCALL_SMTP_USERNAME and OPENCALL_SMTP_PASSWORD go together: "
                "set both (the relay asks for a login) or neither"
            )
        if self.smtp_username and self.smtp_security == "none":
            raise ValueError(
                "OPENCALL_SMTP_USERNAME needs OPENCALL_SMTP_SECURITY=starttls (port 587) or "
                "tls (port 465): the password would cross the network in clear"
            )
        return self

    @field_validator("env")
    @classmethod
    def _env(cls, value: str) -> str:
        if value not in ENVIRONMENTS:
            raise ValueError(f"{value!r} is not one of {', '.join(ENVIRONMENTS)}")
        return value


ENVIRONMENTS = ("development", "production")

# OPENCALL_* variables read outside ``Settings`` (logging_setup.py, diagnostics.py)
OTHER_VARIABLES = ("OPENCALL_LOG_LEVEL", "OPENCALL_LOG_FORMAT", "OPENCALL_FAULT_LOG")


def misspelt_settings(environ: Mapping[str, str]) -> list[str]:
    """One sentence per ``OPENCALL_*`` variable of ``environ`` that is no setting but close
    to one (a misspelt name in the settings file, which ``Settings`` would ignore: the site
    would run on the default instead), naming the setting meant (trialop24). Variables far
    from every setting (a test harness's own) are left alone."""
    known = [f"OPENCALL_{name.upper()}" for name in Settings.model_fields] + list(OTHER_VARIABLES)
    said = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith("OPENCALL_") or upper in known:
            continue
        meant = difflib.get_close_matches(upper, known, n=2, cutoff=0.8)
        if meant:
            said.append(
                f"{name} is not an OpenCall setting: did you mean {' or '.join(meant)}? "
                "(misspelt, it would be ignored and the default used)"
            )
    return said


DATABASE_EXAMPLES = (
    "postgresql://user:password@host:5432/opencall or sqlite:///./var/opencall.sqlite3"
)


def check_database_url(value: str) -> str:
    """``value`` if it names a database OpenCall can use (PostgreSQL through psycopg, or
    SQLite), else a ValueError that says what to write instead."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError(f"{value!r} is not a database URL: write {DATABASE_EXAMPLES}") from None
    shown = url.render_as_string(hide_password=True)
    if url.drivername == "postgres":
        raise ValueError(f"{shown!r}: write postgresql:// (not postgres://)")
    if url.drivername == "postgresql":
        return value
    if url.get_backend_name() not in ("postgresql", "sqlite"):
        raise ValueError(f"{shown!r}: OpenCall runs on PostgreSQL or SQLite: {DATABASE_EXAMPLES}")
    if url.get_backend_name() == "postgresql" and url.drivername != "postgresql+psycopg":
        raise ValueError(f"{shown!r}: the driver is psycopg (PostgreSQL): write postgresql://")
    return value


def hidden_password(database_url: str) -> str:
    """The database URL to print: its password as ***."""
    from sqlalchemy.engine import make_url

    return make_url(database_url).render_as_string(hide_password=True)


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")
DEFAULT_SECRET = "dev-only-change-me"


def cookies_secure(settings: Settings) -> bool:
    """The Secure flag: as configured, else on unless the site is served from this machine."""
    if settings.secure_cookies is not None:
        return settings.secure_cookies
    url = urlsplit(settings.base_url)
    host = (url.hostname or "").lower()
    local = host in LOCAL_HOSTS or host.endswith(".localhost")
    return url.scheme == "https" or not local


def _whole_days(value: Any) -> int:
    """One reminder threshold as given (a JSON number or a word of the list): a whole
    number, else ``ValueError``."""
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise ValueError(value)
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    if not text.lstrip("-").isdigit():
        raise ValueError(value)
    return int(text)


def production_problems(settings: Settings) -> list[str]:
    """What keeps a production deployment from starting (empty outside production)."""
    if settings.env != "production":
        return []
    problems = []
    if settings.secret_key == DEFAULT_SECRET or len(settings.secret_key) < 32:
        problems.append(
            "OPENCALL_SECRET_KEY is the default or shorter than 32 characters: "
            "set it to a long random value"
        )
    if not cookies_secure(settings):
        problems.append("OPENCALL_SECURE_COOKIES is off: serve over HTTPS and set it to true")
    if not settings.audit_key:
        problems.append("OPENCALL_AUDIT_KEY is not set: set it to a long random value")
    # trialop18: every e-mail needs both; unset, the verification links pointed at
    # http://127.0.0.1:8000 and a relay got mail from opencall@localhost
    if "base_url" not in settings.model_fields_set:
        problems.append(
            "OPENCALL_BASE_URL is not set: set it to the public address the users type "
            "(e.g. https://opencall.example.org), which every e-mailed link starts with"
        )
    if settings.mail_backend == "smtp" and "mail_from" not in settings.model_fields_set:
        problems.append(
            "OPENCALL_MAIL_FROM is not set: set it to the address the site's e-mails "
            "leave from (e.g. calls@opencall.example.org)"
        )
    return problems
