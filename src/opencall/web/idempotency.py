"""``Idempotency-Key`` for the JSON API's writes (POST, PUT, PATCH, DELETE).

A client that may retry a write (a dropped connection on a slow link) sends
``Idempotency-Key: <any unique string>``. The first request runs and its answer
is kept for 24 hours; a retry with the same key and the same request gets the
same answer back (``Idempotent-Replayed: true``) without running again; the same
key with a different request is refused (422); a retry while the first is still
running gets 409. Keys are scoped to the credentials that sent them (the hash
of the ``Authorization`` header), so one client cannot read another's answers; a write
without credentials is scoped to its client: the address the throttles count
(``security.client_key``) and the browser's session cookie, so that two anonymous
clients sending the same key neither get each other's answer nor refuse each other.
Server errors (5xx) and a limit's 429 are not kept: the client may retry them.

An ASGI middleware (not a FastAPI dependency) because it must replay a stored
response before any route runs; its database work runs in the threadpool. It sits
inside the layers every request passes (``web.pages.install``): the body limit, the
admission line and the error answers (a busy database's 503) are theirs, not its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Integer, LargeBinary, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column
from starlette.concurrency import run_in_threadpool
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opencall.db import Base, JSONType, UTCDateTime, utcnow
from opencall.errors import DomainError
from opencall.web import security
from opencall.web.guard import api_refusal, replaying

HEADER = b"idempotency-key"
#: set in a request's ASGI scope once its bearer token was accepted (``web.api.get_api``):
#: defined here, not in ``web.api``, which imports ``web.pages``, which imports this
#: module (a service importing ``web.pages`` first met the cycle half-initialised)
TOKEN_ACCEPTED = "opencall.token_accepted"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
TTL = dt.timedelta(hours=24)
MAX_KEY = 200
MAX_KEPT_BODY = 1024 * 1024


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # 0: running
    # the response's headers worth replaying (content type and encoding, location)
    headers: Mapped[list[list[str]]] = mapped_column(JSONType, nullable=False, default=list)
    body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, default=b"")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


def _client(scope: Scope, headers: dict[bytes, bytes]) -> bytes:
    """Whose keys these are: the credentials sent, or, without any, the client's address
    (as the throttles count it) and its session cookie. A header holds no line break, so
    no credentials read as an anonymous client (and keys kept before this keep their hash)."""
    auth = headers.get(b"authorization")
    if auth:
        return auth
    client = scope.get("client")
    address = security.client_key(client[0]) if client else ""
    cookies = cookie_parser(headers.get(b"cookie", b"").decode("latin-1"))
    return f"anonymous\n{address}\n{cookies.get(security.COOKIE, '')}".encode()


def _json(status: int, detail: str) -> tuple[int, bytes]:
    return status, json.dumps(api_refusal(status, detail, ("header", "Idempotency-Key"))).encode()


class IdempotencyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        sessions: Callable[[], Session],
        prefix: str = "/api/",
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in WRITES
            or not scope["path"].startswith(self.prefix)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = headers.get(HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        if not key.strip() or len(key) > MAX_KEY:
            status, text = _json(400, f"Idempotency-Key must have 1 to {MAX_KEY} characters.")
            await _reply(send, status, text)
            return
        # the body is read whole (to compare a retry with the first request) through the
        # body limit outside this layer, which refuses it (413) once it passes the limit
        chunks: list[bytes] = []
        more = True
        while more:
            msg = await receive()
            if msg["type"] != "http.request":  # the client went away: nothing runs
                return
            chunks.append(msg.get("body", b""))
            more = msg.get("more_body", False)
        body = b"".join(chunks)
        scope_hash = hashlib.sha256(_client(scope, headers) + b"\n" + key).hexdigest()
        request_hash = hashlib.sha256(
            scope["method"].encode()
            + b" "
            + scope["path"].encode()
            + b"?"
            + scope.get("query_string", b"")
            + b"\n"
            + body
        ).hexdigest()
        # a key that cannot be claimed in time (a busy database) raises: the error layer
        # answers 503 as for any request; nothing ran, a retry with the same key is safe
        verdict = await run_in_threadpool(self._claim, scope_hash, request_hash)
        if verdict is not None:
            status, kept, stored = verdict
            await _reply(send, status, stored, kept, replayed=status not in (409, 422))
            return

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": b""}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = [
                    [k.decode("latin-1"), v.decode("latin-1")]
                    for k, v in message.get("headers", [])
                    if k.lower() in KEPT_HEADERS
                ]
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replaying(body, receive), capture)
        finally:
            await run_in_threadpool(self._finish, scope, scope_hash, captured)

    # -- database work (threadpool)

    def _claim(
        self, scope_hash: str, request_hash: str
    ) -> tuple[int, list[list[str]], bytes] | None:
        """None: this request runs now (a row is claimed); else what to answer."""
        now = utcnow()
        with self.sessions() as s:
            s.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now - TTL))
            row = s.scalar(select(IdempotencyKey).where(IdempotencyKey.scope_hash == scope_hash))
            if row is None:
                s.add(
                    IdempotencyKey(scope_hash=scope_hash, request_hash=request_hash, created_at=now)
                )
                try:
                    s.commit()
                    return None
                except IntegrityError:  # the same key arrived at the same moment
                    s.rollback()
                    return 409, [], _json(409, IN_PROGRESS)[1]
            s.commit()
            if row.request_hash != request_hash:
                return 422, [], _json(422, OTHER_REQUEST)[1]
            if row.status == 0:
                return 409, [], _json(409, IN_PROGRESS)[1]
            return row.status, list(row.headers), row.body

    def _finish(self, scope: Scope, scope_hash: str, captured: dict[str, Any]) -> None:
        with self.sessions() as s:
            row = s.scalar(select(IdempotencyKey).where(IdempotencyKey.scope_hash == scope_hash))
            if row is None:
                return
            if not worth_keeping(scope, captured["status"]) or (
                len(captured["body"]) > MAX_KEPT_BODY
            ):
                s.delete(row)  # not kept: a retry runs again
            else:
                row.status = captured["status"]
                row.headers = captured["headers"]
                row.body = captured["body"]
            s.commit()


def worth_keeping(scope: Scope, status: int) -> bool:
    """Whether an answer is kept for a retry. Not a server error (the client may retry
    it), nor a limit's 429 (nothing ran; its ``Retry-After`` asks for the retry, which
    must run then, not get the 429 back for a day: trialapi23), nor a refusal (4xx) of a
    request no token was accepted for: nothing ran, a retry
    gets the same refusal by running again, and a stranger (no credentials, a made-up
    token, a path with no route, a body that is not JSON) would otherwise store a row a
    request, each kept a day (trialcrowd16)."""
    if status >= 500 or status == 429:
        return False
    return status < 400 or bool(scope.get(TOKEN_ACCEPTED))


IN_PROGRESS = "A request with this Idempotency-Key is still running; retry in a moment."
OTHER_REQUEST = "This Idempotency-Key was already used for a different request."


KEPT_HEADERS = {b"content-type", b"content-encoding", b"location", b"vary"}


async def _reply(
    send: Send,
    status: int,
    body: bytes,
    kept: list[list[str]] | None = None,
    replayed: bool = False,
) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in kept or []]
    if not any(k == b"content-type" for k, _ in headers):
        headers.append((b"content-type", b"application/json"))
    headers.append((b"content-length", str(len(body)).encode()))
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# ----------------------------------------------------------------------------- HTML forms

#: The hidden field of an HTML form that may be sent twice (``_macros.html``: ``once()``).
ONCE_FIELD = "once"
ONCE_LENGTH = 32  # uuid4().hex


def new_once() -> str:
    """A form's one-time key, new with each page that shows the form."""
    return uuid.uuid4().hex


