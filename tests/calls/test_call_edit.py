"""Editing a call through its page (/manage/calls/{slug}/edit): the user office
only, the form filled in with the current values, what each phase allows, errors
beside their field in the user's language, and the cockpit's link."""

from __future__ import annotations

import datetime as dt
import html
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import select

from opencall.auditlog import AuditEvent
from opencall.calls.models import Call
from opencall.calls.queries import call_by_slug
from opencall.db import utcnow
from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from tests import factories as F
from tests.review_cycle import Cycle, Web, csrf
from tests.web.conftest import make_open

pytestmark = pytest.mark.filterwarnings("ignore")


class _Inputs(HTMLParser):
    """The values a browser would send for the page's form (text, textarea, select, checkbox)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._area: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name", "")
        if tag == "input" and name and name != "csrf_token":
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.values[name] = "on"
            else:
                self.values[name] = a.get("value", "")
        elif tag == "textarea":
            self._area = name
            self.values[name] = ""
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._area = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._area:
            self.values[self._area] += data


def form_of(client: Any, slug: str) -> dict[str, str]:
    r = client.get(f"/manage/calls/{slug}/edit")
    assert r.status_code == 200, r.text[:500]
    p = _Inputs()
    p.feed(r.text)
    return p.values


def post(client: Any, slug: str, values: dict[str, str]) -> Any:
    tok = csrf(client, f"/manage/calls/{slug}/edit")
    return client.post(f"/manage/calls/{slug}/edit", data={"csrf_token": tok, **values})


def load(web: Web, slug: str) -> Call:
    with web.factory() as s:
        call = call_by_slug(s, slug)
        assert call is not None
        s.expunge(call)
        return call


def updates(web: Web, slug: str) -> list[dict[str, Any]]:
    with web.factory() as s:
        call = call_by_slug(s, slug)
        assert call is not None
        return [
            e.data
            for e in s.scalars(
                select(AuditEvent).where(
                    AuditEvent.call_id == call.id, AuditEvent.action == "call.updated"
                )
            )
        ]


def test_office_only_and_linked_from_the_cockpit(web: Web, cycle: Cycle) -> None:
    manager = web.login(cycle.emails["manager"])
    assert (
        f'href="/manage/calls/{cycle.slug}/edit"' in manager.get(f"/manage/calls/{cycle.slug}").text
    )
    chair = web.login(cycle.emails["chair"])
    assert "/edit" not in chair.get(f"/manage/calls/{cycle.slug}").text
    assert chair.get(f"/manage/calls/{cycle.slug}/edit").status_code == 404
    other = web.login(cycle.emails["other_manager"])
    assert other.get(f"/manage/calls/{cycle.slug}/edit").status_code == 404
    assert post(other, cycle.other_slug, {}).status_code == 400  # their own call is theirs
    assert manager.get("/manage/calls/no-such-call/edit").status_code == 404


def test_after_open_only_the_description(web: Web, cycle: Cycle) -> None:
    manager = web.login(cycle.emails["manager"], lang="fr")
    values = form_of(manager, cycle.slug)
    call = load(web, cycle.slug)
    assert values["title"] == call.title and values["anonymity"] == "dual"
    assert values["receivers"] == ", ".join(F.RECEIVERS)
    assert values["closes_at"] == call.closes_at.strftime("%Y-%m-%d %H:%M")
    # a new title is refused, beside the title, in French; nothing changes
    r = post(manager, cycle.slug, {**values, "title": "Renamed in review"})
    assert r.status_code == 400
    assert 'id="err-title"' in r.text and "seule sa description peut changer" in r.text
    assert html.unescape(r.text).count("Renamed in review") == 1  # the typed value is kept
    assert load(web, cycle.slug).title == call.title and updates(web, cycle.slug) == []
    # the description may change
    r = post(manager, cycle.slug, {**values, "description": "Reviews are under way."})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/manage/calls/{cycle.slug}")
    assert load(web, cycle.slug).description == "Reviews are under way."
    assert [e["fields"] for e in updates(web, cycle.slug)] == [["description"]]


def test_open_call_the_unchanged_form_round_trips(web: Web, cycle: Cycle) -> None:
    slug = cycle.other_slug
    with web.factory() as s:
        call = call_by_slug(s, slug)
        assert call is not None
        make_open(call)  # open now, at the real present (the page uses the clock)
        s.commit()
    other = web.login(cycle.emails["other_manager"], lang="zh")
    values = form_of(other, slug)
    before = load(web, slug)
    assert post(other, slug, values).status_code == 303
    after = load(web, slug)
    for k in ("review_settings", "allocation_policy", "form", "closes_at", "opens_at"):
        assert getattr(after, k) == getattr(before, k), k
    assert updates(web, slug) == []
    # the anonymity mode is locked while the call is open: said beside it, in Chinese
    r = post(other, slug, {**values, "anonymity": "open"})
    assert r.status_code == 400 and 'id="err-anonymity"' in r.text
    assert "申请人可能已经依赖这些设置" in r.text and "anonymity" in r.text
    r = post(other, slug, {**values, "reviewers_per_proposal": "2"})
    assert r.status_code == 400 and 'id="err-reviewers_per_proposal"' in r.text
    # the closing date: never to a moment already past
    past = (utcnow() - dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    r = post(other, slug, {**values, "closes_at": past})
    assert r.status_code == 400 and 'id="err-closes_at"' in r.text and "已经过去" in r.text
    r = post(other, slug, {**values, "closes_at": "soon"})
    assert r.status_code == 400 and 'id="err-closes_at"' in r.text
    assert load(web, slug).closes_at == before.closes_at and updates(web, slug) == []
    # extended, with a new word limit
    later = before.closes_at + dt.timedelta(days=14)
    r = post(
        other,
        slug,
        {**values, "closes_at": later.strftime("%Y-%m-%d %H:%M:%S"), "abstract_max_words": "350"},
    )
    assert r.status_code == 303
    after = load(web, slug)
    assert after.closes_at == later and after.form["abstract_max_words"] == 350
    assert updates(web, slug)[0]["fields"] == ["closes_at", "form.abstract_max_words"]


def draft_call(web: Web, cycle: Cycle) -> str:
    """A draft FAST call of a provider the cycle's manager administers; its slug."""
    with web.factory() as s:
        call = F.fast_call(s, status="draft")
        manager = user_by_email(s, cycle.emails["manager"])
        assert manager is not None
        people_services.grant_role(s, manager.id, "provider_admin", provider_id=call.provider_id)
        s.commit()
        return call.slug


