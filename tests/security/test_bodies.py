"""An upload sent without a Content-Length (chunked) and over the limit is refused with
413 "The file is too large" once the limit is passed, and stores nothing. Before the fix
the limit's 413, raised while the file part was being spooled, came out of the
multipart parser wrapped in its task group and was answered 400 "The form could not be
read: unhandled errors in a TaskGroup (1 sub-exception)"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from opencall.proposals.models import Attachment
from tests.web.conftest import Web, World, csrf


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the web layer's answer
def test_a_chunked_upload_over_the_limit_answers_413(web: Web, world: World) -> None:
    c = web.login(world.emails["pi"])
    with web.factory() as s:
        before = s.scalar(select(func.count()).select_from(Attachment))
    token = csrf(c)
    limit = web.settings.max_upload_bytes + 1024 * 1024  # the hard limit of web.pages

    def body() -> Iterator[bytes]:  # a generator: sent chunked, no Content-Length
        yield (
            b'--x\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            + token.encode()
            + b'\r\n--x\r\nContent-Disposition: form-data; name="pdf"; filename="a.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
        )
        chunk = b"0" * 65536
        for _ in range(limit // len(chunk) + 2):
            yield chunk
        yield b"\r\n--x--\r\n"

    r = c.post(
        f"/proposals/{world.ids['proposal']}/attachments",
        content=body(),
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert r.status_code == 413, r.text[:2000]
    assert "The file is too large." in r.text
    with web.factory() as s:
        assert s.scalar(select(func.count()).select_from(Attachment)) == before


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the web layer's answer
def test_an_api_write_with_an_idempotency_key_reads_no_more_than_the_limit(web: Web) -> None:
    """The Idempotency-Key layer reads a write's body whole (to compare a retry with the
    first request), outside the body limit of the pages. Before the fix it read any body
    to its end into memory, unbounded, before the limit refused it; now it stops at the
    limit with 413, by the declared length or as the body arrives."""
    import asyncio

    limit = web.settings.max_upload_bytes + 1024 * 1024
    chunk = b"0" * 65536
    chunks = 3 * limit // len(chunk)

    def call(declared: int | None) -> tuple[int, int, bytes]:
        read, answer = [0], {}

        async def receive() -> dict[str, Any]:
            read[0] += 1
            return {"type": "http.request", "body": chunk, "more_body": read[0] < chunks}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            elif message["type"] == "http.response.body":
                answer["body"] = answer.get("body", b"") + message.get("body", b"")

        headers = [(b"host", b"testserver"), (b"idempotency-key", b"k1")]
        headers.append((b"content-type", b"application/json"))
        if declared is not None:
            headers.append((b"content-length", str(declared).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/api/v1/proposals",
            "raw_path": b"/api/v1/proposals",
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        asyncio.run(web.app(scope, receive, send))
        return answer["status"], read[0], answer["body"]

    status, read, body = call(None)  # chunked: no declared length
    assert status == 413 and b"too large" in body
    assert read <= limit // len(chunk) + 2, f"{read} of {chunks} chunks read"
    status, read, _ = call(chunks * len(chunk))  # declared: refused before reading
    assert status == 413 and read == 0


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the web layer's answer
def test_a_form_too_large_without_a_file_is_not_called_a_file(web: Web, world: World) -> None:
    """A form with no file part, over the hard limit (a pasted text field): the 413 says
    what was sent is too large and the limit, not "The file is too large", which sent the
    applicant looking for a file they never attached (found by trialcrowd)."""
    c = web.login(world.emails["pi"])
    token = csrf(c)
    limit = web.settings.max_upload_bytes + 1024 * 1024
    r = c.post(
        f"/proposals/{world.ids['proposal']}/edit",
        data={"csrf_token": token, "abstract": "x" * (limit + 10)},
    )
    assert r.status_code == 413, r.text[:500]
    mb = limit // (1024 * 1024)
    assert f"What you sent is too large: at most {mb} MB in one request." in r.text
    assert "file" not in r.text
