"""The deadline surge (issue 12): several hundred applicants sign in, create a draft, save
their text, add a request, upload a 150-300 kB PDF and submit in the last minutes of a
call, against real `opencall serve` processes and an `opencall worker`. The server is
killed with SIGKILL mid-run and restarted; the clients retry what was not answered.
Afterwards the database is checked: every acknowledged submission is intact (text,
request and PDF hashes, the file on disk too) and none is duplicated. A few applicants
submit just after the closing instant: they must be refused with the deadline's message
and leave no revision behind.

    nice .venv/bin/python bench/bench_surge.py --backend sqlite --applicants 200
    nice .venv/bin/python bench/bench_surge.py --backend postgresql --workers 2 --concurrency 8 \\
        --pg-url postgresql://postgres@127.0.0.1:5432/opencall_bench_surge --applicants 200

The PostgreSQL database named by --pg-url is DROPPED and created anew: name a scratch
database, never one with data. SQLite runs in a temporary directory.

Prints a JSON summary (throughput, p50/p95/p99 latency, errors, the verification) and
writes it to bench/out/surge-<backend>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import factories as F  # noqa: E402
from tests.crowd.live import ServerProcess, csrf_of, pdf_of_size  # noqa: E402

from opencall import migrate  # noqa: E402
from opencall.calls.models import Call  # noqa: E402
from opencall.db import make_engine, make_sessionmaker  # noqa: E402
from opencall.people.services import load_countries  # noqa: E402
from opencall.proposals.models import Proposal, ProposalRevision  # noqa: E402

PROPOSAL_URL = re.compile(r"/proposals/(\d+)")
VERSION = re.compile(r'name="version" value="(\d+)"')
DEADLINE_MESSAGE = "The deadline passed"


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    conn_errors: int = 0
    server_errors: int = 0

    def add(self, step: str, seconds: float, status: int) -> None:
        self.latencies.setdefault(step, []).append(seconds)
        key = f"{status // 100}xx"
        self.statuses[key] = self.statuses.get(key, 0) + 1
        if status >= 500:
            self.server_errors += 1


@dataclass
class Applicant:
    i: int
    email: str
    pdf: bytes
    hours: float
    title: str = ""
    abstract: str = ""
    proposal_id: int | None = None
    acknowledged: bool = False
    refused_deadline: bool = False
    gave_up: str = ""
    finished: float = 0.0


class Client:
    """One applicant's browser: retries a step whose answer never came (server down)."""

    def __init__(self, base: str, stats: Stats) -> None:
        self.c = httpx.AsyncClient(base_url=base, timeout=120)
        self.stats = stats

    async def req(self, step: str, method: str, url: str, **kw: Any) -> httpx.Response:
        for attempt in range(60):
            t0 = time.perf_counter()
            try:
                r = await self.c.request(method, url, **kw)
            except httpx.TransportError:
                self.stats.conn_errors += 1
                await asyncio.sleep(min(0.5 * (attempt + 1), 3))
                continue
            self.stats.add(step, time.perf_counter() - t0, r.status_code)
            return r
        raise RuntimeError(f"{step}: no answer after 60 tries")


def fast_request(i: int, hours: float) -> dict[str, str]:
    """The fields of the editor's form adding applicant ``i``'s FAST request."""
    return {
        "kind": "fast",
        "receiver": "19-beam",
        "mode": "Tracking",
        "targets-0-name": f"PSR {i}",
        "targets-0-ra_deg": "83.63",
        "targets-0-dec_deg": "22.01",
        "targets-0-hours": str(hours),
    }


