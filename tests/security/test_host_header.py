"""The request's ``Host`` header in no answer (trialcrowd14). Pages and e-mails build their
links from ``OPENCALL_BASE_URL`` (trialcrowd13), but a path with a trailing slash was
redirected by the router to an absolute address made from the request's ``Host``:
``GET /calls/`` with ``Host: evil.example`` answered ``307 Location:
http://evil.example/calls``, and over HTTPS without the proxy's headers the same
redirect went to ``http://`` (a downgrade). Now an answer's ``Location`` on the request's
own host is written as a path on this site (``/calls``), never one a browser reads as
another host (``//far.example``). Walked over every GET route of the app, as it is and
with a trailing slash."""

from __future__ import annotations

import re

import pytest

from tests.authz.test_matrix import app_routes
from tests.conftest import RUN_ONCE
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")

EVIL = "evil.example"


def _paths(web: Web) -> list[str]:
    out = []
    for method, path in sorted(app_routes(web.app)):
        if method != "GET":
            continue
        filled = re.sub(r"\{[^}]+\}", "1", path)
        out += [filled, filled.rstrip("/") + "/"]
    # paths that start like another host once a slash is taken off
    # (another name than the claimed host's: a 404 page may say the path it was asked)
    return out + ["//far.example/calls/", "//far.example/", "/\\far.example/", "/calls//"]


@RUN_ONCE
def test_no_answer_names_the_host_the_request_claimed(web: Web, one_loop: None) -> None:
    c = web.client()
    leaks = []
    for path in _paths(web):
        r = c.get(path, headers={"host": EVIL})
        location = r.headers.get("location", "")
        told = [k for k, v in r.headers.items() if EVIL in v]
        if told or EVIL in r.text:
            leaks.append((path, r.status_code, told, location))
        # a redirect stays on this site: a path, never //host or /\host
        if location:
            assert location.startswith("/"), (path, location)
            assert not location.startswith(("//", "/\\")), (path, location)
    assert leaks == []


@RUN_ONCE
def test_a_trailing_slash_is_redirected_to_the_path_on_this_site(web: Web) -> None:
    c = web.client()
    r = c.get("/calls/?page=2", headers={"host": EVIL})
    assert r.status_code in (307, 308) and r.headers["location"] == "/calls?page=2"
    r = c.get("/calls/")
    assert r.headers["location"] == "/calls"
    assert c.get("/calls/", follow_redirects=True).status_code == 200
