"""Serving under load: the receipt time of each request, admission control sized to the
configured concurrency, 500 answers that keep the connection alive, and 503 (with
``Retry-After``) when the database is too busy to answer in time.

Each process works on at most ``settings.concurrency`` requests at once. Every admitted
request can get a worker thread (the AnyIO thread pool is sized to it) and a database
connection (the pool is sized to it, see ``db.pool_limits``), so no request ever holds a
connection while it waits for a thread or the other way round: the lock-up of a pool
that runs dry while its connections wait for the event loop cannot happen. Requests
beyond the limit wait in line on the event loop, which stays free: ``/healthz`` and the
static files bypass the line and are always answered.

A request takes its place only once its body has arrived (buffered on the event loop,
in a temporary file beyond 1 MiB): a client on a slow link sending a large upload for
minutes holds no place meanwhile. A body that stops coming (no piece of it for
``settings.body_timeout_s``) is answered 408 and its connection closed (a buffering
reverse proxy in front, which also bounds the connections slow clients hold, is still
recommended; see docs/deploy.md).
"""

from __future__ import annotations

import abc
import datetime as dt
import json
import logging
import tempfile
from collections.abc import Callable
from typing import IO

import anyio
import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opencall import logging_setup
from opencall.logging_setup import logged_path
from opencall.web.i18n import N_

log = logging.getLogger("opencall.web")

BYPASS = ("/healthz", "/static/")
RECEIVED_AT = "received_at"
# thread-pool tokens beyond the admitted requests: response validation, file responses
# and upload spooling use a worker thread besides the route's own
SPARE_THREADS = 8


def received_at(scope: Scope) -> dt.datetime | None:
    """When this request reached the application (set by :class:`ServeErrors`); when its
    body was complete instead, for a body slower than the grace (:meth:`Admission._late_body`)."""
    value = scope.get("state", {}).get(RECEIVED_AT)
    return value if isinstance(value, dt.datetime) else None


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip(b"0 ")):
            return True
    return False


