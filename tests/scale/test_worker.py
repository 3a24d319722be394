"""``opencall worker --concurrency M``: several worker processes share one queue
and run every job exactly once (SKIP LOCKED on PostgreSQL, a conditional UPDATE
on SQLite)."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from opencall import jobs
from opencall.web.mail import queue_mail
from tests.scale import counting

ROOT = Path(__file__).resolve().parents[2]
OPENCALL = Path(sys.executable).with_name("opencall")


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _env(engine: Engine, tmp: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OPENCALL_DATABASE_URL": _url(engine),
        "OPENCALL_MAIL_BACKEND": "file",
        "OPENCALL_MAIL_DIR": str(tmp / "mail"),
        "OPENCALL_UPLOAD_DIR": str(tmp / "uploads"),
        **extra,
    }


def _statuses(factory: sessionmaker[Session]) -> dict[tuple[str, int], int]:
    with factory() as s:
        rows = s.execute(
            select(jobs.Job.status, jobs.Job.attempts, func.count()).group_by(
                jobs.Job.status, jobs.Job.attempts
            )
        ).all()
    return {(st, a): n for st, a, n in rows}


def test_500_jobs_run_exactly_once_by_2_worker_processes(
    engine: Engine, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    counting.create_tables(engine)
    try:
        with factory() as s:
            s.add_all(jobs.Job(kind=counting.KIND, payload={"i": i}) for i in range(500))
            s.commit()
        r = subprocess.run(
            [sys.executable, "-m", "tests.scale.counting", _url(engine), "2"],
            cwd=ROOT,
            env=_env(engine, tmp_path, COUNTING_PEERS="2"),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr[-3000:]
        assert "ran 500" in r.stdout
        with engine.connect() as conn:
            runs = conn.execute(text("SELECT job_id, pid FROM job_runs")).all()
        assert len(runs) == 500  # no job ran twice...
        assert len({j for j, _ in runs}) == 500  # ...and none was skipped
        assert len({p for _, p in runs}) == 2  # both processes took part
        assert _statuses(factory) == {("done", 1): 500}
    finally:
        counting.drop_tables(engine)


def test_cli_worker_concurrency_runs_real_jobs_once(
    engine: Engine, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with factory() as s:
        for i in range(30):
            queue_mail(s, f"person{i}@example.org", f"Message {i}", "Hello")
        s.commit()
    r = subprocess.run(
        [str(OPENCALL), "worker", "--concurrency", "2", "--once"],
        cwd=tmp_path,
        env=_env(engine, tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "ran 30 job(s)" in r.stdout
    mails = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(mails) == 30
    assert {m.read_text().split("Subject: ", 1)[1].split("\n", 1)[0] for m in mails} == {
        f"Message {i}" for i in range(30)
    }
    assert _statuses(factory) == {("done", 1): 30}


def _opencall(
    argv: list[str], tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """``opencall ARGV`` in this process: the console script's entry point
    (``opencall.cli:main``, see pyproject.toml) with ``sys.argv`` set as the script
    gets it. Returns its exit status, stdout and stderr, as a subprocess would, without
    a new interpreter importing the app (about 2 s of CPU a command)."""
    from opencall import cli

    monkeypatch.chdir(tmp)
    monkeypatch.setattr(sys, "argv", [str(OPENCALL), *argv])
    logger = logging.getLogger("opencall")  # the command configures it; put it back
    handlers, level = list(logger.handlers), logger.level
    capsys.readouterr()
    try:
        with pytest.raises(SystemExit) as exited:
            cli.main()
    finally:
        logger.handlers[:] = handlers
        logger.setLevel(level)
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1 if code else 0), out, err


def test_cli_worker_rejects_zero_concurrency(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    sqlite_template: Path,
) -> None:
    # a migrated database: on one behind the code that refusal comes first (mend14b)
    shutil.copy(sqlite_template, tmp_path / "x.sqlite3")
    monkeypatch.setenv("OPENCALL_DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3")
    code, _out, err = _opencall(
        ["worker", "--concurrency", "0", "--once"], tmp_path, monkeypatch, capsys
    )
    assert code == 2 and "concurrency" in err.lower()


@pytest.mark.slow
def test_worker_processes_stop_cleanly_on_sigterm(
    engine: Engine, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """A long-running ``worker -c 2`` serves jobs queued while it runs and exits 0
    on SIGTERM (what ``docker stop`` sends)."""
    proc = subprocess.Popen(
        [str(OPENCALL), "worker", "--concurrency", "2", "--poll", "0.2"],
        cwd=tmp_path,
        env=_env(engine, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with factory() as s:
            for i in range(10):
                queue_mail(s, f"p{i}@example.org", "Hi", "Hello")
            s.commit()
        deadline = time.monotonic() + 120
        while _statuses(factory).get(("done", 1)) != 10 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _statuses(factory) == {("done", 1): 10}
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 10


@pytest.mark.parametrize("scale", ["nope", "0", "-1", "1e9"])
def test_demo_build_refuses_a_bad_scale(
    tmp_path: Path, scale: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "x.sqlite3"
    monkeypatch.setenv("OPENCALL_DATABASE_URL", f"sqlite:///{db}")
    code, out, _err = _opencall(["demo", "build", "--scale", scale], tmp_path, monkeypatch, capsys)
    assert code == 2 and "--scale is a factor" in out
    # nothing was built (the database is migrated and empty)
    from opencall.calls.models import Call
    from opencall.db import make_engine

    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Call)).scalar_one() == 0
    engine.dispose()
