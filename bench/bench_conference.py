"""A conference-sized call through the real path: the demo world built at a
scale, then the FAST call's whole cycle through the job queue, each step a job
run by ``opencall worker --concurrency 2`` processes (opencall.worker.run), on
PostgreSQL. Prints per-step wall time and the peak memory of the processes.

    nice .venv/bin/python bench/bench_conference.py \
        --database-url postgresql://postgres@127.0.0.1:5432/test_scale --scale 4

``--scale 80`` is the conference size (20,000 FAST proposals, 12,000 reviewers).
The database is emptied first (DROP SCHEMA public CASCADE): use a scratch one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import threading
import time
from collections.abc import Callable
from typing import Any

import psutil
from sqlalchemy import Engine, select, text, update

from opencall import jobs, migrate, worker
from opencall.allocation import services as al
from opencall.calls.queries import call_by_slug
from opencall.cycle.services import transition_call
from opencall.db import make_engine, make_sessionmaker
from opencall.demo import bulk, world
from opencall.demo.simulate import simulate_reviews
from opencall.outcomes import queries as oq
from opencall.people.services import load_countries
from opencall.proposals.services import SCAN_JOB, close_call
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.settings import Settings

SLUG = "fast-2027"


def _backends(dbname: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL server process serving ``dbname`` (the
    server runs on this machine: its process titles name the database)."""
    out = {}
    for p in psutil.process_iter(["cmdline"]):
        title = " ".join(p.info["cmdline"] or ())
        if title.startswith("postgres:") and f" {dbname} " in title:
            try:
                t = p.cpu_times()
                out[p.pid] = t.user + t.system
            except psutil.Error:
                pass
    return out


class Peak:
    """Peak resident memory of this process and its children, sampled every 0.1 s; the
    CPU of the database's server processes, sampled every 0.5 s (the time a backend
    spends after its last sample, under 0.5 s, is missed)."""

    def __init__(self, dbname: str) -> None:
        self.peak_main = 0
        self.peak_child = 0
        self.dbname = dbname
        self.db_start = _backends(dbname)
        self.db_last = dict(self.db_start)
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    @property
    def db_cpu(self) -> float:
        return sum(v - self.db_start.get(pid, 0.0) for pid, v in self.db_last.items())

    def _run(self) -> None:
        me = psutil.Process()
        tick = 0
        while not self._stop.is_set():
            try:
                self.peak_main = max(self.peak_main, me.memory_info().rss)
                for c in me.children(recursive=True):
                    self.peak_child = max(self.peak_child, c.memory_info().rss)
            except psutil.Error:
                pass
            if tick % 5 == 0:
                self.db_last.update(_backends(self.dbname))
            tick += 1
            time.sleep(0.1)

    def __enter__(self) -> Peak:
        self._t.start()
        return self

    def __exit__(self, *_a: Any) -> None:
        self._stop.set()
        self._t.join()
        self.db_last.update(_backends(self.dbname))


