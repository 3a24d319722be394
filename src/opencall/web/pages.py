"""The page context every HTML route receives, rendering, and the
app-wide plumbing (middleware, exception handlers) installed by :func:`install`.

A route depends on :func:`get_page`; it gets one database session (its unit of
work: the route calls ``page.commit()``), the current user (loaded through the
loader app.py injects, so this package imports no feature), the language, the
posted form (already CSRF-checked) and ``render``/``redirect`` helpers.

Expired session or stale form during a POST: nothing typed is lost. The posted
text fields come back in a page (``resume.html``) as hidden fields with a fresh
CSRF token: when the visitor is still signed in they press one button to send
them again; when the session expired, the same page asks for the password and
the login route then shows the resume page. Data stays in the visitor's browser,
never stored on the server (files cannot be carried and must be chosen again).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import html
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import MutableHeaders, UploadFile
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opencall import jobs, logging_setup
from opencall.errors import DomainError
from opencall.inputs import MAX_ID as MAX_ID  # importable here
from opencall.inputs import (
    control_char,
    invisible_only,
    local_date,
    local_decimal,
    local_general,
    local_number,
    local_when,
    reader_zone,
)
from opencall.logging_setup import logged_path, set_user
from opencall.settings import Settings, cookies_secure
from opencall.storage import Storage, storage_for
from opencall.web import conditional, guard, idempotency, labels, security, serving
from opencall.web.i18n import HTML_LANG, LANGUAGES, N_, Translator, error_json, isolate, negotiate

WEB = Path(__file__).parent
R = TypeVar("R")  # a row of some table
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
UserLoader = Callable[[Session, str], Any | None]

# Notices shown after a redirect (?m=code); codes, not text, travel in the URL.
NOTICES = {
    "saved": N_("Saved."),
    "created": N_("Your proposal was created. Fill in the sections below and save."),
    "submitted": N_(
        "Your proposal was submitted. You can still edit and resubmit until the deadline."
    ),
    "withdrawn": N_("Your proposal was withdrawn."),
    "registered": N_("Account created. We sent you an e-mail with a link to verify your address."),
    "verified": N_("Your e-mail address is verified. You can now sign in."),
    "signed_in": N_("You are signed in."),
    "signed_out": N_("You are signed out."),
    "reset_sent": N_(
        "If an account exists for this address, we sent it a link to choose a new password."
    ),
    "password_changed": N_("Your password was changed. Please sign in."),
    "invited": N_("Invitation sent."),
    "accepted": N_("You joined the team."),
    "declined": N_("You declined the invitation."),
    "uploaded": N_("The PDF was uploaded."),
    "removed": N_("Removed."),
    "request_saved": N_("The request was saved."),
    "published": N_("Published: the awarded programmes are now public."),
    "review_submitted": N_("Review submitted. Thank you."),
    "more_time_asked": N_("Your request was sent to the chair of the call."),
}


# composed in English by the web layer, shown through Translator.message
GUARD_MESSAGES = (
    N_("Text may not contain control characters (%(char)s)."),
    N_(
        "Cross-site request refused: this form was sent from another web site. "
        "Nothing was changed. If you meant to do this, open the page on this site "
        "and send the form from there."
    ),
    N_("The address may not contain control characters."),
    N_("The form could not be read: %(reason)s"),
)


class LoginRequired(Exception):
    pass


class CsrfFailed(Exception):
    def __init__(self, form: dict[str, str]) -> None:
        super().__init__("stale or missing CSRF token")
        self.form = form


# a service's refusal of who asks rather than of what they sent (an invitation answered
# from another account than the invited one): 403, on the pages and in the JSON API
WRONG_ACCOUNT = "wrong_account"


@dataclass
class Refusal:
    """What a service refused in :meth:`Page.attempt`; false while nothing was refused."""

    error: DomainError | None = None
    message: str = ""  # the refusal in the reader's language

    def __bool__(self) -> bool:
        return self.error is not None

    @property
    def field(self) -> str | None:
        return self.error.field if self.error is not None else None

    @property
    def code(self) -> str | None:
        return self.error.code if self.error is not None else None

    @property
    def status(self) -> int:
        """The page's status: 403 for a refusal of the account (:data:`WRONG_ACCOUNT`),
        else 400."""
        return 403 if self.code == WRONG_ACCOUNT else 400


@dataclass
class Page:
    request: Request
    db: Session
    user: Any  # the signed-in account, or None
    lang: str
    t: Translator
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadFile] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        settings: Settings = self.request.app.state.settings
        return settings

    @property
    def storage(self) -> Storage:
        """The attachment store the settings select (local directory or S3-compatible)."""
        return storage_for(self.settings)

    def _(self, message: str, **params: Any) -> str:
        return self.t.gettext(message, **params)

    def fields(self, *names: str) -> dict[str, str]:
        """The posted form's fields ``names`` (each as sent, "" where it is missing)."""
        return {k: self.form.get(k, "") for k in names}

    def require_user(self) -> Any:
        if self.user is None:
            raise LoginRequired()
        return self.user

    def not_found(self) -> NoReturn:
        raise HTTPException(status_code=404)

    def found(self, row: R | None) -> R:
        """``row``, or 404 when it is None (a lookup that found nothing this person may
        have); the pages' ``Api.found``."""
        if row is None:
            self.not_found()
        return row

    def get_visible(self, model: type[R], row_id: int, visible: Callable[[R], bool]) -> R:
        """The ``model`` row ``row_id`` when it exists and ``visible(row)`` holds, else
        404 either way (whether it exists does not leak); the pages' ``Api.get_visible``."""
        row = self.db.get(model, row_id)
        if row is None or not visible(row):
            self.not_found()
        return row

    @property
    def received_at(self) -> dt.datetime:
        """When this request reached the server: deadlines are judged by it, not by when a
        request that waited in line is finally processed."""
        return serving.received_at(self.request.scope) or dt.datetime.now(dt.UTC)

    def commit(self, *, background: bool = False) -> None:
        """Commit this request's unit of work; with ``settings.inline_jobs`` (the demo) then
        run the jobs this request queued, and only those: never another person's job.

        ``background=True`` (the chair's "Run" steps) hands them to the process's one
        inline-job thread instead and returns at once, so that the browser is sent to
        the job's progress page rather than kept waiting until the job ends (with
        ``opencall worker`` the jobs always run elsewhere). One thread: two long jobs
        never run their native solvers side by side in the web process."""
        mine = jobs.queued_here(self.db)
        self.db.commit()
        if not (self.settings.inline_jobs and mine):
            return
        state = self.request.app.state
        if background:
            future = inline_runner(state).submit(
                jobs.run_pending, state.sessions, state.jobs, ids=mine
            )
            future.add_done_callback(_log_failure)
        else:
            jobs.run_pending(state.sessions, state.jobs, ids=mine)

    @property
    def wants_json(self) -> bool:
        """The page's script (``safe-save.js``) saves in the background and asks for JSON;
        the page works without it (the plain form posts and redirects)."""
        return "application/json" in self.request.headers.get("accept", "")

    @property
    def confirmed(self) -> bool:
        """The form's "I confirm" box (``_macros.html``: ``confirm()``) was ticked."""
        return self.form.get("confirm") == "yes"

    def first_sending(self) -> bool:
        """False when this form was sent before by the same person under its one-time key
        (``_macros.html``: ``once()``) and stored: the write is then skipped, and the view
        answers as it did the first time. A form without a key is always a first sending.
        Call it inside :meth:`attempt`, before the write (a refusal frees the key)."""
        once = self.form.get(idempotency.ONCE_FIELD, "")
        if not once:
            return True
        sender = (
            f"user {self.user.id}"
            if self.user is not None
            else "session " + self.request.cookies.get(security.COOKIE, "")
        )
        return idempotency.first_sending(self.db, sender, once)

    @contextmanager
    def attempt(self) -> Iterator[Refusal]:
        """A form's write: committed (:meth:`commit`) when the services accept it. A
        service's refusal is rolled back (nothing changes) and not raised: the yielded
        :class:`Refusal` then holds it, for the view to show the page again with it::

            with page.attempt() as refused:
                services.withdraw(page.db, proposal, actor_id=page.user.id)
            if refused:
                return editor(page, proposal, 400, error=refused.message)
            return page.redirect("/dashboard", "withdrawn")
        """
        refused = Refusal()
        try:
            yield refused
            self.commit()
        except DomainError as exc:
            self.db.rollback()
            refused.error, refused.message = exc, self.t.error(exc)

    def render(
        self, template: str, ctx: dict[str, Any] | None = None, status: int = 200
    ) -> HTMLResponse:
        return render(self.request, template, ctx or {}, status=status, page=self)

    def render_letter(self, template: str, ctx: dict[str, Any], filename: str) -> Response:
        """A ``.txt`` template as a plain-text file (UTF-8) to keep: what a page says, to
        read offline, on any device, with any reader; private (``no-store``) as the page
        it comes from."""
        response = attachment_response(
            render_str(self.request, template, ctx, page=self),
            filename,
            "text/plain; charset=utf-8",
            "letter.txt",
        )
        response.headers["Cache-Control"] = "private, no-store"
        return response

    def render_public(self, template: str, ctx: dict[str, Any] | None = None) -> Response:
        """A public page (the call list, a call, its public figures): for an anonymous GET,
        revalidated by a strong ETag (:func:`public_etag`); for a signed-in person, as
        every page, ``no-store`` and no ETag."""
        response = self.render(template, ctx)
        return public_etag(self.request, response) if self.user is None else response

    def redirect(self, url: str, notice: str | None = None) -> RedirectResponse:
        if notice:
            base, hash_, fragment = url.partition("#")
            url = base + ("&" if "?" in base else "?") + f"m={notice}" + hash_ + fragment
        return RedirectResponse(url, status_code=303)


