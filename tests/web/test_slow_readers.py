"""An answer that the connection cannot take yet (a client reading slowly, or not at all,
its next requests sent ahead on one connection) waits outside the places: the place is
given back as the answer starts to go out (trialcrowd23). Before, a GET whose answer's
first message the server could not hand over held its place for as long as the client
kept the connection, and the next request of the process waited behind it."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from opencall.web.serving import Admission
from tests.web.test_slow_bodies import _scope

pytestmark = pytest.mark.filterwarnings("ignore")


def _get(path: str) -> dict[str, Any]:
    return {**_scope(path, 0), "method": "GET", "headers": [(b"host", b"testserver")]}


async def _no_body() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def test_an_answer_the_client_does_not_take_holds_no_place() -> None:
    served: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        served.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x" * 1000})

    async def never_taken(message: Any) -> None:  # the connection's buffers stay full
        await anyio.sleep_forever()

    answers: list[Any] = []

    async def taken(message: Any) -> None:
        answers.append(message)

    async def main() -> None:
        admission = Admission(app, limit=1)
        async with anyio.create_task_group() as tg:
            tg.start_soon(admission, _get("/big"), _no_body, never_taken)
            await anyio.wait_all_tasks_blocked()
            with anyio.move_on_after(10):  # a bound on the test, not a figure of it
                await admission(_get("/calls"), _no_body, taken)
            tg.cancel_scope.cancel()

    anyio.run(main)
    assert served == ["/big", "/calls"], served
    assert [m["type"] for m in answers] == ["http.response.start", "http.response.body"]


def test_a_route_that_fails_before_answering_gives_its_place_back() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] == "/fails":
            raise RuntimeError("a route's bug")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    answers: list[Any] = []

    async def taken(message: Any) -> None:
        answers.append(message)

    async def main() -> None:
        admission = Admission(app, limit=1)
        with pytest.raises(RuntimeError):
            await admission(_get("/fails"), _no_body, taken)
        with anyio.move_on_after(10):
            await admission(_get("/calls"), _no_body, taken)

    anyio.run(main)
    assert [m.get("status") for m in answers] == [200, None]
