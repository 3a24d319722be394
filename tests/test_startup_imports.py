"""`opencall serve` and `opencall worker` start without the heavy scientific libraries:
they are imported where first used (an optimiser step, a calendar export, a BibTeX
import), so every web and worker process, and every CLI call, starts about 2 s of CPU
sooner (docs/testing.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = ("scipy", "icalendar", "bibtexparser")

PROBE = """
import sys
from opencall.app import create_app
from opencall.settings import Settings
from opencall import cli, worker
worker._default_registry(Settings(database_url="sqlite:///" + sys.argv[1]))
create_app(Settings(database_url="sqlite:///" + sys.argv[1]))
print(",".join(m for m in {heavy!r} if m in sys.modules))
"""


def test_app_worker_and_cli_start_without_the_heavy_libraries(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), str(tmp_path / "db.sqlite3")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "", f"imported at start: {out.stdout.strip()}"


def test_the_probe_sees_an_eager_import(tmp_path: Path) -> None:
    # the check above can fail: an eager import at start shows in the probe's output
    probe = "import scipy.sparse\n" + PROBE.format(heavy=HEAVY)
    out = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "db.sqlite3")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "scipy"
