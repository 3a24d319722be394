"""An applicant on a small phone, writing in Arabic on the French site (branch
trialapp14): no applicant page is wider than the 360-pixel screen (the proposal
editor's target table scrolls in its own box instead of the whole page), and a field
or a paragraph holding right-to-left text reads right to left (``dir="auto"``), on
the editor, in its preview, while text in a Latin script stays left to right. The
editor passes axe (tests.a11y) at that size."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.a11y.test_axe import Checked
from tests.web import test_browser as tb

pytestmark = tb.pytestmark
browser = tb.browser  # the module's Chromium (fixture)

PHONE = {"width": 360, "height": 640}
ARABIC = "نقيس توقيت النجوم النابضة باستخدام تلسكوب FAST لمدة 20 ساعة."


def _wider_than_the_screen(page: Any) -> list[str]:
    """The elements of the page that reach past the screen's right edge (empty: none)."""
    return list(
        page.evaluate(
            """() => {
              const w = document.documentElement.clientWidth;
              const out = document.documentElement.scrollWidth > w
                ? ['page ' + document.documentElement.scrollWidth + ' > ' + w] : [];
              for (const e of document.querySelectorAll('body *')) {
                if (e.getBoundingClientRect().right > w + 1 && !e.closest('.scroll'))
                  out.push(e.tagName + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''));
              }
              return out.slice(0, 8);
            }"""
        )
    )


def _rtl(page: Any, selector: str) -> bool:
    return bool(page.locator(selector).first.evaluate("e => e.matches(':dir(rtl)')"))


def test_a_phone_and_right_to_left_text(browser: Any, tmp_path: Path) -> None:
    with tb.Server(tmp_path) as srv:
        ctx = browser.new_context(viewport=PHONE, locale="fr-FR", is_mobile=True)
        page = ctx.new_page()
        wide: dict[str, list[str]] = {}
        for path in ("/", f"/calls/{srv.slug}", "/register"):
            page.goto(srv.base + path)
            wide[path] = _wider_than_the_screen(page)
        tb.register_and_verify(srv, page, lambda *_: None, "pi@example.org", "ليلى حداد", "fr")
        wide["dashboard"] = _wider_than_the_screen(page)
        page.goto(f"{srv.base}/calls/{srv.slug}/apply")
        page.fill("#f-title", "توقيت النجوم النابضة")
        assert _rtl(page, "#f-title")  # the title typed in Arabic reads right to left
        page.click("main form button")
        page.wait_for_url(re.compile(r"/proposals/\d+"))
        editor = page.url.split("?")[0]
        wide["editor"] = _wider_than_the_screen(page)
        page.fill("#f-abstract", ARABIC)
        page.fill("#f-science_case", "Millisecond pulsars are precise clocks.")
        assert _rtl(page, "#f-abstract") and not _rtl(page, "#f-science_case")
        tb.save_text(page)
        page.goto(editor)  # as the server now sends it
        assert _rtl(page, "#f-abstract") and _rtl(page, "#f-title")
        check = Checked()
        check(page, "editor on a phone, Arabic text")
        assert not check.problems, "\n".join(check.problems)
        page.goto(editor + "/preview")
        wide["preview"] = _wider_than_the_screen(page)
        abstract = page.locator("p.pre", has_text="النجوم")
        assert abstract.evaluate("e => e.matches(':dir(rtl)')")
        assert not page.locator("p.pre", has_text="Millisecond").evaluate(
            "e => e.matches(':dir(rtl)')"
        )
        ctx.close()
    assert not any(wide.values()), wide


def test_changing_language_with_targets_typed_asks_first(browser: Any, tmp_path: Path) -> None:
    """Half-way through the target list she changes the site's language: the request's
    form posts and reloads (no draft of it is kept in the browser), so the page asks
    before leaving; she stays, and her targets are still there. Once the form is sent,
    nothing asks again (trialapp14)."""
    with tb.Server(tmp_path) as srv:
        ctx = browser.new_context(locale="es-ES")
        page = ctx.new_page()
        tb.register_and_verify(srv, page, lambda *_: None, "pi@example.org", "Ana Pérez", "es")
        page.goto(f"{srv.base}/calls/{srv.slug}/apply")
        page.fill("#f-title", "Púlsares")
        page.click("main form button")
        page.wait_for_url(re.compile(r"/proposals/\d+"))
        editor = page.url.split("?")[0]
        row = page.locator("table.rows input").first
        row.click()  # typed by hand: the page has had a gesture, as a person's has
        page.keyboard.type("J0437-4715")
        asked: list[str] = []

        def stay(dialog: Any) -> None:  # she stays on the page
            asked.append(dialog.type)
            dialog.dismiss()

        page.on("dialog", stay)
        # (the click ends once the dialog is answered: the page is blocked meanwhile)
        page.locator("header .langs a[hreflang=fr]").click(no_wait_after=True)
        assert asked == ["beforeunload"], asked
        assert page.url.split("?")[0] == editor and row.input_value() == "J0437-4715"
        # sent: the new page asks nothing when she changes language
        page.locator("table.rows").locator("xpath=ancestor::form").locator("button").last.click()
        page.wait_for_load_state()
        page.locator("header .langs a[hreflang=fr]").click()
        page.wait_for_url(re.compile(r"/proposals/\d+"))
        assert asked == ["beforeunload"] and page.evaluate("document.documentElement.lang") == "fr"
        ctx.close()