async def applicant_flow(
    base: str, a: Applicant, slug: str, stats: Stats, delay: float, late_at: float | None
) -> None:
    await asyncio.sleep(delay)
    cl = Client(base, stats)
    try:
        # sign in (re-done after a restart only if the cookie was lost: it is not)
        r = await cl.req("login_form", "GET", "/login")
        r = await cl.req(
            "login",
            "POST",
            "/login",
            data={"csrf_token": csrf_of(r.text), "email": a.email, "password": F_PASSWORD},
        )
        if r.status_code != 303:
            a.gave_up = f"login {r.status_code}"
            return
        # create a draft (a retry after a lost answer may create a second draft: allowed)
        page = await cl.req("apply_form", "GET", f"/calls/{slug}/apply")
        r = await cl.req(
            "create_draft",
            "POST",
            f"/calls/{slug}/apply",
            data={"csrf_token": csrf_of(page.text), "title": f"Surge proposal {a.i}"},
        )
        m = PROPOSAL_URL.search(r.headers.get("location", ""))
        if r.status_code != 303 or not m:
            a.gave_up = f"create {r.status_code} {_error_of(r.text)}"
            return
        pid = int(m.group(1))
        a.proposal_id = pid
        a.title = f"Surge proposal {a.i}: pulsars at the deadline"
        a.abstract = f"Applicant {a.i} times pulsars; saved under load."

        state = {"csrf": "", "version": "0", "page": ""}

        async def editor() -> None:
            p = await cl.req("editor", "GET", f"/proposals/{pid}")
            v = VERSION.search(p.text)
            state.update(csrf=csrf_of(p.text), version=v.group(1) if v else "0", page=p.text)

        async def edit(step: str, url: str, landed: str, **kw: Any) -> httpx.Response:
            """POST with the version; a 409 after a lost answer means the edit may have
            landed: reload and look for ``landed`` before trying again."""
            data = kw.pop("data", {})
            for _ in range(5):
                r = await cl.req(
                    step,
                    "POST",
                    url,
                    data={**data, "csrf_token": state["csrf"], "version": state["version"]},
                    **kw,
                )
                if r.status_code == 303:
                    state["version"] = str(int(state["version"]) + 1)  # 409 below if not
                    return r
                if r.status_code != 409:
                    return r
                await editor()
                if landed in state["page"]:
                    return r  # it had landed: done
            return r

        await editor()
        r = await edit(
            "save_text",
            f"/proposals/{pid}",
            a.abstract,
            data={
                "title": a.title,
                "abstract": a.abstract,
                "science_case": "Millisecond pulsars are precise clocks. " * 20,
                "keywords": "pulsars",
            },
        )
        if r.status_code not in (303, 409):
            a.gave_up = f"save {r.status_code} {_error_of(r.text)}"
            return
        r = await edit(
            "add_request",
            f"/proposals/{pid}/requests",
            f"PSR {a.i}<",
            data=fast_request(a.i, a.hours),
        )
        if r.status_code not in (303, 409):
            a.gave_up = f"request {r.status_code} {_error_of(r.text)}"
            return
        r = await edit(
            "upload_pdf",
            f"/proposals/{pid}/attachments",
            f"case-{a.i}.pdf",
            files={"pdf": (f"case-{a.i}.pdf", a.pdf, "application/pdf")},
        )
        if r.status_code not in (303, 409):
            a.gave_up = f"upload {r.status_code} {_error_of(r.text)}"
            return
        if late_at is not None:
            await asyncio.sleep(max(0.0, late_at - time.time()))
        r = await cl.req(
            "submit", "POST", f"/proposals/{pid}/submit", data={"csrf_token": state["csrf"]}
        )
        if r.status_code == 303 and "submitted" in r.headers.get("location", ""):
            a.acknowledged = True
        elif r.status_code == 400 and DEADLINE_MESSAGE in r.text:
            a.refused_deadline = True
        else:
            a.gave_up = f"submit {r.status_code} {_error_of(r.text)}"
    finally:
        a.finished = time.time()
        await cl.c.aclose()


F_PASSWORD = "correct horse battery"
ERROR = re.compile(r'class="error"[^>]*>([^<]{0,200})')


def _error_of(html: str) -> str:
    m = ERROR.search(html)
    return m.group(1) if m else html[:120]


