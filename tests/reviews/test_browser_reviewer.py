"""A reviewer abroad, in French, on a slow link, in a real browser (Debian's Chromium
through Playwright): a long review is saved in the background while she keeps typing
(nothing she types during the save is lost, the page says when it saved); a save that
fails (the link drops) keeps the text in the browser and a reload puts it back; her
session ending before she submits keeps the text through a new sign-in.

One world for the module (the review cycle of tests/review_cycle.py on a SQLite file,
served live), one browser context a test."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from opencall.db import make_engine, make_sessionmaker
from opencall.web.i18n import Translator
from tests.review_cycle import PASSWORD, Cycle, build_cycle
from tests.web import test_browser as tb
from tests.web.page_weight import sign_in

pytestmark = tb.pytestmark
browser = tb.browser  # the module's Chromium (fixture)

SLOW = {"offline": False, "latency": 1500, "downloadThroughput": 40_000, "uploadThroughput": 20_000}
OFFLINE = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
ONLINE = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
# a long review, with accents and line breaks (about 2,400 words, 14,000 characters)
LONG = ("La méthode de chronométrage est solide ; l'échantillon est bien choisi.\n" * 200).strip()


class World:
    def __init__(self, srv: tb.LiveServer, cycle: Cycle) -> None:
        self.srv, self.cycle = srv, cycle

    def end_sessions(self) -> None:
        from opencall.db import utcnow
        from opencall.people.models import UserSession

        engine = make_engine(self.srv.settings.database_url)
        try:
            with make_sessionmaker(engine)() as s:
                for row in s.query(UserSession):
                    row.expires_at = utcnow()
                s.commit()
        finally:
            engine.dispose()

    def review(self) -> Any:
        from opencall.reviews.models import Review

        engine = make_engine(self.srv.settings.database_url)
        try:
            with make_sessionmaker(engine)() as s:
                return s.query(Review).filter_by(assignment_id=self.cycle.ids["assignment"]).first()
        finally:
            engine.dispose()


@contextmanager
def accepted_cycle_served(
    sqlite_template: Path, tmp: Path
) -> Iterator[tuple[tb.LiveServer, Cycle]]:
    """The review cycle on a SQLite file in ``tmp``, its assignment accepted by the
    reviewer, served live (this module's world; tests/reviews/test_browser_review_tabs.py's)."""
    from opencall.people.models import User
    from opencall.reviews import services as rv
    from opencall.reviews.models import ReviewAssignment

    path = tmp / "reviewer.sqlite3"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        cycle = build_cycle(s)
        a = s.get(ReviewAssignment, cycle.ids["assignment"])
        assert a is not None
        rv.respond_to_assignment(s, a, s.get(User, a.reviewer_id), accept=True)  # type: ignore[arg-type]
        s.commit()
    engine.dispose()
    with tb.LiveServer(url, tmp) as srv:
        yield srv, cycle


@pytest.fixture(scope="module")
def world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with accepted_cycle_served(sqlite_template, tmp_path_factory.mktemp("reviewer")) as (srv, c):
        yield World(srv, c)


def test_a_long_review_on_a_slow_link_is_kept(browser: Any, world: World) -> None:
    t = Translator("fr")
    srv, cycle = world.srv, world.cycle
    ctx = browser.new_context(locale="fr-FR")
    page = ctx.new_page()
    sign_in(ctx, srv.base, cycle.emails["assigned"], PASSWORD)
    page.goto(srv.base + "/lang/fr")
    url = f"{srv.base}/review/assignments/{cycle.ids['assignment']}"
    page.goto(url)
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW)

    page.fill("#f-grade", "4")
    page.select_option("#f-confidence", "3")
    page.fill("#f-comments_to_applicants", LONG)
    # Save draft: in the background, the page stays; she goes on typing meanwhile
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click('button[value="save"]')
        expect(page.locator("#save-status")).to_have_text(t.gettext("Saving…"))
        page.fill("#f-comments_to_panel", "Écrit pendant l'enregistrement.")
    assert answer.value.ok and answer.value.json()["ok"], answer.value.text()
    expect(page.locator("#save-status")).to_have_text(re.compile(r"\d{1,2}:\d{2}"))
    assert page.url == url
    assert page.input_value("#f-comments_to_panel") == "Écrit pendant l'enregistrement."
    stored = world.review()
    assert stored is not None and stored.submitted_at is None
    # (a browser sends a text area's line breaks as CRLF, with or without the script)
    assert stored.comments_to_applicants.replace("\r\n", "\n") == LONG
    assert stored.comments_to_panel == ""

    # the link drops: the save fails, the text stays in the browser and comes back
    cdp.send("Network.emulateNetworkConditions", OFFLINE)
    page.fill("#f-comments_to_applicants", LONG + "\nAjout hors ligne.")
    page.click('button[value="save"]')
    expect(page.locator("#save-status")).to_have_class("error")
    cdp.send("Network.emulateNetworkConditions", ONLINE)
    page.reload()
    expect(page.locator("#draft-restored")).to_be_visible()
    assert page.input_value("#f-comments_to_applicants").endswith("Ajout hors ligne.")
    assert page.input_value("#f-comments_to_panel") == "Écrit pendant l'enregistrement."

    # her session ends before she submits (it expired on the server): the text survives
    # a new sign-in
    world.end_sessions()
    page.click('button[value="submit"]')
    page.wait_for_selector('form[action="/login"] input[name="carry_to"]', state="attached")
    page.fill("#f-email", cycle.emails["assigned"])
    page.fill("#f-password", PASSWORD)
    page.click('form[action="/login"] button')
    page.locator("main form button").last.click()
    page.wait_for_url(re.compile(r"m=review_submitted"))
    stored = world.review()
    assert stored is not None and stored.submitted_at is not None
    assert stored.comments_to_applicants.endswith("Ajout hors ligne.")
    assert stored.comments_to_panel == "Écrit pendant l'enregistrement."
    # nothing of the review is left in the browser once it is submitted
    left = page.evaluate(
        "() => Object.keys(localStorage).filter(k => k.indexOf('opencall:draft:') === 0)"
    )
    assert left == []
    ctx.close()
