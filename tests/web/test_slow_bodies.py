"""A request whose body arrives too slowly is answered 408 and frees its place: slow
clients cannot hold every place of a process (``OPENCALL_CONCURRENCY``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import Engine
from starlette.requests import Request

from opencall.app import create_app
from opencall.web.serving import Admission
from tests.web.conftest import web_settings

pytestmark = pytest.mark.filterwarnings("ignore")


def _scope(path: str = "/x", length: int = 10, client: str = "192.0.2.1") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(length).encode()),
        ],
        "client": (client, 40000),
        "server": ("testserver", 80),
    }


def _stalled(first: bytes | None = None) -> Any:
    """A client that sends ``first`` (part of the body), then nothing more."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if first is not None and not sent:
            sent = True
            return {"type": "http.request", "body": first, "more_body": True}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    return receive


def _complete(body: bytes) -> Any:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _collect(into: list[dict[str, Any]]) -> Any:
    async def send(message: dict[str, Any]) -> None:
        into.append(message)

    return send


def _status(messages: list[dict[str, Any]]) -> int:
    return int(next(m["status"] for m in messages if m["type"] == "http.response.start"))


@pytest.mark.parametrize("first", [None, b"email"])
def test_a_stalled_body_is_answered_408_and_frees_the_place(first: bytes | None) -> None:
    read: list[bytes] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        read.append(await Request(scope, receive).body())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    admission = Admission(inner, limit=1, body_timeout_s=0.3)
    slow: list[dict[str, Any]] = []
    fast: list[dict[str, Any]] = []

    async def main() -> None:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(admission, _scope(), _stalled(first), _collect(slow))
                await anyio.sleep(0.05)  # the slow client holds the only place
                await admission(_scope(), _complete(b"0123456789"), _collect(fast))

    anyio.run(main)
    assert _status(slow) == 408
    start = next(m for m in slow if m["type"] == "http.response.start")
    assert (b"connection", b"close") in start["headers"]
    assert _status(fast) == 200 and read == [b"0123456789"]  # the route ran once, for it


def test_a_body_in_time_is_not_cut_and_later_receives_pass() -> None:
    """Once the body is in, the application may wait on ``receive`` (a disconnect) for
    as long as it likes: the deadline is for the body only."""
    seen: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await Request(scope, receive).body()
        with anyio.move_on_after(0.5):
            seen.append((await receive())["type"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    admission = Admission(inner, limit=1, body_timeout_s=0.2)
    out: list[dict[str, Any]] = []
    calls = 0

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            return {"type": "http.request", "body": b"0123456789", "more_body": False}
        await anyio.sleep(0.4)  # past the body's deadline
        return {"type": "http.disconnect"}

    anyio.run(admission, _scope(), receive, _collect(out))
    assert _status(out) == 200 and seen == ["http.disconnect"]


def test_the_application_frees_a_place_held_by_a_slow_body(engine: Engine, tmp_path: Path) -> None:
    """Through the whole application (every middleware): one place, a client that
    stops sending its form half-way, then a complete request."""
    app = create_app(web_settings(engine, tmp_path, concurrency=1, body_timeout_s=0.5))
    slow: list[dict[str, Any]] = []
    fast: list[dict[str, Any]] = []

    async def main() -> None:
        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                scope = _scope("/password/forgot", 40)
                tg.start_soon(app, scope, _stalled(b"email=some"), _collect(slow))
                await anyio.sleep(0.1)
                await app(
                    _scope("/password/forgot", 0, "192.0.2.2"), _complete(b""), _collect(fast)
                )

    try:
        anyio.run(main)
    finally:
        app.state.engine.dispose()
    assert _status(slow) == 408
    assert _status(fast) == 403  # answered (no CSRF token): the place was freed


@pytest.mark.parametrize(
    ("header", "said"),
    [
        (
            (b"accept-language", b"fr-FR,fr;q=0.9"),
            "La requête a cessé d’arriver pendant 0,3 secondes",
        ),
        ((b"cookie", b"oc_lang=es"), "La solicitud dejó de llegar durante 0,3 segundos"),
        ((b"accept-language", b"zh-CN"), "请求在 0.3 秒内没有继续到达"),
    ],
)
def test_a_stalled_page_body_is_answered_in_the_readers_language(
    header: tuple[bytes, bytes], said: str
) -> None:
    """An applicant abroad whose upload stalls reads the 408 page in their language (it
    was English on every page); the API keeps its English ``detail``."""

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the route never runs for a stalled body")

    admission = Admission(inner, limit=1, body_timeout_s=0.3)
    page: list[dict[str, Any]] = []
    api: list[dict[str, Any]] = []
    scope = _scope()
    scope["headers"] = [*scope["headers"], header]
    api_scope = _scope(path="/api/v1/x")
    api_scope["headers"] = [*api_scope["headers"], header]

    async def main() -> None:
        with anyio.fail_after(10):
            await admission(scope, _stalled(b"e"), _collect(page))
            await admission(api_scope, _stalled(b"e"), _collect(api))

    anyio.run(main)
    assert _status(page) == 408 and _status(api) == 408
    body = b"".join(m.get("body", b"") for m in page if m["type"] == "http.response.body")
    assert said in body.decode(), body
    detail = b"".join(m.get("body", b"") for m in api if m["type"] == "http.response.body")
    assert b"the request body stopped coming for 0.3 seconds" in detail, detail
