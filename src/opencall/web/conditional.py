"""Conditional GETs of the JSON API (trialapi23): a 200 JSON answer to a GET under
``/api/v1`` carries a weak ``ETag`` (``W/"<sha256 of the body, 40 hex>"``), and a GET
whose ``If-None-Match`` names it answers 304 without a body. A client syncing nightly
over a slow link then downloads an unchanged list or figure once. The answer is still
built (the tag is of what would be sent: nothing is cached on the server, so nobody
ever gets another's answer, and the token's checks run every time); only its bytes are
spared. Weak, because the gzip layer outside may compress the same JSON.

A pure ASGI layer rather than Starlette's ``BaseHTTPMiddleware`` (which would stream
every answer through a task); it holds only a JSON answer, which FastAPI sends as one
body message anyway, and passes anything else (files, CSV, pages) through at once."""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/api/v1/"


def _tags(asked: str) -> set[str]:
    """The tags of an ``If-None-Match`` header, compared weakly (``W/`` dropped)."""
    return {t.strip().removeprefix("W/") for t in asked.split(",") if t.strip()}


class ConditionalGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not path.startswith(PREFIX)
            or path.endswith("/openapi.json")
        ):
            await self.app(scope, receive, send)
            return
        asked = ""
        for k, v in scope.get("headers", []):
            if k == b"if-none-match":
                asked = v.decode("latin-1")
        held: dict[str, Any] = {"start": None, "body": b""}

        async def tagging(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                json = headers.get(b"content-type", b"").startswith(b"application/json")
                if message["status"] == 200 and json:
                    held["start"] = message
                    return
            elif message["type"] == "http.response.body" and held["start"] is not None:
                held["body"] += message.get("body", b"")
                if message.get("more_body", False):
                    return
                await self._answer(held["start"], held["body"], asked, send)
                return
            await send(message)

        await self.app(scope, receive, tagging)

    @staticmethod
    async def _answer(start: Message, body: bytes, asked: str, send: Send) -> None:
        tag = f'"{hashlib.sha256(body).hexdigest()[:40]}"'
        headers = [(k, v) for k, v in start.get("headers", []) if k != b"etag"]
        headers.append((b"etag", f"W/{tag}".encode()))
        if tag in _tags(asked) or asked.strip() == "*":
            kept = [(k, v) for k, v in headers if k not in (b"content-length", b"content-type")]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})
