"""A newcomer's path in a real browser (Debian's Chromium through Playwright):
register, verify the e-mail, sign in, create a FAST proposal with three targets
(one wrong, corrected after the error), invite a co-investigator who accepts,
upload a PDF, preview, submit, see it listed — in English and in Chinese.
With OPENCALL_SCREENSHOTS=1, screenshots of every step go to tests/artifacts/
(git-ignored); without it none is taken (see :class:`Shots`)."""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from opencall import migrate
from opencall.db import make_engine, make_sessionmaker, utcnow
from opencall.people.services import load_countries
from opencall.settings import Settings
from tests import factories as F
from tests.authz.test_matrix import pdf_bytes
from tests.web.threaded import bound_socket, wait_started

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
# the steps' screenshots, for a person to look at (no test reads them): taken only when
# asked for, each full-page shot costs the browser a layout of the whole page and a PNG
SCREENSHOTS = os.environ.get("OPENCALL_SCREENSHOTS", "") not in ("", "0")
# The features Playwright (1.65) turns off itself, with its own --disable-features. Chromium
# reads only the last --disable-features of its command line, so ours repeats them
# (test_the_browser_keeps_playwrights_switches fails when Playwright's list grows).
PLAYWRIGHT_DISABLED = (
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion",
)
# Chromium (156) draws its address bar's suggestion popups with WebUI, and every browser
# context (a window) preloads both of them in a renderer of their own: about 0.5 s of CPU
# a context, half of what a new context with its first page cost; no test has an address
# bar. docs/testing.md has the figures.
NO_OMNIBOX_POPUPS = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-features=" + ",".join(PLAYWRIGHT_DISABLED + NO_OMNIBOX_POPUPS),
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore"),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """uvicorn in a thread on a free 127.0.0.1 port, against ``url``."""

    def __init__(self, url: str, tmp: Path, **settings: Any) -> None:
        import uvicorn

        from opencall.app import create_app

        self.sock = bound_socket()  # handed to uvicorn (see tests.web.threaded)
        self.port = int(self.sock.getsockname()[1])
        self.base = f"http://127.0.0.1:{self.port}"
        self.settings = Settings(
            database_url=url,
            secret_key="browser-test",
            base_url=self.base,
            mail_backend="file",
            mail_dir=tmp / "mail",
            upload_dir=tmp / "uploads",
            inline_jobs=True,  # the browser tests follow the links of the mail a page sends
            # a live job's page asks every 0.25 s, not 2 s: the cycle's six job pages stop
            # waiting for a job that has already ended (the default is checked elsewhere)
            job_poll_ms=250,
            **settings,
        )
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_app(self.settings), host="127.0.0.1", port=self.port, log_level="warning"
            )
        )
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_started(self.server, self.thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


class Server(LiveServer):
    """A fresh SQLite world with one open FAST call, served live."""

    def __init__(self, tmp: Path, **settings: Any) -> None:
        url = f"sqlite:///{tmp / 'browser.sqlite3'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        with make_sessionmaker(engine)() as s:
            load_countries(s)
            call = F.fast_call(s)
            now = utcnow().replace(microsecond=0)
            call.opens_at, call.closes_at = now - dt.timedelta(days=5), now + dt.timedelta(days=20)
            s.commit()
            self.slug = call.slug
        engine.dispose()
        super().__init__(url, tmp, **settings)

    def mail_link(self, to: str, prefix: str) -> str:
        for path in sorted(self.settings.mail_dir.glob("*.eml"), reverse=True):
            text = path.read_text()
            if f"To: {to}" in text:
                m = re.search(re.escape(self.base) + r"(" + re.escape(prefix) + r"\S+)", text)
                if m:
                    return m.group(1)
        raise AssertionError(f"no mail to {to} with a {prefix} link")


class ProcessChromium:
    """One Chromium (and Playwright driver) for the browser modules that run one after
    another in a test process: launching one costs about 1 s of CPU and 4 s of wall on
    the loaded 2-core machine, and each of the eight browser modules launched its own.
    Launched when a module first asks for it (again if it was closed or crashed), and
    closed when the test that follows the module's last needs no browser (see
    :func:`browser`), so that it is never kept open while other tests run."""

    def __init__(self) -> None:
        self._playwright: Any = None
        self._manager: Any = None
        self.chromium: Any = None
        self.launches = 0  # (for the tests)

    def get(self) -> Any:
        if self.chromium is None or not self.chromium.is_connected():
            from playwright.sync_api import sync_playwright

            if self._playwright is None:
                self._manager = sync_playwright()
                self._playwright = self._manager.start()
            self.chromium = self._playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=ARGS
            )
            self.launches += 1
        return self.chromium

    def close(self) -> None:
        if self.chromium is not None:
            self.chromium.close()
            self.chromium = None
        if self._playwright is not None:
            self._manager.__exit__(None, None, None)
            self._playwright = self._manager = None


CHROMIUM_OF_PROCESS = ProcessChromium()


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The process's Chromium for this module (:class:`ProcessChromium`). What the module
    opened (its browser contexts, and so their pages) is closed at its end, as when each
    module had its own Chromium; the Chromium itself is closed too unless the next test
    of the process asks for it (``tests.conftest.next_test``)."""
    from tests.conftest import next_test

    b = CHROMIUM_OF_PROCESS.get()
    before = list(b.contexts)
    yield b
    for ctx in b.contexts:
        if all(ctx is not old for old in before):
            ctx.close()
    following = next_test(request.config)
    if following is None or "browser" not in getattr(following, "fixturenames", ()):
        CHROMIUM_OF_PROCESS.close()