# responses at least this long are gzip-compressed (when the client accepts it)
GZIP_MIN_BYTES = 800
PUBLIC_VARY = "Accept-Language, Cookie"


def public_etag(request: Request, response: HTMLResponse) -> Response:
    """An anonymous GET of a public page, answered 200 with a strong ETag (the sha256 of
    the page as sent: a gzip-compressed body has a tag of its own) and ``Cache-Control:
    no-cache`` (kept, revalidated at each visit), or 304 without a body when the client's
    ``If-None-Match`` names that tag: a slow link downloads an unchanged page once.
    Nothing is tagged that carries a session of its own (a cookie written by this
    request: a CSRF token in the page) or is not a 200."""
    data = getattr(request.state, "session_data", None)
    if request.method != "GET" or response.status_code != 200 or getattr(data, "dirty", False):
        return response
    body = bytes(response.body)
    gzipped = len(body) >= GZIP_MIN_BYTES and "gzip" in request.headers.get("accept-encoding", "")
    tag = f'"{hashlib.sha256(body).hexdigest()[:40]}{"-gz" if gzipped else ""}"'
    headers = {"ETag": tag, "Cache-Control": "no-cache", "Vary": PUBLIC_VARY}
    asked = request.headers.get("if-none-match", "")
    if asked.strip() == "*" or tag in (t.strip() for t in asked.split(",")):
        return Response(status_code=304, headers=headers)
    response.headers.update(headers)
    return response