def prepare(url: str, n: int, closes_in: float) -> tuple[str, list[str]]:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        u = make_url(url)
        admin = make_engine(u.set(database="postgres").render_as_string(hide_password=False))
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{u.database}"'))
        admin.dispose()
        engine = make_engine(url)
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as s:
        load_countries(s)
        call = F.fast_call(s, requires_pdf=True, max_hours=50.0)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        call.opens_at = now - dt.timedelta(days=10)
        call.closes_at = now + dt.timedelta(seconds=closes_in)
        emails = [F.user(s, email=f"surge{i}@example.org").email for i in range(n)]
        s.commit()
        slug = call.slug
    engine.dispose()
    return slug, emails


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q / 100 * (len(v) - 1))))]


def verify(url: str, applicants: list[Applicant], uploads: Path) -> dict[str, Any]:
    engine = make_engine(url)
    out: dict[str, Any] = {"acknowledged": 0, "missing": 0, "altered": 0, "duplicated": 0}
    problems: list[str] = []
    with make_sessionmaker(engine)() as s:
        for a in applicants:
            if not a.acknowledged:
                continue
            out["acknowledged"] += 1
            mine = list(
                s.scalars(
                    select(Proposal).where(
                        Proposal.title == a.title, Proposal.status == "submitted"
                    )
                )
            )
            if len(mine) > 1:
                out["duplicated"] += 1
                problems.append(f"{a.i}: {len(mine)} submitted proposals")
            p = s.get(Proposal, a.proposal_id)
            if p is None or p.status != "submitted" or p.current_revision_id is None:
                out["missing"] += 1
                problems.append(f"{a.i}: not submitted in the database")
                continue
            rev = s.get(ProposalRevision, p.current_revision_id)
            assert rev is not None
            c = rev.content
            sha = hashlib.sha256(a.pdf).hexdigest()
            hours = sum(t["hours"] for r in c["requests"] for t in r["details"]["targets"])
            ok = (
                c["title"] == a.title
                and c["abstract"] == a.abstract
                and abs(hours - a.hours) < 1e-9
                and [x["sha256"] for x in c["attachments"]] == [sha]
                and len(p.attachments) == 1
                and hashlib.sha256(
                    (uploads / p.attachments[0].storage_key).read_bytes()
                ).hexdigest()
                == sha
            )
            if not ok:
                out["altered"] += 1
                problems.append(f"{a.i}: content differs from what was acknowledged")
        late = [a for a in applicants if a.refused_deadline]
        partial = 0
        for a in late:
            p = s.get(Proposal, a.proposal_id)
            revs = s.scalars(
                select(ProposalRevision).where(ProposalRevision.proposal_id == a.proposal_id)
            ).all()
            if p is None or p.status != "draft" or p.current_revision_id is not None or revs:
                partial += 1
        out["refused_after_deadline"] = len(late)
        out["refused_with_partial_rows"] = partial
        out["submitted_in_db"] = s.scalar(
            select(text("count(*)")).select_from(Proposal).where(Proposal.status == "submitted")
        )
        call = s.scalars(select(Call)).first()
        out["closes_at"] = call.closes_at.isoformat() if call else None
    engine.dispose()
    out["problems"] = problems[:20]
    return out


