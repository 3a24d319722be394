"""The deadline crowd from slow connections abroad (trialcrowd22): applicants on slow
links save, upload large PDFs and submit in the last minutes, against real
`opencall serve` processes on PostgreSQL, and every client sends again what a flaky link
makes a browser send again:

- "Start a proposal" is posted a second time after the server answered it (a browser
  resending the form once the answer came back late);
- one applicant in two uploads a 2-6 MB PDF over a slow link: the body is streamed in
  64 KiB pieces at ``--link-kbps`` (the declared length sent first, as a browser does);
- one in three gives up waiting for the submit's answer (a client timeout of
  ``--impatient-s``) and sends it again (a retry after a timeout: a double submit);
- everyone sends the submit again after it was acknowledged, and uploads the same file
  again after the submission.

Afterwards the database is read: every acknowledged submission is submitted with one
revision holding its text and the PDF's hash, one attachment, the file on disk the same;
one proposal an applicant (the resent "Start a proposal" made none); no 5xx anywhere.

    PYTHONPATH=. .venv/bin/python bench/bench_crowd22.py \\
        --pg-url postgresql://postgres@127.0.0.1:5432/<scratch db> --applicants 60

``--guesses N`` plays the attacker instead: N wrong passwords for one account sent at
once from one address (the server's places full of them), and counts how many the
server checked (400) and how many it refused as waiting (429); ``--registrations N``, N
registrations of new addresses at once from one address (303 made, 429 refused); ``--src <checkout>/src``
runs the server from another checkout (main's, to compare).

The database named by --pg-url is DROPPED and created anew: name a scratch database.
Prints a JSON summary (requests/s, p50/p95 by step, statuses, the verification).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_surge import (  # noqa: E402
    F_PASSWORD,
    PROPOSAL_URL,
    VERSION,
    Client,
    Stats,
    _error_of,
    fast_request,
    pct,
    prepare,
)
from tests.crowd.live import ServerProcess, csrf_of, pdf_of_size  # noqa: E402

from opencall.db import make_engine, make_sessionmaker  # noqa: E402
from opencall.people.models import User  # noqa: E402
from opencall.proposals.models import Proposal, ProposalRevision  # noqa: E402

CHUNK = 64 * 1024


def multipart(fields: dict[str, str], name: str, filename: str, data: bytes) -> tuple[bytes, str]:
    """A browser's multipart body of ``fields`` and one file, and its boundary."""
    boundary = "----crowd22" + hashlib.sha256(data[:64]).hexdigest()[:16]
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
        f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode()
    return b"".join(parts) + head + data + f"\r\n--{boundary}--\r\n".encode(), boundary


async def trickle(body: bytes, kbps: float) -> AsyncIterator[bytes]:
    """``body`` at ``kbps`` kilobits a second, in pieces of 64 KiB."""
    pause = CHUNK * 8 / (kbps * 1000)
    for i in range(0, len(body), CHUNK):
        yield body[i : i + CHUNK]
        await asyncio.sleep(pause)


class Applicant:
    def __init__(self, i: int, email: str, pdf: bytes, slow: bool, impatient: bool) -> None:
        self.i, self.email, self.pdf, self.slow, self.impatient = i, email, pdf, slow, impatient
        self.title = f"Crowd22 proposal {i}: pulsars from a slow link"
        self.abstract = f"Applicant {i} times pulsars over a satellite link."
        self.proposal_id: int | None = None
        self.acknowledged = False
        self.gave_up = ""
        self.upload_s = 0.0
        self.answers: list[str] = []  # the answers to what was sent again


