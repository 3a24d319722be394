"""Issue 12: two people (or two tabs) editing one proposal never silently overwrite each
other: every edit form carries the proposal's version, checked and bumped atomically;
a conflict is a 409 with a clear message that changes nothing; a double submit is
answered twice with the same revision."""

from __future__ import annotations

import html
import re
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from opencall.proposals.models import Proposal, ProposalRevision, Request
from opencall.web.i18n import Translator
from tests.authz.test_matrix import pdf_bytes
from tests.factories import table_counts
from tests.web.conftest import Web, World, csrf

pytestmark = pytest.mark.filterwarnings("ignore")
VERSION = re.compile(r'name="version" value="(\d+)"')
STALE = Translator("en").gettext(
    "This proposal was changed elsewhere since you opened it; your text is kept below — "
    "review the latest version and save again."
)


def tabs(web: Web, email: str, n: int = 2) -> list[TestClient]:
    """``n`` tabs of one signed-in browser (one session cookie)."""
    first = web.login(email)
    out = [first]
    for _ in range(n - 1):
        c = web.client()
        c.cookies.update(first.cookies)
        out.append(c)
    return out


def editor_form(c: TestClient, pid: int) -> dict[str, str]:
    page = c.get(f"/proposals/{pid}")
    m = VERSION.search(page.text)
    assert m, "the editor has no version field"
    return {"csrf_token": csrf(c, f"/proposals/{pid}"), "version": m.group(1)}


