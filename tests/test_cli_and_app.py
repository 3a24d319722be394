import shutil

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from opencall.app import create_app
from opencall.cli import app as cli_app
from opencall.settings import Settings


# the demo is anchored on 2026-11-29 (its calls open, close and are decided around it): on
# a pinned clock, not the real date
@pytest.mark.usefixtures("pinned_clock")
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


def test_cli_misconfiguration_is_one_clear_error(tmp_path, monkeypatch) -> None:
    """A setting the operator got wrong: one line 'Error: ...' naming the variable, exit 2,
    no traceback, and never the database password."""
    monkeypatch.delenv("OPENCALL_ENV", raising=False)
    good = f"sqlite:///{tmp_path / 'conf.sqlite3'}"
    (tmp_path / "a-file").write_text("not a directory")
    runner = CliRunner()
    for env, said in [
        (
            {"OPENCALL_DATABASE_URL": "postgresql://opencall:s3cret@127.0.0.1:1/opencall"},
            "cannot connect to the database postgresql://opencall:***@127.0.0.1:1/opencall",
        ),
        ({"OPENCALL_DATABASE_URL": "opencall.db"}, "OPENCALL_DATABASE_URL"),
        (
            {"OPENCALL_DATABASE_URL": f"sqlite:///{tmp_path / 'a-file' / 'x.sqlite3'}"},
            "cannot create the database's directory",
        ),
        ({"OPENCALL_DATABASE_URL": "postgres://u:s3cret@db/x"}, "postgresql://"),
        ({"OPENCALL_DATABASE_URL": "mysql://u:s3cret@db/x"}, "OPENCALL_DATABASE_URL"),
        ({"OPENCALL_CONCURRENCY": "lots"}, "OPENCALL_CONCURRENCY"),
        ({"OPENCALL_BASE_URL": "opencall.example.org"}, "OPENCALL_BASE_URL"),
        ({"OPENCALL_BASE_URL": "https://opencall.example.org/?x=1"}, "OPENCALL_BASE_URL"),
        ({"OPENCALL_ENV": "prod"}, "OPENCALL_ENV"),
        ({"OPENCALL_MAIL_BACKEND": "sendmail"}, "OPENCALL_MAIL_BACKEND"),
        ({"OPENCALL_LOG_LEVEL": "verbose"}, "OPENCALL_LOG_LEVEL must be one of"),
        ({"OPENCALL_LOG_FORMAT": "yaml"}, "OPENCALL_LOG_FORMAT must be text or json"),
    ]:
        r = runner.invoke(cli_app, ["db", "upgrade"], env={"OPENCALL_DATABASE_URL": good, **env})
        assert r.exit_code == 2, (env, r.output, r.exception)
        said_out = " ".join(r.output.split())  # the console wraps long lines
        assert said_out.startswith("Error: ") and said in said_out, (env, r.output)
        assert "s3cret" not in r.output and "Traceback" not in r.output, r.output


def test_settings_take_the_base_url_without_its_trailing_slash() -> None:
    import pytest
    from pydantic import ValidationError

    assert Settings(base_url="https://calls.example.org/").base_url == "https://calls.example.org"
    assert Settings(base_url="http://127.0.0.1:8000").base_url == "http://127.0.0.1:8000"
    # the pages link to /static/..., /calls...: no site under a path of its host
    with pytest.raises(ValidationError, match="root of its host"):
        Settings(base_url="https://example.org/calls/")