_RUNNER_LOCK = threading.Lock()
log = logging.getLogger("opencall.web")


def _log_failure(future: Future[Any]) -> None:
    exc = future.exception()
    if exc is not None:  # a job's own failure is recorded on the job; this is anything else
        log.error("inline jobs failed", exc_info=(type(exc), exc, exc.__traceback__))


def inline_runner(state: Any) -> ThreadPoolExecutor:
    """The app's one thread for background inline jobs (created on first use)."""
    with _RUNNER_LOCK:
        runner: ThreadPoolExecutor | None = getattr(state, "inline_runner", None)
        if runner is None:
            runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opencall-inline-job")
            state.inline_runner = runner
        return runner


def choose_language(request: Request, user: Any | None) -> str:
    """Explicit choice (cookie) > the account's language > Accept-Language > default."""
    cookie = request.cookies.get(security.LANG_COOKIE)
    if cookie in LANGUAGES:
        return str(cookie)
    if user is not None and getattr(user, "language", None) in LANGUAGES:
        return str(user.language)
    negotiated = negotiate(request.headers.get("accept-language"))
    if negotiated:
        return negotiated
    # (a layer outside the application, such as the 408 of a stalled body, has no app:
    # English then)
    app = request.scope.get("app")
    settings: Settings | None = app.state.settings if app is not None else None
    default = settings.default_language if settings is not None else "en"
    return default if default in LANGUAGES else "en"


@dataclass
class Posted:
    """The posted form of a request, read on the event loop (no database work here)."""

    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadFile] = field(default_factory=dict)


async def read_posted(request: Request) -> Posted:
    """Read (await) the body of a POST; the database work happens in :func:`get_page`."""
    posted = Posted()
    if request.method in SAFE_METHODS:
        return posted
    try:
        data = await request.form(max_files=5, max_fields=2000)
    except HTTPException:
        raise
    except Exception as exc:  # noqa: BLE001 - malformed bodies are the client's error
        # a body over the limit while a file part was being spooled: the limit's 413
        # comes wrapped in the parser's task group
        too_large = _http_error_in(exc)
        if too_large is not None:
            raise too_large from exc
        # (too many fields or files, a field over 1 MB, a broken multipart body)
        raise DomainError("The form could not be read: %(reason)s", reason=exc) from exc
    one_file_each(data.multi_items())
    for key, value in data.multi_items():
        if isinstance(value, UploadFile):
            if value.filename:
                posted.files[key] = value
        else:
            posted.form.setdefault(key, _clean_field(key, value))
    request.state.posted = _carry(posted.form)
    return posted


def one_file_each(items: Iterable[tuple[str, Any]]) -> None:
    """Refused when one file field of a form carries two files (mend22b): only one would
    be kept (the last), and nothing would say the first was not."""
    seen: set[str] = set()
    for key, value in items:
        if isinstance(value, UploadFile) and value.filename:
            if key in seen:
                raise DomainError(
                    "Send one file at a time: the form sent several in one field; nothing "
                    "was stored.",
                    field=key,
                )
            seen.add(key)


