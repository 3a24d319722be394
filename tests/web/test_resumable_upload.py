"""A PDF sent in pieces resumes after a dropped connection (trialapp23).

Before: an applicant whose link dropped at 80% of a 20 MB upload sent the whole file
again from zero (the editor's one post). Now the editor's script sends it in chunks
(``proposals.views.uploads``): after a drop it asks the server's offset and goes on.
Through a real server (uvicorn in a thread), a client that cuts its connection in the
middle of a chunk: the cut chunk counts for nothing, every chunk acknowledged is kept,
and the file stored at the end is the one sent, through the same PDF checks."""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from opencall.app import create_app
from opencall.db import utcnow
from opencall.people.models import User
from opencall.proposals import services as prop_services
from opencall.proposals.models import Attachment, PartialUpload, Proposal
from opencall.storage import LocalStorage
from tests.crowd.live import PASSWORD, csrf_of, pdf_of_size
from tests.web.conftest import Web, build_world, full_proposal, web_settings
from tests.web.threaded import serve_in_thread

CHUNK = 16 * 1024
pytestmark = [pytest.mark.timeout(300)]


@pytest.fixture
def chunky(engine: Engine, factory: sessionmaker[Session], tmp_path: Path) -> Iterator[Web]:
    settings = web_settings(engine, tmp_path, upload_chunk_bytes=CHUNK, partial_uploads_per_user=1)
    app = create_app(settings)
    yield Web(app, settings, factory, tmp_path)
    app.state.engine.dispose()


def _world(web: Web) -> dict[str, Any]:
    with web.factory() as s:
        w = build_world(s)
        s.commit()
    return {
        "pid": w.ids["proposal"],
        "other_pid": w.ids["other_proposal"],
        "pi": w.emails["pi"],
        "other": w.emails["other"],
    }