def test_serve_and_worker_refuse_production_without_its_settings(
    tmp_path, monkeypatch, sqlite_template
) -> None:
    """OPENCALL_ENV=production with the default secret key: `serve` and `worker` say what is
    missing before they migrate or start anything (no server process, no traceback). The
    worker runs on a migrated database (on one behind the code, that refusal comes
    first, as for every command that works on the data)."""
    import uvicorn

    from opencall import worker

    started: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append("serve"))
    monkeypatch.setattr(worker, "run", lambda *a, **k: started.append("worker") or 0)
    db = tmp_path / "prod.sqlite3"
    env = {
        "OPENCALL_DATABASE_URL": f"sqlite:///{db}",
        "OPENCALL_ENV": "production",
        "OPENCALL_BASE_URL": "https://calls.example.org",
    }
    for args in (["serve"], ["worker", "--once"]):
        r = CliRunner().invoke(cli_app, args, env=env)
        assert r.exit_code == 2, (args, r.output, r.exception)
        assert r.output.startswith("Error: OPENCALL_ENV=production refuses to start"), r.output
        assert "OPENCALL_SECRET_KEY" in r.output and "OPENCALL_AUDIT_KEY" in r.output
        if args == ["serve"]:
            assert not db.exists()  # not migrated
            shutil.copy(sqlite_template, db)
    assert started == []
    env |= {"OPENCALL_SECRET_KEY": "s" * 40, "OPENCALL_AUDIT_KEY": "a" * 40}
    for args in (["serve"], ["worker", "--once"]):
        r = CliRunner().invoke(cli_app, args, env=env)
        assert r.exit_code == 0, (args, r.output, r.exception)
    assert started == ["serve", "worker"]


def test_printed_links_are_never_wrapped(tmp_path, monkeypatch) -> None:
    """The one-time links the operator copies (an admin's password link, a provider's first
    administrator's and a role's invitation) are printed whole on one line, however narrow
    the output (a pipe or a log is 80 columns to the console)."""
    import re

    monkeypatch.setenv("OPENCALL_DATABASE_URL", f"sqlite:///{tmp_path / 'links.sqlite3'}")
    monkeypatch.setenv("OPENCALL_BASE_URL", "https://calls.a-rather-long-host-name.example.org")
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    for args in (
        ["admin", "create", "--email", "ops@example.org", "--name", "Ada Ops", "--link"],
        ["providers", "create", "--name", "Cryo-EM", "--slug", "cryo", "--country", "ZAF"]
        + ["--admin", "head@cryo.example.org"],
        ["roles", "grant", "--provider", "cryo", "--email", "office@cryo.example.org"]
        + ["--role", "call_manager"],
    ):
        r = runner.invoke(cli_app, args)
        assert r.exit_code == 0, (args, r.output)
        links = re.findall(
            r"https://\S+/(?:roles/invitations|password/reset)/(\S*)$", r.output, re.M
        )
        assert len(links) == 1 and len(links[0]) >= 43, (args, r.output)  # token_urlsafe(32)


def test_serve_passes_the_trusted_proxies_to_uvicorn(tmp_path, monkeypatch) -> None:
    """Behind a reverse proxy on another machine, `--forwarded-allow-ips` names it: only its
    X-Forwarded-For/-Proto are believed (the client address the sign-in and reset throttles
    count by). Unset, uvicorn's own default holds (FORWARDED_ALLOW_IPS, else this machine)."""
    import uvicorn

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: calls.append(k))
    env = {"OPENCALL_DATABASE_URL": f"sqlite:///{tmp_path / 'proxy.sqlite3'}"}
    r = CliRunner().invoke(cli_app, ["serve", "--forwarded-allow-ips", "10.0.0.5"], env=env)
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli_app, ["serve"], env=env)
    assert r.exit_code == 0, r.output
    assert [c["forwarded_allow_ips"] for c in calls] == ["10.0.0.5", None]
    assert all(c["proxy_headers"] for c in calls)


def test_serve_waits_for_slow_starting_processes_before_taking_them_for_hung(
    tmp_path, monkeypatch
) -> None:
    """`serve --workers N`: uvicorn's supervisor kills a process that does not answer its
    health check within `timeout_worker_healthcheck` (uvicorn's default, 5 s) and starts
    another; on a busy machine a new process takes longer than that to start, so every
    one was killed in turn and the site never answered. OpenCall gives them 60 s, or
    `--worker-start-timeout`."""
    import uvicorn

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: calls.append(k))
    env = {"OPENCALL_DATABASE_URL": f"sqlite:///{tmp_path / 'slow.sqlite3'}"}
    r = CliRunner().invoke(cli_app, ["serve", "--workers", "2"], env=env)
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli_app, ["serve", "--worker-start-timeout", "120"], env=env)
    assert r.exit_code == 0, r.output
    assert [c.get("timeout_worker_healthcheck") for c in calls] == [60, 120]


