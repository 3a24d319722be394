"""trialop18: `opencall audit verify` run with another OPENCALL_AUDIT_KEY than the log was
written with (a restore on a new machine, a key generated again) says so in one line. It
printed "event N: MAC does not match" once per event (56 lines for a first cycle, one per
event of a real site's history) and never named the likely cause."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from opencall.cli import app as cli_app
from tests.cli_db import cli_database

KEY = "the-key-the-log-was-written-with-" + "k" * 16


@contextmanager
def keyed_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> Iterator[tuple[CliRunner, sessionmaker[Session]]]:
    """A database whose audit events were written with KEY (site administrators made by
    the CLI)."""
    monkeypatch.setenv("OPENCALL_AUDIT_KEY", KEY)
    with cli_database(tmp_path, monkeypatch, name) as (runner, factory):
        for i in range(3):
            r = runner.invoke(
                cli_app,
                ["admin", "create", "--email", f"ops{i}@example.org", "--name", "Ops", "--link"],
            )
            assert r.exit_code == 0, r.output
        yield runner, factory


def test_verify_with_another_key_says_the_key_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with keyed_site(tmp_path, monkeypatch, "keyed") as (runner, _factory):
        r = runner.invoke(cli_app, ["audit", "verify"])
        assert r.exit_code == 0 and "MACs checked" in r.output, r.output

        monkeypatch.setenv("OPENCALL_AUDIT_KEY", "a-key-generated-again-" + "x" * 24)
        r = runner.invoke(cli_app, ["audit", "verify"])
        assert r.exit_code == 1, r.output
        lines = r.output.strip().splitlines()
        assert len(lines) == 1, r.output
        assert "OPENCALL_AUDIT_KEY is not the key the audit log was written with" in lines[0]
        assert "hash chain is intact" in lines[0], lines[0]


def test_one_rewritten_event_is_still_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A MAC that fails among MACs that match is tampering, named by its event as before."""
    from sqlalchemy import select, update

    from opencall.auditlog import AuditEvent
    from opencall.db import unit_of_work

    with keyed_site(tmp_path, monkeypatch, "tampered") as (runner, factory):
        with unit_of_work(factory) as s:
            first = s.scalar(
                select(AuditEvent.id).where(AuditEvent.mac.is_not(None)).order_by(AuditEvent.id)
            )
            s.execute(update(AuditEvent).where(AuditEvent.id == first).values(mac="0" * 64))
        r = runner.invoke(cli_app, ["audit", "verify"])
        assert r.exit_code == 1, r.output
        assert f"event {first}: MAC does not match" in r.output, r.output
        assert "is not the key" not in r.output, r.output
