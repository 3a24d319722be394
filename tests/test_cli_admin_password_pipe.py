"""trialop18b: `opencall admin create` reads a password piped to it (an install script,
`printf '%s\\n' "$PW" | opencall admin create ...`) cleanly. It went through getpass,
which, with no terminal, printed Python's "GetPassWarning: Can not control echo on the
terminal" and "Warning: Password input may be echoed." to stderr, then read the piped
lines as the password and its confirmation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from opencall.people.models import User
from opencall.people.services import verify_password
from tests.cli_db import cli_database

PASSWORD = "a piped password, 2026!"


def _create(stdin: str, email: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "opencall", "admin", "create", "--email", email, "--name", "Ops"]
    return subprocess.run(
        cmd, input=stdin, capture_output=True, text=True, env=dict(os.environ), timeout=120
    )


def test_a_piped_password_is_read_without_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with cli_database(tmp_path, monkeypatch, "pipe") as (_runner, factory):
        r = _create(PASSWORD + "\n", "ops@pipe.example")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Warning" not in r.stderr and "Warning" not in r.stdout, r.stderr
        assert "site administrator" in r.stdout
        with factory() as s:
            user = s.scalars(select(User).where(User.email == "ops@pipe.example")).one()
            assert verify_password(user.password_hash, PASSWORD)


def test_an_empty_pipe_is_refused_and_makes_no_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with cli_database(tmp_path, monkeypatch, "empty") as (_runner, factory):
        r = _create("", "nobody@pipe.example")
        assert r.returncode == 2, r.stdout + r.stderr
        assert "Warning" not in r.stderr, r.stderr
        assert "no password" in (r.stdout + r.stderr).lower()
        with factory() as s:
            assert s.scalars(select(User).where(User.email == "nobody@pipe.example")).all() == []


def test_a_second_piped_line_is_the_confirmation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scripts that piped the password twice (for the prompt's confirmation) keep working;
    two lines that differ are refused."""
    with cli_database(tmp_path, monkeypatch, "twice") as (_runner, factory):
        r = _create(f"{PASSWORD}\n{PASSWORD}\n", "twice@pipe.example")
        assert r.returncode == 0 and "Warning" not in r.stderr, r.stdout + r.stderr
        r = _create(f"{PASSWORD}\nanother one\n", "differ@pipe.example")
        assert r.returncode == 2 and "differ" in r.stdout, r.stdout + r.stderr
        with factory() as s:
            emails = set(s.scalars(select(User.email)))
            assert "twice@pipe.example" in emails and "differ@pipe.example" not in emails
