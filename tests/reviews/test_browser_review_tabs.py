"""The reviewer's form in a real browser (Debian's Chromium through Playwright) with two
tabs, then removed by the chair while a tab is open (trialrev22): the tab opened first
does not erase what the other saved (its save is refused, its text stays in the page),
and a save after the removal says so in the status line instead of "no answer from the
server" (the script stops sending it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from opencall.db import make_engine, make_sessionmaker
from tests.review_cycle import PASSWORD, Cycle
from tests.reviews.test_browser_reviewer import accepted_cycle_served
from tests.web import test_browser as tb
from tests.web.page_weight import sign_in

pytestmark = tb.pytestmark
browser = tb.browser  # the module's Chromium (fixture)


@pytest.fixture(scope="module")
def world(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[tb.LiveServer, Cycle]]:
    with accepted_cycle_served(sqlite_template, tmp_path_factory.mktemp("tabs")) as served:
        yield served


def _stored(url: str, aid: int) -> str:
    from opencall.reviews import queries as rq

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            review = rq.review_of(s, aid)
            return review.comments_to_panel if review is not None else ""
    finally:
        engine.dispose()


def _remove(url: str, aid: int) -> None:
    from opencall.reviews import services as rv
    from opencall.reviews.models import ReviewAssignment

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            a = s.get(ReviewAssignment, aid)
            assert a is not None
            rv.remove_assignment(s, a, reason="reviewer unreachable")
            s.commit()
    finally:
        engine.dispose()


def test_two_tabs_then_the_review_removed(browser: Any, world: Any) -> None:
    srv, cycle = world
    url = srv.settings.database_url
    aid = cycle.ids["assignment"]
    ctx = browser.new_context(locale="en-GB")
    sign_in(ctx, srv.base, cycle.emails["assigned"], PASSWORD)
    where = f"{srv.base}/review/assignments/{aid}"
    tab_a, tab_b = ctx.new_page(), ctx.new_page()
    tab_a.goto(where)
    tab_b.goto(where)
    tab_b.fill("#f-comments_to_panel", "B: the RFI plan is thin.")
    with tab_b.expect_response(lambda r: r.request.method == "POST") as b:
        tab_b.click('button[value="save"]')
    assert b.value.status == 200
    tab_a.fill("#f-comments_to_panel", "A: strong timing case.")
    with tab_a.expect_response(lambda r: r.request.method == "POST") as a:
        tab_a.click('button[value="save"]')
    assert a.value.status == 409
    expect(tab_a.locator("#save-status")).to_have_class("error")
    expect(tab_a.locator("#save-status")).to_contain_text("changed elsewhere")
    assert tab_a.input_value("#f-comments_to_panel") == "A: strong timing case."
    assert _stored(url, aid) == "B: the RFI plan is thin."
    # tab A saves again (the reviewer merged the two): on the version it was given, kept
    tab_a.fill("#f-comments_to_panel", "A and B.")
    with tab_a.expect_response(lambda r: r.request.method == "POST") as again:
        tab_a.click('button[value="save"]')
    assert again.value.status == 200
    assert _stored(url, aid) == "A and B."

    # the chair removes the review while tab B is open: its save is told so
    _remove(url, aid)
    tab_b.fill("#f-comments_to_panel", "B: one more note.")
    with tab_b.expect_response(lambda r: r.request.method == "POST") as gone:
        tab_b.click('button[value="save"]')
    assert gone.value.status == 410
    expect(tab_b.locator("#save-status")).to_contain_text("no longer assigned to you")
    assert tab_b.input_value("#f-comments_to_panel") == "B: one more note."
    assert _stored(url, aid) == "A and B."
    ctx.close()
