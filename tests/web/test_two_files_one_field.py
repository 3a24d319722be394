"""mend22b: a file field sent with two files kept the last one and said nothing about
the first (the PI believed both were stored). Refused with a clear error, nothing
stored, on the pages and through the API."""

from __future__ import annotations

import html

import pytest

from tests.api.test_writes import token
from tests.authz.test_matrix import pdf_bytes
from tests.web.conftest import Web, World, csrf, version_of
from tests.web.test_forms import state

pytestmark = pytest.mark.filterwarnings("ignore")


def test_two_pdfs_in_one_field_on_the_page(web: Web, world: World) -> None:
    c = web.login(world.emails["pi"], "fr")
    pid = world.ids["proposal"]
    tok = csrf(c, f"/proposals/{pid}")
    before = state(web, world)
    r = c.post(
        f"/proposals/{pid}/attachments",
        data={"csrf_token": tok, "version": version_of(c, pid)},
        files=[
            ("pdf", ("one.pdf", pdf_bytes(1), "application/pdf")),
            ("pdf", ("two.pdf", pdf_bytes(2), "application/pdf")),
        ],
    )
    assert r.status_code == 400, r.text[:2000]
    assert "un seul fichier à la fois" in html.unescape(r.text)
    assert state(web, world) == before


def test_two_pdfs_in_one_field_through_the_api(web: Web, world: World) -> None:
    pid = world.ids["proposal"]
    pi = token(web, world.emails["pi"])
    c = web.client()
    version = c.get(f"/api/v1/proposals/{pid}/full", headers=pi).json()["version"]
    before = state(web, world)
    r = c.post(
        f"/api/v1/proposals/{pid}/attachments",
        headers=pi,
        data={"version": str(version)},
        files=[
            ("file", ("one.pdf", pdf_bytes(1), "application/pdf")),
            ("file", ("two.pdf", pdf_bytes(2), "application/pdf")),
        ],
    )
    assert r.status_code == 400, r.text
    assert "one file" in r.json()["detail"]
    assert state(web, world) == before
