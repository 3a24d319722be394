"""trialop23: an operator rotating the site's secrets could not rotate OPENCALL_AUDIT_KEY.
`serve` and `worker` refuse any key but the one the log was written with, and no command
let the log go on under a new key: a key that leaked (a departed colleague's copy of the
settings file) had to be kept for ever. `opencall audit rotate-key` now writes one event,
MACed with the current key, naming the new key's fingerprint; the events after it are
MACed with the new key, and `audit verify` checks each stretch with its own key
(OPENCALL_AUDIT_RETIRED_KEYS holds the retired ones)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from opencall import auditlog
from opencall.cli import app as cli_app
from opencall.db import make_sessionmaker
from tests.cli_db import cli_database

OLD = "the-key-the-log-was-written-with-" + "o" * 16
NEW = "the-key-after-the-rotation-" + "n" * 24


def _admin(runner: CliRunner, i: int) -> None:
    r = runner.invoke(
        cli_app, ["admin", "create", "--email", f"ops{i}@example.org", "--name", "Ops", "--link"]
    )
    assert r.exit_code == 0, r.output


@contextmanager
def site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> Iterator[tuple[CliRunner, sessionmaker[Session]]]:
    """A site whose audit log was begun with OLD (one administrator made by the CLI)."""
    monkeypatch.setenv("OPENCALL_AUDIT_KEY", OLD)
    with cli_database(tmp_path, monkeypatch, name) as (runner, factory):
        _admin(runner, 0)
        yield runner, factory


def test_rotate_the_audit_key_and_verify_both_stretches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with site(tmp_path, monkeypatch, "rotate") as (runner, factory):
        _admin(runner, 1)
        r = runner.invoke(cli_app, ["audit", "rotate-key"], input=NEW + "\n" + NEW + "\n")
        assert r.exit_code == 0, r.output
        assert "audit key rotated" in r.output, r.output
        assert NEW not in r.output and OLD not in r.output  # never printed

        # the processes now run with the new key: a command writes, the log goes on
        monkeypatch.setenv("OPENCALL_AUDIT_KEY", NEW)
        _admin(runner, 2)
        with factory() as s:
            assert auditlog.key_mismatch(s, NEW) is None  # `serve` starts with it
            assert auditlog.key_mismatch(s, OLD) is not None  # and refuses the old one

        # verified with the new key and the retired one: every MAC checked
        monkeypatch.setenv("OPENCALL_AUDIT_RETIRED_KEYS", OLD)
        r = runner.invoke(cli_app, ["audit", "verify"])
        assert r.exit_code == 0 and "MACs checked" in r.output, r.output

        # without the retired key, the earlier stretch is said to be unchecked, not failed
        monkeypatch.delenv("OPENCALL_AUDIT_RETIRED_KEYS")
        r = runner.invoke(cli_app, ["audit", "verify"])
        assert r.exit_code == 0, r.output
        assert "not MAC-checked" in r.output and "OPENCALL_AUDIT_RETIRED_KEYS" in r.output

        # an event of the earlier stretch rewritten: found with the retired key
        monkeypatch.setenv("OPENCALL_AUDIT_RETIRED_KEYS", OLD)
        with factory() as s:
            first = s.scalar(select(auditlog.AuditEvent).order_by(auditlog.AuditEvent.id))
            assert first is not None
            s.execute(
                update(auditlog.AuditEvent)
                .where(auditlog.AuditEvent.id == first.id)
                .values(mac="0" * 64)
            )
            s.commit()
        r = runner.invoke(cli_app, ["audit", "verify"])
        assert r.exit_code == 1 and f"event {first.id}: MAC does not match" in r.output


def test_a_rotation_refused_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with site(tmp_path, monkeypatch, "refused") as (runner, factory):
        with factory() as s:
            before = len(list(s.scalars(select(auditlog.AuditEvent))))
        for given, words in [
            ("short\n", "at least 32 characters"),
            (OLD + "\n", "the same as the current key"),
            (NEW + "\n" + NEW + "x\n", "do not match"),
            ("", "no new key"),
        ]:
            r = runner.invoke(cli_app, ["audit", "rotate-key"], input=given)
            assert r.exit_code == 2, r.output
            assert words in r.output, r.output
        monkeypatch.setenv("OPENCALL_AUDIT_KEY", "a-key-the-log-never-saw-" + "x" * 24)
        r = runner.invoke(cli_app, ["audit", "rotate-key"], input=NEW + "\n")
        assert r.exit_code == 2 and "not the key the audit log was written with" in r.output
        monkeypatch.delenv("OPENCALL_AUDIT_KEY")
        r = runner.invoke(cli_app, ["audit", "rotate-key"], input=NEW + "\n")
        assert r.exit_code == 2 and "OPENCALL_AUDIT_KEY" in r.output, r.output
        with factory() as s:
            assert len(list(s.scalars(select(auditlog.AuditEvent)))) == before


def test_two_rotations_on_the_database(engine: Engine) -> None:
    """Service level, SQLite and PostgreSQL: three keys, two rotations; each stretch is
    checked with its own key, and one rewritten with hashes recomputed is found."""
    keys = [OLD, NEW, "the-third-key-of-the-site-" + "t" * 24]
    for i, key in enumerate(keys):
        with make_sessionmaker(engine, audit_key=key)() as s:
            assert auditlog.key_mismatch(s, key) is None
            auditlog.record(s, "test.event", "thing", i)
            auditlog.record(s, "test.event", "thing", i + 10)
            if i < len(keys) - 1:
                auditlog.rotate_key(s, keys[i + 1])
            s.commit()
    with make_sessionmaker(engine, audit_key=keys[-1])() as s:
        rep = auditlog.verify(s, retired=keys[:-1])
        assert rep.ok and rep.unchecked == 0 and rep.events == 8, rep
        rep = auditlog.verify(s, retired=[NEW])  # the first key thrown away
        assert rep.ok and rep.unchecked == 3, rep
        rep = auditlog.verify(s, key="another-key-" + "x" * 30, retired=keys[:-1])
        assert not rep.ok and rep.mac_mismatches == 2, rep  # the last stretch
        # the middle stretch's first event rewritten, every later hash recomputed
        ev = s.scalars(select(auditlog.AuditEvent).order_by(auditlog.AuditEvent.id)).all()[3]
        s.execute(
            update(auditlog.AuditEvent)
            .where(auditlog.AuditEvent.id == ev.id)
            .values(reason="rewritten")
        )
        s.commit()
        prev = auditlog.GENESIS
        for e in s.scalars(select(auditlog.AuditEvent).order_by(auditlog.AuditEvent.id)):
            e.prev_hash = prev
            e.hash = hashlib.sha256(auditlog._canonical(e)).hexdigest()
            prev = e.hash
        s.commit()
        rep = auditlog.verify(s, retired=keys[:-1])
        assert not rep.ok and any(f"event {ev.id}: MAC" in p for p in rep.problems), rep


def test_a_checkpoint_taken_before_the_rotation_still_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkpoint signed with the key of its day is checked with the retired key after a
    rotation (the operator keeps the checkpoints they published)."""
    with site(tmp_path, monkeypatch, "checkpoint") as (runner, _factory):
        cp = tmp_path / "cp.json"
        assert runner.invoke(cli_app, ["audit", "checkpoint", "--out", str(cp)]).exit_code == 0
        r = runner.invoke(cli_app, ["audit", "rotate-key"], input=NEW + "\n")
        assert r.exit_code == 0, r.output
        monkeypatch.setenv("OPENCALL_AUDIT_KEY", NEW)
        monkeypatch.setenv("OPENCALL_AUDIT_RETIRED_KEYS", OLD)
        _admin(runner, 1)
        r = runner.invoke(cli_app, ["audit", "verify", "--checkpoint", str(cp)])
        assert r.exit_code == 0 and "matches the checkpoint" in r.output, r.output
        monkeypatch.delenv("OPENCALL_AUDIT_RETIRED_KEYS")
        r = runner.invoke(cli_app, ["audit", "verify", "--checkpoint", str(cp)])
        assert r.exit_code == 1 and "signature does not match" in r.output, r.output
