"""The pages of a published call's results (the public awarded list and figures, the
after-award aggregates, the user office's outcomes report in HTML, CSV and JSON,
the post-award overview) cost the same number of SQL statements for 3 and 24
proposals: no query per proposal, PI or country."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call
from opencall.demo.postaward import record_postaward
from opencall.people import services as people_services
from tests import factories as F
from tests.scale.test_api_pages import build, kept_builds
from tests.scale.test_page_queries import statements, world_of
from tests.web.conftest import Web


def published(factory: sessionmaker[Session], n: int) -> dict[str, Any]:
    return published_of(factory, build(factory, n))


def published_of(factory: sessionmaker[Session], built: dict[str, Any]) -> dict[str, Any]:
    """:func:`published` of a call :func:`test_api_pages.build` made (its answer)."""
    data = world_of(factory, built)
    with factory() as s:
        call = s.scalars(select(Call).where(Call.slug == data["slug"])).one()
        call.status = "published"
        call.decisions_released_at = F.NOW
        s.flush()
        # simulated records and results for every award (sessions, lost time, papers)
        data["postaward"] = record_postaward(
            s, call, seed=0, today=F.NOW.date() + dt.timedelta(days=700)
        )
        office = F.user(s)
        people_services.grant_role(s, office.id, "call_manager", provider_id=call.provider_id)
        s.commit()
        data["office"] = office.email
    return data


def pages(slug: str) -> list[tuple[str, str | None]]:
    return [
        (f"/calls/{slug}/awarded", None),
        (f"/calls/{slug}/figures", None),
        (f"/calls/{slug}/after-award", None),
        (f"/manage/calls/{slug}/postaward", "office"),
        (f"/manage/calls/{slug}/report", "office"),
        (f"/manage/calls/{slug}/report.csv", "office"),
        (f"/manage/calls/{slug}/report.json", "office"),
    ]


@pytest.mark.parametrize("sizes", [(3, 24)])
def test_statements_per_results_page_do_not_grow_with_the_rows(
    web: Web, factory: sessionmaker[Session], small_worlds: Any, sizes: tuple[int, int]
) -> None:
    built = kept_builds(small_worlds, factory, *sizes)
    small = statements(web, published_of(factory, built[0]), pages)
    big_world = published_of(factory, built[1])
    assert big_world["postaward"] > 0
    big = statements(web, big_world, pages)
    print(small, big)
    grown = {p: (small[p], big[p]) for p in small if big[p] > small[p]}
    assert not grown, grown