def _http_error_in(exc: BaseException) -> HTTPException | None:
    """The HTTPException inside an exception group (or its causes), if any."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, HTTPException):
            return e
        if isinstance(e, BaseExceptionGroup):
            todo.extend(e.exceptions)
        todo.extend(x for x in (e.__cause__, e.__context__) if x is not None)
    return None


def get_page(request: Request, posted: Posted = Depends(read_posted)) -> Iterator[Page]:
    """The page context. A plain (sync) generator: FastAPI runs it in the thread pool, so
    the user is loaded and the session closed off the event loop (the close runs on a
    thread of its own, never waiting for a free worker thread)."""
    db: Session = request.app.state.sessions()
    try:
        user = None
        sess = security.read_session(request)
        if sess is not None and sess.sid is not None:
            loader: UserLoader = request.app.state.user_loader
            user = loader(db, sess.sid)
        lang = choose_language(request, user)
        request.state.user = user
        request.state.lang = lang
        # read while the session is open: an error page rendered after it closed has
        # a detached account whose expired attributes cannot be loaded again
        request.state.time_zone = getattr(user, "reading_zone", None)
        set_user(getattr(user, "id", None))
        page = Page(request, db, user, lang, Translator(lang), posted.form, posted.files)
        if request.method not in SAFE_METHODS and not security.check_csrf(
            request, posted.form.get(security.CSRF_FIELD)
        ):
            raise CsrfFailed(posted.form)
        yield page
    finally:
        db.close()


def _clean_field(key: str, value: str) -> str:
    """A posted text field: control characters refused, invisible-only text is empty."""
    bad = control_char(value) or control_char(key)
    if bad:
        raise DomainError(
            "Text may not contain control characters (%(char)s).", field=key, char=bad
        )
    return "" if "password" not in key and invisible_only(value) else value


# ------------------------------------------------------------------ rendering


# the time zone of the account a page is rendered for (set by :func:`render`), read by
# the ``utc`` filter and the ``reader_zone()`` global, which also serve macros imported
# without the template's context
_READER_ZONE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "opencall_reader_zone", default=None
)


def fmt_when(
    value: dt.datetime | None,
    zone: str | None,
    lang: str | None = None,
    *,
    seconds: bool = False,
) -> str:
    """A moment as its reader reads it: in their language's format (Babel, CLDR) on the
    wall clock of their zone, the zone named with its offset that day: "21 déc. 2026,
    05:15 (heure : Népal, UTC+05:45)"; without a zone, UTC, named: "Dec 20, 2026,
    11:30 PM (UTC)". Pages and e-mails say times this way (stored times stay UTC, exports
    ISO). Without ``lang``, the neutral "2026-12-20 23:30 UTC (2026-12-21 05:30
    Asia/Dhaka, UTC+06:00)" of a refusal's sentence (translated later, into any
    language), the logs and the command line."""
    if value is None:
        return ""
    at = value.astimezone(dt.UTC)
    tz = reader_zone(zone)
    if lang is not None:
        return local_when(at, tz, lang, seconds=seconds)
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    text = at.strftime(fmt) + " UTC"
    if tz is None:
        return text
    local = at.astimezone(tz)
    off = local.strftime("%z")  # +0600
    return f"{text} ({local.strftime(fmt)} {zone}, UTC{off[:3]}:{off[3:5]})"


def fmt_in_zone(value: dt.datetime | None, zone: str | None) -> str:
    """A moment on the wall clock of a stated zone (a call's, a site's), written as the
    page's language writes dates, the zone named with its offset that day: "Jan 15,
    2027, 5:00 PM (Germany (Berlin) Time, UTC+01:00)"; "" without a zone (or a UTC
    alias, which the time beside it already says)."""
    tz = reader_zone(zone)
    if value is None or tz is None:
        return ""
    return local_when(value, tz, _READER_LANG.get())


def shown_zone() -> str | None:
    """The reader's zone when times of the page being rendered are also shown in it."""
    zone = _READER_ZONE.get()
    return zone if reader_zone(zone) is not None else None


def fmt_utc(value: dt.datetime | None) -> str:
    """The templates' ``utc`` filter: a moment in the page's language and the reader's
    zone (:func:`fmt_when`)."""
    return fmt_when(value, _READER_ZONE.get(), _READER_LANG.get())


# the language of the page being rendered (set by :func:`render`), read by the ``num``
# filter, which also serves macros imported without the template's context
_READER_LANG: contextvars.ContextVar[str] = contextvars.ContextVar(
    "opencall_reader_lang", default="en"
)


def fmt_day(value: dt.date | str | None) -> str:
    """The templates' ``day`` filter: a day (or a stored record's ISO text of one) in the
    page's language (:func:`opencall.inputs.local_date`): "16 janv. 2027"; other text
    (not a day) as it is. Not for a form input's value, which stays ISO."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        return local_date(value.date(), _READER_LANG.get())
    if isinstance(value, dt.date):
        return local_date(value, _READER_LANG.get())
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return value
    return local_date(day, _READER_LANG.get())


def fmt_num(value: float | int | None) -> str:
    """An amount as the page's reader writes numbers ("24,000", "24 000", "24.000"),
    at most two decimals (hours, mg, berths)."""
    if value is None:
        return ""
    return local_number(value, _READER_LANG.get(), 2)


def fmt_mb(size: int) -> str:
    """A size in bytes as megabytes (10^6 bytes) the reader writes them: the upload
    limit, said the same way by the call's rules and the upload form."""
    return fmt_num(size / 1_000_000)


def fmt_dec(value: float | None, decimals: int = 2, signed: bool = False) -> str:
    """A decimal a person reads (a share, a grade, a ratio) with ``decimals`` fixed
    decimals, in the page reader's decimal sign ("12.5", "12,5"), ``signed``: "+0.25"."""
    if value is None:
        return ""
    return local_decimal(value, _READER_LANG.get(), decimals, signed=signed)


