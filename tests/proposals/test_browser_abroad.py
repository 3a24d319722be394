"""An applicant abroad, in a real browser (branch trialapp12): her session ends while the
editor is open and she presses Save (the text is not lost: she is asked to sign in, in
her language, and sends it after); the deadline's time in her browser's own zone states
its UTC offset, in every language; a PDF over the size limit is refused before it is
sent, and the form says the limit; a save whose answer was lost or never comes leaves
the next save free to go, and the page says it may have been stored (branch app12b).
The editor in each of these states passes axe (tests.a11y)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select, update

from opencall.db import make_engine, make_sessionmaker
from opencall.people.models import UserSession
from opencall.proposals.models import Proposal
from opencall.web.i18n import Translator
from tests.a11y.test_axe import Checked
from tests.web import test_browser as tb

pytestmark = tb.pytestmark
browser = tb.browser  # the module's Chromium (fixture)

PASSWORD = "a long password 42"
# 250 kbit/s down, 128 kbit/s up, 800 ms of latency (Chrome DevTools network emulation)
SLOW = {"offline": False, "latency": 800, "downloadThroughput": 31_250, "uploadThroughput": 16_000}
NO_ANSWER = (
    "No answer from the server: your text may or may not be saved; it is kept here and will be "
    "sent again."
)


def _accessible(page: Any, state: str) -> None:
    """No critical or serious axe violation in ``page`` as it is now."""
    check = Checked()
    check(page, state)
    assert not check.problems, "\n".join(check.problems)


def _db(srv: tb.Server, work: Any) -> Any:
    engine = make_engine(srv.settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            out = work(s)
            s.commit()
            return out
    finally:
        engine.dispose()


def _editor(srv: tb.Server, page: Any, lang: str) -> str:
    tb.register_and_verify(srv, page, lambda *_: None, "pi@example.org", "Wanjiru Kamau", lang)
    page.goto(f"{srv.base}/calls/{srv.slug}/apply")
    page.fill("#f-title", "Pulsar timing from Nairobi")
    page.click("main form button")
    page.wait_for_url(re.compile(r"/proposals/\d+"))
    return str(page.url.split("?")[0])


def test_a_save_after_the_session_ended_keeps_the_text(browser: Any, tmp_path: Path) -> None:
    t = Translator("fr")
    with tb.Server(tmp_path) as srv:
        ctx = browser.new_context(locale="fr-FR")
        page = ctx.new_page()
        editor = _editor(srv, page, "fr")
        text = ("Millisecond pulsars are precise clocks. " * 40).strip()
        page.fill("#f-science_case", text)
        cdp = ctx.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW)
        # the session ends on the server (its lifetime ran out) while the form is open
        past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        _db(srv, lambda s: s.execute(update(UserSession).values(expires_at=past)))
        page.click("#text-form button")
        # she is told, in French, that the session ended and that her text is kept
        page.get_by_text(
            t.gettext(
                "Your session expired before the form was sent. Sign in again: what you typed "
                "is kept, and you can send it right after."
            )
        ).wait_for()
        page.fill("#f-email", "pi@example.org")
        page.fill("#f-password", PASSWORD)
        page.click('form[action="/login"] button')
        page.click("main form button")  # "Send again"
        page.wait_for_url(re.compile(re.escape(editor)))
        assert page.input_value("#f-science_case") == text
        assert page.locator("#draft-restored").count() == 0  # stored: the draft is gone
        stored = _db(srv, lambda s: s.scalar(select(Proposal.science_case)))
        assert stored == text
        ctx.close()


def test_the_local_deadline_states_its_offset(browser: Any, tmp_path: Path) -> None:
    """Signed out, the call page shows the deadline in UTC and, through time.js, in the
    browser's zone: that second time says its offset, or it reads as UTC's (Dhaka).
    Without JavaScript the call, its deadline in UTC and its rules are all there; no
    page asks another host for anything."""
    hosts: set[str] = set()
    with tb.Server(tmp_path) as srv:
        for lang in ("en", "fr", "es", "zh"):
            ctx = browser.new_context(locale=lang, timezone_id="Asia/Dhaka")
            page = ctx.new_page()
            page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
            page.goto(f"{srv.base}/lang/{lang}?next=/calls/{srv.slug}")
            local = page.locator("dd time[datetime] + span.local").last
            local.wait_for()
            assert re.search(r"(UTC|GMT)\s?\+\s?6", local.inner_text()), (lang, local.inner_text())
            ctx.close()
        ctx = browser.new_context(locale="fr-FR", java_script_enabled=False)
        page = ctx.new_page()
        page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
        page.goto(f"{srv.base}/calls/{srv.slug}")
        t = Translator("fr")
        deadline = page.locator("dd time[datetime]").last.inner_text()
        # (written in the page's language, its zone named: trialapp16)
        assert deadline.endswith("(UTC)") and page.locator("span.local").count() == 0
        main = page.locator("main").inner_text()
        assert t.gettext("Rules") in main and t.gettext("Sign in to apply") in main
        ctx.close()
    assert hosts == {srv.base.split("/")[2]}


def test_a_pdf_over_the_limit_is_refused_before_it_is_sent(
    browser: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("OPENCALL_MAX_UPLOAD_BYTES", "1000000")
    t = Translator("es")
    big = tmp_path / "justification.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * 1_200_000)
    with tb.Server(tmp_path) as srv:
        ctx = browser.new_context(locale="es-ES")
        page = ctx.new_page()
        editor = _editor(srv, page, "es")
        form = page.locator('form[action$="/attachments"]')
        limit = t.gettext("At most %(mb)s MB.") % {"mb": "1"}
        assert limit in form.inner_text()  # the form says the limit
        sent: list[str] = []
        page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
        page.set_input_files("#f-pdf", str(big))
        form.locator("button").click()
        message = page.locator("#err-pdf")
        message.wait_for()
        too_large = t.gettext("The file is too large (%(size)s MB; at most %(max)s MB).")
        assert message.inner_text() == too_large % {"size": "1,2", "max": "1"}
        assert not sent and page.url.split("?")[0] == editor  # nothing was sent
        # the message and the limit are both read with the file input
        described = (page.get_attribute("#f-pdf", "aria-describedby") or "").split()
        assert {"err-pdf", "hint-pdf"} <= set(described)
        _accessible(page, "editor, PDF too large")
        ctx.close()


def test_a_save_whose_answer_was_lost_is_sent_again(browser: Any, tmp_path: Path) -> None:
    """The save reaches the server, and the connection drops before its answer arrives:
    the page says the save may or may not be stored (not that it failed) and sends it
    again by itself, which is no conflict with itself; so is Save pressed again."""
    t = Translator("zh")
    with tb.Server(tmp_path) as srv:
        ctx = browser.new_context(locale="zh-CN")
        page = ctx.new_page()
        _editor(srv, page, "zh")
        lost: list[str] = []

        def drop_the_answer(route: Any) -> None:
            route.fetch()  # the server stores it
            lost.append(route.request.url)
            route.abort("internetdisconnected")

        pattern = re.compile(r"/proposals/\d+$")
        page.route(pattern, drop_the_answer)
        page.eval_on_selector("#text-form", "f => f.setAttribute('data-save-retry-ms', '1000')")
        page.fill("#f-abstract", "We will time millisecond pulsars.")
        status = page.locator("#save-status")
        page.click("#text-form button")
        status.filter(has_text=t.gettext(NO_ANSWER)).wait_for()
        page.unroute(pattern)
        assert lost and _db(srv, lambda s: s.scalar(select(Proposal.abstract))) == (
            "We will time millisecond pulsars."
        )
        _accessible(page, "editor, a save without answer")
        # sent again by itself: "已保存 hh:mm", no conflict with its own earlier save
        expect(status).to_have_text(re.compile(r"\d{1,2}:\d{2}"))
        assert status.get_attribute("class") != "error", status.inner_text()
        # the word limit is still read with the abstract after the save
        assert "hint-abstract" in (page.get_attribute("#f-abstract", "aria-describedby") or "")
        page.fill("#f-keywords", "pulsars")
        tb.save_text(page)
        assert status.get_attribute("class") != "error", status.inner_text()
        assert _db(srv, lambda s: s.scalar(select(Proposal.keywords))) == "pulsars"
        ctx.close()


def test_a_save_that_hangs_does_not_block_the_next(browser: Any, tmp_path: Path) -> None:
    """A link that goes dead without closing (no answer, no error) must not leave the
    page "Saving…" for ever with every later Save queued behind it: past the form's
    time-out the save is given up, the page says so, and the next Save is sent."""
    t = Translator("fr")
    with tb.Server(tmp_path) as srv:
        ctx = browser.new_context(locale="fr-FR")
        page = ctx.new_page()
        _editor(srv, page, "fr")
        held: list[Any] = []
        pattern = re.compile(r"/proposals/\d+$")
        page.route(pattern, lambda route: held.append(route))  # never answered
        page.eval_on_selector("#text-form", "f => f.setAttribute('data-save-timeout-ms', '1500')")
        page.fill("#f-abstract", "We will time millisecond pulsars.")
        page.click("#text-form button")
        # sent, and no answer: it may have been stored
        expect(page.locator("#save-status")).to_have_text(t.gettext(NO_ANSWER))
        assert held
        page.unroute(pattern)
        tb.save_text(page)
        assert _db(srv, lambda s: s.scalar(select(Proposal.abstract))) == (
            "We will time millisecond pulsars."
        )
        ctx.close()
