"""A migrated SQLite database for a command-line test, and a runner of the ``opencall``
command against it (``OPENCALL_DATABASE_URL`` set for the test)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from opencall.cli import app as cli_app
from opencall.db import make_engine, make_sessionmaker


@contextmanager
def cli_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str = "cli"
) -> Iterator[tuple[CliRunner, sessionmaker[Session]]]:
    url = f"sqlite:///{tmp_path / f'{name}.sqlite3'}"
    monkeypatch.setenv("OPENCALL_DATABASE_URL", url)
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    engine = make_engine(url)
    try:
        yield runner, make_sessionmaker(engine)
    finally:
        engine.dispose()


def create_provider(runner: CliRunner, name: str, slug: str, country: str) -> None:
    """`opencall providers create` with no administrator, which must succeed."""
    r = runner.invoke(
        cli_app, ["providers", "create", "--name", name, "--slug", slug, "--country", country]
    )
    assert r.exit_code == 0, r.output
