"""Crash hunting (issue 17): the whole browser cycle (tests.reviews.browser_cycle:
a call created, opened, applied to, closed, reviewed, calibrated, allocated,
scheduled, released, published, its report drawn) run 5 times in a row on the
production split: ``opencall serve`` and ``opencall worker`` as separate processes,
each with faulthandler on (opencall.diagnostics). After each cycle both processes
must still be alive, neither may have written a fatal-error dump, a traceback or an
"unhandled error" line during it, and the cycle must have run to its end; when the
processes are stopped after the last cycle, each must end cleanly. A process killed
by a signal (a segmentation fault is -11) fails the test with its dump.

OPENCALL_CYCLE_REPEAT sets the number of cycles (5 by default). Each cycle is its own
test (named in tests/conftest.py's SPREAD: under ``make unit`` the two xdist workers
run them side by side). The cycles of one test process run one after the other on
one pair of long-lived processes, as in production (a web and a worker that serve
many calls, their memory and caches growing from one cycle to the next: what a crash
hunt should exercise), each cycle on a call and accounts of its own
(:class:`tests.reviews.browser_cycle.Cast`, added to the database before the cycle;
cycle 0 walks the starting world's own), so that no cycle sees another's proposals,
reviewers or mails. Cycle 0 is also the browser journey of a whole small call (with
OPENCALL_SCREENSHOTS=1 its screenshots go to tests/artifacts/cycle-*.png)."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from opencall.db import make_engine, make_sessionmaker
from tests.conftest import DemoWorlds
from tests.crowd.live import port_taken, wait_until_serving
from tests.reviews.browser_cycle import Cast, add_cast, shared_world, whole_small_call
from tests.web import test_browser as tb
from tests.web.test_browser import CHROMIUM, Shots, free_port

CYCLES = int(os.environ.get("OPENCALL_CYCLE_REPEAT", "5"))
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    # about a minute per cycle on an idle machine (the suite's default is 300 s a test)
    pytest.mark.timeout(360),
    pytest.mark.filterwarnings("ignore"),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"
    ),
]

browser = tb.browser
ROOT = Path(__file__).resolve().parents[2]
OPENCALL = Path(sys.executable).with_name("opencall")
BAD = re.compile(r"Fatal Python error|Segmentation fault|Traceback|unhandled error|Error in thread")


class SplitServer:
    """A fresh world served by two processes: the web (``opencall serve``, jobs never
    inline) and one worker (``opencall worker``); stderr of each kept in a file."""

    def __init__(self, tmp: Path, world: Path) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        self.tmp = tmp
        self.url = f"sqlite:///{tmp / 'cycle.sqlite3'}"
        # a copy of the world of build_world (built once: the same for every cycle)
        with (
            closing(sqlite3.connect(world)) as src,
            closing(sqlite3.connect(tmp / "cycle.sqlite3")) as dst,
        ):
            src.backup(dst)
        self.mail_dir = tmp / "mail"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.errs: dict[str, Path] = {}
        self._use_port(free_port())

    def _use_port(self, port: int) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{self.port}"
        tmp = self.tmp
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "OPENCALL_DATABASE_URL": self.url,
            "OPENCALL_SECRET_KEY": "one-secret-for-both-processes",
            "OPENCALL_BASE_URL": self.base,
            "OPENCALL_INLINE_JOBS": "false",
            "OPENCALL_MAIL_BACKEND": "file",
            "OPENCALL_MAIL_DIR": str(self.mail_dir),
            "OPENCALL_UPLOAD_DIR": str(tmp / "uploads"),
            "PYTHONFAULTHANDLER": "1",  # from the interpreter's first line on
            # a job's page asks every 0.25 s instead of 2 s: the six jobs' pages stop
            # waiting for a job that has already ended (the worker polls every 0.3 s)
            "OPENCALL_JOB_POLL_MS": "250",
        }

    def _start(self, name: str, args: list[str]) -> None:
        err = self.tmp / f"{name}.stderr"
        self.errs[name] = err
        self.procs[name] = subprocess.Popen(
            [str(OPENCALL), *args],
            cwd=self.tmp,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=err.open("wb"),
        )

    def __enter__(self) -> SplitServer:
        try:
            self._start_both()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start_both(self) -> None:
        for _attempt in range(4):
            # both at once: the worker's start (importing the app) need not wait for the
            # web's; both know the web's address (the links of the mails), so a port
            # taken meanwhile restarts the worker too, with the new address
            self._start("worker", ["worker", "--poll", "0.3"])
            if self._start_web():
                break
            self._stop("worker")
            self._use_port(free_port())  # the port was taken between choosing and binding
        else:
            raise AssertionError(f"no free port could be bound:\n{self.log('web')}")

    def _stop(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _start_web(self) -> bool:
        """True once the web process answers; False when its port was taken meanwhile."""
        self._start("web", ["serve", "--host", "127.0.0.1", "--port", str(self.port)])
        # plain connects until the port accepts, then /healthz (tests.crowd.live): a new
        # httpx.get for each poll cost 24 ms of CPU, hundreds of polls on a loaded machine
        if wait_until_serving(self.procs["web"], self.base, self.port, timeout=120):
            return True
        assert port_taken(self.log("web")), f"the web process ended:\n{self.log('web')}"
        return False

    def __exit__(self, *exc: object) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def log(self, name: str, since: int = 0) -> str:
        """What ``name`` wrote to stderr (from byte ``since`` on: see :meth:`log_sizes`)."""
        if name not in self.errs:
            return ""
        with self.errs[name].open("rb") as f:
            f.seek(since)
            return f.read().decode(errors="replace")

    def log_sizes(self) -> dict[str, int]:
        return {name: err.stat().st_size for name, err in self.errs.items()}

    def mail_link(self, to: str, prefix: str) -> str:
        """The link of the newest mail to ``to`` (the worker sends it: wait for it)."""
        deadline = time.monotonic() + 60
        while True:
            for path in sorted(self.mail_dir.glob("*.eml"), reverse=True):
                text = path.read_text()
                if f"To: {to}" in text:
                    m = re.search(re.escape(self.base) + r"(" + re.escape(prefix) + r"\S+)", text)
                    if m:
                        return m.group(1)
            assert time.monotonic() < deadline, f"no mail to {to} with a {prefix} link"
            time.sleep(0.3)

    @contextmanager
    def db(self) -> Iterator[Session]:
        engine = make_engine(self.url)
        try:
            with make_sessionmaker(engine)() as s:
                yield s
        finally:
            engine.dispose()


def _no_shot(page: Any, name: str) -> None:
    """No screenshots in the cycles after the first (cycle 0 takes them, with
    OPENCALL_SCREENSHOTS=1)."""


class PatientBrowser:
    """The browser, whose pages wait up to 2 minutes for an answer: a slow answer on a
    loaded test machine is not what this test looks for (a dead process is)."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser

    def new_context(self, **kw: Any) -> Any:
        ctx = self.browser.new_context(**kw)
        ctx.set_default_timeout(120_000)
        ctx.set_default_navigation_timeout(120_000)
        return ctx


