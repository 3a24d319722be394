"""The job queue of a busy site: ``--done`` finished jobs kept in the table (the e-mails
and scans of past calls) and a backlog of ``--queued`` jobs; ``--claims`` jobs are then
claimed one after the other (``jobs.claim``, as a worker does, each marked done in its
own commit). Prints the plan of the claim's SELECT, and the wall and CPU seconds of the
claims, of this process and (PostgreSQL on this machine) of the database server process
that served them (from /proc).

    createdb -h 127.0.0.1 -U postgres scale_jobs
    OPENCALL_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/scale_jobs opencall db upgrade
    .venv/bin/python bench/bench_queue.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/scale_jobs

The rows are inserted once (a database that holds jobs is used as it is).

``--latency N`` measures instead how long a queued job waits for an idle worker: a
worker thread (``opencall.worker.work``, its default poll of 2 s) waits for work, and N
jobs are queued one at a time at random moments (0.2-1.5 s after the previous one ran);
each job's latency is from the commit that queued it to the start of its handler. It is
measured twice in one run, the worker polling only (``listen=False``, as before mend10b)
and listening (PostgreSQL's LISTEN/NOTIFY), and printed with the ratio. It needs a
database with no other job queued (the worker would claim it):

    createdb -h 127.0.0.1 -U postgres bench_wake
    OPENCALL_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_wake opencall db upgrade
    .venv/bin/python bench/bench_queue.py --latency 40 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_wake
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from sqlalchemy import func, insert, select, text

from opencall import jobs
from opencall.db import make_engine, make_sessionmaker


def _server_cpu(pid: int | None) -> float:
    """utime + stime of a local server process, in seconds (0 when not readable)."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def _latencies(url: str, n: int, *, listen: bool, seed: int = 0) -> list[float]:
    """Seconds from each queuing commit to its handler's start, with one idle worker."""
    import random
    import threading

    from opencall import worker
    from opencall.settings import Settings

    started: dict[int, float] = {}
    ran = threading.Event()

    def handler(_s: object, job: jobs.Job, _p: object) -> None:
        started[job.id] = time.perf_counter()
        ran.set()

    def registry(_settings: Settings) -> jobs.JobRegistry:
        r = jobs.JobRegistry()
        r.register("bench.wake", handler)
        return r

    factory = make_sessionmaker(make_engine(url))
    stop = threading.Event()
    t = threading.Thread(
        target=worker.work,
        args=(Settings(database_url=url),),
        kwargs={"poll": 2.0, "registry_factory": registry, "stop": stop, "listen": listen},
        daemon=True,
    )
    t.start()
    rng = random.Random(seed)
    out = []
    try:
        for _ in range(n):
            time.sleep(rng.uniform(0.2, 1.5))  # the worker has found the queue empty
            ran.clear()
            with factory() as s:
                job = jobs.enqueue(s, "bench.wake", {})
                s.commit()
                committed = time.perf_counter()
                job_id = job.id
            if not ran.wait(30):
                raise SystemExit("the worker ran no job in 30 s")
            out.append(started[job_id] - committed)
    finally:
        stop.set()
        t.join(30)
    return out


def latency(url: str, n: int) -> None:
    import statistics

    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        queued = s.scalar(select(func.count()).where(jobs.Job.status == "queued"))
    if queued:
        raise SystemExit(f"{queued} jobs are queued: use a database with none (see --help)")
    rows = {}
    for listen in (False, True):
        lat = sorted(_latencies(url, n, listen=listen))
        rows[listen] = (statistics.median(lat), lat[int(0.9 * (len(lat) - 1))], lat[-1])
        name = "LISTEN/NOTIFY" if listen else "polling only"
        med, p90, worst = rows[listen]
        print(
            f"{name:>14}: {n} jobs, latency median {med * 1000:.0f} ms, "
            f"p90 {p90 * 1000:.0f} ms, max {worst * 1000:.0f} ms"
        )
    print(f"median ratio polling / LISTEN: {rows[False][0] / rows[True][0]:.0f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--done", type=int, default=200_000)
    ap.add_argument("--queued", type=int, default=50_000)
    ap.add_argument("--claims", type=int, default=200)
    ap.add_argument("--latency", type=int, default=0, metavar="N")
    args = ap.parse_args()
    if args.latency:
        latency(args.database_url, args.latency)
        return
    engine = make_engine(args.database_url)
    pg = engine.dialect.name == "postgresql"
    factory = make_sessionmaker(engine)
    with factory() as s:
        if not s.scalar(select(func.count()).select_from(jobs.Job)):
            done = dict(kind="mail", payload={}, status="done", attempts=1, max_attempts=3)
            queued = dict(kind="proposal.anonymity_scan", payload={}, status="queued")
            for n, row in ((args.done, done), (args.queued, queued)):
                for i in range(0, n, 10_000):
                    s.execute(insert(jobs.Job), [row] * min(10_000, n - i))
            s.commit()
            if pg:
                s.execute(text("ANALYZE jobs"))
                s.commit()
    with engine.connect() as c:
        q = "SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1"
        explain = "EXPLAIN ANALYZE " if pg else "EXPLAIN QUERY PLAN "
        for row in c.execute(text(explain + q + (" FOR UPDATE SKIP LOCKED" if pg else ""))):
            print("   ", row[-1])
    # one connection for all the claims (the pool's size 1 when reused), so that its
    # server process's CPU is the claims'
    with engine.connect() as c:
        pid = c.execute(text("SELECT pg_backend_pid()")).scalar() if pg else None
    s0 = _server_cpu(pid)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    for _ in range(args.claims):
        with factory() as s:
            job = jobs.claim(s)
            assert job is not None
            job.status = "done"
            s.commit()
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
    print(
        f"{args.claims} claims: wall {wall:.2f} s, CPU {cpu:.2f} s (this process), "
        f"{_server_cpu(pid) - s0:.2f} s (database server process)"
    )


if __name__ == "__main__":
    main()
