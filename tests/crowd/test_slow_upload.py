"""An applicant on a slow link sends a large PDF over minutes.

Before, a request took one of the process's ``OPENCALL_CONCURRENCY`` places as soon as it
arrived and had to finish its body within ``OPENCALL_BODY_TIMEOUT_S`` (60 s) of that: a
10 MB upload at 1 Mbit/s (80 s) was cut with 408, and while it came it held a place, so
a few slow uploads made every other applicant wait. Now the body is read before the
request takes a place (into a temporary file past 1 MiB), and the timeout is a pause: a
body that keeps coming is never cut, one that stops for ``OPENCALL_BODY_TIMEOUT_S`` is
answered 408. (tests/web/test_slow_bodies.py: a stalled body is still cut.)"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import Engine
from starlette.requests import Request

from opencall.app import create_app
from opencall.web.serving import Admission
from tests.web.conftest import web_settings
from tests.web.test_slow_bodies import _collect, _complete, _scope, _status

pytestmark = pytest.mark.filterwarnings("ignore")


def trickle(pieces: list[bytes], pause_s: float, log: list[str] | None = None) -> Any:
    """A client that sends ``pieces`` one by one, ``pause_s`` apart."""
    it = iter(enumerate(pieces))

    async def receive() -> dict[str, Any]:
        try:
            i, piece = next(it)
        except StopIteration:
            await anyio.sleep_forever()
            raise AssertionError("unreachable") from None
        if i:
            await anyio.sleep(pause_s)
        if log is not None:
            log.append(f"piece {i}")
        return {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}

    return receive


def test_a_slow_steady_body_is_not_cut_and_holds_no_place() -> None:
    """One place, a pause of at most 0.3 s: a body sent in 12 pieces 0.1 s apart (1.1 s
    in all, past the old whole-body deadline) arrives whole, and a quick request sent
    meanwhile is answered before the slow body has finished arriving."""
    events: list[str] = []
    read: list[bytes] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        body = await Request(scope, receive).body()
        read.append(body)
        events.append(f"route {len(body)}")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    admission = Admission(inner, limit=1, body_timeout_s=0.3)
    pieces = [bytes([65 + i]) * 100 for i in range(12)]
    slow: list[dict[str, Any]] = []
    fast: list[dict[str, Any]] = []

    async def main() -> None:
        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                scope = _scope(length=1200)
                tg.start_soon(admission, scope, trickle(pieces, 0.1, events), _collect(slow))
                await anyio.sleep(0.25)
                await admission(_scope(length=10), _complete(b"0123456789"), _collect(fast))

    anyio.run(main)
    assert _status(slow) == 200 and _status(fast) == 200
    assert read == [b"0123456789", b"".join(pieces)]
    # the quick request ran while the slow body was still coming
    assert events.index("route 10") < events.index("piece 11")


def test_twenty_megabytes_arrive_whole_through_a_temporary_file(tmp_path: Path) -> None:
    data = hashlib.sha256(b"pdf").digest() * (20 * 1024 * 1024 // 32)  # 20 MiB
    pieces = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    got: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        got.append(hashlib.sha256(await Request(scope, receive).body()).hexdigest())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    admission = Admission(inner, limit=1, body_timeout_s=1, max_body_bytes=25 * 1024 * 1024)
    out: list[dict[str, Any]] = []
    anyio.run(admission, _scope(length=len(data)), trickle(pieces, 0), _collect(out))
    assert _status(out) == 200 and got == [hashlib.sha256(data).hexdigest()]


def test_a_body_past_the_limit_is_not_buffered_whole() -> None:
    """Sent without a length, a body is buffered up to the limit, then handed on as it
    comes (the size limit inside answers 413 without reading the rest)."""
    received: list[int] = []
    pieces = [b"x" * 600] * 50

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        received.append(len(events))  # pieces the client had sent when the app began
        await send({"type": "http.response.start", "status": 413, "headers": []})
        await send({"type": "http.response.body", "body": b"too large"})

    events: list[str] = []
    admission = Admission(inner, limit=1, body_timeout_s=1, max_body_bytes=1000)
    scope = _scope(length=0)
    scope["headers"] = [(b"host", b"testserver"), (b"transfer-encoding", b"chunked")]
    out: list[dict[str, Any]] = []
    anyio.run(admission, scope, trickle(pieces, 0, events), _collect(out))
    assert _status(out) == 413 and received == [2]


def test_the_application_serves_others_while_a_form_trickles_in(
    engine: Engine, tmp_path: Path
) -> None:
    """Through every middleware, one place, a pause limit of 0.5 s: a form sent over
    about 1.5 s in pieces is answered by its route (403: it has no CSRF token), not
    408, and a request sent meanwhile is answered first."""
    app = create_app(web_settings(engine, tmp_path, concurrency=1, body_timeout_s=0.5))
    form = b"email=someone%40example.org&padding=" + b"p" * 90
    pieces = [form[i : i + 10] for i in range(0, len(form), 10)]
    slow: list[dict[str, Any]] = []
    fast: list[dict[str, Any]] = []
    done: dict[str, float] = {}

    async def timed(name: str, *args: Any) -> None:
        await app(*args)
        done[name] = time.monotonic()

    async def main() -> None:
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                scope = _scope("/password/forgot", len(form))
                tg.start_soon(timed, "slow", scope, trickle(pieces, 0.12), _collect(slow))
                await anyio.sleep(0.2)
                quick = _scope("/password/forgot", 0, "192.0.2.2")
                await timed("fast", quick, _complete(b""), _collect(fast))

    try:
        anyio.run(main)
    finally:
        app.state.engine.dispose()
    assert _status(slow) == 403 and _status(fast) == 403
    assert done["fast"] < done["slow"]
