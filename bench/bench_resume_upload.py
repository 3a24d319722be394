"""Bytes an applicant sends for a PDF whose link drops at 80%: the whole file posted again
(before trialapp23) against the upload in pieces resumed from the server's offset.

The app is served in-process (Starlette's test client); the drop is the request that
carries the bytes at 80% cut half-way (its bytes counted as sent, none stored). Every
request body is counted as built by httpx (multipart framing included). Also the wall
time of storing the file each way (the server's work: parse, join, the PDF checks), the
median of ``--runs``, as a ratio (the pieces' extra requests against the one post).

    PYTHONPATH=. .venv/bin/python bench/bench_resume_upload.py [--mb 4] [--chunk-kb 256]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
from typing import Any

import httpx
from sqlalchemy import delete
from tests.crowd.live import pdf_of_size
from tests.web.conftest import Web, build_world, csrf, sqlite_world

from opencall.app import create_app
from opencall.proposals.models import Attachment


def body_size(url: str, data: dict[str, str], files: dict[str, Any] | None = None) -> int:
    req = httpx.Request("POST", "http://testserver" + url, data=data, files=files)
    return len(req.read())


def form_of(c: Any, pid: int) -> dict[str, str]:
    html = c.get(f"/proposals/{pid}").text
    version = html.split('id="pv-upload"')[0].rsplit('name="version" value="', 1)[1].split('"')[0]
    return {"csrf_token": csrf(c, f"/proposals/{pid}"), "version": version}


def whole(c: Any, pid: int, pdf: bytes) -> tuple[int, int]:
    form = form_of(c, pid)
    files = {"pdf": ("case.pdf", pdf, "application/pdf")}
    size = body_size(f"/proposals/{pid}/attachments", form, files)
    sent = int(size * 0.8)  # the first post, cut at 80%: nothing stored
    r = c.post(f"/proposals/{pid}/attachments", data=form, files=files)
    assert r.status_code == 303, r.text[:500]
    return sent + size, 2


def pieces(c: Any, pid: int, pdf: bytes) -> tuple[int, int]:
    form = form_of(c, pid)
    start = {
        "csrf_token": form["csrf_token"],
        "filename": "case.pdf",
        "size": str(len(pdf)),
        "sha256": hashlib.sha256(pdf).hexdigest(),
    }
    sent, requests = body_size(f"/proposals/{pid}/uploads", start), 1
    up = c.post(f"/proposals/{pid}/uploads", data=start).json()
    url, offset, chunk, cut = up["url"], 0, up["chunk_bytes"], False
    while offset < len(pdf):
        data = {"csrf_token": form["csrf_token"], "offset": str(offset)}
        files = {"chunk": ("chunk", pdf[offset : offset + chunk], "application/octet-stream")}
        size = body_size(url, data, files)
        if not cut and offset + chunk > 0.8 * len(pdf):
            cut = True  # the link drops half-way through this piece; then the offset is asked
            sent, requests = sent + size // 2 + 1, requests + 2
            offset = c.get(url).json()["offset"]
            continue
        sent, requests = sent + size, requests + 1
        offset = c.post(url, data=data, files=files).json()["offset"]
    finish = {"csrf_token": form["csrf_token"], "version": form["version"]}
    sent, requests = sent + body_size(url + "/finish", finish), requests + 1
    r = c.post(url + "/finish", data=finish)
    assert r.status_code == 303, r.text[:500]
    return sent, requests


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=4.0)
    ap.add_argument("--chunk-kb", type=int, default=256)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    web, w = sqlite_world("bench-resume-", build_world)
    settings = web.settings.model_copy(
        update={
            "max_upload_bytes": int(args.mb * 1.2e6),
            "upload_chunk_bytes": args.chunk_kb * 1024,
            "upload_throttle_per_hour": 10_000,
        }
    )
    web = Web(create_app(settings), settings, web.factory, web.tmp)
    pid = w.ids["proposal"]
    c = web.login(w.emails["pi"])
    out: dict[str, list[float]] = {"whole": [], "pieces": []}
    counts: dict[str, tuple[int, int]] = {}
    for run in range(args.runs):
        pdf = pdf_of_size(int(args.mb * 1e6), seed=run)
        for name, way in (("whole", whole), ("pieces", pieces)):
            with web.factory() as s:  # each way stores the file anew
                s.execute(delete(Attachment).where(Attachment.proposal_id == pid))
                s.commit()
            began = time.perf_counter()
            counts[name] = way(c, pid, pdf)
            out[name].append(time.perf_counter() - began)
    size = len(pdf_of_size(int(args.mb * 1e6), seed=0))
    print(f"PDF {size / 1e6:.2f} MB, pieces of {args.chunk_kb} KiB, the link dropping at 80%")
    print("| way | bytes sent | x the file | requests | wall (median s) |")
    print("|---|---:|---:|---:|---:|")
    for name in ("whole", "pieces"):
        sent, requests = counts[name]
        wall = statistics.median(out[name])
        print(f"| {name} | {sent:,} | {sent / size:.2f} | {requests} | {wall:.2f} |")
    ratio = statistics.median(out["pieces"]) / statistics.median(out["whole"])
    print(f"wall, pieces / whole: {ratio:.2f}")


if __name__ == "__main__":
    main()
