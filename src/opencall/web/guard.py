"""The request guard: what every request must satisfy before any route sees it.

- A state-changing request (POST, PUT, PATCH, DELETE) from another site is
  refused: ``Sec-Fetch-Site: cross-site|same-site`` or an ``Origin`` that is
  neither this host nor ``settings.base_url``. Requests without either header
  (command-line clients, API scripts) pass; the CSRF token still guards forms.
- No control character (NUL...) in the path or the query string.
- JSON bodies are parsed strictly before FastAPI sees them: no NaN, Infinity
  or numbers that overflow (1e999), no control characters in strings, a size
  limit, and a string made only of invisible characters counts as empty.
- :class:`KeepAlive` wraps the whole stack: an unexpected error still answers
  500 (logged), but the server no longer sees it, so a kept-alive connection
  is not dropped.

Refusals are 4xx with a clear message: JSON ``{"detail": ...}`` under /api/,
an HTML page elsewhere.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opencall.inputs import control_char, invisible_only
from opencall.logging_setup import logged_path
from opencall.settings import Settings
from opencall.web.serving import HttpMiddleware, Tracked

log = logging.getLogger("opencall.web")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
MAX_JSON_BYTES = 1024 * 1024
MAX_JSON_INT = 2**53
#: the deepest nesting of a JSON body (objects and arrays; the body's own object is one
#: level): the 3,246 bodies the API's tests send nest 4 levels at most; beyond, refused
#: before any route or error handler walks the value (a 422's handler walked some 480
#: levels into a RecursionError, a 500; trialcrowd24)
MAX_JSON_DEPTH = 32
ErrorPage = Callable[[Request, int, str], Response]


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def api_refusal(status: int, detail: str, loc: tuple[str, ...] = ("body",)) -> dict[str, Any]:
    """An API refusal's body: ``{"detail": ...}``, and for a 422 the ``errors`` list the
    OpenAPI document's 422 (``HTTPValidationError``) requires, one error at ``loc``: a
    422 said by a layer below FastAPI answered ``detail`` alone and a client generated
    from the document could not read it (trialapi24)."""
    body: dict[str, Any] = {"detail": detail}
    if status == 422:
        body["errors"] = [{"loc": list(loc), "msg": detail, "type": "value_error"}]
    return body


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def cross_site(headers: dict[str, str], settings: Settings) -> bool:
    """True when a browser tells us the request comes from another site."""
    site = headers.get("sec-fetch-site", "").lower()
    if site in ("cross-site", "same-site"):
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    origin = origin.strip().lower().rstrip("/")
    if origin == "null" and site == "same-origin":
        # the browser hides the origin (a page or an extension asked for no referrer)
        # but says, in a header no page can set, that the request is our own page's
        return False
    if origin == _origin(settings.base_url):
        return False
    host = headers.get("host", "").lower()
    return not host or urlsplit(origin).netloc != host


def same_origin_proven(headers: dict[str, str], settings: Settings) -> bool:
    """True when the browser told us the request comes from our own pages."""
    if cross_site(headers, settings):
        return False
    return headers.get("sec-fetch-site", "").lower() == "same-origin" or "origin" in headers


class _Strict(ValueError):
    pass


def _const(name: str) -> Any:
    raise _Strict(f"{name} is not a number JSON allows: send a finite number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Strict(f"the number {text[:40]} is out of range")
    return value


def _int(text: str) -> int:
    if len(text) > 17 or abs(int(text)) > MAX_JSON_INT:
        raise _Strict(f"the number {text[:40]} is out of range")
    return int(text)


def _clean(value: Any, where: str) -> tuple[Any, bool]:
    """(cleaned value, changed); raises Refused on control characters."""
    if isinstance(value, str):
        bad = control_char(value)
        if bad:
            raise Refused(
                400, f"{where or 'the body'}: text may not contain control characters ({bad})"
            )
        if invisible_only(value):
            return "", True
        return value, False
    if isinstance(value, list):
        changed = False
        out = []
        for i, item in enumerate(value):
            v, c = _clean(item, f"{where}[{i}]")
            out.append(v)
            changed |= c
        return out, changed
    if isinstance(value, dict):
        changed = False
        res = {}
        for k, item in value.items():
            bad = control_char(k)
            if bad:
                raise Refused(400, f"field names may not contain control characters ({bad})")
            v, c = _clean(item, f"{where}.{k}" if where else k)
            res[k] = v
            changed |= c
        return res, changed
    return value, False


def json_depth(value: Any) -> int:
    """How deep ``value`` (parsed JSON) nests objects and arrays (a scalar 0, ``[]`` 1),
    counted with a list of what is left to visit: no recursion, whatever the depth."""
    deepest = 0
    todo: list[tuple[Any, int]] = [(value, 0)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, depth + 1)
        todo.extend((child, depth + 1) for child in item)
    return deepest


def check_json(body: bytes) -> bytes | None:
    """The body to pass on (None: unchanged); raises Refused for what FastAPI would not
    refuse itself. Syntax errors pass unchanged: FastAPI answers them with a 422."""
    too_deep = f"the JSON body is nested too deeply ({MAX_JSON_DEPTH} levels at most)"
    try:
        data = json.loads(body, parse_constant=_const, parse_float=_float, parse_int=_int)
    except _Strict as exc:
        raise Refused(422, str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise Refused(400, "the body is not UTF-8") from exc
    except RecursionError as exc:
        raise Refused(400, too_deep) from exc
    except ValueError:
        return None
    if json_depth(data) > MAX_JSON_DEPTH:
        raise Refused(400, too_deep)
    cleaned, changed = _clean(data, "")
    if not changed:
        return None
    return json.dumps(cleaned, ensure_ascii=False).encode()


def _query_has_control(raw: bytes) -> bool:
    decoded = unquote_to_bytes(raw.replace(b"+", b" "))
    return any(b < 0x20 or b == 0x7F for b in decoded)


class Guard(HttpMiddleware):
    def __init__(self, app: ASGIApp, settings: Settings, error_page: ErrorPage) -> None:
        self.app = app
        self.settings = settings
        self.error_page = error_page

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            receive = await self._check(scope, receive)
        except Refused as exc:
            request = Request(scope, receive)
            if scope["path"].startswith("/api/"):
                response: Response = JSONResponse(
                    api_refusal(exc.status, exc.message), status_code=exc.status
                )
            else:
                response = self.error_page(request, exc.status, exc.message)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _check(self, scope: Scope, receive: Receive) -> Receive:
        path = scope.get("path", "")
        if control_char(path) or _query_has_control(scope.get("query_string", b"")):
            raise Refused(400, "The address may not contain control characters.")
        if scope["method"] in SAFE_METHODS:
            return receive
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if cross_site(headers, self.settings):
            raise Refused(
                403,
                "Cross-site request refused: this form was sent from another web site. "
                "Nothing was changed. If you meant to do this, open the page on this site "
                "and send the form from there.",
            )
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if not (ctype == "application/json" or ctype.endswith("+json")):
            return receive
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_JSON_BYTES:
            raise Refused(413, f"The JSON body is too large ({MAX_JSON_BYTES} bytes at most).")
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                raise Refused(400, "The request body is incomplete.")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_JSON_BYTES:
                raise Refused(413, f"The JSON body is too large ({MAX_JSON_BYTES} bytes at most).")
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body.strip():
            replaced = check_json(body)
            if replaced is not None:
                body = replaced
                scope["headers"] = [
                    (k, v) for k, v in scope["headers"] if k.lower() != b"content-length"
                ] + [(b"content-length", str(len(body)).encode())]
        return replaying(body, receive)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the application ``body`` (already read off the wire)
    once, then whatever ``receive`` says next (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class KeepAlive:
    """Outermost: swallow an error once its 500 answer is sent, so the server keeps
    the connection (uvicorn closes it when the application raises)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracked = Tracked(send)
        try:
            await self.app(scope, receive, tracked)
        except Exception:
            if scope["type"] != "http":
                raise
            log.exception("unhandled error on %s %s", scope.get("method"), logged_path(scope))
            if not tracked.started:
                await JSONResponse({"detail": "server error"}, status_code=500)(
                    scope, receive, send
                )


def keep_alive(build: Callable[[], ASGIApp]) -> Callable[[], ASGIApp]:
    def wrapped() -> ASGIApp:
        return KeepAlive(build())

    return wrapped


__all__ = ["Guard", "KeepAlive", "check_json", "cross_site", "replaying", "same_origin_proven"]
