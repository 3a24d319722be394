"""trialop19: a list setting written as an operator writes it in an environment file.
``OPENCALL_DRAFT_REMINDER_DAYS=7,1`` (or ``7 1``) stopped every command with a traceback
ending in pydantic-settings' ``SettingsError: error parsing value for field
"draft_reminder_days" from source "EnvSettingsSource"``: only the JSON ``[7, 1]`` was
read. Now the commas or spaces are read too, and a value that is no list of days is
refused in one line naming the setting, as every other bad setting is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from opencall.settings import Settings


@pytest.mark.parametrize(
    ("raw", "days"),
    [("7,1", [7, 1]), ("1, 7", [7, 1]), ("7 1", [7, 1]), ("[7, 1]", [7, 1]), ("14", [14]),
     ("[]", []), ("", [])],
)  # fmt: skip
def test_the_days_are_read_as_written(
    monkeypatch: pytest.MonkeyPatch, raw: str, days: list[int]
) -> None:
    monkeypatch.setenv("OPENCALL_DRAFT_REMINDER_DAYS", raw)
    assert Settings().draft_reminder_days == days


@pytest.mark.parametrize("raw", ["7,x", "abc", "[7,", "7.5", "{}"])
def test_a_value_that_is_no_days_is_refused_as_a_setting(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("OPENCALL_DRAFT_REMINDER_DAYS", raw)
    with pytest.raises(ValidationError, match="whole numbers of days"):
        Settings()


def test_the_command_line_says_it_in_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "OPENCALL_DRAFT_REMINDER_DAYS": "7,x",
        "OPENCALL_DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3",
    }
    r = subprocess.run(
        [sys.executable, "-m", "opencall", "db", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    said = r.stdout + r.stderr
    assert r.returncode == 2, said
    assert "Traceback" not in said and "SettingsError" not in said, said
    assert "OPENCALL_DRAFT_REMINDER_DAYS:" in said and "whole numbers of days" in said, said