def test_roles_list_shows_whole_addresses(tmp_path, monkeypatch) -> None:
    """`roles list` never cuts an e-mail address short ('head@cryo.example…'): it is how
    the operator tells the people and the invitations apart."""
    monkeypatch.setenv("OPENCALL_DATABASE_URL", f"sqlite:///{tmp_path / 'roles.sqlite3'}")
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    email = "head.of.the.user.office@cryo-em-centre.example.org"
    args = ["providers", "create", "--name", "Cryo-EM", "--slug", "cryo", "--country", "ZAF"]
    assert runner.invoke(cli_app, [*args, "--admin", email]).exit_code == 0
    r = runner.invoke(cli_app, ["roles", "list", "--provider", "cryo"])
    assert r.exit_code == 0, r.output
    cells = "".join(ch for ch in r.output if ch not in "│┃ \n")
    assert email in cells and "…" not in r.output, r.output


def test_worker_says_an_unreachable_database_before_starting_processes(monkeypatch) -> None:
    """`opencall worker --concurrency 2` against a database it cannot reach: one 'Error:'
    line, before any worker process starts (each one died with a traceback, and the
    supervisor started them again and again)."""
    from opencall import worker

    started: list[int] = []
    monkeypatch.setattr(worker, "run", lambda *a, **k: started.append(1) or 0)
    env = {"OPENCALL_DATABASE_URL": "postgresql://opencall:s3cret@127.0.0.1:1/opencall"}
    r = CliRunner().invoke(cli_app, ["worker", "--concurrency", "2"], env=env)
    assert r.exit_code == 2, (r.output, r.exception)
    assert "cannot connect to the database" in " ".join(r.output.split())
    assert started == [] and "s3cret" not in r.output


def test_serve_on_a_new_database_loads_the_reference_data(tmp_path, monkeypatch) -> None:
    """`serve` alone on a new database (no `db upgrade`, as a web container started
    first) migrated it but left the countries empty: the registration form offered no
    country and refused every one."""
    import uvicorn
    from sqlalchemy import func, select

    from opencall.db import make_engine, make_sessionmaker
    from opencall.people.models import Country

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    url = f"sqlite:///{tmp_path / 'served.sqlite3'}"
    r = CliRunner().invoke(cli_app, ["serve"], env={"OPENCALL_DATABASE_URL": url})
    assert r.exit_code == 0, r.output
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        assert (s.scalar(select(func.count(Country.iso3))) or 0) > 200
    engine.dispose()


def test_the_worker_refuses_a_database_it_was_not_migrated_for(tmp_path) -> None:
    """After an upgrade of the code without `db upgrade` (or on a new database), the
    worker started and failed every job on a missing table or column; it now says what
    to run, in one line, and starts nothing."""
    url = f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}"
    r = CliRunner().invoke(cli_app, ["worker", "--once"], env={"OPENCALL_DATABASE_URL": url})
    out = " ".join(r.output.split())
    assert r.exit_code == 2, out
    assert "run `opencall db upgrade` first" in out and "has no OpenCall schema yet" in out


def test_cli_refusals_name_the_valid_values(tmp_path, monkeypatch) -> None:
    """mend11c: an unknown call status lists the statuses, and an unknown country code
    suggests the one meant (UK, the United Kingdom's usual name but not its ISO code: GBR,
    alpha-2 GB); nothing is created."""
    monkeypatch.setenv("OPENCALL_DATABASE_URL", f"sqlite:///{tmp_path / 'words.sqlite3'}")
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    r = runner.invoke(cli_app, ["calls", "transition", "any-call", "opened"])
    assert r.exit_code == 2, r.output
    said = " ".join(r.output.split())
    assert "Unknown call status 'opened'" in said and "draft, open, closed" in said, said
    args = ["providers", "create", "--name", "Cryo-EM", "--slug", "cryo", "--country"]
    r = runner.invoke(cli_app, [*args, "UK"])
    said = " ".join(r.output.split())
    assert r.exit_code == 2 and "Did you mean GBR (United Kingdom" in said, said
    r = runner.invoke(cli_app, [*args, "KEY"])  # a slip for KEN
    assert r.exit_code == 2 and "Did you mean KEN (Kenya)" in " ".join(r.output.split())
    r = runner.invoke(cli_app, ["providers", "list"])
    assert r.exit_code == 0 and "cryo" not in r.output
