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
    # while the run goes on, each ended test has its line: its CPU, when it ended (wall
    # seconds since the session began, in the order the tests ended), which worker ran
    # it ("-" in a run without pytest-xdist)
    running = [line.split() for line in path.read_text().splitlines()[1:]]
    assert [(r[0], r[2], r[3]) for r in running] == [
        ("0.30", "-", "tests/a.py::light"),
        ("5.50", "-", "tests/b.py::heavy"),
        ("1.75", "-", "tests/a.py::middle"),
    ]
    ended = [float(r[1]) for r in running]
    assert 0 <= ended[0] <= ended[1] <= ended[2]
    plugin.pytest_sessionfinish()
    lines = path.read_text().splitlines()
    assert lines[0] == "# 7.5 s of CPU in 3 tests"
    start = lines.index("# file: CPU s, tests") + 1
    files = lines[start : lines.index("", start)]
    assert [line.split() for line in files] == [
        ["5.50", "1", "tests/b.py"],
        ["2.05", "2", "tests/a.py"],
    ]
    start = lines.index("# test: CPU s (setup call teardown)") + 1
    tests = lines[start : lines.index("", start)]
    assert [line.split()[-1] for line in tests] == [
        "tests/b.py::heavy",
        "tests/a.py::middle",
        "tests/a.py::light",
    ]
    assert tests[0].split()[:4] == ["5.50", "(2.00", "3.00", "0.50)"]
    # the running lines stay, in the order the tests ended (the run's end: which worker
    # ran what last)
    ended = lines[lines.index("# as they ended: CPU s, wall s since the start, worker, test") + 1 :]
    assert [line.split() for line in ended] == running


def test_the_running_lines_name_the_xdist_worker(tmp_path: Path) -> None:
    """Under pytest-xdist the controller's reports carry the worker that ran the test:
    the running lines say which, so that the end of a run shows whether one worker sat
    idle while the other ran the last files (docs/testing.md, the eighth round)."""

    class Gateway:
        id = "gw1"

    class Node:
        gateway = Gateway()

    path = tmp_path / "cpu.txt"
    plugin = _CpuReport(str(path))
    plugin.pytest_sessionstart()
    for when in ("setup", "call", "teardown"):
        report = _report("tests/c.py::t", when, 1.0)
        report.node = Node()  # type: ignore[attr-defined]  # as xdist's controller sets it
        plugin.pytest_runtest_logreport(report)
    (line,) = path.read_text().splitlines()[1:]
    assert line.split()[0] == "3.00" and line.split()[2:] == ["gw1", "tests/c.py::t"]
