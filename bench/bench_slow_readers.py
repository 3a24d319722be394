"""Clients that read nothing, and everyone else (trialcrowd23).

One real ``opencall serve`` process (``--places`` requests at once, SQLite); ``--readers``
connections each send ``--pipelined`` requests for the API description (340 kB, anyone's)
at once, unzipped, from a socket with a 4 kB receive buffer, and read nothing; once their
answers are made (``--settle`` seconds), a visitor asks for the call list ``--asks``
times, one after the other, each given ``--timeout`` seconds: how many were answered,
and the median time of those. Then the readers read everything: how many answers each
got (none may be lost). Run with this checkout's ``src``, then with another's first on
``PYTHONPATH`` (the code before)::

    PYTHONPATH=. .venv/bin/python bench/bench_slow_readers.py
    PYTHONPATH=/tmp/main_src/src:. .venv/bin/python bench/bench_slow_readers.py
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from tests.crowd import live
from tests.crowd.test_slow_read_live import LARGE, _slow_reader

from opencall import migrate
from opencall.db import make_engine


def main() -> None:
    ap = argparse.ArgumentParser()
    for name, kind, default in [
        ("places", int, 4),
        ("readers", int, 8),
        ("pipelined", int, 24),
        ("settle", float, 8.0),
        ("asks", int, 10),
        ("timeout", float, 5.0),
    ]:
        ap.add_argument(f"--{name}", type=kind, default=default)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="slow_readers_"))
    url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    import tests.crowd.test_slow_read_live as t

    t.PIPELINED = a.pipelined
    with live.ServerProcess(url, tmp, concurrency=a.places) as server:
        size = len(httpx.get(server.base + LARGE, headers={"accept-encoding": "identity"}).content)
        readers = [_slow_reader(server.port) for _ in range(a.readers)]
        time.sleep(a.settle)
        times: list[float] = []
        with httpx.Client(base_url=server.base, timeout=a.timeout) as c:
            for _ in range(a.asks):
                began = time.perf_counter()
                try:
                    if c.get("/calls").status_code == 200:
                        times.append(time.perf_counter() - began)
                except httpx.TimeoutException:
                    pass
        got = []
        for s in readers:
            s.settimeout(a.timeout * 4)
            data = bytearray()
            try:
                while len(data) < a.pipelined * size:
                    chunk = s.recv(1 << 20)
                    if not chunk:
                        break
                    data += chunk
            except TimeoutError:
                pass
            got.append(bytes(data).count(b"HTTP/1.1 200"))
            s.close()
    median = f"{statistics.median(times) * 1000:.0f} ms" if times else "-"
    print(
        f"places={a.places} readers={a.readers}x{a.pipelined}: visitor answered "
        f"{len(times)}/{a.asks} (median {median}); readers' answers {sum(got)}/"
        f"{a.readers * a.pipelined}"
    )


if __name__ == "__main__":
    main()
