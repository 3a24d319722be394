"""The reviewer pool reads the provider's reviewing roles, not the site's (mend22).

``reviews.recruitment.pool_query`` (the recruitment page's pool, ``GET
/api/v1/calls/{slug}/reviewer-pool``) found the provider's reviewers by role grants "on
the provider, or on any of its calls": one ``OR`` that no index served (``role_grants``
had none on ``provider_id`` or ``call_id``), so every role grant of the site was read for
a page of 100 names, and the grants grow with every call, reviewer and manager of every
provider. Counted, never timed, as round 21's rows (``test_site_history_round21.rows_read``:
PostgreSQL's ``EXPLAIN ANALYZE`` with sequential scans disabled, SQLite's query plan):
the rows of ``role_grants`` the page and the API read, and their statements, must be the
same before and after another provider's years of grants are added."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call
from opencall.people import services as people_services
from opencall.people.models import RoleGrant, User
from tests import factories as F
from tests.scale.test_site_history_round20 import statements
from tests.scale.test_site_history_round21 import rows_read
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def _pool(factory: sessionmaker[Session]) -> dict[str, Any]:
    """A call whose provider's pool is 3 reviewers of its call and 1 of the provider, and
    its manager (who reads the pool)."""
    with factory() as s:
        call = F.fast_call(s, pools=1)
        manager = F.user(s)
        people_services.grant_role(s, manager.id, "call_manager", call_id=call.id)
        names = []
        for i in range(4):
            u = F.user(s, name=f"Pool Reviewer {i}")
            scope = {"provider_id": call.provider_id} if i == 3 else {"call_id": call.id}
            people_services.grant_role(s, u.id, "reviewer", **scope)
            names.append(u.name)
        _t, token = people_services.create_api_token(s, manager, "pool")
        s.commit()
        return {"slug": call.slug, "manager": manager.email, "token": token, "names": names}


def _unrelated(factory: sessionmaker[Session], n: int) -> None:
    """Another provider's call, and ``n`` people reviewing it and for its provider and
    chairing it (3 ``n`` grants none of which is in the pool)."""
    with factory() as s:
        other = F.fast_call(s, pools=1)
        for i in range(n):
            u = User(
                email=f"unrelated{other.id}-{i}@else.example", name=f"U {i}", password_hash="x"
            )
            s.add(u)
            s.flush()
            s.add_all(
                [
                    RoleGrant(user_id=u.id, role="reviewer", call_id=other.id),
                    RoleGrant(user_id=u.id, role="reviewer", provider_id=other.provider_id),
                    RoleGrant(user_id=u.id, role="chair", call_id=other.id),
                ]
            )
        s.commit()


#: migration mend22_01's indexes, which the pool's two reads search
INDEXES = ("ix_role_grants_provider_id", "ix_role_grants_call_id")


def _visit(web: Web, w: dict[str, Any]) -> dict[str, list[tuple[str, Any]]]:
    """The statements of the pool's page and API, second visit, by path."""
    page = web.login(w["manager"])
    api = web.client()
    api.headers["Authorization"] = f"Bearer {w['token']}"
    got = {}
    for who, path in (
        (page, f"/manage/calls/{w['slug']}/reviewers"),
        (api, f"/api/v1/calls/{w['slug']}/reviewer-pool"),
    ):
        who.get(path)  # warm
        with statements(web.app.state.engine) as seen:
            r = who.get(path)
        assert r.status_code == 200, (path, r.text[:500])
        assert all(name in r.text for name in w["names"]), path
        got[path] = seen
    return got


def _reads(
    web: Web, w: dict[str, Any], *, without: tuple[str, ...] = ()
) -> dict[str, tuple[int, int]]:
    """(statements, rows of role_grants read) of the pool's page and API, second visit;
    ``without``: measured with those indexes dropped."""
    engine = web.app.state.engine
    return {
        path: (len(seen), rows_read(engine, seen, "role_grants", without=without))
        for path, seen in _visit(web, w).items()
    }


def _read_without_the_indexes(web: Web, w: dict[str, Any]) -> int:
    """The grants the page and the API read together, measured without mend22_01's
    indexes: the same measure's failure. (SQLite's plan for the page then searches each
    user's grants by user_id under a scan of ``users``, which its count does not see; the
    API's plan scans ``role_grants``.)"""
    return sum(rows for _n, rows in _reads(web, w, without=INDEXES).values())


def _grants(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(RoleGrant)) or 0)


