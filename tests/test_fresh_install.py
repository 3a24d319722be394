"""A fresh install without the demo, through the command line only: the
reference data arrives with the migrations, the first site administrator,
a provider with its administrator invited, roles granted and revoked."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from typer.testing import CliRunner

from opencall.cli import app as cli_app
from opencall.db import make_engine, make_sessionmaker
from opencall.people import services as people_services
from opencall.people.models import Country, User


def test_fresh_install_from_the_command_line(tmp_path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    monkeypatch.setenv("OPENCALL_DATABASE_URL", url)
    runner = CliRunner()
    r = runner.invoke(cli_app, ["db", "upgrade"])
    assert r.exit_code == 0, r.output
    factory = make_sessionmaker(make_engine(url))
    with factory() as s:
        assert (s.scalar(select(func.count(Country.iso3))) or 0) > 200
        assert s.get(Country, "KEN").income_group  # type: ignore[union-attr]
        # registration works on an empty database
        people_services.register_user(
            s,
            email="first@applicant.example",
            name="A",
            password="long password 1",
            country_iso3="KEN",
        )
        s.commit()
    r = runner.invoke(cli_app, ["db", "upgrade"])  # idempotent
    assert r.exit_code == 0, r.output

    r = runner.invoke(
        cli_app,
        ["admin", "create", "--email", "ops@opencall.example", "--name", "Ops"],
        input="a long password\na long password\n",
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        cli_app, ["admin", "create", "--email", "root@opencall.example", "--name", "Root", "--link"]
    )
    assert r.exit_code == 0 and "/password/reset/" in r.output, r.output
    r = runner.invoke(
        cli_app,
        [
            "providers",
            "create",
            "--name",
            "Cryo-EM Centre",
            "--slug",
            "cryo",
            "--country",
            "zaf",
            "--admin",
            "head@cryo.example",
        ],
    )
    assert r.exit_code == 0 and "/roles/invitations/" in r.output, r.output
    r = runner.invoke(
        cli_app,
        [
            "roles",
            "grant",
            "--provider",
            "cryo",
            "--email",
            "ops@opencall.example",
            "--role",
            "call_manager",
        ],
    )
    assert r.exit_code == 0 and "granted" in r.output, r.output
    r = runner.invoke(
        cli_app,
        [
            "roles",
            "grant",
            "--provider",
            "cryo",
            "--email",
            "ops@opencall.example",
            "--role",
            "emperor",
        ],
    )
    assert r.exit_code == 2 and "Unknown role" in r.output
    r = runner.invoke(cli_app, ["roles", "list", "--provider", "cryo"])
    assert r.exit_code == 0 and "call_manager" in r.output and "head@cryo.example" in r.output
    gid = re.search(r"│\s*(\d+)\s*│\s*call_manager", r.output)
    assert gid, r.output
    r = runner.invoke(cli_app, ["roles", "revoke", "--provider", "cryo", gid.group(1)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        cli_app, ["providers", "create", "--name", "X", "--slug", "cryo", "--country", "ZAF"]
    )
    assert r.exit_code == 2 and "already taken" in r.output
    with factory() as s:
        admins = s.scalars(select(User.email).where(User.is_site_admin)).all()
        assert sorted(admins) == ["ops@opencall.example", "root@opencall.example"]
