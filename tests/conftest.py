"""The hooks of the test run: options (``--clock-ahead``, ``--cpu-report``), the order
and spread of the tests over pytest-xdist's workers, the CPU report.

The fixtures (database, web, worlds) and the test process's patches live in
:mod:`tests.fixtures`, which :func:`pytest_configure` registers as a plugin in every
process that runs tests, but not in xdist's controller (``make test``'s ``-n 2``): the
controller collects and runs nothing, and importing them cost it about 1.9 s of CPU
(the app, SQLAlchemy, FastAPI; docs/testing.md, "speed14b") before the workers started.
Their names stay importable from here (``from tests.conftest import DemoWorlds``)."""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# ----------------------------------------------------------------------------- the clock
#
# No test may depend on the real date being before a fixed one (a call of 2028 that the
# API opens "now"). A test whose data are dated absolutely runs on a pinned clock
# (``pinned_clock``: time-machine moves datetime.now and time.time there, and lets it
# tick). ``pytest --clock-ahead=DAYS`` runs the session with the real clock moved that
# far ahead, to find the tests that would fail once their dates have passed;
# ``pytest --clock-at=2027-12-31T23:59:50`` starts it at that instant (UTC), to find the
# tests that fail when a run crosses a midnight, a month's or a year's end.


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-ahead",
        type=float,
        default=0.0,
        help="run with the clock moved this many days ahead (tests on a pinned clock "
        "are not moved): finds tests that depend on today's date",
    )
    parser.addoption(
        "--clock-at",
        default="",
        help="run with the clock set to this instant (ISO 8601, UTC unless an offset is "
        "given) before the test modules are imported; it ticks on from there (tests on a "
        "pinned clock are not moved): finds the tests that fail when a run crosses a "
        "midnight, a month's or a year's end, a leap day",
    )
    parser.addoption(
        "--clock-each-test",
        action="store_true",
        help="with --clock-at: set the clock back to that instant at each test's setup, "
        "so that every test crosses it",
    )
    parser.addoption(
        "--reverse-in-files",
        action="store_true",
        help="run each file's tests in the reverse of their order (the files keep theirs): "
        "finds a test that passes only after another of its file has run",
    )
    _add_cpu_report_option(parser)


_AHEAD: list[Any] = []
#: ``--clock-at``'s instant, where every test's setup starts again
_AT: list[dt.datetime] = []

#: the names other test modules import from here, defined in :mod:`tests.fixtures`
_FIXTURES_NAMES = frozenset(
    {
        "BACKENDS",
        "DEMO_ANCHOR",
        "DemoWorlds",
        "KEEP",
        "PG_URL",
        "PRODUCTION_HASHER",
        "RUN_ONCE",
        "SmallWorlds",
        "_truncate_pg",
        "pg_sequence_positions",
        "reset_pg_schema",
    }
)


