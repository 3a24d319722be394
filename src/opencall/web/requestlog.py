"""Request context for the logs: a request id (the client's ``X-Request-ID`` when
it is a short token, else a new one; echoed in the response), the user id once
the page or API dependency has loaded the account, and one INFO line per
request (method, path, status, milliseconds). Outermost middleware, so that the
500 line of an unhandled error (``web.serving``) carries the request id too."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opencall.logging_setup import bound, logged_path
from opencall.web.serving import HttpMiddleware

log = logging.getLogger("opencall.web.request")
HEADER = b"x-request-id"
_TOKEN = re.compile(rb"[A-Za-z0-9._-]{1,64}")


class RequestLog(HttpMiddleware):
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = dict(scope.get("headers") or []).get(HEADER, b"")
        rid = given.decode() if _TOKEN.fullmatch(given) else uuid.uuid4().hex[:16]
        status = 500
        started = time.perf_counter()

        async def tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (HEADER, rid.encode())]
            await send(message)

        with bound(request_id=rid):
            try:
                await self.app(scope, receive, tagged)
            finally:
                ms = (time.perf_counter() - started) * 1000
                log.info("%s %s %s %.0fms", scope.get("method"), logged_path(scope), status, ms)
