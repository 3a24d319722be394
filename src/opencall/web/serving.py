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

A request holds its place only so long while its body arrives: a client that sends it
slowly, or stops half-way, is answered 408 after ``settings.body_timeout_s`` and its
place freed, so that a few slow clients cannot hold every place (a buffering reverse
proxy in front, which passes a request on only once its body is complete, is still
the better defence; see docs/operators.md).
"""

from __future__ import annotations

import abc
import datetime as dt
import json
import logging
from collections.abc import Callable

import anyio
import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("opencall.web")

BYPASS = ("/healthz", "/static/")
RECEIVED_AT = "received_at"
# thread-pool tokens beyond the admitted requests: response validation, file responses
# and upload spooling use a worker thread besides the route's own
SPARE_THREADS = 8


def received_at(scope: Scope) -> dt.datetime | None:
    """When this request reached the application (set by :class:`ServeErrors`)."""
    value = scope.get("state", {}).get(RECEIVED_AT)
    return value if isinstance(value, dt.datetime) else None


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip(b"0 ")):
            return True
    return False


class Admission:
    """At most ``limit`` requests inside the application at once; the rest wait in line.

    An admitted request's body must have arrived within ``body_timeout_s`` of its
    admission (None: no limit): else the application is stopped, the client answered
    408 and the place freed (nothing was done: a route runs only once its body is read).
    """

    def __init__(self, app: ASGIApp, limit: int, body_timeout_s: float | None = None) -> None:
        self.app = app
        self.limit = limit
        self.body_timeout_s = body_timeout_s
        self._sem: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(BYPASS):
            await self.app(scope, receive, send)
            return
        if self._sem is None:  # created inside the running event loop (one per process)
            self._sem = anyio.Semaphore(self.limit)
            limiter = anyio.to_thread.current_default_thread_limiter()
            limiter.total_tokens = max(limiter.total_tokens, self.limit + SPARE_THREADS)
        async with self._sem:
            if self.body_timeout_s and _has_body(scope):
                await self._body_in_time(scope, receive, send, self.body_timeout_s)
            else:
                await self.app(scope, receive, send)

    async def _body_in_time(
        self, scope: Scope, receive: Receive, send: Send, timeout_s: float
    ) -> None:
        deadline = anyio.current_time() + timeout_s
        body_done = timed_out = False
        tracked = Tracked(send)
        with anyio.CancelScope() as request_scope:

            async def timed_receive() -> Message:
                nonlocal body_done, timed_out
                if body_done:  # e.g. waiting for a disconnect while streaming an answer
                    return await receive()
                with anyio.move_on_after(max(0.0, deadline - anyio.current_time())) as wait:
                    message = await receive()
                if wait.cancelled_caught:
                    timed_out = True
                    request_scope.cancel()  # stops the application at its next await
                    await anyio.sleep_forever()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    body_done = True
                return message

            await self.app(scope, timed_receive, tracked)
        if timed_out and not tracked.started:
            log.warning(
                "slow body: %s %s answered 408 after %ss",
                scope.get("method"),
                scope.get("path"),
                timeout_s,
            )
            await _answer_timeout(scope, send, timeout_s)


async def _answer_timeout(scope: Scope, send: Send, timeout_s: float) -> None:
    """408, and the connection closed (the rest of the body may still be on its way)."""
    text = f"the request body did not arrive within {timeout_s:g} seconds; nothing was done"
    if scope["path"].startswith("/api/"):
        body, ctype = json.dumps({"detail": text}).encode(), b"application/json"
    else:
        body = f"<!doctype html><title>408</title><p>408: {text}.</p>".encode()
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
                    scope.get("path"),
                    str(exc).splitlines()[0][:200],
                )
                await self._answer(scope, send, 503, self.page_503)
                return
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            await self._answer(scope, send, 500, self.page_500)

    async def _answer(
        self, scope: Scope, send: Send, status: int, page: Callable[[Scope], bytes] | None
    ) -> None:
        if scope["path"].startswith("/api/") or page is None:
            detail = "internal error" if status == 500 else "server busy, retry later"
            body = json.dumps({"detail": detail}).encode()
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
    or PostgreSQL gave up on a lock. Such a request changed nothing and may be retried."""
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, sa_exc.TimeoutError):  # the connection pool's wait ran out
        return True
    if isinstance(exc, sa_exc.OperationalError):
        orig = exc.orig
        if getattr(orig, "sqlstate", None) in BUSY_SQLSTATES:
            return True
        text = str(orig).lower()
        return "database is locked" in text or "database table is locked" in text
    return False
