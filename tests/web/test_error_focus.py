"""A blind applicant with a screen reader, and one whose browser runs no JavaScript
(branch trialapp24): a form sent back with errors (registering, signing in, starting a
proposal) must put the reader on its summary of problems when the page loads, and the
page's title must say there is an error (the title is what a screen reader reads first
on a new page). Before: focus stayed on the page's body, and the title was the form's
own, so nothing said the form had been refused until the reader went looking."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from opencall.web.i18n import Translator
from tests.web import test_browser as tb

pytestmark = tb.pytestmark
browser = tb.browser  # the module's Chromium (fixture)

PHONE = {"width": 320, "height": 640}  # an old phone


def _send_empty(page: Any, form: str) -> None:
    """Send ``form`` as it is, past the browser's own checks (required fields)."""
    page.evaluate(
        "(f) => { const e = document.querySelector(f); e.noValidate = true; "
        "e.querySelectorAll('input:not([type=hidden])').forEach(i => i.value = ''); }",
        form,
    )
    with page.expect_navigation():
        page.click(form + " button")


def _focused(page: Any) -> str:
    return str(
        page.evaluate(
            "() => { const a = document.activeElement; "
            "return a ? (a.tagName + '.' + a.className + '#' + a.id) : ''; }"
        )
    )


@pytest.mark.parametrize(("js", "lang"), [(True, "en"), (False, "fr")])
def test_a_form_sent_back_with_errors_puts_the_reader_on_its_summary(
    browser: Any, tmp_path: Path, js: bool, lang: str
) -> None:
    error_word = Translator(lang).gettext("Error:")
    with tb.Server(tmp_path) as srv:
        ctx = browser.new_context(viewport=PHONE, java_script_enabled=js)
        page = ctx.new_page()
        page.goto(f"{srv.base}/lang/{lang}?next=/register")
        assert page.locator("html").get_attribute("lang") == lang
        plain_title = page.title()
        assert not plain_title.startswith(error_word)
        states: list[tuple[str, str]] = [("register", 'form[action="/register"]')]
        for name, form in states:
            _send_empty(page, form)
            assert page.locator("main [aria-invalid=true]").count() >= 1, name
            summary = page.locator("main div.errors[role=alert]")
            assert summary.count() == 1, name
            assert page.title().startswith(error_word + " "), (name, page.title())
            assert _focused(page).startswith("DIV.errors"), (name, _focused(page))
        # the same on signing in and on starting a proposal
        tb.register_and_verify(srv, page, lambda *_: None, "noor@example.org", "نور الهدى", lang)
        page.goto(f"{srv.base}/calls/{srv.slug}/apply")
        _send_empty(page, "main form")
        assert page.title().startswith(error_word + " "), ("apply", page.title())
        assert _focused(page).startswith("DIV.errors"), ("apply", _focused(page))
        ctx.close()
        ctx = browser.new_context(viewport=PHONE, java_script_enabled=js)
        page = ctx.new_page()
        page.goto(f"{srv.base}/lang/{lang}?next=/login")
        page.fill("#f-email", "noor@example.org")
        page.fill("#f-password", "not her password")
        with page.expect_navigation():
            page.click('form[action="/login"] button')
        assert page.locator("main div.errors[role=alert]").count() == 1
        assert page.title().startswith(error_word + " "), ("login", page.title())
        assert _focused(page).startswith("DIV.errors"), ("login", _focused(page))
        # a page without errors keeps its own title and the reader at the top
        page.fill("#f-email", "noor@example.org")
        page.fill("#f-password", "a long password 42")
        with page.expect_navigation():
            page.click('form[action="/login"] button')
        assert re.search(r"/dashboard", page.url)
        assert not page.title().startswith(error_word)
        assert _focused(page).startswith("BODY"), _focused(page)
        ctx.close()


def test_every_column_of_the_applicants_tables_has_a_header_a_screen_reader_can_say(
    browser: Any, tmp_path: Path
) -> None:
    """The editor's team table ended in a header cell with nothing in it (the column of
    its buttons): a screen reader moving along a row said nothing for that column's
    header. Each header cell now has words (hidden from the eye where the column needs
    none), on the page and in every template."""
    with tb.Server(tmp_path) as srv:
        ctx = browser.new_context(viewport=PHONE)
        page = ctx.new_page()
        tb.register_and_verify(srv, page, lambda *_: None, "noor@example.org", "نور الهدى", "en")
        page.goto(f"{srv.base}/calls/{srv.slug}/apply")
        page.fill("#f-title", "Pulsar timing")
        with page.expect_navigation():
            page.click("main form button")
        assert page.locator("main table th").count() >= 1
        empty = page.evaluate(
            "() => [...document.querySelectorAll('main th')]"
            ".filter(th => !th.textContent.trim()).map(th => th.closest('table').outerHTML.slice(0, 80))"
        )
        assert not empty, empty
        ctx.close()
    templates = Path(__file__).parents[2] / "src" / "opencall" / "web" / "templates"
    bare = [
        str(p.relative_to(templates))
        for p in templates.rglob("*.html")
        if "<th></th>" in p.read_text()
    ]
    assert not bare, bare
