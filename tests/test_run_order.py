"""The order tests/conftest.py gives the collected tests (``make test`` sends the files
to the workers in it): the files with a browser test first, then those with a slow
one, then the rest; each file's tests kept together in their own order."""

from __future__ import annotations

from typing import Any

from tests.conftest import pytest_collection_modifyitems


class Options:
    """The options pytest_collection_modifyitems reads (``--reverse-in-files``)."""

    def __init__(self, reverse: bool = False) -> None:
        self.reverse = reverse

    def getoption(self, name: str, default: Any = None) -> Any:
        assert name == "--reverse-in-files", name
        return self.reverse


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
    pytest_collection_modifyitems(Options(), items)  # type: ignore[arg-type]
    assert [i.nodeid for i in items] == [
        "tests/c.py::t1",
        "tests/c.py::t2",
        "tests/e.py::t1",
        "tests/b.py::t1",
        "tests/b.py::t2",
        "tests/d.py::t1",
        "tests/a.py::t1",
    ]


def test_reverse_in_files_turns_each_file_round_and_keeps_the_files_order() -> None:
    """``--reverse-in-files`` (flake21): each file's tests run last to first, to find a
    test that passes only after another of its file; the files keep the order above."""
    items = [
        Item("tests/a.py::t1"),
        Item("tests/a.py::t2"),
        Item("tests/a.py::t3"),
        Item("tests/b.py::t1", "browser"),
        Item("tests/b.py::t2"),
    ]
    pytest_collection_modifyitems(Options(reverse=True), items)  # type: ignore[arg-type]
    assert [i.nodeid for i in items] == [
        "tests/b.py::t2",
        "tests/b.py::t1",
        "tests/a.py::t3",
        "tests/a.py::t2",
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
    pytest_collection_modifyitems(Options(), items)  # type: ignore[arg-type]
    assert [i.nodeid for i in items] == [
        "tests/c.py::t1",
        "tests/b.py::t1",
        f"{heavier}::t1",
        f"{heavier}::t2",
        f"{heavy}::t1",
        "tests/a.py::t1",
    ]


class Config:
    """What xdist's load-file scheduler reads of the run's configuration (``-n 2``)."""

    def getvalue(self, name: str) -> Any:
        return {"dist": "loadfile", "tx": ["2*popen"]}[name]


def test_each_stage_of_the_leak_oracle_goes_alone_to_a_free_worker() -> None:
    """The leak oracle's walk is one test per stage of the cycle and backend, each sent
    alone (``tests.conftest.SPREAD``): whole, its PostgreSQL case took 488 s of wall under
    load against pytest-timeout's 300 s, the last test of its worker."""
    from tests.conftest import pytest_xdist_make_scheduler
    from tests.security.test_leak_oracle import STAGES

    scheduler = pytest_xdist_make_scheduler(Config(), None)  # type: ignore[arg-type]
    test = "tests/security/test_leak_oracle.py::test_no_route_shows_a_persona_what_it_may_not_see"
    ids = [f"{test}[{engine}-{stage}]" for engine in ("sqlite", "postgresql") for stage in STAGES]
    assert len({scheduler._split_scope(i) for i in ids}) == len(ids) == 10
    # the other files' tests stay together
    other = ["tests/a.py::t1[sqlite]", "tests/a.py::t2[postgresql]"]
    assert {scheduler._split_scope(i) for i in other} == {"tests/a.py"}


def test_the_random_facilities_go_one_by_one() -> None:
    """Each seed of the random facilities (62 s of CPU in all in the last whole run, no
    module fixture) is sent alone, so that the two workers share the file."""
    from tests.conftest import pytest_xdist_make_scheduler

    scheduler = pytest_xdist_make_scheduler(Config(), None)  # type: ignore[arg-type]
    test = "tests/api/test_random_facilities.py::test_a_random_facility_through_a_whole_cycle"
    ids = [f"{test}[{engine}-seed_{n}]" for engine in ("sqlite", "postgresql") for n in range(3)]
    assert len({scheduler._split_scope(i) for i in ids}) == 6
