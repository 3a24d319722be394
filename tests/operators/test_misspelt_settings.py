"""trialop24: a setting's name misspelt in the settings file was ignored without a word.

An operator who wrote ``OPENCALL_DATABSE_URL=postgresql://...`` (or
``OPENCALL_UPLOAD_DIRECTORY``, ``OPENCALL_AUDIT_RETIRED_KEY``, ...) got a site that started,
with ``OPENCALL_ENV=production`` too, on a new SQLite file in ``./var`` (its own empty
database: the first admin, the provider, every applicant's proposal written there), or
uploads in ``./var/uploads``, or an audit log whose retired stretch went unchecked. Now
every command refuses, in one line and before it touches anything, an ``OPENCALL_*``
variable that is no setting but close to one, naming the setting meant."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from opencall.settings import misspelt_settings


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("OPENCALL_DATABSE_URL", "OPENCALL_DATABASE_URL"),
        ("OPENCALL_UPLOAD_DIRECTORY", "OPENCALL_UPLOAD_DIR"),
        ("OPENCALL_AUDIT_RETIRED_KEY", "OPENCALL_AUDIT_RETIRED_KEYS"),
        ("OPENCALL_SECRET_KEYS_PREVIOUS", "OPENCALL_SECRET_KEY_PREVIOUS"),
        ("OPENCALL_SMTP_USER", "OPENCALL_SMTP_USERNAME"),
        ("OPENCALL_S3_ENDPOINT", "OPENCALL_S3_ENDPOINT_URL"),
        ("OPENCALL_LOGLEVEL", "OPENCALL_LOG_LEVEL"),
        ("opencall_secure_cookie", "OPENCALL_SECURE_COOKIES"),
    ],
)
def test_a_name_close_to_a_setting_is_named_with_the_setting(name: str, meant: str) -> None:
    said = misspelt_settings({name: "x", "OPENCALL_BASE_URL": "https://o.example.org"})
    assert len(said) == 1, said
    assert name in said[0] and meant in said[0], said


def test_settings_and_other_variables_are_not_refused() -> None:
    environ = {
        "OPENCALL_DATABASE_URL": "sqlite:///x.sqlite3",
        "OPENCALL_AUDIT_RETIRED_KEYS": "k",
        "OPENCALL_LOG_LEVEL": "INFO",
        "OPENCALL_LOG_FORMAT": "json",
        "OPENCALL_FAULT_LOG": "/tmp/f.log",
        # the test harness's own variables, far from any setting
        "OPENCALL_TEST_POSTGRES_URL": "postgresql://x@y/z",
        "OPENCALL_CHROMIUM": "/usr/bin/chromium",
        "OPENCALL_UPDATE_GOLDEN": "1",
        "OPENCALL_SCALE_N": "200",
        "PATH": "/usr/bin",
        "DATABSE_URL": "not ours",
    }
    assert misspelt_settings(environ) == []


def test_the_command_line_refuses_it_before_it_makes_a_database(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCALL_")}
    env |= {
        "OPENCALL_DATABSE_URL": f"sqlite:///{tmp_path}/meant.sqlite3",
        "OPENCALL_ENV": "production",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    r = subprocess.run(
        [sys.executable, "-m", "opencall", "db", "upgrade"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    said = r.stdout + r.stderr
    assert r.returncode == 2, said
    assert "Traceback" not in said, said
    assert said.strip().count("\n") == 0, said
    assert "OPENCALL_DATABSE_URL" in said and "OPENCALL_DATABASE_URL" in said, said
    assert not (tmp_path / "var").exists(), "a SQLite database was made in ./var"
