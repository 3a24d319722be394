"""The opt-in ``--cpu-report PATH`` of tests/conftest.py: each test's CPU by phase and
each file's sum, heaviest first (docs/testing.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import _CpuReport


def _report(nodeid: str, when: str, cpu: float) -> pytest.TestReport:
    return pytest.TestReport(
        nodeid=nodeid,
        location=("x", 0, "x"),
        keywords={},
        outcome="passed",
        longrepr=None,
        when=when,  # type: ignore[arg-type]
        user_properties=[(f"cpu_{when}", cpu), ("other", 5.0)],
    )


def test_files_and_tests_are_ranked_by_their_cpu(tmp_path: Path) -> None:
    path = tmp_path / "cpu.txt"
    plugin = _CpuReport(str(path))
    plugin.pytest_sessionstart()
    phases = {
        "tests/a.py::light": (0.1, 0.2, 0.0),
        "tests/b.py::heavy": (2.0, 3.0, 0.5),
        "tests/a.py::middle": (0.0, 1.5, 0.25),
    }
    for nodeid, cpus in phases.items():
        for when, cpu in zip(("setup", "call", "teardown"), cpus, strict=True):
            plugin.pytest_runtest_logreport(_report(nodeid, when, cpu))
    # while the run goes on, each ended test has its line
    running = path.read_text().splitlines()[1:]
    assert [line.split() for line in running] == [
        ["0.30", "tests/a.py::light"],
        ["5.50", "tests/b.py::heavy"],
        ["1.75", "tests/a.py::middle"],
    ]
    plugin.pytest_sessionfinish()
    lines = path.read_text().splitlines()
    assert lines[0] == "# 7.5 s of CPU in 3 tests"
    start = lines.index("# file: CPU s, tests") + 1
    files = lines[start : lines.index("", start)]
    assert [line.split() for line in files] == [
        ["5.50", "1", "tests/b.py"],
        ["2.05", "2", "tests/a.py"],
    ]
    tests = lines[lines.index("# test: CPU s (setup call teardown)") + 1 :]
    assert [line.split()[-1] for line in tests] == [
        "tests/b.py::heavy",
        "tests/a.py::middle",
        "tests/a.py::light",
    ]
    assert tests[0].split()[:4] == ["5.50", "(2.00", "3.00", "0.50)"]