class Shots:
    """``shot(page, name)``: a full-page screenshot in tests/artifacts/ when
    OPENCALL_SCREENSHOTS is set, else nothing."""

    def __init__(self, lang: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / ".gitignore").write_text("*\n")
        self.lang = lang
        self.n = 0

    def __call__(self, page: Any, name: str) -> None:
        self.n += 1
        if not SCREENSHOTS:
            return
        page.screenshot(
            path=str(ARTIFACTS / f"{self.lang}-{self.n:02d}-{name}.png"), full_page=True
        )


def save_text(page: Any) -> None:
    """Press Save on the editor's text and wait until the server has stored it.

    safe-save.js saves in the background (a fetch, no navigation): waiting for
    "networkidle" after the click can return before the browser has even sent the save,
    and a page loaded next may then be drawn before the save is stored, so its forms carry
    the old version and the next form sent is refused as stale. The save's own answer and
    the status line that reports it are what to wait for."""
    with page.expect_response(
        lambda r: (
            r.request.method == "POST"
            and re.search(r"/proposals/\d+$", r.url.split("?")[0]) is not None
        )
    ) as answer:
        page.click("#text-form button")
    assert answer.value.ok, (answer.value.status, answer.value.text())
    assert answer.value.json().get("ok"), answer.value.text()
    # "Saved hh:mm" in every language: the page took the new version
    expect(page.locator("#save-status")).to_have_text(re.compile(r"\d{1,2}:\d{2}"))


