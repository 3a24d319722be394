"""A crowd at a public page's first showing (trialcrowd11). The after-award page of a call
keeps each release of its figures (``public_releases``) before a reader sees it, so the
first GET after a change writes. A crowd of simultaneous first GETs (real threads, one
session each, on SQLite and PostgreSQL) must give every reader the same figures, keep
one release, answer no 500 and leave no lock waiting; a storm of later GETs (a bot, with
the computed figures dropped between its requests) writes nothing more."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select, text

from opencall.outcomes import queries as oq
from opencall.outcomes import services as services_out
from opencall.outcomes.models import PublicRelease
from opencall.results import services
from tests.crowd.test_races import run_together
from tests.results.awards_world import awarded_samples_call
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")

LOAN = {"sample": "x", "mass_mg": 5, "shipped_on": "2027-06-01", "received_on": "2027-06-05"}


def _releases(web: Web, call_id: int) -> list[tuple[str, int]]:
    with web.factory() as s:
        rows = s.execute(
            select(PublicRelease.page, PublicRelease.number).where(PublicRelease.call_id == call_id)
        )
        return sorted((p, n) for p, n in rows)


def _hold_the_first_three(monkeypatch: Any) -> list[int]:
    """The race met for certain: the first three readers to record a release wait for
    each other, so all three have computed it before any of them writes. Returns the
    list that counts the calls."""
    together = threading.Barrier(3)
    calls: list[int] = []
    record = services_out.record_releases

    def held(*args: Any, **kw: Any) -> None:
        calls.append(1)
        if len(calls) <= 3:
            together.wait(30)
        record(*args, **kw)

    monkeypatch.setattr(services_out, "record_releases", held)
    return calls


def test_a_crowd_at_the_first_showing_keeps_one_release(web: Web, monkeypatch: Any) -> None:
    with web.factory() as s:
        call, props = awarded_samples_call(s, ["ETH"] * 9 + ["DEU"] * 11)
        for i in (0, 1, 2, 3, 4, 9, 10, 11, 12, 13, 14):
            services.add_record(s, props[i], "loan", LOAN, actor_id=None)
        s.commit()
        slug, call_id = call.slug, call.id
    oq.PUBLIC_AFTER_AWARD.clear()
    # the race met for certain: the first three readers to record a release have all
    # computed it before any of them writes
    calls = _hold_the_first_three(monkeypatch)

    def read(_i: int) -> tuple[int, str]:
        r = web.client("en").get(f"/calls/{slug}/after-award")
        return r.status_code, r.text

    answers, errors = run_together(12, read)
    assert errors == []
    assert len(calls) >= 3
    assert [a[0] for a in answers] == [200] * 12, [a[0] for a in answers]
    assert len({a[1] for a in answers}) == 1  # every reader the same figures
    assert _releases(web, call_id) == [(oq.AFTER_AWARD_PAGE, 1)]
    with web.factory() as s:
        if s.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
            waiting = s.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
            assert waiting == 0

    # a storm of GETs, the figures computed again each time: nothing more is written
    client = web.client("en")
    for _ in range(30):
        oq.PUBLIC_AFTER_AWARD.clear()
        assert client.get(f"/calls/{slug}/after-award").status_code == 200
    assert _releases(web, call_id) == [(oq.AFTER_AWARD_PAGE, 1)]


def test_a_crowd_at_the_figures_page_keeps_one_release_of_its_declines(
    web: Web, monkeypatch: Any
) -> None:
    """The figures page keeps its declines table by reason the same way
    (``outcomes.views._declines_release``): a crowd after a decline, one release."""
    from opencall.calls.models import Call
    from tests.authz.test_workspace_matrix import session_client
    from tests.results.decline_world import build

    with web.factory() as s:
        w = build(s)
        call = s.get(Call, w.call_id)
        assert call is not None
        call.status = "published"
        s.commit()
    c, tok = session_client(web, w.emails["pi"])
    r = c.post(f"/awards/{w.awarded[0]}/decline",
               data={"csrf_token": tok, "reason": "visa", "confirm": "yes"})  # fmt: skip
    assert r.status_code == 303
    calls = _hold_the_first_three(monkeypatch)

    def read(_i: int) -> tuple[int, str]:
        r = web.client("en").get(f"/calls/{w.slug}/figures")
        return r.status_code, r.text

    answers, errors = run_together(10, read)
    assert errors == [] and len(calls) >= 3
    assert [a[0] for a in answers] == [200] * 10, [a[0] for a in answers]
    assert len({a[1] for a in answers}) == 1
    assert _releases(web, w.call_id) == [(oq.FIGURES_DECLINES_PAGE, 1)]
    client = web.client("en")
    for _ in range(20):
        assert client.get(f"/calls/{w.slug}/figures").status_code == 200
    assert _releases(web, w.call_id) == [(oq.FIGURES_DECLINES_PAGE, 1)]