def postgres_engine(url: str, *, fresh: bool) -> Engine:
    """The bench's PostgreSQL database: its schema dropped and migrated again when
    ``fresh`` (else kept, for ``--start-at``)."""
    engine = make_engine(url)
    if engine.dialect.name != "postgresql":
        raise SystemExit("the bench runs on PostgreSQL")
    if fresh:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        migrate.upgrade(engine)
    return engine


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--scale", type=float, default=80.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stop-after", default="", help="a step's name: stop after it")
    ap.add_argument(
        "--start-at",
        default="",
        help="a step's name: keep the database (no DROP SCHEMA) and skip the steps before it; "
        "for a database a run with --stop-after left (or a copy: createdb -T)",
    )
    ap.add_argument(
        "--scans",
        choices=["run", "hold"],
        default="run",
        help="the anonymity scans the applicants' edits queued (one job per version of a "
        "dual-anonymous proposal): run them as a step, or hold them (status 'held', never "
        "claimed) so that the cycle's steps are measured alone",
    )
    args = ap.parse_args()
    url = args.database_url
    skipping = bool(args.start_at)
    engine = postgres_engine(url, fresh=not skipping)
    factory = make_sessionmaker(engine)
    settings = Settings(
        database_url=url, mail_backend="file", mail_dir=f"/tmp/bench-mail-{os.getpid()}"
    )
    rows: list[dict[str, Any]] = []

    def step(name: str, fn: Callable[[], Any], via: str) -> None:
        nonlocal skipping
        if skipping and name != args.start_at:
            return
        skipping = False
        r0s = resource.getrusage(resource.RUSAGE_SELF)
        r0c = resource.getrusage(resource.RUSAGE_CHILDREN)
        with Peak(engine.url.database or "") as peak:
            t0 = time.perf_counter()
            fn()
            wall = time.perf_counter() - t0
        r1s = resource.getrusage(resource.RUSAGE_SELF)
        r1c = resource.getrusage(resource.RUSAGE_CHILDREN)
        rows.append(
            {
                "step": name,
                "via": via,
                "wall_s": round(wall, 1),
                # CPU seconds (user + system): this process, and the worker processes
                # that ended during the step (all of them together)
                "cpu_main_s": round(r1s.ru_utime + r1s.ru_stime - r0s.ru_utime - r0s.ru_stime, 1),
                "cpu_workers_s": round(
                    r1c.ru_utime + r1c.ru_stime - r0c.ru_utime - r0c.ru_stime, 1
                ),
                "cpu_postgres_s": round(peak.db_cpu, 1),
                "peak_main_mib": round(peak.peak_main / 2**20),
                "peak_worker_mib": round(peak.peak_child / 2**20),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
        if name == args.stop_after:
            raise SystemExit(0)

    def direct(fn: Callable[[Any, Any], Any]) -> Callable[[], None]:
        def run() -> None:
            with factory() as s:
                call = call_by_slug(s, SLUG)
                fn(s, call)
                s.commit()

        return run

    def queued(kind: str, **payload: Any) -> Callable[[], None]:
        def run() -> None:
            with factory() as s:
                call = call_by_slug(s, SLUG)
                assert call is not None
                jobs.enqueue(s, kind, {"call_id": call.id, "seed": 0, **payload})
                s.commit()
            worker.run(settings, concurrency=args.workers, once=True, verbose=False)
            with factory() as s:
                failed = s.scalars(
                    select(jobs.Job).where(jobs.Job.status == "failed", jobs.Job.kind == kind)
                ).all()
                if failed:
                    raise SystemExit(f"{kind} failed: {failed[0].error}")

        return run

    def build() -> None:
        with factory() as s:
            load_countries(s)
            world.build(s, seed=args.seed, anchor=dt.date(2026, 11, 29), scale=args.scale)
            s.commit()

    step("demo build", build, "bulk" if args.scale > bulk.BULK_ABOVE else "services")
    # the anonymity scans the applicants' edits queued (dual-anonymous call)
    if args.start_at:
        pass
    elif args.scans == "run":
        step(
            "anonymity scans",
            lambda: worker.run(settings, concurrency=args.workers, once=True, verbose=False),
            "job",
        )
    else:
        with factory() as s:
            held = s.execute(
                update(jobs.Job)
                .where(jobs.Job.status == "queued", jobs.Job.kind == SCAN_JOB)
                .values(status="held", message="held by bench_conference.py --scans hold")
            ).rowcount
            s.commit()
        print(json.dumps({"anonymity scans held": held}), flush=True)

    def close(s: Any, call: Any) -> None:
        if call.status == "open":
            close_call(s, call, reason="bench")
        transition_call(s, call, "review")

    step("close, to review", direct(close), "services")
    with factory() as s:
        call = call_by_slug(s, SLUG)
        assert call is not None
        n_props = len(rq.proposals_for_review(s, call))
        n_rev = len(rq.reviewers_of_call(s, call))
    print(json.dumps({"proposals": n_props, "reviewers": n_rev}), flush=True)
    step("conflicts", queued("review.conflicts"), "job")
    step("affinity", queued("review.affinity"), "job")
    step("assignment", queued("review.assign"), "job")
    step("simulated reviews", direct(lambda s, c: simulate_reviews(s, c, seed=0)), "demo code")
    step("calibration", queued("review.calibrate"), "job")

    def to_allocation(s: Any, c: Any) -> None:
        transition_call(s, c, "ranking")
        rv.freeze_ranking(s, c)
        transition_call(s, c, "allocation")

    step("freeze ranking", direct(to_allocation), "services")
    step("allocation", queued("allocation.run"), "job")
    step("release", direct(lambda s, c: al.release_decisions(s, c)), "services")
    step(
        "mail",
        lambda: worker.run(settings, concurrency=args.workers, once=True, verbose=False),
        "job",
    )
    step("report", direct(lambda s, c: oq.report_json(oq.report(s, c))), "services")
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "proposals": n_props,
                "reviewers": n_rev,
                "max_child_rss_mib": round(peak_children),
                "steps": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