def register_and_verify(
    srv: Server, page: Any, shot: Shots, email: str, name: str, lang: str
) -> None:
    page.goto(srv.base + "/register")
    page.fill("#f-name", name)
    page.fill("#f-email", email)
    page.fill("#f-password", "a long password 42")
    page.fill("#f-password2", "a long password 42")
    page.fill("#f-institution", "Kenya Radio Astronomy Institute")
    page.select_option("#f-country_iso3", "KEN")
    page.select_option("#f-language", lang)
    shot(page, f"register-{name.split()[0].lower()}")
    page.click('form[action="/register"] button')
    page.wait_for_url(re.compile(r"/login\?m=registered"))
    page.goto(srv.base + srv.mail_link(email, "/verify/"))
    page.click("main form button")
    page.wait_for_url(re.compile(r"/login\?m=verified"))
    shot(page, "verified")
    page.fill("#f-email", email)
    page.fill("#f-password", "a long password 42")
    page.click('form[action="/login"] button')
    page.wait_for_url(re.compile(r"/dashboard"))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_newcomer_path(browser: Any, tmp_path: Path, lang: str) -> None:
    from opencall.web.i18n import Translator

    t = Translator(lang)
    shot = Shots(lang)
    with Server(tmp_path) as srv:
        ctx = browser.new_context(locale="en-GB")
        page = ctx.new_page()
        page.goto(srv.base + "/")
        if lang != "en":
            page.click(f"a[hreflang={lang}]")  # the language switch
        # the switched page, not the one still shown while it loads
        expect(page.locator("html")).to_have_attribute("lang", re.compile(rf"^{lang}"))
        shot(page, "home")

        pi_email, coi_email = f"pi-{lang}@example.org", f"coi-{lang}@example.org"
        register_and_verify(srv, page, shot, pi_email, "Wanjiru Kamau", lang)
        shot(page, "dashboard-empty")

        page.goto(f"{srv.base}/calls/{srv.slug}")
        shot(page, "call")
        page.click("a.button")
        page.fill("#f-title", "Pulsar timing from Nairobi")
        page.click("main form button")
        page.wait_for_url(re.compile(r"/proposals/\d+"))
        editor_url = page.url.split("?")[0]
        page.fill("#f-abstract", "We will time millisecond pulsars.")
        page.fill(
            "#f-science_case", "Millisecond pulsars are precise clocks for gravitational waves."
        )
        save_text(page)
        page.goto(editor_url)
        assert page.input_value("#f-abstract") == "We will time millisecond pulsars."
        shot(page, "editor-text-saved")

        form = page.locator('form[action$="/requests"]')
        form.locator("select[name=receiver]").select_option("19-beam")
        form.locator("select[name=mode]").select_option("Tracking")
        targets = [
            ("Crab pulsar", "05:34:31.9", "+22:00:52", "2"),
            ("PSR J1713+0747", "25:13:49.5", "+07:47:37", "3"),  # RA hours above 24: wrong
            ("M31", "10.6847", "41.2690", "1.5"),
        ]
        for i, (name, ra, dec, hours) in enumerate(targets):
            form.locator(f"input[name=targets-{i}-name]").fill(name)
            form.locator(f"input[name=targets-{i}-ra_deg]").fill(ra)
            form.locator(f"input[name=targets-{i}-dec_deg]").fill(dec)
            form.locator(f"input[name=targets-{i}-hours]").fill(hours)
        form.locator("button").click()
        error = page.locator("#err-targets-1-ra_deg")
        error.wait_for()
        assert t.message("right ascension hours must be below 24") in error.inner_text()
        shot(page, "target-error")
        form = page.locator('form[action$="/requests"]')
        form.locator("input[name=targets-1-ra_deg]").fill("17:13:49.5")
        form.locator("button").click()
        page.wait_for_url(re.compile(r"m=request_saved"))
        assert page.locator("#requests").inner_text().count("M31") == 0  # saved: shown in inputs
        assert page.locator('input[value="PSR J1713+0747"]').count() == 1
        shot(page, "targets-saved")

        team = page.locator('form[action$="/team"]')
        team.locator("#f-email").fill(coi_email)
        team.locator("#f-name").fill("Amina Odhiambo")
        team.locator("#f-institution").fill("University of Nairobi")
        team.locator("#f-country_iso3").select_option("KEN")
        team.locator("button").click()
        page.wait_for_url(re.compile(r"m=invited"))
        shot(page, "invited")

        coi_ctx = browser.new_context(locale="en-GB")
        coi = coi_ctx.new_page()
        coi.goto(srv.base + f"/lang/{lang}")
        register_and_verify(srv, coi, shot, coi_email, "Amina Odhiambo", lang)
        coi.click('main a[href^="/invitations/"]')
        coi.wait_for_url(re.compile(r"/invitations/"))
        shot(coi, "invitation")
        coi.click('button[value="accept"]')
        coi.wait_for_url(re.compile(r"m=accepted"))
        assert "Amina Odhiambo" in coi.locator("#team").inner_text()
        shot(coi, "coi-joined")
        coi_ctx.close()

        pdf = tmp_path / "justification.pdf"
        pdf.write_bytes(pdf_bytes(2))
        page.goto(editor_url)
        page.set_input_files("#f-pdf", str(pdf))
        page.click('form[action$="/attachments"] button')
        page.wait_for_url(re.compile(r"m=uploaded"))
        assert "justification.pdf" in page.locator("#attachments").inner_text()
        shot(page, "pdf-uploaded")

        page.click('a[href$="/preview"]')
        page.wait_for_url(re.compile(r"/preview"))
        preview = page.locator("article").inner_text()
        assert "Pulsar timing from Nairobi" in preview and "PSR J1713+0747" in preview
        for secret in ("Wanjiru", "Kamau", "Amina", "Nairobi University", "Kenya Radio"):
            assert secret not in preview  # dual-anonymous: no names or institutions
        shot(page, "preview")

        page.goto(editor_url)
        page.click('form[action$="/submit"] button')
        page.wait_for_url(re.compile(r"/dashboard\?m=submitted"))
        row = page.locator("tbody tr", has_text="Pulsar timing from Nairobi")
        assert t.gettext("submitted") in row.inner_text()
        shot(page, "submitted-listed")
        ctx.close()


