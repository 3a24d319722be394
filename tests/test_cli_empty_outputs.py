"""A command with nothing to do or to list says so in words and exits 0: never a bare
"0 reminder(s) queued", an empty line or a table of headers alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencall.cli import app as cli_app
from opencall.db import unit_of_work
from tests import factories as F
from tests.cli_db import cli_database


def test_commands_with_nothing_to_do_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with cli_database(tmp_path, monkeypatch, "empty") as (runner, factory):
        r = runner.invoke(cli_app, ["calls", "list"])
        assert r.exit_code == 0 and "No calls." in r.output, r.output
        with unit_of_work(factory) as s:
            call, _pool = F.samples_call(s)  # open, no proposal, no review deadline
            slug = call.slug
        said = {
            ("remind", "--call", slug): "No reminders due",
            ("proposals", "remind"): "No draft reminders due",
            ("postaward", "remind", "--today", "2027-04-01"): "No overdue reminders due",
            ("proposals", "list", slug): "No proposals",
            ("review", "unreviewed", "--call", slug): "No proposal is short of reviews",
            ("week", "--call", slug, "--monday", "2027-04-05"): "Nothing scheduled",
        }
        for argv, words in said.items():
            r = runner.invoke(cli_app, list(argv))
            assert r.exit_code == 0, (argv, r.output)
            assert words in r.output, (argv, r.output)
            assert "0 " not in r.output and "┃" not in r.output, (argv, r.output)
            # trialops14: no blank line before it (a finished progress bar off a terminal
            # left one, a blank line in a timer's journal every run)
            assert r.output.strip() and "\n\n" not in "\n" + r.output, (argv, r.output)