@pytest.fixture(scope="module")
def world(demo_worlds: DemoWorlds) -> Path:
    """The starting world (build_world), built once a run (shared by the xdist
    workers); each test process's pair serves a copy of it."""
    return shared_world(demo_worlds)


@pytest.fixture(scope="module")
def pair(world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SplitServer]:
    """One web and one worker process for all the cycles this test process runs (a copy
    of the starting world); stopped after the last, when each must end cleanly."""
    with SplitServer(tmp_path_factory.mktemp("cycles"), world) as srv:
        yield srv
    for name, proc in srv.procs.items():
        # 0, or uvicorn's own re-raise of our SIGTERM after a clean shutdown
        assert proc.returncode in (0, -signal.SIGTERM), (
            f"{name} ended with {proc.returncode} (-N: signal N):\n{srv.log(name)}"
        )
        found = BAD.search(srv.log(name))
        assert found is None, f"{name} wrote {found.group(0)!r}:\n{srv.log(name)}"


@pytest.mark.parametrize("n", range(CYCLES))
def test_whole_cycle_repeatedly_without_a_crash(browser: Any, pair: SplitServer, n: int) -> None:
    srv = pair
    for name, proc in srv.procs.items():
        code = proc.poll()
        assert code is None, f"before cycle {n}: the {name} process died ({code}):\n{srv.log(name)}"
    if n == 0:
        # the starting world's own call and people, as build_world made them (the cycle
        # tests.reviews.browser_cycle describes, with its screenshots when asked for)
        cast, shot = Cast(), Shots("cycle")
    else:
        cast, shot = Cast(f"c{n}"), _no_shot
        with srv.db() as s:
            add_cast(s, cast)
            s.commit()
    since = srv.log_sizes()
    cut_short = ""
    try:
        whole_small_call(PatientBrowser(browser), srv, shot, cast)
    except Exception as exc:  # noqa: BLE001 - reported with the processes' logs below
        cut_short = f"{type(exc).__name__}: {exc}"
    for name, proc in srv.procs.items():
        code = proc.poll()
        assert code is None, f"cycle {n}: the {name} process died ({code}):\n{srv.log(name)}"
    for name in srv.procs:
        log = srv.log(name, since[name])
        found = BAD.search(log)
        assert found is None, f"cycle {n}: {name} wrote {found.group(0)!r}:\n{log}"
    # every cycle runs to the end: the cycles once cut short were the test's own race
    # (a text save not waited for: tests.web.test_browser.save_text)
    assert not cut_short, (
        f"cycle {n} was cut short: {cut_short}\n"
        f"web:\n{srv.log('web', since['web'])[-3000:]}\n"
        f"worker:\n{srv.log('worker', since['worker'])[-3000:]}"
    )


def test_faulthandler_dumps_a_native_crash(tmp_path: Path) -> None:
    """What the next segmentation fault will leave: every thread's Python stack on
    stderr (the web and worker processes call enable_crash_reports at start)."""
    code = (
        "import ctypes, threading\n"
        "from opencall.diagnostics import enable_crash_reports\n"
        "enable_crash_reports()\n"
        "def crash_here():\n"
        "    ctypes.string_at(0)\n"
        "crash_here()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONFAULTHANDLER"}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60)
    assert r.returncode == -signal.SIGSEGV
    err = r.stderr.decode(errors="replace")
    assert "Fatal Python error: Segmentation fault" in err and "crash_here" in err