def fmt_general(value: float | None, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits (a p-value) in the reader's decimal sign."""
    if value is None:
        return ""
    return local_general(value, _READER_LANG.get(), digits)


IMMUTABLE = "public, max-age=31536000, immutable"


class HashedStatic:
    """The static files under names that carry a hash of their content
    (``site.css`` is linked as ``/static/site.<10 hex>.css``): such a name is served
    with :data:`IMMUTABLE`, so a browser asks for it once a year at most, and a changed
    file gets a new name. The plain name still answers (old links, cached for a day).
    Starlette's ``StaticFiles`` adds the ETag and Last-Modified headers and answers a
    revalidation with 304."""

    def __init__(self, directory: Path) -> None:
        import hashlib

        from fastapi.staticfiles import StaticFiles

        self.files = StaticFiles(directory=str(directory))
        self.hashed: dict[str, str] = {}  # plain name -> hashed name
        self.plain: dict[str, str] = {}  # hashed name -> plain name
        for f in sorted(directory.iterdir()):
            if f.is_file() and f.suffix in (".css", ".js"):
                digest = hashlib.sha256(f.read_bytes()).hexdigest()[:10]
                name = f"{f.stem}.{digest}{f.suffix}"
                self.hashed[f.name], self.plain[name] = name, f.name

    def url(self, name: str) -> str:
        """The URL of the static file ``name`` ("site.css" or "/static/site.css")."""
        plain = name.removeprefix("/static/")
        return "/static/" + self.hashed.get(plain, plain)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, root = scope.get("path", ""), scope.get("root_path", "")
        # below the mount: the path without the mount's prefix (starlette keeps both)
        route = path[len(root) :] if root and path.startswith(root) else path
        plain = self.plain.get(route.lstrip("/"))
        if plain is None:
            await self.files(scope, receive, send)
            return

        async def forever(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message["headers"] if k != b"cache-control"]
                message = {**message, "headers": [*headers, (b"cache-control", IMMUTABLE.encode())]}
            await send(message)

        inner = path[: len(path) - len(route)] + "/" + plain
        await self.files({**scope, "path": inner}, receive, forever)


def make_environment(directory: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory)),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["utc"] = fmt_utc
    env.filters["in_zone"] = fmt_in_zone
    env.globals["reader_zone"] = shown_zone
    # a static file's URL; the app's environment links the hashed names (install)
    env.globals["static"] = lambda name: "/static/" + name.removeprefix("/static/")
    env.filters["num"] = fmt_num
    env.filters["day"] = fmt_day
    env.filters["mb"] = fmt_mb
    env.filters["dec"] = fmt_dec
    env.filters["general"] = fmt_general
    env.globals["bdi"] = bdi
    env.globals["new_once"] = idempotency.new_once  # a form's one-time key (first_sending)
    # the bias model's "not tested" lines, groups in words: skip_line(_, m) (the chair's
    # ranking page, the office report)
    env.globals["skip_line"] = labels.skipped_line
    # a kept form's fields in words (resume.html)
    env.globals["field_labels"] = labels.FIELD_LABELS
    env.globals["bookkeeping_fields"] = labels.BOOKKEEPING_FIELDS
    env.globals["form_target"] = labels.form_target
    env.filters["isolate"] = isolate
    return env


def bdi(value: Any) -> Markup:
    """A name or title put into a sentence, isolated for bidirectional text (an Arabic or
    Hebrew name keeps the sentence's punctuation in place) and escaped. Not for
    ``<title>``, whose text is shown as it is: there the ``isolate`` filter
    (``web.i18n.isolate``, U+2068 ... U+2069)."""
    return Markup("<bdi>%s</bdi>") % ("" if value is None else value)


def render(
    request: Request,
    template: str,
    ctx: dict[str, Any],
    *,
    status: int = 200,
    page: Page | None = None,
) -> HTMLResponse:
    return HTMLResponse(render_str(request, template, ctx, page=page), status_code=status)


def render_str(
    request: Request, template: str, ctx: dict[str, Any], *, page: Page | None = None
) -> str:
    """``template`` rendered as a page is (the reader's language, zone and number
    format): HTML for a ``.html`` template, plain text for a ``.txt`` one (not escaped)."""
    env: jinja2.Environment = request.app.state.templates
    lang = (
        page.lang
        if page
        else getattr(request.state, "lang", None) or choose_language(request, None)
    )
    t = page.t if page else Translator(lang)
    user = page.user if page else getattr(request.state, "user", None)
    notice_code = request.query_params.get("m")
    context: dict[str, Any] = {
        "request": request,
        "_": t.gettext,
        "ngettext": t.ngettext,
        "tmsg": t.message,
        "lang": lang,
        "html_lang": HTML_LANG.get(lang, lang),
        "languages": LANGUAGES,
        "user": user,
        "csrf_token": lambda: security.csrf_token(request),
        "csrf_field": security.CSRF_FIELD,
        "notice": t.gettext(NOTICES[notice_code]) if notice_code in NOTICES else None,
        "path": request.url.path,
        "scripts": [],
    }
    context.update(ctx)
    # the account's zone, read by get_page (an error page's account may be detached)
    token = _READER_ZONE.set(getattr(request.state, "time_zone", None))
    lang_token = _READER_LANG.set(lang)
    try:
        return env.get_template(template).render(context)
    finally:
        _READER_LANG.reset(lang_token)
        _READER_ZONE.reset(token)


