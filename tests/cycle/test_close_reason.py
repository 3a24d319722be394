"""The reason of an early close is stored stripped, and a blank one refused, whichever
way the call is closed: the cockpit and the API strip it, and so does
``opencall calls transition <slug> closed --reason`` (the workflow itself strips it)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from opencall import auditlog
from opencall.calls.models import Call
from opencall.cli import app as cli_app
from opencall.db import unit_of_work
from tests import factories
from tests.cli_db import cli_database


def test_the_command_line_strips_the_close_reason_as_the_page_and_the_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with cli_database(tmp_path, monkeypatch, "close") as (runner, factory):
        with unit_of_work(factory) as s:
            call = factories.fast_call(s)
            call.closes_at = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
            slug = call.slug
        argv = ["calls", "transition", slug, "closed", "--reason"]
        r = runner.invoke(cli_app, [*argv, "  \t "])
        assert r.exit_code == 2 and "needs a reason" in r.output, r.output
        with factory() as s:
            assert s.scalar(select(Call.status).where(Call.slug == slug)) == "open"
        r = runner.invoke(cli_app, [*argv, "  Storm warning: the site is shut.\n"])
        assert r.exit_code == 0, r.output
        with factory() as s:
            reasons = [
                e.reason
                for e in s.scalars(select(auditlog.AuditEvent))
                if e.action == "call.transition" and (e.data or {}).get("to") == "closed"
            ]
        assert reasons == ["Storm warning: the site is shut."]