def first_sending(session: Session, sender: str, once: str) -> bool:
    """Whether this is the first sending of a form by ``sender`` (an account or a browser
    session) under the one-time key ``once``: a browser whose answer was lost on a flaky
    link, or a second tap, sends the same form again, and it must not be stored twice.

    The key is claimed in the caller's transaction (a row of :class:`IdempotencyKey`,
    the API's keys, with a scope of its own), so a sending that a service refuses is
    rolled back with its key, and the corrected form may be sent under it. Two sendings
    at once: the second waits on the first's row and finds it taken. Keys are kept
    24 hours, as the API's. A key of another shape is refused (no form sends one)."""
    if len(once) != ONCE_LENGTH or any(c not in "0123456789abcdef" for c in once):
        raise DomainError("This form cannot be sent again as it is: load the page again.")
    scope_hash = hashlib.sha256(f"form\n{sender}\n{once}".encode()).hexdigest()
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - TTL))
    if session.scalar(select(IdempotencyKey.id).where(IdempotencyKey.scope_hash == scope_hash)):
        return False
    try:
        with session.begin_nested():
            session.add(IdempotencyKey(scope_hash=scope_hash, request_hash="form", status=303))
    except IntegrityError:  # sent twice at once: the other sending holds the key
        return False
    return True
