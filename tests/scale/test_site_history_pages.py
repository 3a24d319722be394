"""A site after years of calls (scale18): the pages a crowd reads most must not read
what grows with the site's history and is not shown. Loaded ORM objects are counted
(the mapper's ``load`` event) besides statements: a call's resources (``Call.pools``,
24 for FAST, each with its resource, facility and provider and their JSON documents)
were loaded for every call of a list, also where the page shows no resource."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call, CallPool
from opencall.facilities.models import CapacityPool
from opencall.people.services import create_api_token
from tests import factories as F
from tests.scale.test_paged_lists import _loaded
from tests.web.conftest import Web

MODELS = (Call, CallPool, CapacityPool)


def read(c: Any, path: str, **kw: Any) -> tuple[Any, dict[str, int]]:
    c.get(path, **kw)  # warm
    with _loaded(*MODELS) as n:
        r = c.get(path, **kw)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return r, n


def test_the_applicants_lists_load_no_resources_of_their_calls(
    web: Web, factory: sessionmaker[Session]
) -> None:
    """The dashboard and the API's list of one's proposals show each proposal's call by
    title and deadline: the calls' 24 resources each were loaded for nothing."""
    with factory() as s:
        calls = [F.fast_call(s), F.fast_call(s)]
        pi = F.user(s)
        for call in calls:
            F.full_proposal(s, call, pi)
        token = create_api_token(s, pi, "t")[1]
        s.commit()
        email = pi.email
    r, n = read(web.login(email), "/dashboard")
    assert r.text.count("FAST open time") == 2
    assert n["CallPool"] == 0 and n["CapacityPool"] == 0, n
    r, n = read(web.client(), "/api/v1/proposals", headers={"Authorization": f"Bearer {token}"})
    assert len(r.json()["items"]) == 2
    assert n["CallPool"] == 0 and n["CapacityPool"] == 0, n


def archived_calls(factory: sessionmaker[Session], n: int) -> list[str]:
    """``n`` calls of one resource each, archived (public, results shown), the first
    closing first; their slugs."""
    slugs = []
    with factory() as s:
        for i in range(n):
            call = F.fast_call(s, pools=1)
            call.closes_at = call.closes_at - dt.timedelta(days=1000 - i)
            call.opens_at = call.closes_at - dt.timedelta(days=30)
            call.status = "archived"
            slugs.append(call.slug)
        s.commit()
    return slugs


def test_the_list_of_calls_is_paged(web: Web, factory: sessionmaker[Session]) -> None:
    """``/calls`` listed every public call of the site's history with its resources (220
    past FAST-like calls: 5,280 resources on one page); 25 a page now, in the same order."""
    slugs = archived_calls(factory, 27)
    c = web.client()
    r, n = read(c, "/calls")
    shown = re.findall(r'<h2><a href="/calls/([^"]+)">', r.text)
    assert shown == slugs[:25]
    assert n["Call"] == 25 and n["CallPool"] == 25, n
    assert 'href="?page=2"' in r.text
    r, n = read(c, "/calls?page=2")
    assert re.findall(r'<h2><a href="/calls/([^"]+)">', r.text) == slugs[25:]
    assert n["CallPool"] == 2, n


def test_the_home_page_lists_the_latest_results_without_their_resources(
    web: Web, factory: sessionmaker[Session]
) -> None:
    """The home page named every published call by title, and loaded each with its
    resources; the 20 latest now (oldest first, as before), with a link to all calls,
    and no resources but those of the open calls (their providers are named)."""
    slugs = archived_calls(factory, 23)
    with factory() as s:
        F.fast_call(s, pools=2)
        s.commit()
    r, n = read(web.client(), "/")
    assert re.findall(r'<a href="/calls/([^"]+)/awarded">', r.text) == slugs[3:]
    assert n["CallPool"] == 2, n


def test_the_reviewers_page_loads_only_the_calls_it_names(
    web: Web, factory: sessionmaker[Session]
) -> None:
    """``/review`` loaded every call of the site (to find those the reader may review
    technically), each with its 24 resources: 224 calls and 5,320 resources a visit on
    a site of 220 past calls. Now the calls of the reader's rows and technical grants,
    without their resources."""
    from opencall.people import services as people_services
    from opencall.reviews.models import ReviewAssignment

    with factory() as s:
        call, other, technical = F.fast_call(s), F.fast_call(s), F.fast_call(s)
        reviewer = F.user(s)
        p = F.full_proposal(s, call)
        for c in (call, technical):
            c.status = "review"
        s.add(
            ReviewAssignment(
                call_id=call.id, proposal_id=p.id, reviewer_id=reviewer.id, status="accepted"
            )
        )
        people_services.grant_role(s, reviewer.id, "technical_reviewer", call_id=technical.id)
        s.commit()
        email, slug = reviewer.email, technical.slug
        assert other.status == "open"
    r, n = read(web.login(email), "/review")
    assert f'href="/technical/calls/{slug}"' in r.text
    assert "Pulsar timing with FAST" in r.text
    assert n["Call"] == 2 and n["CallPool"] == 0 and n["CapacityPool"] == 0, n


def test_the_staffs_list_of_calls_is_paged_without_resources(
    web: Web, factory: sessionmaker[Session]
) -> None:
    """``/manage`` (the calls one runs: every call of the site for its administrator)
    names each call with its facility, status and deadline, and loaded every one with
    its resources; 25 a page now, in the same order, without their resources."""
    slugs = archived_calls(factory, 27)
    with factory() as s:
        admin = F.user(s)
        admin.is_site_admin = True
        s.commit()
        email = admin.email
    c = web.login(email)
    r, n = read(c, "/manage")
    assert re.findall(r'<td><a href="/manage/calls/([^"]+)">', r.text) == slugs[:25]
    assert n["Call"] == 25 and n["CallPool"] == 0, n
    assert 'href="?page=2"' in r.text
    r, _n = read(c, "/manage?page=2")
    assert re.findall(r'<td><a href="/manage/calls/([^"]+)">', r.text) == slugs[25:]
