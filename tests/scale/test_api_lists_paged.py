"""The chair's API lists of a call's reviewers (its conflicts, the provider's reviewer
pool, the invitations to review) page by cursor like every other list: they answered a
bare array of every row (tens of thousands of conflicts in a large call), and now a page
whose statements do not grow with the rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from opencall.people import services as people_services
from opencall.proposals import services as prop_services
from opencall.reviews import recruitment
from opencall.reviews.models import Conflict
from tests import factories as F
from tests.scale.test_api_pages import count_statements
from tests.web.conftest import Web

LIMIT = 4


def world(factory: sessionmaker[Session], n: int) -> dict[str, Any]:
    """A call with ``n`` pool reviewers, half of them invited, and ``2n`` conflicts."""
    with factory() as s:
        call = F.fast_call(s, requires_pdf=False)
        chair = F.user(s)
        people_services.grant_role(s, chair.id, "chair", call_id=call.id)
        people = [F.user(s, name=f"Reviewer {i:03d}") for i in range(n)]
        for u in people:
            people_services.grant_role(s, u.id, "reviewer", provider_id=call.provider_id)
        recruitment.invite(s, call, [u.email for u in people[: n // 2]])
        props = []
        for _ in range(2):
            p = F.full_proposal(s, call, F.user(s))
            prop_services.submit(s, p, now=F.NOW)
            props.append(p)
        s.flush()
        for p in props:
            for u in people:
                s.add(
                    Conflict(call_id=call.id, proposal_id=p.id, reviewer_id=u.id, source="declared")
                )
        _t, raw = people_services.create_api_token(s, chair, "paging")
        s.commit()
        return {
            "slug": call.slug,
            "token": raw,
            "pool": [u.email for u in people],
            "invited": [u.email for u in people[: n // 2]],
            "conflicts": 2 * n,
        }


def walk(web: Web, path: str, token: str) -> tuple[list[dict[str, Any]], set[int]]:
    """Every page of a list by cursor: its items, and the statements per page."""
    c = web.client()
    items: list[dict[str, Any]] = []
    counts = set()
    cursor = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": LIMIT, **({"cursor": cursor} if cursor else {})}
        with count_statements(web) as seen:
            r = c.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, (path, r.text[:300])
        body = r.json()
        assert len(body["items"]) <= LIMIT
        items += body["items"]
        counts.add(len(seen))
        cursor = body["page"]["next_cursor"]
        if cursor is None:
            assert len(items) == body["page"]["total"], path
            return items, counts
    raise AssertionError("the cursor never ended")


def test_the_reviewer_lists_page_by_cursor(web: Web, factory: sessionmaker[Session]) -> None:
    per_size = []
    for n in (6, 14):
        data = world(factory, n)
        base = f"/api/v1/calls/{data['slug']}"
        pool, c1 = walk(web, f"{base}/reviewer-pool", data["token"])
        assert [m["email"] for m in pool] == data["pool"]  # by name
        invited, c2 = walk(web, f"{base}/reviewer-invitations", data["token"])
        assert [i["email"] for i in invited] == data["invited"]  # oldest first
        conflicts, c3 = walk(web, f"{base}/conflicts", data["token"])
        assert len(conflicts) == data["conflicts"]
        assert len({x["id"] for x in conflicts}) == len(conflicts)
        per_size.append((c1, c2, c3))
    assert per_size[0] == per_size[1], per_size


COUNTRIES = ["IND", "BRA", "KEN", "CHN", "PER", "FRA", "DEU", "JPN", "NGA", "ZAF", "MEX", "IDN"]


def test_a_page_of_proposals_reads_the_pis_countries_at_once(
    web: Web, factory: sessionmaker[Session]
) -> None:
    """The chair's list of a call's proposals (API) and the assignment page looked up each
    PI's country one query a proposal (the countries read ahead were let go before they
    were used): 217 statements for a page of 200 at the demo's scale 3."""

    def statements(n: int) -> tuple[int, int]:
        with factory() as s:
            call = F.fast_call(s, requires_pdf=False)
            chair = F.user(s)  # the user office, who sees the teams
            people_services.grant_role(s, chair.id, "call_manager", provider_id=call.provider_id)
            for i in range(n):
                p = F.full_proposal(s, call, F.user(s, country=COUNTRIES[i]))
                prop_services.submit(s, p, now=F.NOW)
                p.status = "under_review"
            _t, raw = people_services.create_api_token(s, chair, "paging")
            call.status = "review"
            s.commit()
            slug, email = call.slug, chair.email
        api, page = web.client(), web.login(email)
        counts = []
        for c, path, headers in (
            (api, f"/api/v1/calls/{slug}/proposals", {"Authorization": f"Bearer {raw}"}),
            (page, f"/manage/calls/{slug}/assignment", {}),
        ):
            c.get(path, headers=headers)
            with count_statements(web) as seen:
                r = c.get(path, headers=headers)
            assert r.status_code == 200, (path, r.text[:300])
            counts.append(len(seen))
            if "api" in path:
                assert len({i["country"] for i in r.json()["items"]}) == n
        return counts[0], counts[1]

    assert statements(3) == statements(12)