def test_the_pool_reads_the_providers_grants_not_the_sites(
    web: Web, factory: sessionmaker[Session]
) -> None:
    w = _pool(factory)
    _unrelated(factory, 2)
    small = _reads(web, w)
    _unrelated(factory, 40)  # 120 more grants of another provider
    large = _reads(web, w)
    assert large == small
    # the same measure can fail: without the indexes they read every grant of the site
    assert _read_without_the_indexes(web, w) >= _grants(factory)


def stale_call_statistics(factory: sessionmaker[Session], provider_id: int, n: int) -> None:
    """Statistics of ``calls`` from another world: ``n`` calls of the provider
    ``provider_id`` analysed, then given to a provider of their own. A whole run left
    such statistics: its tables are emptied by DELETE and their sequences restarted, so
    an earlier test's provider had the ids of this one's, and autovacuum had analysed
    ``calls`` while most of them were that provider's."""
    with factory() as s:
        moved = [F.fast_call(s, pools=1) for _ in range(n)]
        elsewhere = moved[0].provider_id
        ids = [c.id for c in moved]
        s.execute(update(Call).where(Call.id.in_(ids)).values(provider_id=provider_id))
        s.commit()
        s.execute(text("ANALYZE calls"))
        s.execute(update(Call).where(Call.id.in_(ids)).values(provider_id=elsewhere))
        s.commit()


def test_the_pool_reads_the_same_after_another_worlds_statistics(
    web: Web, factory: sessionmaker[Session]
) -> None:
    """mend23: the whole run's failure, reproduced: with ``calls``' statistics saying most
    calls were the provider's, the plan read every role grant through the call_id index
    (``(7, 265) != (7, 25)``) where ``rows_read`` analysed ``role_grants`` alone; it now
    analyses every table the statements name, as a production database's autovacuum
    keeps their statistics."""
    w = _pool(factory)
    with factory() as s:
        provider_id = s.scalars(select(Call.provider_id).where(Call.slug == w["slug"])).one()
    stale_call_statistics(factory, provider_id, 30)
    _unrelated(factory, 2)
    small = _reads(web, w)
    _unrelated(factory, 40)
    large = _reads(web, w)
    assert large == small
    assert _read_without_the_indexes(web, w) >= _grants(factory)


def test_the_count_sees_the_role_grants_indexes_missing(
    web: Web, factory: sessionmaker[Session]
) -> None:
    """The guard can fail: the same statements measured with migration mend22_01's two
    indexes dropped (in the measure's own transaction, rolled back) read every role grant
    of the site, and more of them once another provider's grants are added."""
    w = _pool(factory)
    _unrelated(factory, 2)
    engine = web.app.state.engine
    seen = _visit(web, w)
    small = {path: rows_read(engine, s, "role_grants") for path, s in seen.items()}
    _unrelated(factory, 40)  # 120 more grants of another provider
    grants = _grants(factory)
    assert grants > 120
    missing = sum(rows_read(engine, s, "role_grants", without=INDEXES) for s in seen.values())
    # without them the page and the API read every grant of the site; with them, what
    # they read before
    assert missing >= grants > sum(small.values()), (missing, grants, small)
    assert {path: rows_read(engine, s, "role_grants") for path, s in seen.items()} == small


def test_a_walk_of_an_index_by_a_later_column_reads_every_entry(
    web: Web, factory: sessionmaker[Session]
) -> None:
    """mend24, the whole run's other cause: the measure itself. Without the provider_id
    index, PostgreSQL's planner (sequential scans disabled) answers ``provider_id = :p``
    by walking the unique index on (user_id, role, provider_id, call_id), checking
    provider_id on each of its entries: a read of every grant, which the plan's rows
    (1 returned, none "removed by filter") did not show. SQLite's plan says ``SCAN``."""
    w = _pool(factory)
    _unrelated(factory, 40)
    with factory() as s:
        provider_id = s.scalars(select(Call.provider_id).where(Call.slug == w["slug"])).one()
    engine = web.app.state.engine
    pg = engine.dialect.name == "postgresql"
    sql = "SELECT role_grants.user_id FROM role_grants WHERE role_grants.provider_id = "
    sql += "%(p)s" if pg else "?"
    params: Any = {"p": provider_id} if pg else (provider_id,)
    seen = [(sql, params)]
    # searched: the one grant (SQLite's count sees a SCAN, no SEARCH)
    assert rows_read(engine, seen, "role_grants") == (1 if pg else 0)
    grants = _grants(factory)
    assert rows_read(engine, seen, "role_grants", without=INDEXES[:1]) >= grants > 120