def test_draft_everything_may_change(web: Web, cycle: Cycle) -> None:
    slug = draft_call(web, cycle)
    c = web.login(cycle.emails["manager"])
    values = form_of(c, slug)
    assert values["max_amount_per_proposal"] == "50.0"
    r = post(
        c,
        slug,
        {
            **values,
            "anonymity": "single",
            "review_mode": "distributed",
            "max_load": "4",
            "award_mode": "partial",
            "min_fraction": "0.5",
            "max_amount_per_proposal": "",  # cleared
            "requires_pdf": "on",
            "eligible_income_groups": "low, lower-middle",
        },
    )
    assert r.status_code == 303, r.text[-3000:]
    call = load(web, slug)
    assert call.anonymity == "single" and call.review_settings["mode"] == "distributed"
    assert call.review_settings["max_load"] == 4
    assert call.allocation_policy["min_fraction"] == 0.5
    assert call.form["max_amount_per_proposal"] is None and call.form["requires_pdf"] is True
    assert call.eligibility == {"income_groups": ["low", "lower-middle"]}
    # the document's own validation, beside the field
    values = form_of(c, slug)
    assert values["award_mode"] == "partial" and values["requires_pdf"] == "on"
    r = post(c, slug, {**values, "award_mode": "whole"})  # min_fraction 0.5 needs partial
    assert r.status_code == 400 and "min_fraction" in r.text
    r = post(c, slug, {**values, "receivers": "no-such-receiver"})
    assert r.status_code == 400 and "receivers" in r.text
    assert load(web, slug).allocation_policy["award_mode"] == "partial"
    # an income group the reference data does not know is refused beside its input
    # (trialfac23b: it was kept, and read by nothing)
    r = post(c, slug, {**values, "eligible_income_groups": "low, LIC"})
    assert r.status_code == 400 and "&#39;LIC&#39; is not an income group" in r.text, r.text[-3000:]
    assert load(web, slug).eligibility == {"income_groups": ["low", "lower-middle"]}
