"""The order tests/conftest.py gives the collected tests (``make test`` sends the files
to the workers in it): the files with a browser test first, then those with a slow
one, then the rest; each file's tests kept together in their own order."""

from __future__ import annotations

from typing import Any

from tests.conftest import pytest_collection_modifyitems


class Item:
    def __init__(self, nodeid: str, *marks: str) -> None:
        self.nodeid = nodeid
        self.marks = marks

    def get_closest_marker(self, name: str) -> Any:
        return name if name in self.marks else None


def test_browser_files_first_then_slow_files_then_the_rest() -> None:
    items = [
        Item("tests/a.py::t1"),
        Item("tests/b.py::t1", "slow"),
        Item("tests/b.py::t2"),
        Item("tests/c.py::t1"),
        Item("tests/c.py::t2", "browser"),
        Item("tests/d.py::t1", "slow"),
        Item("tests/e.py::t1", "browser", "slow"),
    ]
    pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    assert [i.nodeid for i in items] == [
        "tests/c.py::t1",
        "tests/c.py::t2",
        "tests/e.py::t1",
        "tests/b.py::t1",
        "tests/b.py::t2",
        "tests/d.py::t1",
        "tests/a.py::t1",
    ]


def test_the_heaviest_other_files_start_before_the_rest() -> None:
    """A heavy file without a browser or slow test (``tests.conftest.HEAVY_FILES``) is sent
    after those and before the rest, heaviest first: with ``--dist loadfile`` a heavy file
    collected late (tests/web/test_api_schemathesis.py) was the idle worker's tail."""
    from pathlib import Path

    from tests.conftest import HEAVY_FILES

    root = Path(__file__).resolve().parent.parent
    assert HEAVY_FILES and all((root / f).is_file() for f in HEAVY_FILES), HEAVY_FILES
    heavy, heavier = HEAVY_FILES[1], HEAVY_FILES[0]
    items = [
        Item("tests/a.py::t1"),
        Item(f"{heavy}::t1"),
        Item("tests/b.py::t1", "slow"),
        Item(f"{heavier}::t1"),
        Item(f"{heavier}::t2"),
        Item("tests/c.py::t1", "browser"),
    ]
    pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    assert [i.nodeid for i in items] == [
        "tests/c.py::t1",
        "tests/b.py::t1",
        f"{heavier}::t1",
        f"{heavier}::t2",
        f"{heavy}::t1",
        "tests/a.py::t1",
    ]
