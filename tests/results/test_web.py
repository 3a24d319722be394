"""The post-award pages and API: who may see and record (every route x persona),
recording through the forms, bad input refused, the public aggregates."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from opencall.calls.models import Call
from opencall.outcomes import queries as oq
from opencall.outcomes.models import PublicRelease
from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from opencall.proposals.models import Proposal
from opencall.results import services
from opencall.results.models import PostAwardRecord, ResearchOutput
from tests.authz.test_workspace_matrix import session_client
from tests.results.authz_cases import CASES, LOAN
from tests.results.conftest import Awarded
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")
PERSONAS = ("anonymous", "pi", "coi", "other", "manager", "other_manager")


def outcome(r: Any) -> str:
    if r.status_code == 404:
        return "404"
    if r.status_code == 401 or (
        r.status_code == 303 and r.headers.get("location", "").startswith("/login")
    ):
        return "login"
    assert r.status_code < 500, r.text[:2000]
    return "ok"


def _record(web: Web, a: Awarded) -> None:
    with web.factory() as s:
        p = s.get(Proposal, a.awarded)
        assert p is not None
        rec = services.add_record(
            s, p, "loan", {"sample": "x", "mass_mg": 5, "due_on": "2028-01-01"}, actor_id=None
        )
        out = services.add_output(s, p, {"title": "Ages", "year": 2028}, actor_id=None)
        part = _later_part(s, p)
        s.commit()
        a.ids["record"] = rec.id
        a.ids["output"] = out.id
        a.ids["part"] = part.id


def _later_part(s: Any, p: Proposal) -> Any:
    """A later period's part of the award, held in a later (draft) call of the same
    facility (outcomes24: the routes that answer its progress report)."""
    import datetime as dt

    from opencall.allocation import later_parts
    from opencall.calls import services as call_services

    pool = p.call.pools[0].pool
    later = call_services.create_call(
        s, pool.facility,
        {"slug": f"{p.call.slug}-later", "code": f"{p.call.code}B", "title": "Lunar loans 2028",
         "cycle": "2028", "opens_at": p.call.opens_at + dt.timedelta(days=365),
         "closes_at": p.call.closes_at + dt.timedelta(days=365)},
    )  # fmt: skip
    call_services.offer_pool(s, later, pool, 100)
    return later_parts.hold_later_part(s, p, later, pool.id, 10.0)


def test_every_route_by_persona(web: Web, aw: Awarded, one_loop: None) -> None:
    _record(web, aw)
    tokens = {}
    with web.factory() as s:
        for k, email in aw.emails.items():
            u = user_by_email(s, email)
            assert u is not None
            tokens[k] = people_services.create_api_token(s, u, "t")[1]
        s.commit()
    failures = []
    for case in CASES:
        path = case.path.format(**case.params(aw))
        for persona in PERSONAS:
            if case.api:
                client = web.client()
                headers = (
                    {"Authorization": f"Bearer {tokens[persona]}"} if persona in tokens else {}
                )
                r = client.request(case.method, path, headers=headers, json=case.json)
            else:
                client, tok = session_client(web, aw.emails.get(persona))
                if case.method == "GET":
                    r = client.get(path)
                else:
                    r = client.post(path, data={"csrf_token": tok, **case.data})
            got = outcome(r)
            want = (
                "ok"
                if persona in case.allowed
                else (case.anonymous if persona == "anonymous" else "404")
            )
            if got != want:
                failures.append(f"{case.method} {case.path} as {persona}: {got} (want {want})")
            if persona not in case.allowed and "Amina" in r.text:
                failures.append(f"{case.method} {case.path} as {persona} shows the PI's name")
    assert not failures, "\n".join(failures)


def _count(web: Web, model: Any) -> int:
    with web.factory() as s:
        return s.scalar(select(func.count(model.id))) or 0


def test_recording_on_the_web(web: Web, aw: Awarded) -> None:
    client, tok = session_client(web, aw.emails["pi"])
    r = client.post(f"/awards/{aw.awarded}/records", data={"csrf_token": tok, **LOAN})
    assert r.status_code == 303
    page = client.get(f"/awards/{aw.awarded}").text
    assert "CE-5 regolith" in page and "2028-06-01" in page
    # bad input: 400 with the field named, nothing stored
    bad = {**LOAN, "received_on": "2027-05-01"}  # before shipped_on
    r = client.post(f"/awards/{aw.awarded}/records", data={"csrf_token": tok, **bad})
    assert r.status_code == 400 and "received_on" in r.text
    r = client.post(f"/awards/{aw.awarded}/records", data={"csrf_token": tok, "kind": "berth"})
    assert r.status_code == 400
    assert _count(web, PostAwardRecord) == 1
    # a file upload
    bib = (
        b"@article{a, title={Ages of grains}, year={2028}, doi={10.5555/w.1}, note={Lunar samples}}"
    )
    r = client.post(
        f"/awards/{aw.awarded}/outputs/import",
        data={"csrf_token": tok},
        files={"file": ("refs.bib", bib, "text/plain")},
    )
    assert r.status_code == 303, r.text[:500]
    r = client.post(
        f"/awards/{aw.awarded}/outputs/import",
        data={"csrf_token": tok},
        files={"file": ("refs.bib", b"\xff\xfe broken", "text/plain")},
    )
    assert r.status_code == 400
    # Latin-1 (an older reference manager's export) is refused with the reason
    latin = "@article{b, title={Café yields}, year={2028}}".encode("latin-1")
    r = client.post(
        f"/awards/{aw.awarded}/outputs/import",
        data={"csrf_token": tok},
        files={"file": ("refs.bib", latin, "text/plain")},
    )
    assert r.status_code == 400 and "UTF-8" in r.text
    assert _count(web, ResearchOutput) == 1
    # UTF-16 with its byte-order mark (a Windows export) is read as such
    utf16 = "@article{c, title={Teff yields in Tigray}, year={2028}}".encode("utf-16")
    r = client.post(
        f"/awards/{aw.awarded}/outputs/import",
        data={"csrf_token": tok},
        files={"file": ("refs.bib", utf16, "text/plain")},
    )
    assert r.status_code == 303, r.text[:500]
    assert _count(web, ResearchOutput) == 2
    # the user office's overview, as CSV
    office, _ = session_client(web, aw.emails["manager"])
    csv = office.get(f"/manage/calls/{aw.slug}/postaward?format=csv").text
    assert csv.splitlines()[1].split(",")[1:4] == ["True", "False", "True"]


def test_api_refuses_bad_input_and_changes_nothing(web: Web, aw: Awarded) -> None:
    with web.factory() as s:
        u = user_by_email(s, aw.emails["pi"])
        assert u is not None
        token = people_services.create_api_token(s, u, "t")[1]
        s.commit()
    h = {"Authorization": f"Bearer {token}"}
    c = web.client()
    for body in (
        {"kind": "loan", "data": {"sample": "x", "mass_mg": -1}},
        {"kind": "loan", "data": {"sample": "x", "mass_mg": 1, "extra": 1}},
        {"kind": "session", "data": {"observed_on": "2027-01-01", "observed_hours": 1}},
    ):
        r = c.post(f"/api/v1/awards/{aw.awarded}/records", json=body, headers=h)
        assert r.status_code == 400, r.text
    r = c.post(
        f"/api/v1/awards/{aw.awarded}/outputs/import",
        json={"format": "bibtex", "content": "@article{x, title={No year}}"},
        headers=h,
    )
    assert r.status_code == 400 and "no year" in r.json()["detail"]
    # hostile files: a refusal naming the entry and its line, never a 500
    for fmt, content, says in (
        ("csl-json", "[" * 50_000 + "]" * 50_000, "could not be read"),
        ("csl-json", '[{"title": "T", "issued": "2020"}]', "line 1): issued is not an object"),
        ("bibtex", "@misc{a, title={T}, year={2020}, month={2}, day={30}}", "2020-2-30"),
    ):
        r = c.post(
            f"/api/v1/awards/{aw.awarded}/outputs/import",
            json={"format": fmt, "content": content},
            headers=h,
        )
        assert r.status_code == 400 and says in r.json()["detail"], r.text[:300]
    assert _count(web, PostAwardRecord) == 0 and _count(web, ResearchOutput) == 0
    r = c.post(
        f"/api/v1/awards/{aw.awarded}/records",
        json={"kind": "loan", "data": {"sample": "x", "mass_mg": 1, "shipped_on": "2027-01-01"}},
        headers=h,
    )
    assert r.status_code == 201 and r.json()["used"] is False
    got = c.get(f"/api/v1/awards/{aw.awarded}", headers=h).json()
    assert got["kinds"] == ["loan", "shipment", "other"] and len(got["records"]) == 1


def test_public_sees_aggregates_only(web: Web, aw: Awarded) -> None:
    _record(web, aw)
    anon = web.client()
    assert "Amina" not in anon.get(f"/calls/{aw.slug}/after-award").text
    with web.factory() as s:
        call = s.get(Call, aw.call_id)
        assert call is not None
        call.status = "published"
        s.commit()
    page = anon.get(f"/calls/{aw.slug}/after-award").text
    assert "&lt;5" in page  # one award: a small cell
    assert "Amina" not in page and "Regolith ages" not in page


def test_the_public_after_award_figures_are_kept_until_a_row_changes(web: Web, aw: Awarded) -> None:
    """Anyone may ask for the after-award page; its figures (a facility's every cycle)
    are computed once and kept until a row they read changes: a new result shows at once."""
    with web.factory() as s:
        call = s.get(Call, aw.call_id)
        assert call is not None
        call.status = "published"
        s.commit()
    anon = web.client()
    url = f"/calls/{aw.slug}/after-award"
    oq.PUBLIC_AFTER_AWARD.clear()
    before = oq.PUBLIC_AFTER_AWARD.computed
    first = anon.get(url).text
    # the first view keeps the page's first release (``public_releases``), a row the
    # figures read: it computes them once more, over the release kept
    assert oq.PUBLIC_AFTER_AWARD.computed - before == 2
    assert anon.get(url).text == first
    assert oq.PUBLIC_AFTER_AWARD.computed - before == 2  # the second view computed nothing
    with web.factory() as s:
        p = s.get(Proposal, aw.awarded)
        assert p is not None
        services.add_output(s, p, {"title": "Ages", "year": 2028}, actor_id=None)
        s.commit()
    assert anon.get(url).text != first  # produced results: the page says so at once
    assert oq.PUBLIC_AFTER_AWARD.computed - before == 4  # and keeps its new release
    with web.factory() as s:
        kept = s.scalars(select(PublicRelease.number).where(PublicRelease.call_id == aw.call_id))
        assert sorted(kept) == [1, 2]
