"""A reviewer on a train, in a real browser (Debian's Chromium through Playwright):
she reads a proposal, writes notes on it offline (the save fails, the text is kept in
the browser to send later), then finds she has a conflict and declares it. The proposal
leaves her list, and nothing she wrote about it is left in the browser either.

Its own world (the review cycle of tests/review_cycle.py on a SQLite file, served live):
the conflict ends the assignment other browser tests write in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.review_cycle import PASSWORD, Cycle
from tests.reviews.test_browser_reviewer import OFFLINE, ONLINE, accepted_cycle_served
from tests.web import test_browser as tb
from tests.web.page_weight import sign_in

pytestmark = tb.pytestmark
browser = tb.browser  # the module's Chromium (fixture)

NOTES = "The timing residuals in the second figure look like the 2019 run of my own group."
DRAFTS = "() => Object.keys(localStorage).filter(k => k.indexOf('opencall:draft:') === 0)"


def test_a_declared_conflict_leaves_no_draft_in_the_browser(
    browser: Any, sqlite_template: Path, tmp_path: Path
) -> None:
    with accepted_cycle_served(sqlite_template, tmp_path) as (srv, cycle):
        _declare_after_offline_notes(browser, srv, cycle)


def _declare_after_offline_notes(browser: Any, srv: tb.LiveServer, cycle: Cycle) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    sign_in(ctx, srv.base, cycle.emails["assigned"], PASSWORD)
    aid = cycle.ids["assignment"]
    page.goto(f"{srv.base}/review/assignments/{aid}")
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", OFFLINE)
    page.fill("#f-comments_to_panel", NOTES)
    page.click('button[value="save"]')
    expect(page.locator("#save-status")).to_have_class("error")
    assert page.evaluate(DRAFTS), "the offline notes are kept in the browser to send later"
    cdp.send("Network.emulateNetworkConditions", ONLINE)

    page.fill("#f-reason", "I co-authored the 2019 timing paper with the team.")
    page.click(f'form[action="/review/assignments/{aid}/conflict"] button')
    page.wait_for_url(f"{srv.base}/review?m=removed")
    assert f"/review/assignments/{aid}" not in page.content()
    left = page.evaluate(DRAFTS)
    assert left == [], f"drafts of a conflicted review left in the browser: {left}"
    assert NOTES not in str(page.evaluate("() => JSON.stringify(localStorage)"))
    ctx.close()
