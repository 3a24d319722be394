"""pytest-xdist's controller (``make test``'s ``-n 2``) runs no test: it loads
tests/conftest.py, whose fixtures and patches (tests/fixtures.py: the app, SQLAlchemy,
FastAPI) are registered only where tests run (docs/testing.md, "speed14b")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests import conftest

ROOT = Path(__file__).resolve().parent.parent

# what pytest asks a conftest for (getattr with a default) must not import the fixtures
PROBE = """
import sys
import tests.conftest as c
assert getattr(c, "pytest_plugins", None) is None
assert getattr(c, "collect_ignore", None) is None
heavy = sorted(m for m in ("tests.fixtures", "sqlalchemy", "fastapi", "opencall") if m in sys.modules)
print(",".join(heavy))
"""


def test_the_conftest_imports_no_fixtures_app_or_database_library() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def _config(**option: Any) -> Any:
    return SimpleNamespace(option=SimpleNamespace(**option))


def test_only_the_xdist_controller_goes_without_the_fixtures() -> None:
    assert conftest.xdist_controller(_config(numprocesses=2))
    worker = _config(numprocesses=2)
    worker.workerinput = {"workerid": "gw0"}
    assert not conftest.xdist_controller(worker)
    assert not conftest.xdist_controller(_config(numprocesses=0))  # -n 0: one process
    assert not conftest.xdist_controller(_config())  # -p no:xdist


def test_the_fixtures_names_stay_importable_from_the_conftest() -> None:
    from tests import fixtures
    from tests.conftest import DemoWorlds, reset_pg_schema

    assert DemoWorlds is fixtures.DemoWorlds and reset_pg_schema is fixtures.reset_pg_schema
