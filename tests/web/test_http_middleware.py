"""web.serving.HttpMiddleware: the base of the HTTP-only middlewares."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from opencall.web.serving import HttpMiddleware


def test_a_middleware_must_answer_http_and_passes_other_scopes_through() -> None:
    class Forgot(HttpMiddleware):
        def __init__(self, app: Any) -> None:
            self.app = app

    with pytest.raises(TypeError, match="http"):
        Forgot(None)  # type: ignore[abstract]

    seen: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(f"app:{scope['type']}")

    class Tagging(HttpMiddleware):
        def __init__(self, app: Any) -> None:
            self.app = app

        async def http(self, scope: Any, receive: Any, send: Any) -> None:
            seen.append("http")

    mw = Tagging(inner)
    asyncio.run(mw({"type": "lifespan"}, None, None))
    asyncio.run(mw({"type": "http"}, None, None))
    assert seen == ["app:lifespan", "http"]