def test_a_providers_roles_and_invitations_page_by_cursor(
    web: Web, factory: sessionmaker[Session]
) -> None:
    """GET /providers/{slug}/roles answered every role on the provider and its calls and
    every pending invitation at once (114 KB at the demo's scale 10); now the roles and
    (GET /providers/{slug}/invitations) the invitations each a page by cursor."""
    from opencall.facilities import services as fac_services

    per_size = []
    for slug, n in (("small", 5), ("big", 13)):
        with factory() as s:
            p = fac_services.create_provider(s, name=slug, slug=slug, country_iso3="ZAF")
            admin = F.user(s, name="Admin")
            people_services.grant_role(s, admin.id, "provider_admin", provider_id=p.id)
            # granted in the reverse of the names' order
            people = [F.user(s, name=f"Reviewer {n - i:03d}") for i in range(n)]
            for u in people:
                people_services.grant_role(s, u.id, "reviewer", provider_id=p.id)
            people.reverse()
            emails = [f"new{i:03d}@{slug}.example" for i in range(n + 2)]
            for e in emails:
                people_services.invite_to_role(s, email=e, role="chair", provider_id=p.id)
            _t, raw = people_services.create_api_token(s, admin, "paging")
            s.commit()
            holders = [admin.email] + [u.email for u in people]
        roles, c1 = walk(web, f"/api/v1/providers/{slug}/roles", raw)
        assert [r["email"] for r in roles] == holders  # by role, then name
        invitations, c2 = walk(web, f"/api/v1/providers/{slug}/invitations", raw)
        assert [i["email"] for i in invitations] == emails  # oldest first
        per_size.append((c1, c2))
    assert per_size[0] == per_size[1], per_size


def test_the_technical_reviewers_list_pages_by_cursor(
    web: Web, factory: sessionmaker[Session]
) -> None:
    """GET /technical/calls/{slug} answered a bare array of every proposal under review
    the technical reviewer may assess; now a page by cursor, by id, without the
    conflicted ones, with the same statements whatever the size of the call."""
    from tests.scale.test_api_pages import build, with_technical_reviewer

    per_size = []
    for n in (5, 11):
        data = build(factory, n)
        with factory() as s:
            call, tech, ids = with_technical_reviewer(s, data["slug"], "x")
            _t, raw = people_services.create_api_token(s, tech, "paging")
            s.commit()
            slug = call.slug
        items, counts = walk(web, f"/api/v1/technical/calls/{slug}", raw)
        assert [i["proposal_id"] for i in items] == [i for i in ids if i != ids[1]]
        assert [i["verdict"] for i in items if i["verdict"]] == ["feasible"]
        per_size.append(counts)
    assert per_size[0] == per_size[1], per_size
