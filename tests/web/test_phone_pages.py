"""An awardee and a reviewer reading on a 360-pixel phone, in French, in Kathmandu
(branch trialapp15): the list of calls, the dashboard, the pages after the decision (the
outcome, the award's records, the decline, the call's after-award figures) and the
reviewer's (the workspace, a review) on the demo world's published FAST call.

Every page fits the screen, passes axe (tests.a11y) at that size, and no word is cut in
pieces: a table on a narrow screen had every cell wrap anywhere (trialapp14), so that
"évaluation envoyée" read "éva/lua/tion/env/oyé/e" and "Date limite" one to three
letters a line; a table now keeps its words whole and, if it cannot fit so, reads as one
block per row, each cell under its column's name (site.css, time.js)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from opencall.allocation.models import Award
from opencall.db import make_engine, make_sessionmaker
from opencall.demo import world
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.reviews.models import ReviewAssignment
from tests.a11y.test_axe import Checked
from tests.conftest import DemoWorlds
from tests.outcomes.test_browser_report import SLUG, published_demo
from tests.proposals.test_browser_phone import PHONE, _wider_than_the_screen
from tests.web import test_browser as tb
from tests.web.test_browser import LiveServer

pytestmark = tb.pytestmark
browser = tb.browser  # the module's Chromium (fixture)

# The words of the page's main part (letters and digits; a hyphen, a dot or a slash is
# a place to break) whose letters lie on more than one line, and that would fit a line of
# the page whole (a word wider than the screen may break). Chinese, Japanese and Korean text breaks
# between any two characters, as it should: left out.
CUT_WORDS = """() => {
  const out = [];
  const main = document.querySelector('main');
  const style = getComputedStyle(main);
  const box = main.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    for (const m of n.data.matchAll(/[\\p{L}\\p{N}]+/gu)) {
      if (m[0].length < 2 || /[\\u3000-\\u9fff\\uac00-\\ud7af]/.test(m[0])) continue;
      const r = document.createRange();
      r.setStart(n, m.index);
      r.setEnd(n, m.index + m[0].length);
      const rects = [...r.getClientRects()].filter(x => x.width > 0);
      const lines = new Set(rects.map(x => Math.round(x.top)));
      const whole = rects.reduce((w, x) => w + x.width, 0);
      if (lines.size > 1 && whole <= box) out.push(m[0] + ' (' + n.parentElement.tagName + ')');
    }
  }
  return [...new Set(out)].slice(0, 10);
}"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_worlds: DemoWorlds) -> Iterator[LiveServer]:
    """The published demo world of tests.outcomes.test_browser_report (built once a run)."""
    tmp = tmp_path_factory.mktemp("phone-demo")
    url = published_demo(tmp, demo_worlds)
    with LiveServer(url, tmp) as srv:
        yield srv


def _people(srv: LiveServer) -> tuple[str, int, str, int]:
    """An awarded proposal's PI and its id; a reviewer of the call and one review."""
    engine = make_engine(srv.settings.database_url)
    with make_sessionmaker(engine)() as s:
        p = s.scalars(select(Proposal).join(Award).order_by(Proposal.id)).first()
        a = s.scalars(select(ReviewAssignment).order_by(ReviewAssignment.id)).first()
        assert p is not None and a is not None
        pi, reviewer = s.get(User, p.pi_user_id), s.get(User, a.reviewer_id)
        assert pi is not None and reviewer is not None
        found = (pi.email, p.id, reviewer.email, a.id)
    engine.dispose()
    return found


def _phone(browser: Any, srv: LiveServer, email: str) -> Any:
    ctx = browser.new_context(
        viewport=PHONE, locale="fr-FR", is_mobile=True, timezone_id="Asia/Kathmandu"
    )
    page = ctx.new_page()
    page.goto(srv.base + "/login")
    page.fill("#f-email", email)
    page.fill("#f-password", world.DEMO_PASSWORD)
    page.click('form[action="/login"] button')
    page.wait_for_url(re.compile(r"/(dashboard|manage|review)"))
    page.goto(srv.base + "/lang/fr?next=/dashboard")
    return page


def test_pages_after_the_award_and_the_reviewers_read_on_a_phone(
    browser: Any, demo: LiveServer
) -> None:
    pi, pid, reviewer, aid = _people(demo)
    check = Checked()
    cut: dict[str, list[str]] = {}
    wide: dict[str, list[str]] = {}

    def look(page: Any, path: str) -> None:
        page.goto(demo.base + path)
        cut[path] = page.evaluate(CUT_WORDS)
        wide[path] = _wider_than_the_screen(page)
        check(page, path)

    page = _phone(check.browser(browser), demo, pi)
    for path in (
        "/calls",
        "/dashboard",
        f"/proposals/{pid}/outcome",
        f"/awards/{pid}",
        f"/awards/{pid}/decline",
        f"/calls/{SLUG}/after-award",
    ):
        look(page, path)
    # the outcome's schedule still reads as a table to a screen reader, under its headers
    page.goto(f"{demo.base}/proposals/{pid}/outcome")
    cells = page.get_by_role("cell")
    assert cells.count() > 0 and page.get_by_role("columnheader").count() > 0
    page.context.close()
    page = _phone(check.browser(browser), demo, reviewer)
    for path in ("/review", f"/review/assignments/{aid}"):
        look(page, path)
    page.context.close()
    assert not any(cut.values()), {k: v for k, v in cut.items() if v}
    assert not any(wide.values()), {k: v for k, v in wide.items() if v}
    assert not check.problems, "\n".join(check.problems)
