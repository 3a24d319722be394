"""``pytest --clock-at`` and ``--clock-each-test`` (tests/conftest.py, flake21): the
session's clock starts at the instant given, and with ``--clock-each-test`` every test
starts there again, so that each test crosses it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import datetime as dt

import time_machine

AT_IMPORT = dt.datetime.now(dt.UTC)


def test_first():
    print("CLOCK import", AT_IMPORT.date())
    print("CLOCK first", dt.datetime.now(dt.UTC).date())
    # the clock ten days on, left there: only a new start of the clock undoes it
    time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=10)).start()


def test_second():
    print("CLOCK second", dt.datetime.now(dt.UTC).date())
"""


def _times(tmp_path: Path, *options: str) -> dict[str, str]:
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    # the probe needs no database; under xdist it must not take the worker's either.
    # It needs only the conftest's hooks: neither its fixtures (``-p no:tests.fixtures``:
    # the app, SQLAlchemy) nor the installed plugins (schemathesis, hypothesis,
    # playwright...), whose imports were nine tenths of each probe's 2.9 s of CPU
    # (0.2 s without them: docs/testing.md, speed22)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTEST_ADDOPTS", "OPENCALL_TEST_POSTGRES_URL")
        and not k.startswith("PYTEST_XDIST")
    }
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-s",
         "-p", "tests.conftest", "-p", "no:tests.fixtures",
         "--rootdir", str(tmp_path), *options, str(probe)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    # both of the probe's tests ran (a probe that collected nothing printed no dates)
    assert "2 passed" in out.stdout, out.stdout[-3000:]
    # pytest's progress dots may stand before a line
    return dict(re.findall(r"CLOCK (import|first|second) (\S+)", out.stdout))


def test_the_clock_starts_at_the_instant_and_each_test_starts_there_again(
    tmp_path: Path,
) -> None:
    at = "--clock-at=2027-06-15T12:00:00"
    ticking = _times(tmp_path, at)
    assert ticking == {"import": "2027-06-15", "first": "2027-06-15", "second": "2027-06-25"}
    each = _times(tmp_path, at, "--clock-each-test")
    assert each == {"import": "2027-06-15", "first": "2027-06-15", "second": "2027-06-15"}
