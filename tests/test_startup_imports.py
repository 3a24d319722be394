"""`opencall serve` and `opencall worker` start without the heavy scientific libraries:
they are imported where first used (an optimiser step, a calendar export, a BibTeX
import), so every web and worker process, and every CLI call, starts about 2 s of CPU
sooner (docs/testing.md)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("scipy", "icalendar", "bibtexparser")

# One interpreter for every check (each start imports the app: about 2 s of CPU): the
# first line says whether the CLI and the worker with its job registry imported the web
# app (opencall.app: they need not); the second is what the app, the worker and the CLI
# imported at start; then scipy is imported eagerly, and the third line must show it (the
# check can fail).
PROBE = """
import sys
from opencall.settings import Settings
from opencall import cli, worker
worker._default_registry(Settings(database_url="sqlite:///" + sys.argv[1]))
print("worker:" + ("opencall.app" if "opencall.app" in sys.modules else ""))
from opencall.app import create_app
create_app(Settings(database_url="sqlite:///" + sys.argv[1]))
print("start:" + ",".join(m for m in {heavy!r} if m in sys.modules))
import scipy.sparse
print("eager:" + ",".join(m for m in {heavy!r} if m in sys.modules))
"""


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    db = tmp_path_factory.mktemp("probe") / "db.sqlite3"
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), str(db)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = dict(line.split(":", 1) for line in out.stdout.split())
    assert set(lines) == {"worker", "start", "eager"}, out.stdout
    return lines


def test_app_worker_and_cli_start_without_the_heavy_libraries(probed: dict[str, str]) -> None:
    assert probed["start"] == "", f"imported at start: {probed['start']}"


def test_the_worker_starts_without_the_web_app(probed: dict[str, str]) -> None:
    """The job registry (opencall.registry) is built without the routers, pages and API
    schemas of opencall.app: about 0.5 s of CPU at each worker start."""
    assert probed["worker"] == "", "the worker imported opencall.app"


def test_the_probe_sees_an_eager_import(probed: dict[str, str]) -> None:
    # the check above can fail: a heavy library imported shows in the probe's output
    assert probed["eager"] == "scipy"
