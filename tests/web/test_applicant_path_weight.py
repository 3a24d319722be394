"""What each page of an applicant's path costs on a slow link, counted in bytes (no
timing): from the call to the decision letter and the award's page, in Chinese, as sent
(gzip where the body is long enough) with the response's headers. `test_browser.py`'s
`test_main_pages_are_light` measures the main pages in Chromium (CSS and scripts
included); this walk adds the pages after it (the invitation, the account, the outcome, its
letter, the award and its decline) without a browser, and holds every page of the path to
one budget. Each page is also checked for what a reader without sight or JavaScript
needs: every image has a text, every field a label, no resource from another host."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from tests.web.conftest import Web, World
from tests.web.test_public import publish

pytestmark = pytest.mark.filterwarnings("ignore")

BUDGET = 10 * 1024  # bytes a page of the path may cost (body as sent, and headers)
GZIP = {"Accept-Encoding": "gzip"}


class Form(HTMLParser):
    """The images without a text and the fields without a label of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.labelled: set[str] = set()
        self.fields: list[tuple[str, bool]] = []  # (name, inside a <label>)
        self.inside_label = 0
        self.images_without_text: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "label":
            self.inside_label += 1
            self.labelled.add(a.get("for") or "")
        elif tag == "img" and "alt" not in a:
            self.images_without_text.append(a)
        elif tag in ("input", "select", "textarea") and a.get("type") not in (
            "hidden",
            "submit",
            "button",
        ):
            named = bool(a.get("aria-label") or a.get("aria-labelledby"))
            self.fields.append((f"{a.get('name')}#{a.get('id')}", self.inside_label > 0 or named))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.inside_label -= 1

    def unlabelled(self) -> list[str]:
        return [
            name
            for name, ok in self.fields
            if not ok and name.rpartition("#")[2] not in self.labelled
        ]


def cost(r: Any) -> int:
    """The bytes a response took on the wire: its body as sent, and its headers."""
    headers = sum(len(k) + len(v) + 4 for k, v in r.headers.raw)
    return int(r.num_bytes_downloaded) + headers


def test_every_page_of_the_path_is_light_labelled_and_of_this_site(web: Web, world: World) -> None:
    pid, slug = world.ids["proposal"], world.slugs["call"]
    anon = web.client("zh")
    pi = web.login(world.emails["pi"], "zh")
    invited = web.login(world.emails["invited"], "zh")
    steps: list[tuple[Any, str]] = [
        (anon, "/calls"),
        (anon, f"/calls/{slug}"),
        (anon, "/register"),
        (anon, "/login"),
        (pi, "/dashboard"),
        (pi, f"/calls/{slug}/apply"),
        (pi, f"/proposals/{pid}"),
        (pi, f"/proposals/{pid}/preview"),
        (pi, "/account"),
        (invited, f"/invitations/{world.ids['invitation']}"),
    ]
    after = [
        (pi, f"/proposals/{pid}/outcome"),
        (pi, f"/proposals/{pid}/outcome.txt"),
        (pi, f"/awards/{pid}"),
        (pi, f"/awards/{pid}/decline"),
        (anon, f"/calls/{slug}/awarded"),
    ]
    costs: dict[str, int] = {}
    for i, (client, path) in enumerate([*steps, *after]):
        if i == len(steps):
            with web.factory() as s:
                publish(s, world)
                s.commit()
        r = client.get(path, headers=GZIP)
        assert r.status_code == 200, (path, r.status_code)
        costs[path] = cost(r)
        if path.endswith(".txt"):
            continue
        page = Form()
        page.feed(r.text)
        assert not page.images_without_text, (path, page.images_without_text)
        assert not page.unlabelled(), (path, page.unlabelled())
        # nothing fetched from another host (the Content-Security-Policy would refuse it)
        assert not re.findall(
            r'(?:src|href)="(?:https?:)?//(?!testserver)[^"]*\.(?:css|js)', r.text
        )
    heavy = {p: n for p, n in costs.items() if n > BUDGET}
    assert not heavy, f"over {BUDGET} bytes: {heavy} (all: {costs})"