# ------------------------------------------------------------------ plumbing


class BodyLimit(serving.HttpMiddleware):
    """Refuse request bodies beyond a hard limit before they are parsed
    (the upload service applies the exact, friendlier limit below it)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await _too_large(scope, receive, send, self.limit)
                return
        seen = 0
        over = False

        async def limited() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    over = True
                    raise HTTPException(status_code=413)
            return message

        started = replaced = False

        async def answer(message: Message) -> None:
            # past the limit, the answer is 413 whatever the layers below made of the
            # refusal (a form parser answers 400 for an error raised inside it)
            nonlocal started, replaced
            if message["type"] == "http.response.start":
                started = True
                if over and message["status"] != 413:
                    replaced = True
                    await _too_large(scope, receive, send, self.limit)
                    return
            elif replaced:
                return
            await send(message)

        try:
            await self.app(scope, limited, answer)
        except Exception:
            # a layer between this one and the routes (the Idempotency-Key's, which reads
            # a write's body whole) met the limit: the same answer as a route's
            if not over or started:
                raise
            await _too_large(scope, receive, send, self.limit)


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    if scope.get("path", "").startswith("/api/"):
        from fastapi.responses import JSONResponse

        await JSONResponse({"detail": "request body too large"}, status_code=413)(
            scope, receive, send
        )
        return
    request = Request(scope, receive)
    lang = choose_language(request, None)
    t = Translator(lang)
    # a multipart form carries the files; any other form is over the limit by what was
    # typed or pasted into it, and is not told about a file it never had
    if request.headers.get("content-type", "").startswith("multipart/"):
        text = t.gettext("The file is too large.")
    else:
        text = t.gettext(
            "What you sent is too large: at most %(mb)s MB in one request.",
            mb=limit // (1024 * 1024),
        )
    body = f"<!doctype html><html lang='{HTML_LANG[lang]}'><meta charset='utf-8'><title>413</title><p>{text}</p></html>"
    response = HTMLResponse(body, status_code=413)
    await response(scope, receive, send)


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Permissions-Policy": (
        "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
        "microphone=(), payment=(), usb=(), interest-cohort=()"
    ),
}
# sent when cookies are Secure (the site is served over HTTPS): browsers then refuse
# plain HTTP to this host for two years
HSTS = "max-age=63072000; includeSubDomains"


def _sent_files(request: Request) -> bool:
    """Whether the form was sent with its files (multipart): a file is not carried through
    a sign-in, and the page that keeps the rest says so before it."""
    return request.headers.get("content-type", "").startswith("multipart/")


def _resume_page(
    request: Request, mode: str, carry: dict[str, str], proven: bool, status: int
) -> Response:
    """The page that keeps a form its session or its token let down (``resume.html``):
    sign in again (``mode`` "login") or send it again ("resend"), with the text fields of
    ``carry``, back to the path it was sent to."""
    return render(
        request,
        "resume.html",
        {
            "mode": mode,
            "carry": carry,
            "target": request.url.path,
            "proven": proven,
            "had_files": _sent_files(request),
        },
        status=status,
    )


def _carry(form: dict[str, str]) -> dict[str, str]:
    """Text fields worth carrying back to the visitor (never passwords or tokens)."""
    return {
        k: v
        for k, v in form.items()
        if k != security.CSRF_FIELD and "password" not in k and not k.startswith("carry")
    }


def _id_out_of_range(path: str) -> bool:
    return any(
        part.isdecimal() and (len(part) > 10 or int(part) > MAX_ID) for part in path.split("/")
    )


def on_this_site(location: str, host: str) -> str:
    """An answer's ``Location`` made from the request's own ``Host`` (the router's
    trailing-slash redirect builds ``http://<Host>/calls``) as a path on this site: the
    ``Host`` a client claims appears in no answer, and a redirect behind a TLS proxy does
    not fall back to ``http://``. One slash begins the path, so that it never reads as
    another host (``//evil.example``, ``/\\evil.example``). Anything else is kept as it
    is (trialcrowd14, tests/security/test_host_header.py)."""
    try:
        parts = urlsplit(location)
    except ValueError:
        return location
    if not parts.scheme or not parts.netloc or parts.netloc.lower() != host.lower():
        return location
    path = "/" + parts.path.lstrip("/\\")
    return path + (f"?{parts.query}" if parts.query else "")


class SessionAndHeaders(serving.HttpMiddleware):
    """Every answer's session cookie (when the session changed), security headers and
    caching, its ``Location`` made a path on this site (:func:`on_this_site`), and the
    404 of a page address with an id no row can have.

    A plain ASGI layer that edits the answer's start as it goes out: Starlette's
    ``BaseHTTPMiddleware`` (``@app.middleware("http")``, what this was) ran the rest of
    the app in a task of its own and passed the answer back through a memory stream,
    about 0.2 ms of CPU a request for nothing (docs/testing.md, speed15). The answer's
    start goes out once the view has returned, so the session it changed is known."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.headers(Request(scope), message)
            await send(message)

        path = Request(scope).url.path
        if not path.startswith("/api/") and _id_out_of_range(path):
            # no row can have such an id (the database stores 32-bit keys): not found,
            # instead of an overflow deep in a query (the JSON API bounds its ids itself)
            response = _error_page(Request(scope, receive), 404)
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def headers(self, request: Request, start: Message) -> None:
        start.setdefault("headers", [])
        headers = MutableHeaders(scope=start)
        if "location" in headers:
            headers["location"] = on_this_site(headers["location"], request.headers.get("host", ""))
        cookie = Response()
        security.write_cookie(request, cookie)
        for key, value in cookie.raw_headers:
            if key == b"set-cookie":
                headers.append("set-cookie", value.decode("latin-1"))
        if logged_path(request.scope) != request.scope.get("path"):
            # a one-time link's token is in this page's address: a browser sends the
            # address as the Referer of what the page loads and of the links followed
            # from it (the style sheet, the language switch), into every log on the way.
            # "strict-origin": the Referer is the site alone, never the path; not
            # "no-referrer", under which the browser sends the page's own form posts with
            # "Origin: null", which the cross-site guard refuses (web.guard.cross_site)
            headers["Referrer-Policy"] = "strict-origin"
        for k, v in SECURITY_HEADERS.items():
            headers.setdefault(k, v)
        if self.hsts:
            headers.setdefault("Strict-Transport-Security", HSTS)
        if request.url.path.startswith(("/static/", "/api/docs/assets/")):
            headers.setdefault("Cache-Control", "public, max-age=86400")
        else:
            headers.setdefault("Cache-Control", "no-store")


def install(
    app: FastAPI,
    settings: Settings,
    user_loader: UserLoader,
    sessions: Callable[[], Session],
) -> None:
    """Wire the plumbing into an app: templates, session cookie, headers, errors."""
    app.state.user_loader = user_loader
    static = HashedStatic(WEB / "static")
    app.state.templates = make_environment(WEB / "templates")
    app.state.templates.globals["static"] = static.url
    app.mount("/static", static, name="static")
    # innermost: the JSON API's Idempotency-Key, inside the body limit, the admission
    # line and the error answers below (one of each for every request) and the guard (a
    # JSON body is checked, and bounded, before it is read whole to compare a retry)
    app.add_middleware(idempotency.IdempotencyMiddleware, sessions=sessions)
    # the API's conditional GETs (ETag, If-None-Match: 304), inside the security headers
    # and gzip, outside the Idempotency-Key (which handles writes only)
    app.add_middleware(conditional.ConditionalGet)
    # cross-site, control characters, strict JSON
    app.add_middleware(guard.Guard, settings=settings, error_page=_error_page)
    # the one body limit, outside every layer that reads a body, inside the one that
    # adds the security headers (its 413 gets them as every answer does)
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes + 1024 * 1024)
    # outermost of all: an unexpected error answers 500 without dropping the connection
    app.build_middleware_stack = guard.keep_alive(app.build_middleware_stack)  # type: ignore[method-assign]

    app.add_middleware(SessionAndHeaders, hsts=cookies_secure(settings))
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES)
    # outermost: a line of at most settings.concurrency requests, then the receipt time
    # and 500 answers that keep the connection (web/serving.py)
    app.add_middleware(
        serving.Admission,
        limit=settings.concurrency,
        body_timeout_s=settings.body_timeout_s,
        max_body_bytes=settings.max_upload_bytes + 1024 * 1024,
        body_grace_s=settings.body_grace_s,
    )
    app.add_middleware(serving.ServeErrors, page_500=_page_500, page_503=_page_503)

    @app.get("/lang/{code}")
    async def switch_language(code: str, request: Request) -> Response:
        """The language switch: a cookie, so it works signed out and without JavaScript."""
        if code not in LANGUAGES:
            raise HTTPException(status_code=404)
        response = RedirectResponse(safe_next(request.query_params.get("next"), "/"), 303)
        security.set_language_cookie(request, response, code)
        return response

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if request.method in SAFE_METHODS:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            from urllib.parse import quote

            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        proven = guard.same_origin_proven(_headers(request), settings)
        form = getattr(request.state, "posted", {}) if proven else {}
        return _resume_page(request, "login", form, proven, 401)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        # only what our own pages sent is offered again: a submission whose origin the
        # browser did not vouch for is shown, never sent again (nor carried through login)
        proven = guard.same_origin_proven(_headers(request), settings)
        carry = _carry(exc.form)
        signed_in = getattr(request.state, "user", None) is not None
        sess = security.read_session(request)
        expired = not signed_in and (sess is None or sess.sid is not None)
        login = expired and request.url.path not in ("/login", "/register")
        return _resume_page(
            request,
            "login" if login else "resend",
            carry if proven or not login else {},
            proven,
            403,
        )

    from starlette.exceptions import HTTPException as StarletteHTTPException

    # FastAPI's HTTPException is Starlette's: one handler serves both (a 404 raised by a
    # view, a route not found, a method not allowed)
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error_page(request, exc.status_code)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if exc.code in ("not_found", "forbidden"):
            return _error_page(request, 404)
        return _error_page(request, 400, exc)

    @app.exception_handler(IntegrityError)
    async def same_moment(request: Request, exc: IntegrityError) -> Response:
        """Two writes of the same thing at once (a double click, two tabs): the second to
        commit breaks a unique key the first one's row now holds. Its unit of work is
        rolled back (nothing of it is kept) and it is told so, 409, not a 500. Any other
        broken constraint is a fault of ours, and answers 500."""
        if not unique_violation(exc):
            raise exc
        log.warning("write refused, a concurrent one came first: %s", exc.orig)
        return _error_page(request, 409, MSG_SAME_MOMENT)