async def flow(base: str, a: Applicant, slug: str, stats: Stats, args: Any) -> None:
    await asyncio.sleep(a.i * args.window / max(1, args.applicants))
    cl = Client(base, stats)
    try:
        r = await cl.req("login_form", "GET", "/login")
        form = {"csrf_token": csrf_of(r.text), "email": a.email, "password": F_PASSWORD}
        r = await cl.req("login", "POST", "/login", data=form)
        if r.status_code != 303:
            a.gave_up = f"login {r.status_code}"
            return
        page = await cl.req("apply_form", "GET", f"/calls/{slug}/apply")
        start = {"csrf_token": csrf_of(page.text), "title": a.title}
        r = await cl.req("create_draft", "POST", f"/calls/{slug}/apply", data=start)
        again = await cl.req("create_again", "POST", f"/calls/{slug}/apply", data=start)
        a.answers.append(f"create again {again.status_code}")
        m = PROPOSAL_URL.search(r.headers.get("location", ""))
        if r.status_code != 303 or not m:
            a.gave_up = f"create {r.status_code} {_error_of(r.text)}"
            return
        pid = a.proposal_id = int(m.group(1))
        p = await cl.req("editor", "GET", f"/proposals/{pid}")
        v = VERSION.search(p.text)
        token, version = csrf_of(p.text), int(v.group(1) if v else 0)
        r = await cl.req(
            "save_text",
            "POST",
            f"/proposals/{pid}",
            data={
                "csrf_token": token,
                "version": str(version),
                "title": a.title,
                "abstract": a.abstract,
                "science_case": "Millisecond pulsars are precise clocks. " * 20,
                "keywords": "pulsars",
            },
        )
        r2 = await cl.req(
            "add_request",
            "POST",
            f"/proposals/{pid}/requests",
            data={"csrf_token": token, "version": str(version + 1), **fast_request(a.i, 4)},
        )
        if (r.status_code, r2.status_code) != (303, 303):
            a.gave_up = f"edit {r.status_code} {r2.status_code} {_error_of(r2.text)}"
            return
        body, boundary = multipart(
            {"csrf_token": token, "version": str(version + 2)}, "pdf", f"case-{a.i}.pdf", a.pdf
        )
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(body)),
        }
        t0 = time.perf_counter()
        step = "upload_slow" if a.slow else "upload"
        content = trickle(body, args.link_kbps) if a.slow else body
        r = await cl.req(
            step, "POST", f"/proposals/{pid}/attachments", content=content, headers=headers
        )
        a.upload_s = time.perf_counter() - t0
        if r.status_code != 303:
            a.gave_up = f"upload {r.status_code} {_error_of(r.text)}"
            return
        submit = {"csrf_token": token}
        if a.impatient:  # the answer is not waited for: sent again, as a retry
            try:
                await cl.c.post(f"/proposals/{pid}/submit", data=submit, timeout=args.impatient_s)
                a.answers.append("impatient answered")
            except httpx.TimeoutException:
                a.answers.append("impatient timed out")
        r = await cl.req("submit", "POST", f"/proposals/{pid}/submit", data=submit)
        if r.status_code == 303 and "submitted" in r.headers.get("location", ""):
            a.acknowledged = True
        else:
            a.gave_up = f"submit {r.status_code} {_error_of(r.text)}"
            return
        again = await cl.req("submit_again", "POST", f"/proposals/{pid}/submit", data=submit)
        a.answers.append(f"submit again {again.status_code}")
        body, boundary = multipart(
            {"csrf_token": token, "version": str(version + 2)}, "pdf", f"case-{a.i}.pdf", a.pdf
        )
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        again = await cl.req(
            "upload_again", "POST", f"/proposals/{pid}/attachments", content=body, headers=headers
        )
        a.answers.append(f"upload again {again.status_code}")
    finally:
        await cl.c.aclose()


def verify(url: str, applicants: list[Applicant], uploads: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"acknowledged": 0, "missing": 0, "altered": 0, "duplicated": 0}
    problems: list[str] = []
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        for a in applicants:
            user = s.scalar(select(User).where(User.email == a.email))
            assert user is not None
            owned = s.scalar(select(func.count()).where(Proposal.pi_user_id == user.id))
            if (owned or 0) > 1:
                out["duplicated"] += 1
                problems.append(f"{a.i}: {owned} proposals")
            if not a.acknowledged:
                continue
            out["acknowledged"] += 1
            p = s.get(Proposal, a.proposal_id)
            if p is None or p.status != "submitted":
                out["missing"] += 1
                problems.append(f"{a.i}: not submitted in the database")
                continue
            revs = s.scalars(
                select(ProposalRevision).where(ProposalRevision.proposal_id == p.id)
            ).all()
            sha = hashlib.sha256(a.pdf).hexdigest()
            stored = (uploads / p.attachments[0].storage_key).read_bytes() if p.attachments else b""
            ok = (
                len(revs) == 1
                and revs[0].content["title"] == a.title
                and revs[0].content["abstract"] == a.abstract
                and [x["sha256"] for x in revs[0].content["attachments"]] == [sha]
                and len(p.attachments) == 1
                and hashlib.sha256(stored).hexdigest() == sha
            )
            if not ok:
                out["altered"] += 1
                problems.append(f"{a.i}: {len(revs)} revisions, {len(p.attachments)} files")
    engine.dispose()
    out["problems"] = problems[:20]
    return out


