"""The cost of ``pool_pre_ping`` (mend22): a pooled PostgreSQL connection checked out and
one ``SELECT 1`` run on it, ``--n`` times, with the ping and without; the wall time per
checkout of each (median of ``--rounds``) and the difference, which is the ping's round trip.

    PYTHONPATH=. .venv/bin/python bench/bench_pre_ping.py --pg-url postgresql://postgres@127.0.0.1:5432/<db>
"""

from __future__ import annotations

import argparse
import statistics
import time

from sqlalchemy import create_engine, text


def per_checkout(url: str, pre_ping: bool, n: int) -> float:
    engine = create_engine(url, pool_size=1, max_overflow=0, pool_pre_ping=pre_ping)
    try:
        with engine.connect() as conn:  # the pool's one connection made
            conn.execute(text("SELECT 1"))
        t0 = time.perf_counter()
        for _ in range(n):
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        return (time.perf_counter() - t0) / n
    finally:
        engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg-url", required=True)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    url = a.pg_url.replace("postgresql://", "postgresql+psycopg://", 1)
    got = {False: [], True: []}  # type: dict[bool, list[float]]
    for _ in range(a.rounds):  # alternated, so that the machine's load falls on both
        for ping in (False, True):
            got[ping].append(per_checkout(url, ping, a.n))
    off, on = statistics.median(got[False]), statistics.median(got[True])
    print(f"checkout + SELECT 1, median of {a.rounds} x {a.n}:")
    print(f"  pool_pre_ping off: {off * 1e6:8.1f} us")
    print(f"  pool_pre_ping on:  {on * 1e6:8.1f} us  (+{(on - off) * 1e6:.1f} us a checkout)")


if __name__ == "__main__":
    main()