# a buffered body stays in memory up to this size, then goes to a temporary file
SPOOL_MEMORY_BYTES = 1024 * 1024
# the pieces a buffered body is handed on in
REPLAY_CHUNK_BYTES = 64 * 1024


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class Admission:
    """At most ``limit`` requests inside the application at once; the rest wait in line.

    A request with a body takes its place only once the whole body has arrived (read on
    the event loop into a temporary file, as a buffering proxy does): an applicant on a
    slow link sending a large PDF over minutes holds no place meanwhile, so a few slow
    senders never make the others wait. The body must keep coming: ``body_timeout_s``
    (None: no limit) without a piece of it and the request is answered 408, its
    connection closed, nothing done; a body slower than that overall, piece after piece,
    is not cut, but one that takes longer than ``body_grace_s`` in all makes its request
    judged by when the body was complete (:meth:`_late_body`). A body longer than ``max_body_bytes`` (declared, or once that much has
    arrived) is not buffered: it goes on to the application, whose size limit answers
    413 without reading it all.
    """

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        body_timeout_s: float | None = None,
        max_body_bytes: int | None = None,
        body_grace_s: float | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        self.body_timeout_s = body_timeout_s
        self.max_body_bytes = max_body_bytes
        self.body_grace_s = body_grace_s
        self._sem: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(BYPASS):
            await self.app(scope, receive, send)
            return
        if self._sem is None:  # created inside the running event loop (one per process)
            self._sem = anyio.Semaphore(self.limit)
            limiter = anyio.to_thread.current_default_thread_limiter()
            limiter.total_tokens = max(limiter.total_tokens, self.limit + SPARE_THREADS)
        if not _has_body(scope):
            await self._in_place(scope, receive, send)
            return
        declared = _declared_length(scope)
        if self.max_body_bytes is not None and (declared or 0) > self.max_body_bytes:
            await self._in_place(scope, receive, send)  # refused by its declared length, unread
            return
        # the stdlib's spooled file: memory for small bodies, a temporary file beyond
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES) as spool:
            buffered = await self._buffer(scope, receive, send, spool)
            if buffered is None:
                return  # answered 408
            size, complete = buffered
            self._late_body(scope)
            spool.seek(0)
            await self._in_place(scope, _replay(spool, size, complete, receive), send)

    async def _in_place(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The application's work on the request, in one of the places: taken in turn,
        given back as the answer starts to go out (its first message handed to the
        connection), not once the client has taken it (trialcrowd23). uvicorn hands a
        message over only once the connection's buffers have room: a client that sends
        its next requests on one connection before reading the answers (HTTP/1.1
        pipelining) and then reads slowly or not at all, from a socket with a small
        receive window, left each next answer, made in full, waiting in its place for
        as long as the connection stayed open; as many such connections as places left
        every other visitor of the process waiting. A route's answer is made by the time
        it starts (no answer of the site is streamed); what remains after, sending it
        and keeping it for an idempotency key's retry, is the connection's, bounded as
        connections are (uvicorn's ``--limit-concurrency``, a proxy in front)."""
        sem = self._sem
        assert sem is not None
        await sem.acquire()
        held = True

        async def handing_over(message: Message) -> None:
            nonlocal held
            if held:
                held = False
                sem.release()
            await send(message)

        try:
            await self.app(scope, receive, handing_over)
        finally:
            if held:
                sem.release()

    def _late_body(self, scope: Scope) -> None:
        """A body that took longer than ``body_grace_s`` to arrive: the request is judged
        by when it was complete, not by when it began (:func:`received_at`), so that one
        begun before a deadline and kept open a byte a minute cannot carry what was
        written after it (trialcrowd24). A slow link within the grace keeps its start."""
        began = received_at(scope)
        if began is None or self.body_grace_s is None:
            return
        done = dt.datetime.now(dt.UTC)
        if (done - began).total_seconds() > self.body_grace_s:
            scope["state"][RECEIVED_AT] = done
            log.info(
                "slow body: %s %s judged at %s, its body %.0f s after it began",
                scope.get("method"),
                logged_path(scope),
                done.isoformat(),
                (done - began).total_seconds(),
            )

    async def _buffer(
        self, scope: Scope, receive: Receive, send: Send, spool: IO[bytes]
    ) -> tuple[int, bool] | None:
        """Read the body into ``spool``: (bytes read, whether it is complete), or None
        when it stalled (then answered 408). Stops early, incomplete, past the limit."""
        size = 0
        while True:
            message: Message | None = None
            with anyio.move_on_after(self.body_timeout_s):
                message = await receive()
            if message is None:
                log.warning(
                    "slow body: %s %s answered 408 after %ss without a byte",
                    scope.get("method"),
                    logged_path(scope),
                    self.body_timeout_s,
                )
                await _answer_timeout(scope, send, self.body_timeout_s or 0)
                return None
            if message["type"] != "http.request":  # the client went away
                return None
            chunk = message.get("body", b"")
            spool.write(chunk)
            size += len(chunk)
            if not message.get("more_body", False):
                return size, True
            if self.max_body_bytes is not None and size > self.max_body_bytes:
                return size, False


def _replay(spool: IO[bytes], size: int, complete: bool, receive: Receive) -> Receive:
    """The buffered body again, piece by piece (an empty body as one empty piece), then
    the client's own ``receive``: the rest of a body too long to buffer, or a
    disconnect while an answer streams."""
    left = size
    empty_said = False

    async def replay() -> Message:
        nonlocal left, empty_said
        if left > 0:
            chunk = spool.read(min(REPLAY_CHUNK_BYTES, left))
            left -= len(chunk)
            return {"type": "http.request", "body": chunk, "more_body": left > 0 or not complete}
        if size == 0 and not empty_said:
            empty_said = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await receive()

    return replay


#: the 408 page's sentence (an applicant abroad on a slow link reads it in their language)
MSG_STALLED = N_(
    "The request stopped arriving for %(s)s seconds; nothing was done. Please send it again."
)


async def _answer_timeout(scope: Scope, send: Send, timeout_s: float) -> None:
    """408, and the connection closed (the rest of the body may still be on its way). A
    page's answer is in the reader's language (their cookie, else Accept-Language); the
    API's ``detail`` stays English, as its other refusals' do."""
    if scope["path"].startswith("/api/"):
        text = f"the request body stopped coming for {timeout_s:g} seconds; nothing was done"
        body, ctype = json.dumps({"detail": text}).encode(), b"application/json"
    else:
        # (the pages' own choice of language; imported here: pages builds on this module)
        from starlette.requests import Request

        from opencall.inputs import local_number
        from opencall.web.i18n import HTML_LANG, Translator
        from opencall.web.pages import choose_language

        lang = choose_language(Request(scope), None)
        said = Translator(lang).gettext(MSG_STALLED, s=local_number(timeout_s, lang))
        body = (
            f"<!doctype html><html lang='{HTML_LANG[lang]}'><meta charset='utf-8'>"
            f"<title>408</title><p>{said}</p></html>"
        ).encode()
        ctype = b"text/html; charset=utf-8"
    await send_whole(send, 408, body, ctype, (b"connection", b"close"))


async def send_whole(
    send: Send, status: int, body: bytes, ctype: bytes, *more: tuple[bytes, bytes]
) -> None:
    """A whole answer the server makes itself (no application behind it), never cached;
    ``more`` headers after its own."""
    headers = [
        (b"content-type", ctype),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *more,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class HttpMiddleware(abc.ABC):
    """Base of the ASGI middlewares that act on HTTP requests only: any other scope
    (lifespan, websocket) goes straight through to ``self.app``; an HTTP request goes
    to :meth:`http`, which every subclass must write (its ``__init__`` sets ``self.app``):
    a subclass without it cannot be made."""

    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    @abc.abstractmethod
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one HTTP request (through ``self.app`` or by itself)."""


class Tracked:
    """An ASGI ``send`` that remembers whether the answer has begun: once its start is
    out, an error can no longer be answered with a 500, only by closing the connection."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)


class ServeErrors(HttpMiddleware):
    """The outermost layer: stamps the receipt time, and answers an unhandled error with
    a 500 itself (logged) instead of letting it reach the server, which would then close
    the kept-alive connection although a complete answer was sent."""

    def __init__(
        self,
        app: ASGIApp,
        page_500: Callable[[Scope], bytes] | None = None,
        page_503: Callable[[Scope], bytes] | None = None,
    ) -> None:
        self.app = app
        self.page_500 = page_500
        self.page_503 = page_503

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})[RECEIVED_AT] = dt.datetime.now(dt.UTC)
        tracked = Tracked(send)
        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if tracked.started:  # part of an answer is out: only closing the connection is honest
                raise
            if overloaded(exc):
                # the database's lock or a connection could not be had in time: the unit
                # of work was rolled back, nothing is acknowledged, the client may retry
                log.warning(
                    "busy: %s %s answered 503 (%s)",
                    scope.get("method"),
                    logged_path(scope),
                    str(exc).splitlines()[0][:200],
                )
                await self._answer(scope, send, 503, self.page_503)
                return
            log.exception("unhandled error in %s %s", scope.get("method"), logged_path(scope))
            await self._answer(scope, send, 500, self.page_500)

    async def _answer(
        self, scope: Scope, send: Send, status: int, page: Callable[[Scope], bytes] | None
    ) -> None:
        if scope["path"].startswith("/api/") or page is None:
            detail = "internal error" if status == 500 else "server busy, retry later"
            answer = {"detail": detail}
            rid = logging_setup.current("request_id")
            if status == 500 and rid:  # to quote: the log's line of this error (trialop24)
                answer["request_id"] = rid
            body = json.dumps(answer).encode()
            ctype = b"application/json"
        else:
            try:
                body = page(scope)
            except Exception:  # noqa: BLE001 - the error page itself must not fail
                log.exception("the error page failed")
                body = f"<!doctype html><title>{status}</title><p>{status}</p>".encode()
            ctype = b"text/html; charset=utf-8"
        retry = [(b"retry-after", str(RETRY_AFTER_S).encode())] if status == 503 else []
        await send_whole(send, status, body, ctype, *retry)


# how long a client is asked to wait before retrying a request refused as busy (503)
RETRY_AFTER_S = 5
# PostgreSQL: lock_timeout / lock not available, serialization failure, deadlock
BUSY_SQLSTATES = {"55P03", "40001", "40P01"}


def overloaded(exc: BaseException) -> bool:
    """Whether ``exc`` means "too busy right now", not a bug: no pooled connection came
    free in time, SQLite's write lock was held past its timeout ("database is locked"),
    PostgreSQL gave up on a lock, or a new connection to PostgreSQL could not be made
    (it serves as many as it allows, is restarting, or did not answer within
    OPENCALL_DB_CONNECT_TIMEOUT_S). Such a request changed nothing and may be retried."""
    from sqlalchemy import exc as sa_exc

    from opencall.db import no_connection

    if isinstance(exc, sa_exc.TimeoutError):  # the connection pool's wait ran out
        return True
    if no_connection(exc):  # PostgreSQL full ("too many connections"), restarting, silent
        return True
    if isinstance(exc, sa_exc.OperationalError):
        orig = exc.orig
        if getattr(orig, "sqlstate", None) in BUSY_SQLSTATES:
            return True
        text = str(orig).lower()
        return "database is locked" in text or "database table is locked" in text
    return False