async def crowd(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    rng = random.Random(args.seed)
    n = args.applicants
    pdfs = [
        pdf_of_size(rng.randint(2_000_000, 6_000_000) if i % 2 == 0 else 300_000, i)
        for i in range(n)
    ]
    slug, emails = prepare(args.pg_url, n, 3600)
    stats = Stats()
    server = ServerProcess(
        args.pg_url, tmp, workers=args.workers, concurrency=args.concurrency
    ).start()
    people = [Applicant(i, emails[i], pdfs[i], i % 2 == 0, i % 3 == 0) for i in range(n)]
    t0 = time.time()
    try:
        await asyncio.gather(*(flow(server.base, a, slug, stats, args) for a in people))
    finally:
        wall = time.time() - t0
        server.stop()
    lat = [x for v in stats.latencies.values() for x in v]
    answers: dict[str, int] = {}
    for a in people:
        for x in a.answers:
            answers[x] = answers.get(x, 0) + 1
    slow = [a.upload_s for a in people if a.slow and a.upload_s]
    return {
        "applicants": n,
        "server_processes": args.workers,
        "concurrency_per_process": args.concurrency,
        "link_kbps": args.link_kbps,
        "wall_s": round(wall, 1),
        "requests": len(lat),
        "requests_per_s": round(len(lat) / wall, 1),
        "latency_ms": {q: round(1000 * pct(lat, q), 1) for q in (50, 95, 99)},
        "latency_ms_by_step": {
            k: {"n": len(v), "p50": round(1000 * pct(v, 50)), "p95": round(1000 * pct(v, 95))}
            for k, v in sorted(stats.latencies.items())
        },
        "slow_upload_s": {
            "n": len(slow),
            "p50": round(pct(slow, 50), 1),
            "max": round(max(slow or [0]), 1),
        },
        "statuses": stats.statuses,
        "server_errors_5xx": stats.server_errors,
        "connection_errors_retried": stats.conn_errors,
        "answers_to_what_was_sent_again": answers,
        "gave_up": [f"{a.i}: {a.gave_up}" for a in people if a.gave_up][:20],
        "verification": verify(args.pg_url, people, tmp / "uploads"),
    }


def _attack_form(args: argparse.Namespace, email: str, i: int) -> tuple[str, dict[str, str]]:
    """The attacker's ``i``-th post: a wrong password for ``email``, or a registration of
    a new address (``--registrations``)."""
    if args.registrations:
        pw = "long enough password"
        return "/register", {
            "email": f"bot{i}@example.org",
            "name": f"Bot Number {i}",
            "password": pw,
            "password2": pw,
        }
    return "/login", {"email": email, "password": "wrong 123456"}


async def guesses(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """``args.guesses`` wrong passwords for one account (or ``args.registrations`` new
    accounts) at once, from one address."""
    _slug, emails = prepare(args.pg_url, 1, 3600)
    extra = {"PYTHONPATH": args.src} if args.src else None
    server = ServerProcess(
        args.pg_url,
        tmp,
        workers=args.workers,
        concurrency=args.concurrency,
        extra_env=extra,
        production_argon2=True,  # the product's cost: the time between count and record
    ).start()
    headers = {"X-Forwarded-For": "198.51.100.7"}  # one attacker (the server trusts 127.0.0.1)
    statuses: dict[int, int] = {}
    try:
        clients = [
            httpx.AsyncClient(base_url=server.base, timeout=300)
            for _ in range(args.guesses or args.registrations)
        ]
        pages = await asyncio.gather(*(c.get("/login") for c in clients))

        async def guess(i: int, c: httpx.AsyncClient, page: httpx.Response) -> int:
            path, form = _attack_form(args, emails[0], i)
            r = await c.post(path, data={"csrf_token": csrf_of(page.text), **form}, headers=headers)
            return r.status_code

        for code in await asyncio.gather(
            *(guess(i, c, p) for i, (c, p) in enumerate(zip(clients, pages, strict=True)))
        ):
            statuses[code] = statuses.get(code, 0) + 1
        for c in clients:
            await c.aclose()
    finally:
        server.stop()
    return {
        "guesses_at_once": args.guesses,
        "registrations_at_once": args.registrations,
        "server_src": args.src or "this tree",
        "statuses": statuses,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg-url", required=True)
    ap.add_argument("--applicants", type=int, default=60)
    ap.add_argument("--window", type=float, default=30, help="seconds over which they arrive")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--link-kbps", type=float, default=2000, help="a slow link's rate")
    ap.add_argument("--impatient-s", type=float, default=0.05, help="a retrying client's wait")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--guesses", type=int, default=0, help="the attacker's guesses at once")
    ap.add_argument("--registrations", type=int, default=0, help="registrations at once")
    ap.add_argument("--src", default="", help="run the server from this src directory")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="crowd22-") as tmpdir:
        play = guesses if args.guesses or args.registrations else crowd
        result = asyncio.run(play(args, Path(tmpdir)))
    result["command"] = " ".join(sys.argv)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
