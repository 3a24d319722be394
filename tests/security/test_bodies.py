"""An upload sent without a Content-Length (chunked) and over the limit is refused with
413 "The file is too large" once the limit is passed, and stores nothing. Before the fix
the limit's 413, raised while the file part was being spooled, came out of the
multipart parser wrapped in its task group and was answered 400 "The form could not be
read: unhandled errors in a TaskGroup (1 sub-exception)"."""

from __future__ import annotations

from collections.abc import Iterator

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
