"""`opencall worker` says it started and where (trialops14): started apart from the web
process, it printed nothing until its first job, so an operator could not tell a worker
waiting on the right database from one waiting on the wrong one (or none)."""

from typer.testing import CliRunner

from opencall.cli import app as cli_app


def test_the_worker_names_its_database_and_processes_when_it_starts(tmp_path, monkeypatch) -> None:
    from opencall import worker

    ran: list[dict[str, object]] = []
    monkeypatch.setattr(worker, "run", lambda *a, **k: ran.append(k) or 0)
    monkeypatch.setenv("OPENCALL_DATABASE_URL", f"sqlite:///{tmp_path / 'w.sqlite3'}")
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    r = runner.invoke(cli_app, ["worker", "--concurrency", "2", "--poll", "5"])
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert said.startswith("OpenCall worker:"), said
    assert "2 process(es)" in said and "w.sqlite3" in said and "every 5 s" in said, said
    assert ran and ran[0]["concurrency"] == 2
    # --once is for scripts: its one line stays "ran N job(s)"
    r = runner.invoke(cli_app, ["worker", "--once"])
    assert r.exit_code == 0 and r.output.strip() == "ran 0 job(s)", r.output


def test_the_start_line_hides_the_database_password(tmp_path, monkeypatch) -> None:
    from opencall import cli

    line = cli.worker_start_line("postgresql://oc:s3cret@db.example.org:5432/oc", 1, 2.0)
    assert "s3cret" not in line and "oc:***@db.example.org" in line


def test_once_prints_each_job_it_ran_as_the_operators_page_says(tmp_path, monkeypatch) -> None:
    """trialop24: docs/operators.md said that `--once` prints only "ran N job(s)"; with a
    job queued it printed that job's line too (the journal of a timer running it is
    better for it). The page now says what it prints."""
    from pathlib import Path

    from opencall import jobs
    from opencall.db import make_engine, make_sessionmaker

    url = f"sqlite:///{tmp_path / 'w.sqlite3'}"
    monkeypatch.setenv("OPENCALL_DATABASE_URL", url)
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    with make_sessionmaker(make_engine(url))() as s:
        job_id = jobs.enqueue(s, "postaward.remind", {"today": "2027-06-01"}).id
        s.commit()
    r = runner.invoke(cli_app, ["worker", "--once"])
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    assert lines == [f"worker: job {job_id} (postaward.remind) done", "ran 1 job(s)"], lines
    page = " ".join(Path("docs/operators.md").read_text(encoding="utf-8").split())
    assert '`--once` prints only "ran N job(s)"' not in page
    assert '`--once` prints no start line: the line of each job it ran, then "ran N job(s)"' in page
