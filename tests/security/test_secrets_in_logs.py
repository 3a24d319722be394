"""One-time links out of the logs and the Referer (trialcrowd15). A password-reset,
verification or invitation link carries its token in the path (``/password/reset/<token>``),
and the request log wrote every path as it came: ``GET /password/reset/<token> 200``, a
live link (an hour to take the account over) for whoever reads the logs or the service
they are shipped to. The page then loaded its style sheet with the same address as its
``Referer`` (``Referrer-Policy: same-origin``), into a reverse proxy's access log. Now a
path's token is logged as ``{token}`` (routed or not), and a page whose address holds one
is ``Referrer-Policy: strict-origin`` (the site, not the path; ``no-referrer`` made the
browser send the page's own form with ``Origin: null``, refused as cross-site). A newline in a path (``%0A``) wrote a log line of
the sender's making; control characters are logged as their code points."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from opencall import logging_setup
from opencall.people import services
from tests import factories as F
from tests.web.conftest import Web, csrf

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture
def out() -> Iterator[io.StringIO]:
    buf = io.StringIO()
    logging_setup.configure(level="INFO", fmt="text", stream=buf)
    yield buf
    logging_setup.configure(level="WARNING")  # back to the quiet default


def test_a_reset_link_is_not_written_to_the_log_nor_sent_as_referer(
    web: Web, out: io.StringIO
) -> None:
    with web.factory() as s:
        u = F.user(s, email="logged@example.org")
        found = services.request_password_reset(s, u.email)
        assert found is not None
        s.commit()
        raw = found[1]
    c = web.client()
    page = c.get(f"/password/reset/{raw}")
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "strict-origin"
    form = {"csrf_token": csrf(c, f"/password/reset/{raw}"), "password": "x", "password2": "y"}
    assert c.post(f"/password/reset/{raw}", data=form).status_code == 400
    # a path refused before the router ran (a control character) is not echoed either,
    # nor does a newline in a path start a log line of its sender's making
    assert c.get(f"/password/reset/{raw}%00").status_code == 400
    assert c.get("/calls%0A2026-12-06 INFO opencall.web.request GET /forged").status_code == 404
    # an unknown link too: a guess's log line would tell nothing, but a mistyped link
    # differs from the real one by a character
    assert c.get(f"/verify/{raw[:-1]}x").status_code in (200, 400, 404)
    text = out.getvalue()
    assert "GET /password/reset/{token} 200" in text, text
    assert "POST /password/reset/{token} 400" in text, text
    assert raw not in text and raw[:-1] not in text, text
    assert "\n2026-12-06 INFO" not in text and "GET /callsU+000A2026" in text, text
    # other pages keep their policy, and a plain path is logged as it is
    home = c.get("/calls")
    assert home.headers["referrer-policy"] == "same-origin"
    assert "GET /calls 200" in out.getvalue()


def test_the_logged_path_keeps_ids_and_slugs() -> None:
    routed = {
        "path": "/proposals/12/team/3",
        "path_params": {"proposal_id": "12", "member_id": "3"},
        "route": object(),
    }
    assert logging_setup.logged_path(routed) == "/proposals/12/team/3"
    unrouted = {"path": "/calls/fast-2027a/apply"}
    assert logging_setup.logged_path(unrouted) == "/calls/fast-2027a/apply"
    token = "Ab3_" * 11
    assert logging_setup.logged_path({"path": f"/roles/invitations/{token}"}) == (
        "/roles/invitations/{token}"
    )
