"""What `pip install .` (a wheel built from the repository) installs: every file the
package reads or must carry (templates, translations, reference data with its licence,
migrations) matches the package data of pyproject.toml, and the build backend the
project's metadata needs is the one it asks for."""

from __future__ import annotations

import fnmatch
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "opencall"
# files used only to work on the translations, never read by the installed package
DEVELOPMENT_ONLY = {"web/babel.cfg", "web/locale/messages.pot"}


def _pyproject() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _shipped(rel: str, patterns: list[str]) -> bool:
    """setuptools' package-data globs: ``**/`` also matches no directory at all."""
    for pattern in patterns:
        if fnmatch.fnmatch(rel, pattern):
            return True
        if pattern.startswith("**/") and fnmatch.fnmatch(rel, pattern[3:]):
            return True
    return False


def test_every_data_file_of_the_package_is_in_the_wheel() -> None:
    """The reference data's licence (LICENSE-country-classification-commons) was left out
    of the wheel: an install from it carried the data without the licence it needs."""
    tracked = subprocess.run(
        ["git", "ls-files", "src/opencall"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    patterns = _pyproject()["tool"]["setuptools"]["package-data"]["opencall"]
    data = [
        str(Path(p).relative_to("src/opencall"))
        for p in tracked
        if not p.endswith(".py") and (ROOT / p).is_file()
    ]
    assert data, "git ls-files found no data files"
    missing = [rel for rel in data if rel not in DEVELOPMENT_ONLY and not _shipped(rel, patterns)]
    assert missing == []


def test_the_build_backend_reads_the_licence_expression() -> None:
    """``license = "Apache-2.0"`` (an SPDX expression, PEP 639) needs setuptools 77: with
    the 69 the build asked for, an offline or pinned build failed ('project.license must
    be valid exactly by one definition')."""
    project = _pyproject()
    assert isinstance(project["project"]["license"], str)
    requires = project["build-system"]["requires"]
    setuptools = next(r for r in requires if r.startswith("setuptools"))
    floor = setuptools.split(">=", 1)[1]
    assert tuple(int(x) for x in floor.split(".")[:1]) >= (77,), setuptools
