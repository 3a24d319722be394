"""The audit log against someone who can write the database: rewriting a row and
recomputing every later hash, or deleting the last events (issue 13 item 6)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from opencall import auditlog
from opencall.auditlog import AuditEvent
from opencall.db import make_sessionmaker
from tests import factories as f

KEY = "k" * 40


def keyed(engine: Engine) -> Session:
    return make_sessionmaker(engine, audit_key=KEY)()


def rewrite_without_key(s: Session, event_id: int, reason: str) -> None:
    """What an attacker with database access does: change a row, recompute the chain."""
    prev = auditlog.GENESIS
    for ev in s.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        if ev.id == event_id:
            ev.reason = reason
        ev.prev_hash = prev
        ev.hash = hashlib.sha256(auditlog._canonical(ev)).hexdigest()
        prev = ev.hash
    s.commit()


def test_rewritten_history_is_detected_with_the_key(engine: Engine) -> None:
    with keyed(engine) as s:
        call = f.fast_call(s)
        f.full_proposal(s, call)
        s.commit()
        rep = auditlog.verify(s)
        assert rep.ok and rep.events > 10 and rep.unkeyed == 0
        assert all(ev.mac for ev in s.scalars(select(AuditEvent)))
        target = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()[4].id
        rewrite_without_key(s, target, "nothing happened here")
        s.expire_all()
        # the plain hash chain is fooled (the weakness of issue 13) ...
        assert auditlog.verify(s, key="").ok
        # ... the MAC chain is not
        rep = auditlog.verify(s)
        assert not rep.ok
        assert any(f"event {target}: MAC does not match" in p for p in rep.problems)
        # and a wrong key does not verify either
        assert not auditlog.verify(s, key="another key").ok


def test_stripped_macs_after_keyed_events_are_detected(engine: Engine) -> None:
    with keyed(engine) as s:
        f.fast_call(s)
        s.commit()
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert last is not None
        last.mac = None
        s.commit()
        rep = auditlog.verify(s)
        assert not rep.ok and any("no MAC" in p for p in rep.problems)


def test_checkpoint_detects_truncation_and_rewriting(engine: Engine) -> None:
    with keyed(engine) as s:
        call = f.fast_call(s)
        f.full_proposal(s, call)
        s.commit()
        cp = auditlog.checkpoint(s, KEY)
        assert cp["count"] == auditlog.verify(s).events
        assert auditlog.verify_checkpoint(s, cp, KEY) == []
        # later events do not matter
        f.fast_call(s)
        s.commit()
        assert auditlog.verify_checkpoint(s, cp, KEY) == []
        # a forged checkpoint (count lowered) is refused
        forged = {**cp, "count": cp["count"] - 3}
        assert "signature" in auditlog.verify_checkpoint(s, forged, KEY)[0]
        # deleting the last events leaves a valid chain, which the checkpoint catches
        ids = s.scalars(select(AuditEvent.id).order_by(AuditEvent.id.desc())).all()
        s.execute(delete(AuditEvent).where(AuditEvent.id.in_(ids[: len(ids) - cp["count"] + 2])))
        s.commit()
        assert auditlog.verify(s).ok
        problems = auditlog.verify_checkpoint(s, cp, KEY)
        assert problems and all("truncated" in p for p in problems)


def test_checkpoint_detects_a_rewrite_that_drops_every_mac(engine: Engine) -> None:
    with keyed(engine) as s:
        f.fast_call(s)
        s.commit()
        cp = auditlog.checkpoint(s, KEY)
        for ev in s.scalars(select(AuditEvent)):
            ev.mac = None  # now it looks like a log written before any key
        s.commit()
        rewrite_without_key(s, cp["head_id"] - 1, "rewritten")
        s.expire_all()
        assert auditlog.verify(s).ok  # all events "unkeyed": the chain alone holds
        problems = auditlog.verify_checkpoint(s, cp, KEY)
        assert any("history rewritten" in p for p in problems)


def test_cli_checkpoint_and_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from opencall.cli import app as cli_app

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("OPENCALL_DATABASE_URL", url)
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    r = runner.invoke(cli_app, ["audit", "checkpoint"])
    assert r.exit_code == 2 and "OPENCALL_AUDIT_KEY" in r.output
    monkeypatch.setenv("OPENCALL_AUDIT_KEY", KEY)
    from opencall.db import make_engine

    engine = make_engine(url)
    with keyed(engine) as s:
        from opencall.people.services import load_countries

        load_countries(s)
        f.fast_call(s)
        s.commit()
    r = runner.invoke(cli_app, ["audit", "checkpoint"])
    assert r.exit_code == 0 and json.loads(r.output)["count"] > 3
    cp_file = tmp_path / "cp.json"
    r = runner.invoke(cli_app, ["audit", "checkpoint", "--out", str(cp_file)])
    assert r.exit_code == 0 and cp_file.is_file()
    r = runner.invoke(cli_app, ["audit", "verify", "--checkpoint", str(cp_file)])
    assert r.exit_code == 0 and "intact" in r.output and "MACs checked" in r.output
    with keyed(engine) as s:
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        s.delete(last)
        s.commit()
    assert runner.invoke(cli_app, ["audit", "verify"]).exit_code == 0  # chain alone: fooled
    r = runner.invoke(cli_app, ["audit", "verify", "--checkpoint", str(cp_file)])
    assert r.exit_code == 1 and "truncated" in r.output
    engine.dispose()


def test_the_worker_signs_the_events_its_jobs_write(tmp_path: Path) -> None:
    """A job run by ``opencall worker`` writes its audit events with the audit key, as the
    web and the CLI do: else every event a job wrote after keyed ones fails the check."""
    from opencall import jobs, migrate, worker
    from opencall.db import make_engine
    from opencall.settings import Settings

    url = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with keyed(engine) as s:
        auditlog.record(s, "site.before", "site", 1)
        jobs.enqueue(s, "audited")
        s.commit()

    def registry(_: Settings) -> jobs.JobRegistry:
        reg = jobs.JobRegistry()
        reg.register("audited", lambda s, job, progress: auditlog.record(s, "job.did", "job", 1))
        return reg

    ran = worker.work(
        Settings(database_url=url, audit_key=KEY), once=True, registry_factory=registry
    )
    assert ran == 1
    with keyed(engine) as s:
        assert s.scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc())) == "job.did"
        report = auditlog.verify(s)
    engine.dispose()
    assert report.ok, report.problems


def test_serve_and_worker_refuse_another_audit_key(engine: Engine) -> None:
    """An operator whose settings generate the key anew at each start (the install's
    `export OPENCALL_AUDIT_KEY="$(python3 ...)"` kept as is) got a process that wrote
    events no `audit verify` could check, and was told months later. The worker and
    serve now refuse it at start, naming the event; the right key starts."""
    from opencall.cli import app as cli_app

    with keyed(engine) as s:
        f.user(s)  # a keyed event (user.registered)
        s.commit()
        newest = s.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()))
    url = engine.url.render_as_string(hide_password=False)
    env = {"OPENCALL_DATABASE_URL": url, "OPENCALL_MAIL_BACKEND": "console"}
    runner = CliRunner()
    other = {**env, "OPENCALL_AUDIT_KEY": "x" * 40}
    for command in (["worker", "--once"], ["serve", "--port", "1"]):
        r = runner.invoke(cli_app, command, env=other)
        out = " ".join(r.output.split())
        assert r.exit_code == 2, out
        assert "OPENCALL_AUDIT_KEY is not the key the audit log was written with" in out
        assert f"event {newest}" in out and "x" * 40 not in out
    r = runner.invoke(cli_app, ["worker", "--once"], env={**env, "OPENCALL_AUDIT_KEY": KEY})
    assert r.exit_code == 0, r.output
    with keyed(engine) as s:
        assert auditlog.verify(s).ok
