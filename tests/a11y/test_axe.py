"""axe-core (through axe-playwright-python) over every page state a persona reaches:
the public, an applicant, a reviewer, the chair, the user office and the site
administrator, and forms answered with errors. Fails on any critical or serious
violation (issue 17). Two worlds: the demo's FAST call run through the whole cycle
(published: every manage page has data), and a small call in review (the review
form, its errors, the chair's progress page, an early close)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from opencall import migrate
from opencall.db import make_engine, make_sessionmaker
from opencall.demo import world
from opencall.people.services import load_countries
from tests.conftest import DemoWorlds
from tests.outcomes.test_browser_report import SLUG, published_demo
from tests.review_cycle import build_cycle
from tests.web import test_browser as tb
from tests.web.test_browser import CHROMIUM, LiveServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore"),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"
    ),
]

browser = tb.browser
BLOCKING = ("critical", "serious")
# axe.run as axe-playwright-python runs it (violations only), less the rules that cannot
# fail this test: axe-core gives each violation its rule's impact (a rule with an impact
# overwrites its checks'), so a rule whose impact is minor or moderate never reports a
# critical or serious one (region, the landmark rules, heading order, ...: about a tenth
# of axe's time). A rule without an impact of its own still runs.
AXE_RUN = """
(blocking) => {
  const rules = {};
  for (const r of axe._audit.rules) {
    if (r.impact && !blocking.includes(r.impact)) rules[r.id] = {enabled: false};
  }
  return axe.run({resultTypes: ['violations'], rules});
}
"""
PASSWORD = world.DEMO_PASSWORD


class Checked:
    """Runs axe on each state and collects the critical/serious violations.

    axe-core (half a megabyte of script) is handed to each browser context once
    (:meth:`browser`: an init script, present in every page the context loads) instead
    of being sent and compiled again for each state checked; a page without it (from a
    context not made here) gets it injected as axe-playwright-python does."""

    def __init__(self) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()
        self.states: list[str] = []
        self.problems: list[str] = []

    def browser(self, browser: Any) -> Any:
        """``browser`` whose new contexts carry axe-core in every page."""
        axe_script = self.axe.axe_script

        class WithAxe:
            def new_context(self, **kw: Any) -> Any:
                ctx = browser.new_context(**kw)
                ctx.add_init_script(axe_script)
                return ctx

        return WithAxe()

    def __call__(self, page: Any, state: str) -> None:
        page.wait_for_load_state("load")
        assert page.locator("a.skip-link[href='#main']").count() == 1, state
        if not page.evaluate("typeof window.axe === 'object'"):
            page.evaluate(self.axe.axe_script)
        response = page.evaluate(AXE_RUN, list(BLOCKING))
        self.states.append(state)
        for v in response["violations"]:
            if v.get("impact") in BLOCKING:
                nodes = "; ".join(n["target"][0] for n in v["nodes"][:3] if n.get("target"))
                self.problems.append(f"{state} {page.url}: {v['impact']} {v['id']} ({nodes})")


def sign_in(browser: Any, srv: Any, email: str, password: str = PASSWORD) -> Any:
    ctx = browser.new_context(locale="en-GB")
    page = ctx.new_page()
    page.goto(srv.base + "/login")
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.click('form[action="/login"] button')
    page.wait_for_url(re.compile(r"/(dashboard|manage|review)"))
    return page


def send(page: Any, button: str, *, field_errors: bool = True) -> None:
    """Send a form as it is, past the browser's own checks (its required fields), and
    wait for the server's answer: checking right after the click would check the page
    the form was sent from (or a page half replaced). With ``field_errors`` the answer
    must mark at least one field as wrong."""
    page.evaluate("document.querySelectorAll('form').forEach(f => f.noValidate = true)")
    with page.expect_navigation():
        page.click(button)
    if field_errors:
        assert page.locator("[aria-invalid=true]").count() >= 1, page.url


def first_href(page: Any, prefix: str) -> str | None:
    links = page.locator(f'main a[href^="{prefix}"]')
    return links.first.get_attribute("href") if links.count() else None


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_worlds: DemoWorlds) -> Iterator[LiveServer]:
    """The published demo world of tests.outcomes.test_browser_report (built once a run)."""
    tmp = tmp_path_factory.mktemp("axe-demo")
    with LiveServer(published_demo(tmp, demo_worlds), tmp) as srv:
        yield srv


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Any]]:
    tmp = tmp_path_factory.mktemp("axe-small")
    url = f"sqlite:///{tmp / 'small.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as s:
        load_countries(s)
        c = build_cycle(s)
        s.commit()
    engine.dispose()
    with LiveServer(url, tmp) as srv:
        yield srv, c


def test_no_critical_or_serious_violation(browser: Any, demo: LiveServer, small: Any) -> None:
    check = Checked()
    browser = check.browser(browser)
    base = demo.base
    # -- the public
    anon = browser.new_context(locale="en-GB").new_page()
    for path in (
        "/",
        "/calls",
        f"/calls/{SLUG}",
        f"/calls/{SLUG}/awarded",
        f"/calls/{SLUG}/figures",
        "/login",
        "/register",
    ):
        anon.goto(base + path)
        check(anon, f"public {path}")
    anon.goto(base + "/register")
    send(anon, 'form[action="/register"] button')  # empty: every field's error
    check(anon, "public register with errors")
    anon.goto(base + "/login")
    anon.fill("#f-email", "nobody@example.org")
    anon.fill("#f-password", "wrong password here")
    send(anon, 'form[action="/login"] button', field_errors=False)
    check(anon, "public login refused")
    anon.goto(base + "/lang/fr?next=/calls")
    check(anon, "public calls in French")

    # -- an applicant
    app = sign_in(browser, demo, "applicant@demo.example")
    check(app, "applicant dashboard")
    href = first_href(app, "/proposals/")
    if href:
        app.goto(base + href.split("?")[0])
        check(app, "applicant proposal")
    app.goto(base + "/calls")
    for call_href in [
        a.get_attribute("href") for a in app.locator('main a[href^="/calls/"]').all()
    ]:
        app.goto(base + call_href)
        if app.locator('main a.button[href*="/apply"], main a.button').count():
            break
    if app.locator("main a.button").count():
        with app.expect_navigation():
            app.click("main a.button")
        check(app, "applicant new proposal")
        if app.locator("#f-title").count():
            send(app, "main form button")  # no title: an error
            check(app, "applicant new proposal with errors")
            app.fill("#f-title", "An accessible proposal")
            app.click("main form button")
            app.wait_for_url(re.compile(r"/proposals/\d+"))
            check(app, "applicant editor")
            form = app.locator('form[action$="/requests"]')
            if form.count() and form.locator("input[name=targets-0-ra_deg]").count():
                form.locator("input[name=targets-0-name]").fill("Bad")
                form.locator("input[name=targets-0-ra_deg]").fill("99:99:99")
                form.locator("input[name=targets-0-dec_deg]").fill("-95")
                form.locator("input[name=targets-0-hours]").fill("-1")
                send(app, 'form[action$="/requests"] button >> nth=0')
                check(app, "applicant request with errors")
    app.goto(base + "/account")
    check(app, "applicant account")

    # -- a reviewer (the demo's, whose reviews are in) and the technical reviewer
    rev = sign_in(browser, demo, "reviewer-astro@demo.example")
    rev.goto(base + "/review")
    check(rev, "reviewer workspace")
    href = first_href(rev, "/review/assignments/")
    if href:
        rev.goto(base + href)
        check(rev, "reviewer submitted review")
    tech = sign_in(browser, demo, "tech@fast.example")
    tech.goto(base + "/review")
    href = first_href(tech, "/technical/")
    if href:
        tech.goto(base + href)
        check(tech, "technical reviewer list")

    # -- the chair and the user office of the published FAST call
    chair = sign_in(browser, demo, "chair@fast.example")
    for path in (
        "/manage",
        f"/manage/calls/{SLUG}",
        f"/manage/calls/{SLUG}/assignment",
        f"/manage/calls/{SLUG}/ranking",
        f"/manage/calls/{SLUG}/decisions",
        f"/manage/calls/{SLUG}/schedule",
        f"/manage/calls/{SLUG}/reviewers",
    ):
        chair.goto(base + path)
        check(chair, f"chair {path}")
    office = sign_in(browser, demo, "manager@fast.example")
    for path in (
        f"/manage/calls/{SLUG}",
        f"/manage/calls/{SLUG}/report",
        f"/manage/calls/{SLUG}/audit",
        f"/manage/calls/{SLUG}/edit",
        "/manage/calls/new",
    ):
        office.goto(base + path)
        check(office, f"office {path}")
    office.goto(base + "/manage/calls/new")
    send(office, 'form[action="/manage/calls/new"] button')  # empty: errors
    check(office, "office new call with errors")
    href = first_href(office, "/manage/providers/")
    office.goto(base + "/manage")
    href = first_href(office, "/manage/providers/")
    if href:
        office.goto(base + href)
        check(office, "office provider")

    # -- the site administrator
    admin = sign_in(browser, demo, "admin@opencall.example")
    admin.goto(base + "/manage")
    check(admin, "admin manage")
    admin.goto(base + "/manage/providers/new")
    check(admin, "admin new provider")

    # -- a call in review: the review form, its errors, the chair's job page, early close
    srv, c = small
    from tests.review_cycle import PASSWORD as SMALL_PW

    rv = sign_in(browser, srv, c.emails["assigned"], SMALL_PW)
    rv.goto(f"{srv.base}/review")
    check(rv, "reviewer invitations")
    rv.goto(f"{srv.base}/review/assignments/{c.ids['assignment']}")
    check(rv, "reviewer invitation")
    rv.click('form[action$="/respond"]:has(input[value=accept]) button')
    rv.wait_for_url(re.compile(r"m=saved"))
    check(rv, "reviewer review form")
    # empty: grade and confidence errors from the server (the browser's own check skipped),
    # put beside their fields by the form's script (safe-save.js saves in the background)
    rv.evaluate("document.querySelectorAll('form').forEach(f => f.noValidate = true)")
    rv.click("button[name=action][value=submit]")
    rv.locator("#err-confidence").wait_for()
    assert rv.locator("[aria-invalid=true]").count() >= 1
    check(rv, "reviewer review form with errors")
    ch = sign_in(browser, srv, c.emails["chair"], SMALL_PW)
    ch.goto(f"{srv.base}/manage/calls/{c.slug}")
    check(ch, "chair cockpit in review")
    ch.click("#step-conflicts")
    ch.wait_for_url(re.compile(r"/manage/jobs/\d+"))
    check(ch, "chair job page")
    ch.goto(f"{srv.base}/manage/calls/{c.slug}/ranking")
    check(ch, "chair ranking in review")

    assert len(check.states) >= 35, check.states
    assert not check.problems, "\n".join(check.problems)


def test_schedule_week_view_is_a_table(browser: Any, demo: LiveServer) -> None:
    chair = sign_in(browser, demo, "chair@fast.example")
    chair.goto(f"{demo.base}/manage/calls/{SLUG}/schedule")
    week = chair.locator("table.week")
    assert week.count() == 1
    assert week.locator("thead th[scope=col]").count() == 7
    assert chair.locator("[role=row], [role=cell], [role=rowheader]").count() == 0


def test_report_charts_have_data_tables(browser: Any, demo: LiveServer) -> None:
    office = sign_in(browser, demo, "manager@fast.example")
    office.goto(f"{demo.base}/manage/calls/{SLUG}/report")
    figures = office.locator("main figure.chart")
    assert figures.count() >= 2
    for i in range(figures.count()):
        fig = figures.nth(i)
        title = fig.locator("figcaption").inner_text()
        alt = fig.locator("img").get_attribute("alt") or ""
        assert alt.startswith(title) and len(alt) > len(title) + 5  # says what it shows
        table = fig.locator("table.chart-data")
        assert table.count() == 1 and table.locator("tbody tr").count() >= 1


@pytest.mark.parametrize(
    ("path", "module", "table"),
    [
        ("decisions", "opencall.allocation.views", "#decisions"),
        ("schedule", "opencall.scheduling.views", "#entries"),
    ],
)
def test_long_pages_are_paginated(
    browser: Any,
    demo: LiveServer,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    module: str,
    table: str,
) -> None:
    """A page's size is bounded by its page length, not by the number of proposals:
    measured with every row on one page (before) and with pages of 5 rows (after)."""
    import importlib

    views = importlib.import_module(module)
    chair = sign_in(browser, demo, "chair@fast.example")
    url = f"{demo.base}/manage/calls/{SLUG}/{path}"

    def get(query: str = "") -> str:
        r = chair.context.request.get(url + query)
        assert r.status == 200
        return r.text()

    monkeypatch.setattr(views, "PER_PAGE", 10**6)
    before = get()
    total = before.count("<tr", before.index(f'id="{table[1:]}"'))
    total -= before[before.index(f'id="{table[1:]}"') :].split("</table>", 1)[1].count("<tr")
    total -= 1  # the header row
    monkeypatch.setattr(views, "PER_PAGE", 5)
    assert total > 10, f"the demo call has too few rows ({total}) to page"
    first = get()
    row_bytes = (len(before) - len(first)) / (total - 5)  # what one row weighs
    fixed = len(first) - 5 * row_bytes
    pages = -(-total // 5)
    seen = 0
    for n in range(1, pages + 1):
        html = get(f"?page={n}")
        body = html[html.index(f'id="{table[1:]}"') :].split("</table>", 1)[0]
        rows = body.count("<tr") - 1
        assert 1 <= rows <= 5
        seen += rows
        # bounded by the page length: the fixed part and 5 rows, whatever the call's size
        assert len(html) <= fixed + 5 * row_bytes * 1.5 + 2000, (n, len(html))
        assert ('rel="next"' in html) == (n < pages)
    assert seen == total  # every row on exactly one page
    print(f"{path}: {total} rows, {len(before)} B on one page; {len(first)} B per page of 5")