MSG_SAME_MOMENT = N_(
    "Someone else saved this at the same moment; nothing was changed. Reload the page and "
    "try again."
)


def unique_violation(exc: IntegrityError) -> bool:
    """Whether ``exc`` is a unique key broken (PostgreSQL's SQLSTATE 23505, SQLite's
    "UNIQUE constraint failed"), not another constraint."""
    orig = exc.orig
    return getattr(orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(orig)


MSG_500 = N_("Something went wrong on our side; nothing was changed. Please try again.")


MSG_503 = N_(
    "The site is very busy right now and could not handle this request; nothing was "
    "changed. Please try again in a few seconds."
)


MSG_REFERENCE = N_(
    "Reference of this error: %(reference)s. Quote it if you write to the site's "
    "administrators: it finds the error in the server's log."
)


def _plain_page(scope: Scope, status: int, msg: str, reference: str | None = None) -> bytes:
    request = Request(scope)
    lang = choose_language(request, None)
    tr = Translator(lang)
    text = tr.gettext(msg)
    if reference:  # the request id of the log's line (trialop24)
        text += "</p><p>" + tr.gettext(MSG_REFERENCE) % {"reference": html.escape(reference)}
    return (
        f"<!doctype html><html lang='{HTML_LANG[lang]}'><meta charset='utf-8'>"
        f"<title>{status}</title><p>{text}</p></html>"
    ).encode()


def _page_500(scope: Scope) -> bytes:
    return _plain_page(scope, 500, MSG_500, reference=logging_setup.current("request_id"))


def _page_503(scope: Scope) -> bytes:
    return _plain_page(scope, 503, MSG_503)


ERROR_TITLES = {
    400: N_("This request could not be handled."),
    403: N_("This request was refused."),
    404: N_("Page not found."),
    405: N_("This request could not be handled."),
    409: N_("This request could not be handled."),
    413: N_("The file is too large."),
}


def _headers(request: Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


def _error_page(
    request: Request, status: int, message: str | DomainError | None = None
) -> Response:
    """The error page (or the API's JSON error); a ``DomainError`` is translated by
    its message id, a text composed in English by the catalogued templates."""
    if request.url.path.startswith("/api/"):
        from fastapi.responses import JSONResponse

        if isinstance(message, DomainError):
            lang = negotiate(request.headers.get("accept-language")) or "en"
            return JSONResponse(error_json(message, lang), status_code=status)
        detail = message or {413: "request body too large", 404: "not found"}.get(
            status, "bad request"
        )
        return JSONResponse({"detail": detail}, status_code=status)
    lang = getattr(request.state, "lang", None) or choose_language(request, None)
    t = Translator(lang)
    title = t.gettext(ERROR_TITLES.get(status, ERROR_TITLES[400]))
    if isinstance(message, DomainError):
        text = t.error(message)
    else:
        text = t.message(message) if message else ""
    return render(
        request, "error.html", {"status": status, "title": title, "message": text}, status=status
    )


def render_mail(request: Request, template: str, lang: str, ctx: dict[str, Any]) -> str:
    """A plain-text e-mail body in the recipient's language."""
    env: jinja2.Environment = request.app.state.templates
    t = Translator(lang)
    return env.get_template(template).render({"_": t.plain, "lang": lang, **ctx})


def safe_next(target: str | None, default: str = "/dashboard") -> str:
    """A local path to go to after signing in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def attachment_response(
    body: str | bytes, filename: str, media_type: str, fallback: str
) -> Response:
    """A file the site makes (a CSV table, a calendar, a report) as a download: its name
    kept to letters, digits and ``-_.`` (``fallback`` when none is left), so that no name
    built from a title breaks the header."""
    safe = "".join(c for c in filename if c.isalnum() or c in "-_.") or fallback
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


def download_response(
    data: bytes, filename: str, media_type: str, headers: dict[str, str] | None = None
) -> Response:
    """Stored bytes (from any storage backend) sent as a file download, with the
    same Content-Disposition as Starlette's FileResponse."""
    quoted = quote(filename)
    disposition = (
        f'attachment; filename="{filename}"'
        if quoted == filename
        else f"attachment; filename*=utf-8''{quoted}"
    )
    return Response(
        content=data,
        media_type=media_type,
        headers={**(headers or {}), "Content-Disposition": disposition},
    )


def pdf_download(data: bytes, filename: str) -> Response:
    """An applicant's PDF as a download: never sniffed as another type, never cached
    (a proposal's file is private to those who may open it)."""
    return download_response(
        data,
        filename,
        "application/pdf",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
    )
