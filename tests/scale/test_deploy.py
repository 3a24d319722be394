"""compose.yaml and the Dockerfile agree with the settings and the command line
(docker is not run here: the file is parsed and every part checked)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from opencall import cli
from opencall.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    "POSTGRES_PASSWORD": "pw",
    "OPENCALL_SECRET_KEY": "k" * 32,
    "OPENCALL_AUDIT_KEY": "a" * 32,
    "S3_SECRET_KEY": "s3secret",
}
VAR = re.compile(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} and $$."""

    def sub(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        if env.get(name):
            return env[name]
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return arg or ""

    return VAR.sub(sub, value.replace("$$", "\0")).replace("\0", "$")


def walk(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [walk(x, env) for x in node]
    if isinstance(node, dict):
        return {k: walk(v, env) for k, v in node.items()}
    return node


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    raw = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(raw, dict)
    return raw


def test_services_and_profiles(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "minio", "minio-init", "migrate", "worker", "web"} <= set(services)
    for name, svc in services.items():
        assert svc.get("profiles") in (["back"], ["web"]), name
        for dep in svc.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown {dep}"
            # a dependency must be started by the same profile (same machine)
            assert services[dep]["profiles"] == svc["profiles"], (name, dep)
    # every profile can build the image it runs
    for profile in ("back", "web"):
        runs_image = [s for s in services.values() if s.get("image") == "opencall:latest"]
        assert any(s.get("build") == "." for s in runs_image if s["profiles"] == [profile])
    assert set(compose["volumes"]) == {"pgdata", "objects"}
    assert (ROOT / "Dockerfile").is_file()


def test_missing_secrets_are_refused(compose: dict[str, Any]) -> None:
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        walk(compose["services"]["worker"]["environment"], {})


def test_every_process_gets_the_audit_key(compose: dict[str, Any]) -> None:
    """trialops14: without OPENCALL_AUDIT_KEY a compose site wrote its audit log unkeyed
    (`opencall audit verify`: "0 MACs checked"), and a worker on a third machine could
    not be told the key; the key is a secret like the others, required, the same on
    every machine."""
    services = opencall_services(compose)
    assert services
    for name, svc in services.items():
        values = walk(svc["environment"], ENV)
        assert values.get("OPENCALL_AUDIT_KEY") == ENV["OPENCALL_AUDIT_KEY"], name
        missing = {k: v for k, v in ENV.items() if k != "OPENCALL_AUDIT_KEY"}
        with pytest.raises(KeyError, match="OPENCALL_AUDIT_KEY"):
            walk(svc["environment"], missing)


def opencall_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose["services"].items() if s.get("image") == "opencall:latest"}


@pytest.mark.parametrize("back_host", [None, "10.0.0.2"])
def test_every_setting_is_real_and_valid(compose: dict[str, Any], back_host: str | None) -> None:
    env = {**ENV, **({"BACK_HOST": back_host} if back_host else {})}
    fields = set(Settings.model_fields)
    for name, svc in opencall_services(compose).items():
        values = walk(svc["environment"], env)
        for var in values:
            assert var.startswith("OPENCALL_"), (name, var)
            assert var[len("OPENCALL_") :].lower() in fields, f"{name}: {var} is not a setting"
        s = Settings(**{k[len("OPENCALL_") :].lower(): v for k, v in values.items()})
        assert s.database_url.startswith("postgresql://opencall:pw@")
        assert s.storage_backend == "s3" and s.s3_bucket and s.s3_secret_access_key == "s3secret"
        assert s.inline_jobs is False  # the web only queues; workers run the jobs
        host = back_host or "postgres"
        assert f"@{host}:5432/" in s.database_url
        assert s.s3_endpoint_url == f"http://{back_host or 'minio'}:9000"
    # one set of settings for every OpenCall process
    envs = [svc["environment"] for svc in opencall_services(compose).values()]
    assert all(e == envs[0] for e in envs)
    # postgres and minio are configured with the same credentials the app uses
    svcs = compose["services"]
    pg = walk(svcs["postgres"]["environment"], env)
    app_env = walk(envs[0], env)
    assert app_env["OPENCALL_DATABASE_URL"].endswith(f"/{pg['POSTGRES_DB']}")
    assert f"{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@" in app_env["OPENCALL_DATABASE_URL"]
    minio = walk(svcs["minio"]["environment"], env)
    assert minio["MINIO_ROOT_USER"] == app_env["OPENCALL_S3_ACCESS_KEY_ID"]
    assert minio["MINIO_ROOT_PASSWORD"] == app_env["OPENCALL_S3_SECRET_ACCESS_KEY"]
    init = walk(svcs["minio-init"]["environment"], env)
    assert init["BUCKET"] == app_env["OPENCALL_S3_BUCKET"]


def _parse(argv: list[str]) -> Any:
    """Resolve an ``opencall ...`` command line against the real CLI (without
    running it); unknown commands or options raise click's usage errors."""
    assert argv[0] == "opencall"
    cmd: Any = typer.main.get_command(cli.app)  # typer's own click
    ctx = cmd.make_context("opencall", [], resilient_parsing=True)
    args = argv[1:]
    while hasattr(cmd, "get_command"):  # a group
        sub = cmd.get_command(ctx, args[0])
        assert sub is not None, f"unknown command {args[0]!r} in {argv}"
        cmd, args = sub, args[1:]
        leaf = not hasattr(cmd, "get_command")
        ctx = cmd.make_context(
            cmd.name or "", list(args) if leaf else [], parent=ctx, resilient_parsing=not leaf
        )
    return ctx


def test_every_command_is_accepted_by_the_cli(compose: dict[str, Any]) -> None:
    commands = {n: walk(s["command"], ENV) for n, s in opencall_services(compose).items()}
    assert commands["migrate"] == ["opencall", "db", "upgrade"]
    assert commands["web"][:2] == ["opencall", "serve"]
    assert commands["worker"][:2] == ["opencall", "worker"]
    for argv in commands.values():
        _parse(argv)
    worker = _parse(commands["worker"])
    assert worker.params["concurrency"] == 2 and worker.params["once"] is False
    web = _parse(commands["web"])
    assert web.params["host"] == "0.0.0.0" and web.params["port"] == 8000
    # the web port is the one published and health-checked
    web_svc = compose["services"]["web"]
    assert web_svc["ports"] == [f"{web.params['port']}:{web.params['port']}"]
    assert f":{web.params['port']}/healthz" in " ".join(web_svc["healthcheck"]["test"])
    with pytest.raises(Exception, match="--concurency") as bad:
        _parse(["opencall", "worker", "--concurency", "2"])  # the check can fail
    assert type(bad.value).__name__ == "NoSuchOption"
    # the Dockerfile's default command is the web command
    cmd = re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.M)
    assert cmd and yaml.safe_load(cmd.group(1)) == commands["web"]


def test_deploy_doc_lists_every_variable(compose: dict[str, Any]) -> None:
    doc = (ROOT / "docs" / "deploy.md").read_text()
    names = set()
    for svc in opencall_services(compose).values():
        names |= set(svc["environment"])
    for var in names:
        assert f"`{var}`" in doc or var in doc, var
    for flag in ("--profile back", "--profile web", "BACK_HOST", "--concurrency"):
        assert flag in doc
