"""The demo world's FAST call, run through the cycle (simulated reviews), in a
real browser (Debian's Chromium through Playwright): the manager's outcomes
report renders with its charts, the PDF download works, and the public figures
page never shows a count between 1 and 4 for any group cell.
With OPENCALL_SCREENSHOTS=1, screenshots go to tests/artifacts/report-*.png (git-ignored)."""

from __future__ import annotations

import base64
import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opencall.calls.queries import call_by_slug
from opencall.db import make_sessionmaker
from opencall.demo import world
from opencall.demo.cycle import run_cycle
from tests.conftest import DemoWorlds
from tests.web import test_browser as tb
from tests.web.test_browser import CHROMIUM, LiveServer, Shots

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore"),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"
    ),
]

browser = tb.browser  # W1's module-scoped Chromium fixture

ANCHOR = dt.date(2026, 11, 29)  # the demo's FAST call is then 'fast-2027'
SLUG = "fast-2027"
MANAGER = ("manager@fast.example", world.DEMO_PASSWORD)


PUBLISHED = "demo_3_0p1_20261129_published"  # the demo worlds' folder (tests/conftest.py)


def published_demo(tmp: Path, demo_worlds: DemoWorlds) -> str:
    """A copy of the demo world (seed 3, scale 0.1, ANCHOR) whose FAST call has run
    through the whole cycle; built once a test run and shared (under pytest-xdist, by
    the workers too) with tests.a11y.test_axe, which checks the same world's pages."""
    shared = demo_worlds.shared / f"{PUBLISHED}.sqlite3"
    with demo_worlds.lock(PUBLISHED):
        if not shared.exists():
            engine = demo_worlds.engine("sqlite", (3, 0.1, ANCHOR))
            with make_sessionmaker(engine)() as s:
                call = call_by_slug(s, SLUG)
                assert call is not None
                run_cycle(s, call, seed=0, days=60, n_bootstrap=50)
                assert call.status == "published"
                s.commit()
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            built = Path(str(engine.url.database))
            engine.dispose()
            shutil.move(built, shared)
    shutil.copy(shared, tmp / "demo.sqlite3")
    return f"sqlite:///{tmp / 'demo.sqlite3'}"


@pytest.fixture(scope="module")
def demo_server(
    tmp_path_factory: pytest.TempPathFactory, demo_worlds: DemoWorlds
) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("report")
    with LiveServer(published_demo(tmp, demo_worlds), tmp) as srv:
        yield srv


def signed_in(browser: Any, srv: LiveServer) -> tuple[Any, Any]:
    ctx = browser.new_context(locale="en-GB", accept_downloads=True)
    page = ctx.new_page()
    page.goto(srv.base + "/login")
    page.fill("#f-email", MANAGER[0])
    page.fill("#f-password", MANAGER[1])
    page.click('form[action="/login"] button')
    page.wait_for_url(re.compile(r"/(dashboard|manage)"))
    return ctx, page


def test_manager_report_renders_and_pdf_downloads(
    browser: Any, demo_server: LiveServer, tmp_path: Path
) -> None:
    shot = Shots("report-manager")
    ctx, page = signed_in(browser, demo_server)
    page.goto(f"{demo_server.base}/manage/calls/{SLUG}/report")
    assert page.locator("h1").inner_text().startswith("Outcomes report")
    m = re.search(r"Applications: (\d+)", page.locator("main").inner_text())
    assert m and int(m.group(1)) > 0
    charts = page.locator("main figure img")
    assert charts.count() >= 2
    for i in range(charts.count()):  # every chart decoded and drawn with a size
        img = charts.nth(i)
        assert img.evaluate("el => el.complete && el.naturalWidth > 0"), img.get_attribute("alt")
        box = img.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 50
        assert img.get_attribute("alt")  # a text alternative for each chart
    shot(page, "report")

    # the PDF link downloads a PDF
    with page.expect_download() as info:
        page.click(f'a[href="/manage/calls/{SLUG}/report.pdf"]')
    download = info.value
    assert download.suggested_filename == f"{SLUG}-outcomes.pdf"
    saved = tmp_path / "report.pdf"
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    # and answers 200 with its media type (same cookies as the page)
    r = ctx.request.get(f"{demo_server.base}/manage/calls/{SLUG}/report.pdf")
    assert r.status == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.body().startswith(b"%PDF")
    from pypdf import PdfReader

    assert len(PdfReader(saved).pages) >= 1
    ctx.close()

    # strangers get no report
    anon = browser.new_context(locale="en-GB")
    r = anon.request.get(f"{demo_server.base}/manage/calls/{SLUG}/report.pdf", max_redirects=0)
    assert r.status in (303, 401, 404)
    assert not r.body().startswith(b"%PDF")
    anon.close()