def together(*calls: Any) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait(30)
        out[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def _text(n: int, tab: int) -> dict[str, str]:
    return {
        "title": "Pulsar timing with FAST",
        "abstract": f"Round {n}, written in tab {tab}.",
        "science_case": "Millisecond pulsars are precise clocks.",
        "keywords": "",
    }


def test_simultaneous_saves_lose_no_acknowledged_text(web: Web, world: World) -> None:
    """Two tabs save the same version at the same instant: one is told "saved", the other
    gets a 409 with its text kept; the database holds what was acknowledged. Before the
    fix both were told "saved" and one text was silently lost."""
    pid = world.ids["proposal"]
    a, b = tabs(web, world.emails["pi"])
    for n in range(6):
        fa, fb = editor_form(a, pid), editor_form(b, pid)
        assert fa["version"] == fb["version"]
        ra, rb = together(
            lambda fa=fa, n=n: a.post(f"/proposals/{pid}", data={**fa, **_text(n, 0)}),
            lambda fb=fb, n=n: b.post(f"/proposals/{pid}", data={**fb, **_text(n, 1)}),
        )
        assert sorted([ra.status_code, rb.status_code]) == [303, 409], (n, ra.text[:500])
        winner, loser = (0, rb) if ra.status_code == 303 else (1, ra)
        assert STALE in html.unescape(loser.text)
        assert f"Round {n}, written in tab {1 - winner}." in html.unescape(loser.text)
        with web.factory() as s:
            p = s.get(Proposal, pid)
            assert p is not None and p.abstract == f"Round {n}, written in tab {winner}."


def _request_form(base: dict[str, str], hours: str) -> dict[str, str]:
    return {
        **base,
        "kind": "fast",
        "receiver": "19-beam",
        "mode": "Tracking",
        "targets-0-name": "Crab",
        "targets-0-ra_deg": "83.63",
        "targets-0-dec_deg": "22.01",
        "targets-0-hours": hours,
    }


def test_two_tabs_cannot_push_past_the_cap(web: Web, world: World) -> None:
    """Each tab adds a request that fits alone (7 h asked, cap 50 h): 30 h + 30 h together
    would exceed the cap. One is saved, the other refused as stale; the cap holds."""
    pid = world.ids["proposal"]
    a, b = tabs(web, world.emails["pi"])
    fa, fb = editor_form(a, pid), editor_form(b, pid)
    ra, rb = together(
        lambda: a.post(f"/proposals/{pid}/requests", data=_request_form(fa, "30")),
        lambda: b.post(f"/proposals/{pid}/requests", data=_request_form(fb, "30")),
    )
    # the second is refused either as stale (409) or, when it is checked against the
    # first's saved request, as over the cap (400): never saved
    first, second = sorted([ra.status_code, rb.status_code])
    assert first == 303 and second in (400, 409), (ra.status_code, rb.status_code)
    with web.factory() as s:
        total = sum(s.scalars(select(Request.amount).where(Request.proposal_id == pid)))
        assert total == 37


def test_every_edit_route_requires_the_version(web: Web, world: World) -> None:
    """A form without a version (or with an old one) is refused with the clear message,
    and nothing changes: text, team, requests and the PDF alike."""
    pid, rid, mid = world.ids["proposal"], world.ids["request"], world.ids["coi_member"]
    c = web.login(world.emails["pi"])
    form = editor_form(c, pid)
    case_pdf = pdf_bytes()  # its bytes hold the second it was made: made once
    good = c.post(
        f"/proposals/{pid}/attachments",
        data=form,
        files={"pdf": ("case.pdf", case_pdf, "application/pdf")},
    )
    assert good.status_code == 303
    with web.factory() as s:
        p = s.get(Proposal, pid)
        assert p is not None
        aid = p.attachments[0].id
    fresh = editor_form(c, pid)
    old = {**fresh, "version": str(int(fresh["version"]) - 1)}
    invite = {"email": "new@example.org", "name": "New", "institution": "X", "country_iso3": "PER"}
    # another file than the one stored: the same file again with the version it was sent
    # with is a retry of that upload, answered "uploaded" with nothing changed
    # (tests/proposals/test_pdf_hygiene.py)
    pdf = {"pdf": ("other.pdf", pdf_bytes(), "application/pdf")}
    posts: list[tuple[str, dict[str, str], Any]] = [
        (f"/proposals/{pid}", _text(0, 0), None),
        (f"/proposals/{pid}/team", invite, None),
        (f"/proposals/{pid}/team/{mid}/remove", {}, None),
        (f"/proposals/{pid}/requests", _request_form({}, "1")),
        (f"/proposals/{pid}/requests/{rid}", _request_form({}, "1")),
        (f"/proposals/{pid}/requests/{rid}/remove", {}, None),
        (f"/proposals/{pid}/attachments", {}, pdf),
        (f"/proposals/{pid}/attachments/{aid}/remove", {}, None),
    ]  # type: ignore[list-item]
    with web.factory() as s:
        before = table_counts(s)
        p = s.get(Proposal, pid)
        assert p is not None
        snapshot = (p.version, p.abstract, [r.details for r in p.requests], len(p.members))
    for path, data, *files in posts:
        for base in ({"csrf_token": fresh["csrf_token"]}, old):
            r = c.post(path, data={**data, **base}, files=files[0] if files else None)
            assert r.status_code == 409, (path, base, r.status_code, r.text[:300])
            assert STALE in html.unescape(r.text), path
    # the stored file sent again without any version is no retry of a form: refused too
    same = {"pdf": ("case.pdf", case_pdf, "application/pdf")}
    r = c.post(
        f"/proposals/{pid}/attachments", data={"csrf_token": fresh["csrf_token"]}, files=same
    )
    assert r.status_code == 409, (r.status_code, r.text[:300])
    with web.factory() as s:
        assert table_counts(s) == before
        p = s.get(Proposal, pid)
        assert p is not None
        assert (p.version, p.abstract, [r.details for r in p.requests], len(p.members)) == (
            snapshot
        )


def test_double_click_on_submit(web: Web, world: World) -> None:
    """Two submits of one proposal at the same instant: both answered (no 500 from the
    unique revision), one revision frozen."""
    pid = world.ids["proposal"]
    a, b = tabs(web, world.emails["pi"])
    ta, tb = csrf(a, f"/proposals/{pid}"), csrf(b, f"/proposals/{pid}")
    ra, rb = together(
        lambda: a.post(f"/proposals/{pid}/submit", data={"csrf_token": ta}),
        lambda: b.post(f"/proposals/{pid}/submit", data={"csrf_token": tb}),
    )
    assert (ra.status_code, rb.status_code) == (303, 303)
    with web.factory() as s:
        revs = list(s.scalars(select(ProposalRevision).where(ProposalRevision.proposal_id == pid)))
        assert len(revs) == 1
        p = s.get(Proposal, pid)
        assert p is not None and p.status == "submitted" and p.current_revision_id == revs[0].id