def test_main_pages_are_light(browser: Any, tmp_path: Path) -> None:
    """Every main page, with an empty cache, transfers under 60 KB in at most four
    requests (the page, site.css, time.js and its own script: each a round trip of a
    second on a slow link abroad); visited again, it asks the network for the page alone
    (its style and scripts kept as immutable, trialapp15)."""
    from tests.web.page_weight import (
        LIMIT_BYTES,
        MAX_REQUESTS,
        main_pages,
        markdown,
        measure,
        small_world,
    )

    url = small_world(tmp_path)
    public, private, login = main_pages(url)
    with LiveServer(url, tmp_path) as srv:
        weights = measure(browser, srv.base, public) + measure(browser, srv.base, private, login)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "pages.md").write_text(markdown(weights) + "\n")
    heavy = [w for w in weights if w.bytes >= LIMIT_BYTES]
    assert not heavy, markdown(heavy)
    chatty = [w for w in weights if w.requests > MAX_REQUESTS or w.repeat_requests != 1]
    assert not chatty, markdown(chatty)
    assert len(weights) == 11


def _browser_processes() -> list[list[str]]:
    """The command lines of the Chromium browser processes this test process started
    (through Playwright's driver), without their renderers and helpers."""
    import psutil

    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            cmd = proc.cmdline()
        except psutil.Error:
            continue
        if "--remote-debugging-pipe" in cmd and not any(a.startswith("--type=") for a in cmd):
            found.append(cmd)
    return found


def test_the_browser_keeps_playwrights_switches(browser: Any) -> None:
    """ARGS' --disable-features, the last of the command line (the only one Chromium
    reads), keeps every feature an earlier one (Playwright's own) turns off, and adds
    the address bar's popups: no context preloads them."""
    commands = _browser_processes()
    assert commands, "no Chromium browser process found"
    for cmd in commands:
        lists = [a.split("=", 1)[1].split(",") for a in cmd if a.startswith("--disable-features=")]
        assert len(lists) >= 2, lists  # Playwright's, then ours
        for earlier in lists[:-1]:
            assert set(earlier) <= set(lists[-1]), set(earlier) - set(lists[-1])
        assert set(NO_OMNIBOX_POPUPS) <= set(lists[-1])
    ctx = browser.new_context()
    ctx.new_page().goto("about:blank")
    cdp = browser.new_browser_cdp_session()
    try:
        targets = [t["url"] for t in cdp.send("Target.getTargets")["targetInfos"]]
    finally:
        cdp.detach()
        ctx.close()
    assert targets and not [u for u in targets if "omnibox" in u], targets
