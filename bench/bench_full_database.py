"""A crowd on a PostgreSQL that serves fewer connections than the site's pool asks for
(trialcrowd21): one `opencall serve` process (CONCURRENCY requests at once, a pool of as
many connections) connects as a role that PostgreSQL lets open only LIMIT connections, as
when the server is at `max_connections` (other web processes, the worker, a backup, a
console). ROUNDS crowds of REQUESTS requests at once (the call list page and the API's
alternately). Counts the answers by status, and each 503 with or without `Retry-After`:
the share of refusals that tell the client to come back, against the 500s they were.

    PYTHONPATH=. .venv/bin/python bench/bench_full_database.py \\
        --pg-url postgresql://postgres@127.0.0.1:5432/<scratch database>

The database named is migrated (kept otherwise); the role `opencall_bench_full` is made
for the run and dropped after it. To measure the code before a change, put its `src`
first on `PYTHONPATH` (the server process inherits it). Counts, not times.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import Counter
from pathlib import Path

import psycopg
from sqlalchemy import make_url
from tests.crowd import live

from opencall import migrate
from opencall.db import make_engine

ROLE = "opencall_bench_full"


def _admin(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _role(admin: str, limit: int | None) -> None:
    """Make the role (``limit``) anew, or drop it (None)."""
    with psycopg.connect(admin, autocommit=True) as c:
        if c.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone():
            c.execute(f"DROP OWNED BY {ROLE}")
            c.execute(f"DROP ROLE {ROLE}")
        if limit is None:
            return
        c.execute(f"CREATE ROLE {ROLE} LOGIN CONNECTION LIMIT {limit}")
        c.execute(f"GRANT USAGE ON SCHEMA public TO {ROLE}")
        c.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {ROLE}")
        c.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {ROLE}")


async def _crowd(base: str, n: int) -> list[tuple[int, bool]]:
    async with live.async_client(base, timeout=120) as c:
        answers = await asyncio.gather(
            *(c.get("/api/v1/calls" if i % 2 else "/calls") for i in range(n))
        )
    return [(r.status_code, "retry-after" in r.headers) for r in answers]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-url", required=True)
    # the role's connections, the server's places, a crowd's requests, the crowds
    for flag, default in {
        "--limit": 3,
        "--concurrency": 8,
        "--requests": 40,
        "--rounds": 3,
    }.items():
        ap.add_argument(flag, type=int, default=default)
    a = ap.parse_args()
    engine = make_engine(a.pg_url)
    migrate.upgrade(engine)
    engine.dispose()
    admin = _admin(a.pg_url)
    _role(admin, a.limit)
    url = make_url(a.pg_url).set(username=ROLE, password=None)
    counts: Counter[tuple[int, bool]] = Counter()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            server = live.ServerProcess(
                url.render_as_string(hide_password=False), Path(tmp), concurrency=a.concurrency
            )
            with server:
                for _ in range(a.rounds):
                    counts.update(asyncio.run(_crowd(server.base, a.requests)))
    finally:
        _role(admin, None)
    total = sum(counts.values())
    print(f"| answers ({a.rounds} x {a.requests}, limit {a.limit}, concurrency {a.concurrency}) ")
    print("| status | Retry-After | count | share |")
    print("|---|---|---:|---:|")
    for (status, retry), n in sorted(counts.items()):
        print(f"| {status} | {'yes' if retry else 'no'} | {n} | {n / total:.2f} |")


if __name__ == "__main__":
    main()
