"""The API documentation renders in Chromium from local assets under the
site's Content-Security-Policy: no CDN request, no CSP violation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.web.test_browser import CHROMIUM, Server, browser  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed"),
]


def test_api_docs_render_offline_under_the_csp(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    with Server(tmp_path) as srv:
        ctx = browser.new_context()
        page = ctx.new_page()
        problems: list[str] = []
        foreign: list[str] = []
        page.on(
            "console",
            lambda m: (
                problems.append(m.text)
                if m.type == "error" or "Content Security Policy" in m.text
                else None
            ),
        )
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on(
            "request",
            lambda r: foreign.append(r.url) if not r.url.startswith((srv.base, "data:")) else None,
        )
        r = page.goto(srv.base + "/api/docs")
        assert r is not None and r.status == 200
        assert "script-src 'self'" in (r.headers.get("content-security-policy") or "")
        page.wait_for_selector(".opblock-tag", timeout=20_000)
        tags = page.locator(".opblock-tag").all_inner_texts()
        assert any("calls" in t for t in tags) and len(tags) >= 5, tags
        page.locator(".opblock-tag", has_text="calls").first.click()
        page.wait_for_selector(".opblock-summary-path", timeout=10_000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert any("/api/v1/calls" in p for p in paths), paths
        assert foreign == [], foreign
        assert problems == [], problems
        ctx.close()
