"""Every form the pages of the workspaces show, filled with hostile values (NaN,
1e999, zero-width spaces, huge and negative numbers, words where numbers go) by
the persona that sees it: never a server error (issue 13 item 7, forms side)."""

from __future__ import annotations

import html
import re

import pytest

from tests.authz.authz_cases import CASES
from tests.review_cycle import Cycle, Web
from tests.web.conftest import session_cookie

pytestmark = pytest.mark.filterwarnings("ignore")

FORM = re.compile(r'<form[^>]*method="post"[^>]*action="([^"]+)"[^>]*>(.*?)</form>', re.S)
FIELD = re.compile(
    r'<(?:input|textarea|select)\b[^>]*\bname="([^"]+)"[^>]*?(?:value="([^"]*)")?', re.S
)
HOSTILE = ["NaN", "1e999", "-Infinity", "\u200b\u200b", "-1", "9" * 40, "abc", "0"]
# forms whose posting would end the persona's session or the run
SKIP = {"/logout"}


def _forms(text: str) -> list[tuple[str, dict[str, str]]]:
    out = []
    for action, body in FORM.findall(text):
        fields = {name: html.unescape(value or "") for name, value in FIELD.findall(body)}
        out.append((html.unescape(action), fields))
    return out


def test_every_form_survives_hostile_values(web: Web, cycle: Cycle, one_loop: None) -> None:
    failures: list[str] = []
    posted = 0
    seen: set[tuple[str, str]] = set()
    for case in CASES:
        if case.api or case.method != "GET" or not case.allowed:
            continue
        persona = sorted(case.allowed - {"anonymous"})[0] if case.allowed - {"anonymous"} else None
        if persona is None:
            continue
        client = web.client()
        token = "fuzz-token"
        client.cookies.set("oc_session", session_cookie(web, cycle.emails[persona], token))
        page = client.get(case.path.format(**case.params(web.factory, cycle)))
        if page.status_code != 200:
            continue
        for action, fields in _forms(page.text):
            if action in SKIP or (persona, action) in seen:
                continue
            seen.add((persona, action))
            for value in HOSTILE:
                data = {
                    k: (v if k == "csrf_token" or k == "version" else value)
                    for k, v in fields.items()
                }
                data["csrf_token"] = token
                r = client.post(action, data=data)
                posted += 1
                if r.status_code >= 500:
                    failures.append(f"POST {action} as {persona} with {value!r}: {r.status_code}")
    assert posted > 40
    assert not failures, "\n".join(failures)
