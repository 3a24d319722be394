"""The browser tests' save_text waits for the text save itself (issue 17: cycles of the
repeated browser cycle were cut short). safe-save.js saves in the background, so the
click navigates nowhere; waiting for "networkidle" after it could return before the
browser had sent the save. The next page was then drawn before the save was stored:
the save was lost, or it was stored a moment later and the request form of that page,
carrying the old version, was refused as stale (no ``m=request_saved`` redirect).

Here the browser sends the save 20 ms late (as a loaded machine does) and the server
takes 1.5 s to store it (as when a worker holds SQLite's write lock): with save_text the
request form that follows is saved and the text is on the server. With the old wait
for "networkidle" this test fails: the text never reaches the server, or (seen under
load) the request form is refused as stale and the redirect never comes."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from opencall.db import make_engine, make_sessionmaker
from opencall.proposals import services
from opencall.proposals.models import Proposal
from tests.web import test_browser as tb

pytestmark = tb.pytestmark
browser = tb.browser  # the module's Chromium (fixture)

LATE_FETCH = """(() => {
  const send = window.fetch;
  window.fetch = (...args) => new Promise(r => setTimeout(() => r(send(...args)), 20));
})()"""


def test_the_next_form_waits_for_a_slow_text_save(
    browser: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    store = services.update_proposal

    def slowly(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.5)
        return store(*args, **kwargs)

    monkeypatch.setattr(services, "update_proposal", slowly)  # the editor calls it there
    with tb.Server(tmp_path) as srv:
        ctx = browser.new_context(locale="en-GB")
        ctx.add_init_script(LATE_FETCH)
        page = ctx.new_page()
        tb.register_and_verify(srv, page, lambda *_: None, "pi@example.org", "Ana Pi", "en")
        page.goto(f"{srv.base}/calls/{srv.slug}")
        page.click("main a.button")
        page.fill("#f-title", "Pulsar timing")
        page.click("main form button")
        page.wait_for_url(re.compile(r"/proposals/\d+"))
        editor = page.url.split("?")[0]
        page.fill("#f-abstract", "We will time pulsars.")
        page.wait_for_load_state("networkidle")  # reached before the click, as in the cycle
        tb.save_text(page)
        page.goto(editor)
        form = page.locator('form[action$="/requests"]')
        form.locator("select[name=receiver]").select_option("19-beam")
        form.locator("select[name=mode]").select_option("Tracking")
        for name, value in (("name", "Crab"), ("ra_deg", "05:34:31.9"), ("dec_deg", "+22:00")):
            form.locator(f"input[name=targets-0-{name}]").fill(value)
        form.locator("input[name=targets-0-hours]").fill("2")
        form.locator("button").click()
        page.wait_for_url(re.compile(r"m=request_saved"))
        ctx.close()
    engine = make_engine(srv.settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            assert s.scalar(select(Proposal.abstract)) == "We will time pulsars."
    finally:
        engine.dispose()