def test_public_figures_suppress_small_counts(browser: Any, demo_server: LiveServer) -> None:
    shot = Shots("report-public")
    ctx = browser.new_context(locale="en-GB")
    page = ctx.new_page()
    page.goto(f"{demo_server.base}/calls/{SLUG}/figures")
    assert page.locator("main table").count() == 2  # by income group, by UN region
    shown = []
    for cell in page.locator("main table td").all():
        text = cell.inner_text().strip()
        shown.append(text)
        assert not (text.isdigit() and 1 <= int(text) <= 4), f"small count {text} shown"
        assert text.isdigit() or text in ("<5", "x"), f"unexpected cell {text!r}"
    assert shown and any(t.isdigit() and int(t) >= 5 for t in shown)
    # the small demo world has small groups: the rule is exercised, not vacuous
    assert any(t in ("<5", "x") for t in shown)
    shot(page, "figures")
    page.goto(f"{demo_server.base}/calls/{SLUG}/awarded")
    assert page.locator("main table tbody tr").count() > 0
    shot(page, "awarded")
    ctx.close()


OVERLAPS_JS = """
() => {
  const boxes = [...document.querySelectorAll('svg text')]
    .filter(t => t.textContent.trim())
    .map(t => { const r = t.getBoundingClientRect();
                return {text: t.textContent.trim(), l: r.left, r: r.right, t: r.top, b: r.bottom}; });
  const svg = document.querySelector('svg').getBoundingClientRect();
  const out = [];
  for (let i = 0; i < boxes.length; i++) {
    const a = boxes[i];
    if (a.l < svg.left - 1 || a.r > svg.right + 1 || a.t < svg.top - 1 || a.b > svg.bottom + 1)
      out.push(['outside', a.text]);
    for (let j = i + 1; j < boxes.length; j++) {
      const b = boxes[j];
      const w = Math.min(a.r, b.r) - Math.max(a.l, b.l), h = Math.min(a.b, b.b) - Math.max(a.t, b.t);
      if (w > 1 && h > 1) out.push([a.text, b.text]);
    }
  }
  return {n: boxes.length, overlaps: out};
}
"""
TITLES = {"en": ("Findings", "Through the stages"), "zh": ("主要发现", "各阶段情况")}
RAW_CODES = (
    "lower-middle",
    "upper-middle",
    "award_rate",
    "un_region",
    "income_group",
    "high grade",
)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_shows_findings_first_and_charts_without_overlaps(
    browser: Any, demo_server: LiveServer, lang: str
) -> None:
    """Screenshots of the manager's report page and of the PDF's first page in
    English and Chinese (tests/artifacts/report-<lang>-*.png): the findings table
    comes first, labels are readable (no raw codes), chart labels never overlap."""
    ctx, page = signed_in(browser, demo_server)
    ctx.add_cookies([{"name": "oc_lang", "value": lang, "url": demo_server.base}])
    page.goto(f"{demo_server.base}/manage/calls/{SLUG}/report")
    findings, funnel = TITLES[lang]
    main = page.locator("main")
    assert main.locator("h2").first.inner_text() == findings
    assert main.locator("table").first.get_attribute("id") == "findings-table"
    top = main.locator("#findings").bounding_box()
    first_figure = main.locator("figure").first.bounding_box()
    assert top is not None and first_figure is not None and top["y"] < first_figure["y"]
    headers = main.locator("#findings-table thead th").all_inner_texts()
    assert len(headers) == 6
    assert main.locator("#findings-table tbody tr").count() > 0
    text = main.inner_text()
    assert funnel in text and text.index(findings) < text.index(funnel)
    for code in RAW_CODES:
        assert code not in text, code
    if tb.SCREENSHOTS:
        tb.ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(tb.ARTIFACTS / f"report-{lang}-page.png"), full_page=True)

    # every chart: labels inside the picture and never on top of each other
    srcs = [img.get_attribute("src") for img in main.locator("figure img").all()]
    assert len(srcs) >= 4
    check = ctx.new_page()
    for src in srcs:
        assert src and src.startswith("data:image/svg+xml;base64,")
        svg = base64.b64decode(src.split(",", 1)[1]).decode()
        check.set_content(f"<!doctype html><html><body style='margin:0'>{svg}</body></html>")
        got = check.evaluate(OVERLAPS_JS)
        assert got["n"] > 3 and got["overlaps"] == [], got["overlaps"]
    check.close()

    # the PDF in the same language: page 1 rendered to PNG, findings before the funnel
    r = ctx.request.get(f"{demo_server.base}/manage/calls/{SLUG}/report.pdf")
    assert r.status == 200 and r.body().startswith(b"%PDF")
    import pypdfium2

    pdf = pypdfium2.PdfDocument(r.body())
    first = pdf[0]
    if tb.SCREENSHOTS:
        tb.ARTIFACTS.mkdir(exist_ok=True)
        first.render(scale=1.5).to_pil().save(tb.ARTIFACTS / f"report-{lang}-pdf-page1.png")
    words = first.get_textpage().get_text_range()
    assert findings in words and funnel in words
    assert words.index(findings) < words.index(funnel)
    for code in RAW_CODES:
        assert code not in words, code
    ctx.close()
