"""`opencall serve` and `opencall worker` try the attachment store before they start
(install20). An operator's upload directory that cannot be written (a path under a file,
a disk mounted read-only, the wrong owner) or a bucket that is missing or unreachable
used to be found by the first applicant whose PDF upload failed with a server error; the
worker started "waiting for jobs" on a store it could not use. Now each refuses to start
with one line naming the setting, and a store that works is left as it was found."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from opencall import storage
from opencall.cli import app as cli_app

from .scale.s3 import free_port, moto_server


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A migrated SQLite site whose serve and worker start nothing real: the calls are
    recorded instead (uvicorn.run, worker.run)."""
    import uvicorn

    from opencall import worker

    started: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append("serve"))
    monkeypatch.setattr(worker, "run", lambda *a, **k: started.append("worker") or 0)
    monkeypatch.setenv("OPENCALL_DATABASE_URL", f"sqlite:///{tmp_path / 's.sqlite3'}")
    monkeypatch.setenv("OPENCALL_UPLOAD_DIR", str(tmp_path / "uploads"))
    storage._cache.clear()
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    yield runner, started
    storage._cache.clear()


def _one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert "Traceback" not in output, output
    said = " ".join(output.split())
    assert said.startswith("Error:"), output
    assert len(lines) <= 3, output  # one sentence, wrapped at most by the terminal width
    return said


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_an_upload_dir_that_cannot_be_written_stops_the_start(
    site, tmp_path, monkeypatch, command
) -> None:
    runner, started = site
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("OPENCALL_UPLOAD_DIR", str(blocker / "uploads"))
    r = runner.invoke(cli_app, [command])
    assert r.exit_code == 2, r.output
    said = _one_error_line(r.output)
    assert "OPENCALL_UPLOAD_DIR" in said and "cannot write" in said, said
    assert started == []


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_missing_upload_dir_is_made_and_left_empty(site, tmp_path, command) -> None:
    runner, started = site
    r = runner.invoke(cli_app, [command])
    assert r.exit_code == 0, r.output
    assert started == [command]
    up = tmp_path / "uploads"
    assert up.is_dir() and list(up.rglob("*")) == []  # the probe is gone, nothing to sweep


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_an_s3_endpoint_that_does_not_answer_stops_the_start(site, monkeypatch, command) -> None:
    runner, started = site
    monkeypatch.setenv("OPENCALL_STORAGE_BACKEND", "s3")
    monkeypatch.setenv("OPENCALL_S3_BUCKET", "oc-attachments")
    monkeypatch.setenv("OPENCALL_S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("OPENCALL_S3_REGION", "us-east-1")
    monkeypatch.setenv("OPENCALL_S3_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("OPENCALL_S3_SECRET_ACCESS_KEY", "testing")
    r = runner.invoke(cli_app, [command])
    assert r.exit_code == 2, r.output
    said = _one_error_line(r.output)
    assert "oc-attachments" in said and "OPENCALL_S3" in said, said
    assert "testing" not in said  # no credential in the line
    assert started == []


def test_an_s3_bucket_that_is_missing_stops_the_start_and_a_present_one_is_left_clean(
    site, monkeypatch
) -> None:
    runner, started = site
    with moto_server() as s3:
        for name, value in s3.env("oc-missing").items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("OPENCALL_S3_CREATE_BUCKET", "false")
        r = runner.invoke(cli_app, ["worker"])
        assert r.exit_code == 2, r.output
        said = _one_error_line(r.output)
        assert "oc-missing" in said and "OPENCALL_S3_BUCKET" in said, said
        assert started == []
        # created on first start when the operator asks for it; the probe leaves nothing
        monkeypatch.setenv("OPENCALL_S3_CREATE_BUCKET", "true")
        storage._cache.clear()
        r = runner.invoke(cli_app, ["serve"])
        assert r.exit_code == 0, r.output
        assert started == ["serve"]
        from opencall.settings import Settings

        assert list(storage.storage_for(Settings()).listing()) == []


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_mail_dir_that_cannot_be_written_stops_the_start(
    site, tmp_path, monkeypatch, command
) -> None:
    """The `file` mail backend (the default) writes each message into OPENCALL_MAIL_DIR:
    one that cannot be written failed every mail job, each retried, found only on the
    job list; the `smtp` backend writes nothing there and is not asked."""
    runner, started = site
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("OPENCALL_MAIL_BACKEND", "file")
    monkeypatch.setenv("OPENCALL_MAIL_DIR", str(blocker / "mail"))
    r = runner.invoke(cli_app, [command])
    assert r.exit_code == 2, r.output
    said = _one_error_line(r.output)
    assert "OPENCALL_MAIL_DIR" in said and "cannot write" in said, said
    assert started == []
    monkeypatch.setenv("OPENCALL_MAIL_BACKEND", "smtp")
    r = runner.invoke(cli_app, [command])
    assert r.exit_code == 0, r.output
    assert started == [command]