def __getattr__(name: str) -> Any:
    # only these names: pytest asks a conftest for others (``pytest_plugins``,
    # ``collect_ignore``), which must not import the fixtures in the controller
    if name in _FIXTURES_NAMES:
        return getattr(importlib.import_module("tests.fixtures"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def xdist_controller(config: pytest.Config) -> bool:
    """Whether this process is pytest-xdist's controller (``-n N``, N > 0): it starts the
    workers and gathers their reports, and collects and runs no test itself."""
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    """The fixtures (:mod:`tests.fixtures`) where tests run; ``--clock-ahead``: the clock
    moves before the test modules are imported (a module's own ``now`` is taken on the
    moved clock, as it would be on that date); and ``--cpu-report``."""
    if not xdist_controller(config):
        config.pluginmanager.import_plugin("tests.fixtures")
    _configure_cpu_report(config)
    days = float(config.getoption("--clock-ahead", 0.0) or 0.0)
    at = str(config.getoption("--clock-at", "") or "")
    if days or at:
        import time_machine

        when = dt.datetime.fromisoformat(at) if at else dt.datetime.now(dt.UTC)
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        if at and config.getoption("--clock-each-test", False):
            _AT.append(when + dt.timedelta(days=days))
        _AHEAD.append(time_machine.travel(when + dt.timedelta(days=days), tick=True))
        _AHEAD[-1].start()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """``--clock-each-test``: each test starts at ``--clock-at``'s instant (its module
    and session fixtures were made earlier on the clock, as in a run that crosses it)."""
    if _AT:
        import time_machine

        while _AHEAD:
            _AHEAD.pop().stop()
        _AHEAD.append(time_machine.travel(_AT[0], tick=True))
        _AHEAD[-1].start()


def pytest_unconfigure(config: pytest.Config) -> None:
    while _AHEAD:
        _AHEAD.pop().stop()


@pytest.fixture
def pinned_clock() -> Iterator[dt.datetime]:
    """The clock at :data:`tests.factories.PINNED_NOW` (ticking on from there) for the whole test,
    whatever the real date: for tests whose data are dated absolutely."""
    import time_machine

    # imported here, not at the top: tests.factories hashes its password when imported,
    # which must come after the cheap test hasher below is in place (at the top it made
    # every factory user's hash a production-cost one: each sign-in verified at full
    # cost and then rehashed)
    from tests.factories import PINNED_NOW

    with time_machine.travel(PINNED_NOW, tick=True):
        yield PINNED_NOW


# ----------------------------------------------------------------------------- scheduling
#
# `make unit` runs `pytest -n 2 --dist loadfile --no-loadscope-reorder`: a file's tests
# on one worker (its module fixtures, demo worlds and browser built once), except the
# tests named in SPREAD, each of which goes alone to whichever worker is free (their
# file's module fixtures are then built once on each worker). The files with a test
# marked `slow` or `browser` are sent first, so that a long one does not start last
# while the other worker has nothing left to do (xdist orders the files by their number
# of tests, which put the longest file near the end). pytest-xdist's own
# `--dist loadgroup` is not used: with pytest 9 its group suffix on the node id has no
# effect (it sets ``item._nodeid``, which pytest 9 no longer reads).
SPREAD = (
    "tests/diagnostics/test_cycle_repeat.py::test_whole_cycle_repeatedly_without_a_crash[",
    # one stage of the cycle a test (speed18): whole, a backend's walk took 488 s of wall
    "tests/security/test_leak_oracle.py::test_no_route_shows_a_persona_what_it_may_not_see[",
    # a seed a test, with no module fixture to build twice (speed18): 62 s of CPU in all
    "tests/api/test_random_facilities.py::test_a_random_facility_through_a_whole_cycle[",
)


@pytest.hookimpl(optionalhook=True)  # a run with -p no:xdist has no such hook
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class LoadFileSpreading(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(SPREAD):
                return nodeid
            return super()._split_scope(nodeid)  # type: ignore[no-any-return]

    return LoadFileSpreading(config, log)


def pytest_collection_finish(session: pytest.Session) -> None:
    """What is alive once the tests are collected (modules, the app's classes and
    mappers, the test items: about 260,000 objects) lives to the end of the process: it
    is moved out of the garbage collector's generations (``gc.freeze``), so that each
    full collection (opencall.diagnostics' collector thread, every few seconds of a
    busy test process) no longer traverses it again. Cyclic garbage is collected first."""
    gc.collect()
    gc.freeze()


#: The heaviest files with no browser or slow test, heaviest first (CPU s of both backends'
#: cases, docs/testing.md: the whole runs' ``--cpu-report`` rankings and speed16/speed17b).
#: ``make test`` sends the files whole (``--dist loadfile``) in the order below, so one of
#: these collected late (tests/web sorts last) would be a worker's tail while the other
#: worker waits; sent after the browser and slow files, they start while both are busy.
HEAVY_FILES = (
    "tests/test_demo.py",  # 45 (the scale-1 world of `make run`)
    "tests/web/test_api_schemathesis.py",  # 40
    "tests/api/test_random_facilities.py",  # 37
    "tests/api/test_operator_journey.py",  # 23
    "tests/api/test_cryo_em_journey.py",  # 17
    "tests/proposals/test_pdf_hygiene.py",  # 17
    "tests/api/test_sequencer_network_journey.py",  # 17
    "tests/api/test_payload_campaign_journey.py",  # 16
    "tests/security/test_spread_attacker.py",  # 15
    "tests/security/test_staff_own_proposal_hidden.py",  # 14
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def files(marker: str) -> set[str]:
        return {item.nodeid.split("::", 1)[0] for item in items if item.get_closest_marker(marker)}

    browser, slow = files("browser"), files("slow")
    heavy = {f: i for i, f in enumerate(HEAVY_FILES)}
    # a stable sort: the heavy files first, those with a browser test before the others
    # (one after another, a worker's browser modules share one Chromium: see
    # tests.web.test_browser.ProcessChromium), then the heaviest of the rest, each file's
    # tests in their own order
    items.sort(
        key=lambda item: (
            item.nodeid.split("::", 1)[0] not in browser,
            item.nodeid.split("::", 1)[0] not in browser | slow,
            heavy.get(item.nodeid.split("::", 1)[0], len(heavy)),
        )
    )
    if config.getoption("--reverse-in-files", False):
        by_file: dict[str, list[pytest.Item]] = {}
        for item in items:
            by_file.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
        items[:] = [item for tests in by_file.values() for item in reversed(tests)]


_NEXT_TEST = pytest.StashKey["pytest.Item | None"]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Keeps the test that will run next in this process (None after the last) while the
    fixtures are torn down: :func:`next_test`."""
    item.config.stash[_NEXT_TEST] = nextitem
    try:
        return (yield)
    finally:
        del item.config.stash[_NEXT_TEST]


def next_test(config: pytest.Config) -> pytest.Item | None:
    """In a fixture's teardown: the test this process runs next (None: none, or not
    known), for a fixture that keeps something for it (the browser modules' Chromium)."""
    return config.stash.get(_NEXT_TEST, None)


def pytest_sessionfinish(session: pytest.Session) -> None:
    browser = sys.modules.get("tests.web.test_browser")
    if browser is not None:
        browser.CHROMIUM_OF_PROCESS.close()


# ----------------------------------------------------------------------------- CPU report
#
# `pytest --cpu-report PATH ...` writes the CPU (user + system seconds) each test took,
# by phase, and each file's sum, heaviest first: the process's own CPU (all its threads:
# the in-process servers included) and that of the child processes it waited for
# (``opencall serve``/``worker``, the CLI; not Chromium, which Playwright does not
# reap). Wall-clock durations on the shared 2-core machine measure its load more than
# the tests; this ranks them by what they cost. Under pytest-xdist each worker measures
# its tests and the controller writes the file. A module or session fixture's cost
# falls to the test that first needs it (its setup) or last (its teardown); what each
# process pays before its first test (imports, collection) is in no row.


def _add_cpu_report_option(parser: pytest.Parser) -> None:
    parser.addoption(
        "--cpu-report",
        metavar="PATH",
        default=None,
        help="write each test's and each file's CPU seconds (user + system), heaviest first",
    )


def _cpu_now() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # the report of a phase is made right after it, so the CPU since the previous
    # phase's report (or the test's start) is this phase's
    outcome = yield
    if not item.config.getoption("cpu_report"):
        return
    now = _cpu_now()
    start = item.stash.get(_CPU_MARK, None)
    if start is not None:
        outcome.get_result().user_properties.append((f"cpu_{call.when}", now - start))
    item.stash[_CPU_MARK] = now


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    if item.config.getoption("cpu_report"):
        item.stash[_CPU_MARK] = _cpu_now()
    yield


_CPU_MARK = pytest.StashKey[float]()


class _CpuReport:
    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.tests: dict[str, dict[str, float]] = {}
        self.ended: list[str] = []  # the running lines, kept for the final report
        self.start = time.monotonic()

    def pytest_sessionstart(self) -> None:
        self.start = time.monotonic()
        self.path.write_text(
            "# running: a test a line as it ends (CPU s, wall s since the start, worker, test)\n"
        )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == f"cpu_{report.when}":
                self.tests.setdefault(report.nodeid, {})[report.when] = float(value)
        if report.when == "teardown" and report.nodeid in self.tests:
            # appended at once, so that a run stopped before its end still tells where its
            # CPU went; the worker (xdist's controller puts it on the report) and the time
            # it ended show the run's end: whether one worker sat idle while the other ran
            node = getattr(report, "node", None)
            worker = node.gateway.id if node is not None else "-"
            ended = time.monotonic() - self.start
            cpu = sum(self.tests[report.nodeid].values())
            self.ended.append(f"{cpu:9.2f} {ended:8.1f} {worker:>4}  {report.nodeid}")
            with self.path.open("a") as f:
                f.write(self.ended[-1] + "\n")

    def pytest_sessionfinish(self) -> None:
        files: dict[str, float] = {}
        counts: dict[str, int] = {}
        for nodeid, phases in self.tests.items():
            f = nodeid.split("::", 1)[0]
            files[f] = files.get(f, 0.0) + sum(phases.values())
            counts[f] = counts.get(f, 0) + 1
        lines = [f"# {sum(files.values()):.1f} s of CPU in {len(self.tests)} tests", ""]
        lines += ["# file: CPU s, tests"]
        lines += [
            f"{cpu:9.2f} {counts[f]:5d}  {f}"
            for f, cpu in sorted(files.items(), key=lambda kv: -kv[1])
        ]
        lines += ["", "# test: CPU s (setup call teardown)"]
        ranked = sorted(self.tests.items(), key=lambda kv: -sum(kv[1].values()))
        lines += [
            f"{sum(p.values()):9.2f} ({p.get('setup', 0):.2f} {p.get('call', 0):.2f} "
            f"{p.get('teardown', 0):.2f})  {nodeid}"
            for nodeid, p in ranked
        ]
        lines += ["", "# as they ended: CPU s, wall s since the start, worker, test", *self.ended]
        self.path.write_text("\n".join(lines) + "\n")


def _configure_cpu_report(config: pytest.Config) -> None:
    path = config.getoption("cpu_report")
    if path and not hasattr(config, "workerinput"):  # the controller (or the one process)
        config.pluginmanager.register(_CpuReport(path), "cpu-report")
