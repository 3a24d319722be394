"""The import contracts bind: each fails on a bad import planted in a copy of
the source tree (so that a contract cannot silently stop checking anything)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).parent / "lint-imports"

# (module file, line planted, contract name that must break)
PLANTS = [
    (
        "reviews/services/conflicts.py",
        "from opencall.proposals import views as _planted  # noqa",
        "A feature's views and API are imported by no other feature",
    ),
    (
        "allocation/views.py",
        "from opencall.reviews.api import router as _planted  # noqa",
        "A feature's views and API are imported by no other feature",
    ),
    (
        "calls/services.py",
        "from opencall.reviews import services as _planted  # noqa",
        "Features import only base modules and features before them",
    ),
    (
        "calls/domain.py",
        "from opencall.web.i18n import N_ as _planted  # noqa",
        "Feature domain modules do no I/O",
    ),
    (
        "optim/sky.py",
        "import matplotlib as _planted  # noqa",
        "optim imports only the standard library and the numerical libraries",
    ),
    (
        "optim/bias/model.py",
        "from opencall import db as _planted  # noqa",
        "optim is pure",
    ),
    (
        "reviews/policies.py",
        "from opencall.reviews import services as _planted  # noqa",
        "Inside a feature",
    ),
    (
        "reviews/policies.py",
        "from opencall.proposals import services as _planted  # noqa",
        "Policies decide over data and queries",
    ),
    (
        "reviews/policies.py",
        "from opencall.reviews.services import calibration as _planted  # noqa",
        "Policies decide over data and queries",
    ),
    (
        "allocation/views.py",
        "from opencall.reviews.views import chair as _planted  # noqa",
        "A feature's views and API are imported by no other feature",
    ),
    (
        "reviews/api_write/technical.py",
        "from opencall.proposals import api as _planted  # noqa",
        "reviews.api_write imports no other feature's views or API",
    ),
]


def _copy(tmp: Path) -> Path:
    shutil.copytree(
        ROOT / "src" / "opencall",
        tmp / "src" / "opencall",
        ignore=shutil.ignore_patterns("__pycache__", "locale", "static", "templates", "data"),
    )
    shutil.copytree(ROOT / "tools", tmp / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp / ".importlinter")
    return tmp


def _lint(tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tmp / "src")}
    return subprocess.run(
        [str(LINT), "--no-cache"], cwd=tmp, env=env, capture_output=True, text=True, timeout=300
    )


def _plant(tmp: Path, module: str, line: str) -> int:
    """Append ``line`` to the module; its line number."""
    path = tmp / "src" / "opencall" / module
    text = path.read_text() + "\n" + line + "\n"
    path.write_text(text)
    return text.count("\n")


def _verdict(stdout: str, contract: str) -> str:
    """KEPT or BROKEN: the word after the contract's name in the summary."""
    text = " ".join(stdout.split())
    summary = text[text.index("Contracts ---") :]
    after = summary[summary.index(contract) + len(contract) :]
    return min(("KEPT", "BROKEN"), key=lambda w: after.find(w) % 10**6)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy(tmp_path_factory.mktemp("tree"))


def test_the_unplanted_copy_keeps_every_contract(tree: Path) -> None:
    run = _lint(tree)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout
    # every contract of the configuration was read and checked
    declared = (tree / ".importlinter").read_text().count("[importlinter:contract:")
    assert declared >= 6
    assert f"{declared} kept" in run.stdout


@pytest.mark.parametrize(("module", "line", "contract"), PLANTS, ids=[p[0] for p in PLANTS])
def test_a_planted_bad_import_breaks_its_contract(
    tree: Path, tmp_path: Path, module: str, line: str, contract: str
) -> None:
    shutil.copytree(tree, tmp_path / "t")
    lineno = _plant(tmp_path / "t", module, line)
    run = _lint(tmp_path / "t")
    assert run.returncode != 0, run.stdout
    assert _verdict(run.stdout, contract) == "BROKEN", run.stdout
    assert f"l.{lineno}" in run.stdout  # the violation names the planted line


def test_the_verdict_reader_reads_kept_too(tree: Path) -> None:
    run = _lint(tree)
    assert _verdict(run.stdout, "optim is pure") == "KEPT"
