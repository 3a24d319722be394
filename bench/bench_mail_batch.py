"""Recording the progress of a big mailing: the batch 'mail' job's handler before and after
progress moved from the payload to ``job_steps_done``.

Before, each message sent rewrote the job's whole payload (every message, plus the growing
list of indices sent) and committed it: O(n^2) bytes written for n messages. After, each
message sent is one insert of a small row (job id, index) and a commit: O(n). Both handlers
run the same job (``--recipients`` messages in one batch, so that the difference shows;
``queue_mails`` makes batches of 200 by default) against a database migrated to head, with
``mail.send`` replaced by a no-op (what is measured is the bookkeeping, not SMTP).

    nice .venv/bin/python bench/bench_mail_batch.py --recipients 1000 2000 5000
    nice .venv/bin/python bench/bench_mail_batch.py --recipients 5000 \\
        --pg-url postgresql://postgres@127.0.0.1:5432/opencall_bench_mail

The PostgreSQL database named by --pg-url is DROPPED and created anew: name a scratch
database. SQLite runs in a temporary directory. Prints one JSON line per (backend, variant):
statements and bytes of parameters sent to the database while the job ran, wall and CPU
seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from opencall import jobs, migrate  # noqa: E402
from opencall.db import make_engine, make_sessionmaker  # noqa: E402
from opencall.settings import Settings  # noqa: E402
from opencall.web import mail  # noqa: E402


def before_handler(settings: Settings) -> jobs.Handler:
    """The handler as it was (commit e192974): the payload rewritten after each message."""

    def handle(session: Session, job: jobs.Job, _progress: Callable[[int, str], None]) -> None:
        p = dict(job.payload)
        messages = p["messages"]
        sent = set(p.get("sent", []))
        for i, m in enumerate(messages):
            if i in sent:
                continue
            mail.send(settings, mail.build_message(settings, m["to"], m["subject"], m["body"]))
            sent.add(i)
            job.payload = {**p, "sent": sorted(sent)}
            session.commit()

    return handle


def _size(params: Any) -> int:
    """Characters of the parameters sent (a JSON parameter counted as its JSON text: psycopg
    wraps it in an adapter whose ``obj`` is the document)."""
    if params is None:
        return 0
    if isinstance(params, dict):
        return sum(_size(v) for v in params.values())
    if isinstance(params, list | tuple):
        return sum(_size(p) for p in params)
    if hasattr(params, "obj"):
        return len(json.dumps(params.obj, default=str))
    return len(str(params))


def run(engine: Engine, variant: str, n: int) -> dict[str, Any]:
    factory = make_sessionmaker(engine)
    settings = Settings(mail_backend="console")
    with factory() as s:
        s.execute(text("DELETE FROM job_steps_done"))
        s.execute(text("DELETE FROM jobs"))
        body = "Dear colleague,\n\nplease review proposal X.\n" * 6
        msgs = [(f"reviewer{i}@uni.example", f"Invitation {i}", body) for i in range(n)]
        mail.queue_mails(s, msgs, per=n)
        s.commit()
    reg = jobs.JobRegistry()
    reg.register(
        "mail", before_handler(settings) if variant == "before" else mail.mail_handler(settings)
    )
    counts = {"statements": 0, "param_bytes": 0}

    def seen(_c: Any, _cur: Any, _stmt: str, params: Any, *_a: Any) -> None:
        counts["statements"] += 1
        counts["param_bytes"] += _size(params)

    event.listen(engine, "before_cursor_execute", seen)
    w0, c0 = time.perf_counter(), time.process_time()
    try:
        assert jobs.run_pending(factory, reg) == 1
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    with factory() as s:
        job = s.scalars(select(jobs.Job)).one()
        assert job.status == "done", job.error
        assert mail.sent_indices(s, job) == list(range(n))
    return {
        "backend": engine.dialect.name,
        "variant": variant,
        "recipients": n,
        **counts,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipients", type=int, nargs="+", default=[5000])
    ap.add_argument("--variants", nargs="+", default=["before", "after"])
    ap.add_argument("--pg-url", default="")
    args = ap.parse_args()
    mail.send = lambda _settings, _msg: None  # type: ignore[assignment]  # bookkeeping only
    engines: list[Engine] = []
    tmp = tempfile.TemporaryDirectory()
    engines.append(make_engine(f"sqlite:///{Path(tmp.name) / 'mail.sqlite3'}"))
    if args.pg_url:
        url = make_url(args.pg_url)
        admin = make_engine(url.set(database="postgres").render_as_string(hide_password=False))
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{url.database}"'))
            c.execute(text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
        engines.append(make_engine(args.pg_url))
    for engine in engines:
        migrate.upgrade(engine)
        for n in args.recipients:
            for variant in args.variants:
                print(json.dumps(run(engine, variant, n)), flush=True)
        engine.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
