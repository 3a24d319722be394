from fastapi.testclient import TestClient
from typer.testing import CliRunner

from opencall.app import create_app
from opencall.cli import app as cli_app
from opencall.settings import Settings


def test_cli_upgrade_demo_list_and_verify(tmp_path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("OPENCALL_DATABASE_URL", url)
    runner = CliRunner()
    r = runner.invoke(cli_app, ["db", "upgrade"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        cli_app, ["demo", "build", "--seed", "3", "--scale", "0.05", "--anchor", "2026-11-29"]
    )
    assert r.exit_code == 0, r.output
    assert "proposals" in r.output and "applicant@demo.example" in r.output
    r = runner.invoke(cli_app, ["demo", "build", "--if-empty"])
    assert r.exit_code == 0 and "not rebuilt" in r.output
    r = runner.invoke(cli_app, ["calls", "list"])
    assert r.exit_code == 0 and "fast-2027" in r.output
    r = runner.invoke(cli_app, ["calls", "transition", "fast-2027", "published"])
    assert r.exit_code == 2 and "cannot move" in r.output
    r = runner.invoke(cli_app, ["proposals", "list", "fast-2027"])
    assert r.exit_code == 0 and "FAST27-0001" in r.output
    r = runner.invoke(cli_app, ["audit", "verify"])
    assert r.exit_code == 0 and "intact" in r.output
    r = runner.invoke(cli_app, ["db", "check"])
    assert r.exit_code == 0

    client = TestClient(create_app(Settings(database_url=url)))
    page = client.get("/")
    assert page.status_code == 200 and "FAST open time" in page.text


def test_cli_refusals_say_what_is_wrong_and_exit_2(tmp_path, monkeypatch) -> None:
    """A command's own refusals: one line 'Error: ...' and exit status 2, nothing written."""
    monkeypatch.setenv("OPENCALL_DATABASE_URL", f"sqlite:///{tmp_path / 'refusals.sqlite3'}")
    monkeypatch.delenv("OPENCALL_AUDIT_KEY", raising=False)
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    for args, said in [
        (["proposals", "list", "nope"], "no call 'nope'"),
        (["proposals", "show", "NOPE-0001"], "no proposal 'NOPE-0001'"),
        (["revoke-sessions", "nobody@example.org"], "no account 'nobody@example.org'"),
        (["report", "--call", "nope", "--format", "xml"], "--format must be json, csv or pdf"),
        (["report", "--call", "nope", "--format", "pdf"], "a PDF needs --out FILE"),
        (["audit", "checkpoint"], "set OPENCALL_AUDIT_KEY"),
        (["demo", "build", "--scale", "0"], "--scale is a factor in (0, 1000]"),
    ]:
        r = runner.invoke(cli_app, args)
        assert r.exit_code == 2, (args, r.output)
        assert r.output.startswith("Error: ") and said in r.output, (args, r.output)