def _signed_in(base: str, email: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
    r = c.post(
        "/login",
        data={"csrf_token": csrf_of(c.get("/login").text), "email": email, "password": PASSWORD},
    )
    assert r.status_code == 303, r.text[:500]
    return c


def _form(c: Any, pid: int) -> dict[str, str]:
    """The editor's upload form's fields (CSRF token and version)."""
    html = c.get(f"/proposals/{pid}").text
    version = html.split('id="pv-upload"')[0].rsplit('name="version" value="', 1)[1].split('"')[0]
    return {"csrf_token": csrf_of(html), "version": version}


def _start(c: Any, pid: int, form: dict[str, str], data: bytes, **kw: str) -> Any:
    fields = {
        "csrf_token": form["csrf_token"],
        "filename": "justification.pdf",
        "size": str(len(data)),
        "sha256": hashlib.sha256(data).hexdigest(),
        **kw,
    }
    return c.post(f"/proposals/{pid}/uploads", data=fields)


def _chunk(c: Any, url: str, form: dict[str, str], offset: int | str, piece: bytes) -> Any:
    return c.post(
        url,
        data={"csrf_token": form["csrf_token"], "offset": str(offset)},
        files={"chunk": ("blob", piece, "application/octet-stream")},
    )


def _send_cut(port: int, c: httpx.Client, url: str, form: dict[str, str], offset: int) -> None:
    """A chunk's request whose connection is closed after half its body was sent."""
    req = c.build_request(
        "POST",
        url,
        data={"csrf_token": form["csrf_token"], "offset": str(offset)},
        files={"chunk": ("blob", b"\x00" * CHUNK, "application/octet-stream")},
    )
    body = req.read()
    head = f"POST {url} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    for k, v in req.headers.items():
        if k.lower() != "host":
            head += f"{k}: {v}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        raw.sendall(head.encode() + b"\r\n" + body[: len(body) // 2])
        # the link drops: no more bytes, the connection closed


def _rows(web: Web) -> tuple[int, int]:
    with web.factory() as s:
        return (
            s.scalar(select(func.count()).select_from(PartialUpload)) or 0,
            s.scalar(select(func.count()).select_from(Attachment)) or 0,
        )


def _partial_keys(web: Web) -> list[str]:
    store = LocalStorage(web.settings.upload_dir)
    return [x.key for x in store.listing() if x.key.startswith("partial/")]


def test_a_pdf_whose_link_drops_mid_chunk_resumes_where_it_was(chunky: Web) -> None:
    w = _world(chunky)
    pid = w["pid"]
    pdf = pdf_of_size(100_000, seed=23)
    assert len(pdf) > 4 * CHUNK
    with serve_in_thread(chunky.app) as port:
        base = f"http://127.0.0.1:{port}"
        c = _signed_in(base, w["pi"])
        form = _form(c, pid)
        r = _start(c, pid, form, pdf)
        assert r.status_code == 201, r.text
        up = r.json()
        assert (up["offset"], up["size"], up["chunk_bytes"]) == (0, len(pdf), CHUNK)
        url = up["url"]
        offset = 0
        for _ in range(2):
            r = _chunk(c, url, form, offset, pdf[offset : offset + CHUNK])
            assert r.status_code == 200, r.text
            offset = r.json()["offset"]
        assert offset == 2 * CHUNK
        _send_cut(port, c, url, form, offset)
        # after the drop the client asks what arrived: what was acknowledged, no more
        assert c.get(url).json()["offset"] == 2 * CHUNK
        # a reload that starts the same file again gets the same upload, at its offset
        again = _start(c, pid, _form(c, pid), pdf)
        assert again.status_code == 201 and again.json()["id"] == up["id"]
        assert again.json()["offset"] == 2 * CHUNK
        # a chunk sent for another offset is refused with the server's; nothing moves
        r = _chunk(c, url, form, 0, pdf[:CHUNK])
        assert (r.status_code, r.json()["offset"]) == (409, 2 * CHUNK)
        while offset < len(pdf):
            r = _chunk(c, url, form, offset, pdf[offset : offset + CHUNK])
            assert r.status_code == 200, r.text
            offset = r.json()["offset"]
        assert _rows(chunky) == (1, 0)
        r = c.post(f"{url}/finish", data=form)
        assert r.status_code == 303, r.text[:1000]
        assert r.headers["location"] == f"/proposals/{pid}?m=uploaded#attachments"
        # the finish sent again (its answer lost) finds nothing to finish; the file is kept once
        assert c.post(f"{url}/finish", data=_form(c, pid)).status_code == 404
    with chunky.factory() as s:
        att = s.scalars(select(Attachment).where(Attachment.proposal_id == pid)).one()
        assert att.sha256 == hashlib.sha256(pdf).hexdigest()
        assert att.filename == "justification.pdf" and att.clean_storage_key
    assert _rows(chunky) == (0, 1)
    assert _partial_keys(chunky) == []


def _signed_in_pi(web: Web, seed: int) -> tuple[dict[str, Any], bytes, Any, dict[str, str]]:
    """The world, a PDF, the PI signed in (test client) and their upload form's fields."""
    w = _world(web)
    c = web.login(w["pi"])
    return w, pdf_of_size(40_000, seed=seed), c, _form(c, w["pid"])


def test_a_file_that_arrives_damaged_is_refused_and_not_kept(chunky: Web) -> None:
    w, pdf, c, form = _signed_in_pi(chunky, 5)
    pid = w["pid"]
    r = _start(c, pid, form, pdf, sha256=hashlib.sha256(b"another file").hexdigest())
    url = r.json()["url"]
    for at in range(0, len(pdf), CHUNK):
        assert _chunk(c, url, form, at, pdf[at : at + CHUNK]).status_code == 200
    r = c.post(f"{url}/finish", data=form)
    assert r.status_code == 400
    assert "The file arrived damaged" in r.text
    assert _rows(chunky) == (0, 0)
    assert _partial_keys(chunky) == []


def test_a_file_that_is_no_pdf_gets_the_same_refusal_as_a_whole_upload(chunky: Web) -> None:
    w = _world(chunky)
    pid = w["pid"]
    data = b"PK\x03\x04 not a pdf at all" * 100
    c = chunky.login(w["pi"])
    form = _form(c, pid)
    url = _start(c, pid, form, data).json()["url"]
    assert _chunk(c, url, form, 0, data).status_code == 200
    r = c.post(f"{url}/finish", data=form)
    assert r.status_code == 400 and "This file is not a PDF." in r.text
    assert _rows(chunky) == (0, 0)


def test_bad_pieces_are_refused_and_change_nothing(chunky: Web) -> None:
    w, pdf, c, form = _signed_in_pi(chunky, 6)
    pid = w["pid"]
    big = _start(c, pid, form, pdf, size=str(chunky.settings.max_upload_bytes + 1))
    assert big.status_code == 400 and "too large" in big.json()["error"]
    for bad in ("-1", "0", "12abc", ""):
        r = _start(c, pid, form, pdf, size=bad)
        assert r.status_code == 400, bad
    r = _start(c, pid, form, pdf, sha256="not-a-checksum")
    assert r.status_code == 400 and "SHA-256" in r.json()["error"]
    r = c.post(f"/proposals/{pid}/uploads", data={"filename": "x.pdf", "size": "10"})
    assert r.status_code in (400, 403) and _rows(chunky) == (0, 0)  # no CSRF token
    url = _start(c, pid, form, pdf).json()["url"]
    assert _chunk(c, url, form, 0, pdf[: CHUNK + 1]).status_code == 400
    assert _chunk(c, url, form, 0, b"").status_code == 400
    assert _chunk(c, url, form, "x", pdf[:10]).status_code == 400
    assert c.get(url).json()["offset"] == 0
    # another applicant, signed in, cannot see nor feed it
    other = chunky.login(w["other"])
    assert other.get(url).status_code == 404
    other_form = {**form, "csrf_token": _form(other, w["other_pid"])["csrf_token"]}
    assert _chunk(other, url, other_form, 0, pdf[:10]).status_code == 404
    assert c.get(url).json()["offset"] == 0
    assert _partial_keys(chunky) == []


def test_uploads_in_progress_are_limited_per_account(chunky: Web) -> None:
    w = _world(chunky)
    with chunky.factory() as s:
        p = s.get(Proposal, w["pid"])
        assert p is not None
        second = full_proposal(s, p.call, s.get(User, p.pi_user_id))
        s.commit()
        second_id = second.id
    pdf = pdf_of_size(40_000, seed=7)
    c = chunky.login(w["pi"])
    form = _form(c, w["pid"])
    assert _start(c, w["pid"], form, pdf).status_code == 201
    # another file for the same proposal replaces the first (one in progress each)
    assert _start(c, w["pid"], form, pdf[:-1]).status_code == 201
    assert _rows(chunky) == (1, 0)
    r = _start(c, second_id, _form(c, second_id), pdf)
    assert r.status_code == 429 and "uploads in progress" in r.json()["error"]
    assert _rows(chunky) == (1, 0)


def test_the_sweep_removes_abandoned_uploads_and_stray_chunks(chunky: Web) -> None:
    w, pdf, c, form = _signed_in_pi(chunky, 8)
    url = _start(c, w["pid"], form, pdf).json()["url"]
    assert _chunk(c, url, form, 0, pdf[:CHUNK]).status_code == 200
    store = LocalStorage(chunky.settings.upload_dir)
    store.put("partial/strayupload/000000", b"left by a replaced upload")
    keep = dt.timedelta(hours=chunky.settings.partial_upload_keep_hours)
    with chunky.factory() as s:  # an hour later: nothing is old enough
        out = prop_services.sweep_partial_uploads(
            s, store, keep=keep, now=utcnow() + dt.timedelta(hours=1), grace=dt.timedelta(hours=2)
        )
        s.commit()
    assert (out.uploads, out.chunks) == (0, 0)
    assert len(_partial_keys(chunky)) == 2
    with chunky.factory() as s:  # past the keeping time: the upload and the stray chunk go
        out = prop_services.sweep_partial_uploads(
            s, store, keep=keep, now=utcnow() + keep + dt.timedelta(minutes=1)
        )
        s.commit()
    assert (out.uploads, out.chunks) == (1, 2)
    assert _rows(chunky) == (0, 0) and _partial_keys(chunky) == []
    assert c.get(url).status_code == 404
