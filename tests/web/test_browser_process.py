"""The browser modules' one Chromium a process (``ProcessChromium`` and the ``browser``
fixture of tests/web/test_browser.py). Its own module, without the ``browser`` fixture:
a second Playwright cannot start in a thread while another runs there, so the test
drives the fixture itself with a Chromium of its own once the process's is closed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests import conftest
from tests.web import test_browser as tb

pytestmark = tb.pytestmark


def test_the_browser_modules_one_after_another_share_one_chromium(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``browser`` fixture of three modules in a row (its own :class:`ProcessChromium`
    here): the second gets the first one's Chromium, without the contexts the first
    opened; the Chromium is closed after a module when the next test needs none, and
    launched again for a module after it was closed or crashed."""
    assert tb.CHROMIUM_OF_PROCESS.chromium is None  # closed: this test needs no ``browser``
    own = tb.ProcessChromium()
    monkeypatch.setattr(tb, "CHROMIUM_OF_PROCESS", own)
    module_fixture = tb.browser._get_wrapped_function()

    class BrowserTest:
        fixturenames = ("request", "browser")

    def module(next_test: Any) -> Iterator[Any]:
        request.config.stash[conftest._NEXT_TEST] = next_test
        gen = module_fixture(request)
        yield next(gen)
        with pytest.raises(StopIteration):
            next(gen)
        del request.config.stash[conftest._NEXT_TEST]

    try:
        first = module(BrowserTest())
        b = next(first)
        ctx = b.new_context()
        ctx.new_page().goto("about:blank")
        next(first, None)  # the module's end, a browser module next
        assert own.chromium is b and b.is_connected() and own.launches == 1
        assert b.contexts == []  # its context closed

        second = module(None)
        assert next(second) is b and own.launches == 1
        next(second, None)  # the process's last test
        assert own.chromium is None and not b.is_connected()

        third = module(BrowserTest())
        crashed = next(third)
        assert crashed is not b and own.launches == 2
        crashed.close()
        fourth = module(None)
        assert next(fourth).is_connected() and own.launches == 3
        next(fourth, None)
        assert own.chromium is None
    finally:
        own.close()