async def surge(args: argparse.Namespace, url: str, tmp: Path) -> dict[str, Any]:
    n = args.applicants
    n_late = max(3, n // 40)
    closes_in = args.window + args.grace
    rng = random.Random(args.seed)
    pdfs = [pdf_of_size(rng.randint(150_000, 300_000), i) for i in range(n + n_late)]
    slug, emails = prepare(url, n + n_late, 3600)
    stats = Stats()
    server = ServerProcess(
        url,
        tmp,
        workers=args.workers,
        concurrency=args.concurrency,
        port=args.port,
        production_argon2=True,  # the product's cost: a bench measures what it pays
    ).start()
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:  # the closing instant, from the start of the run
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        call.closes_at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(
            seconds=closes_in
        )
        s.commit()
        closes_at_ts = call.closes_at.timestamp()
    engine.dispose()
    worker = subprocess.Popen(
        [sys.executable, "-m", "opencall", "worker", "--poll", "1"],
        env=server.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    t_start = time.time()
    closes_at = closes_at_ts
    applicants = [
        Applicant(i, emails[i], pdfs[i], hours=round(rng.uniform(1, 40), 1))
        for i in range(n + n_late)
    ]
    tasks = [
        applicant_flow(
            server.base,
            a,
            slug,
            stats,
            delay=rng.uniform(0, args.window) if a.i < n else rng.uniform(0, 10),
            late_at=closes_at + 1 if a.i >= n else None,
        )
        for a in applicants
    ]

    async def killer() -> float:
        await asyncio.sleep(args.kill_after)
        server.kill()
        killed = time.time() - t_start
        await asyncio.sleep(1)
        server.start()
        return killed

    kill_task = asyncio.ensure_future(killer()) if args.kill_after > 0 else None
    await asyncio.gather(*tasks)
    wall = time.time() - t_start
    killed_at = await kill_task if kill_task else None
    server.stop()
    worker.terminate()
    worker.wait(10)
    all_lat = [x for v in stats.latencies.values() for x in v]
    result: dict[str, Any] = {
        "backend": make_url(url).get_backend_name(),
        "applicants": n,
        "late_applicants": n_late,
        "server_processes": args.workers,
        "concurrency_per_process": args.concurrency,
        "killed_at_s": killed_at,
        "wall_s": round(wall, 1),
        "requests": len(all_lat),
        # the run lasts until after the closing instant (the late group waits for it):
        # the rate that counts is over the time the in-time group was being served
        "surge_s": round(max(a.finished for a in applicants[:n]) - t_start, 1),
        "throughput_req_s": round(
            len(all_lat) / (max(a.finished for a in applicants[:n]) - t_start), 1
        ),
        "submissions_per_s": round(
            sum(a.acknowledged for a in applicants)
            / (max(a.finished for a in applicants[:n]) - t_start),
            2,
        ),
        "submissions_acknowledged": sum(a.acknowledged for a in applicants),
        "latency_ms": {
            "p50": round(1000 * pct(all_lat, 50), 1),
            "p95": round(1000 * pct(all_lat, 95), 1),
            "p99": round(1000 * pct(all_lat, 99), 1),
        },
        "latency_ms_by_step": {
            k: {
                "n": len(v),
                "p50": round(1000 * pct(v, 50), 1),
                "p95": round(1000 * pct(v, 95), 1),
                "p99": round(1000 * pct(v, 99), 1),
                "mean": round(1000 * statistics.fmean(v), 1),
            }
            for k, v in sorted(stats.latencies.items())
        },
        "statuses": stats.statuses,
        "server_errors_5xx": stats.server_errors,
        "connection_errors_retried": stats.conn_errors,
        "gave_up": [f"{a.i}: {a.gave_up}" for a in applicants if a.gave_up][:20],
        "refused_at_deadline_in_time_group": sum(a.refused_deadline for a in applicants[:n]),
    }
    result["verification"] = verify(url, applicants, tmp / "uploads")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/opencall_bench_surge")
    ap.add_argument("--applicants", type=int, default=200)
    ap.add_argument("--window", type=float, default=120, help="seconds over which they arrive")
    ap.add_argument("--grace", type=float, default=150, help="closing instant after the window")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=12)
    ap.add_argument("--kill-after", type=float, default=60, help="SIGKILL at (0: never)")
    ap.add_argument("--port", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="surge-") as tmpdir:
        tmp = Path(tmpdir)
        url = args.pg_url if args.backend == "postgresql" else f"sqlite:///{tmp / 'surge.sqlite3'}"
        result = asyncio.run(surge(args, url, tmp))
    result["command"] = " ".join(sys.argv)
    (out_dir / f"surge-{args.backend}.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
