"""A double click (or a retry) on "Start a proposal" makes one draft, not two: the same
applicant starting a proposal of the same title in the same call within
``proposals.services.RESTART_WINDOW`` gets the draft just made. Also when both clicks
arrive at the same instant (one session per thread, as the server's worker threads;
SQLite and PostgreSQL), and for the API's ``POST /api/v1/proposals`` sent again without
an ``Idempotency-Key``."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call
from opencall.people.models import User
from opencall.proposals import services
from opencall.proposals.models import Proposal
from tests import factories as F
from tests.crowd.test_races import run_together
from tests.web.conftest import Web, World, api_bearer, csrf, make_open

pytestmark = pytest.mark.filterwarnings("ignore")


def _drafts(web_or_factory: object, title: str) -> list[int]:
    factory = getattr(web_or_factory, "factory", web_or_factory)
    with factory() as s:  # type: ignore[operator]
        return list(s.scalars(select(Proposal.id).where(Proposal.title == title)))


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the web layer's answer
def test_a_double_click_on_start_makes_one_draft(web: Web, world: World) -> None:
    c = web.login(world.emails["pi"])
    slug = world.slugs["call"]
    tok = csrf(c, f"/calls/{slug}/apply")
    first = c.post(f"/calls/{slug}/apply", data={"csrf_token": tok, "title": "Twice clicked"})
    again = c.post(f"/calls/{slug}/apply", data={"csrf_token": tok, "title": "Twice clicked"})
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert len(_drafts(web, "Twice clicked")) == 1
    # another title is another proposal
    r = c.post(f"/calls/{slug}/apply", data={"csrf_token": tok, "title": "A second idea"})
    assert r.status_code == 303 and r.headers["location"] != first.headers["location"]
    # another applicant's draft of the same title is theirs
    o = web.login(world.emails["other"])
    r = o.post(
        f"/calls/{slug}/apply",
        data={"csrf_token": csrf(o, f"/calls/{slug}/apply"), "title": "Twice clicked"},
    )
    assert r.status_code == 303 and r.headers["location"] != first.headers["location"]
    assert len(_drafts(web, "Twice clicked")) == 2


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_an_api_retry_without_a_key_makes_one_draft(web: Web, world: World) -> None:
    bearer = api_bearer(web, world.emails["pi"])
    c = web.client()
    body = {"call": world.slugs["call"], "title": "Sent twice"}
    a = c.post("/api/v1/proposals", headers=bearer, json=body)
    b = c.post("/api/v1/proposals", headers=bearer, json=body)
    assert a.status_code in (200, 201) and b.status_code in (200, 201), (a.text, b.text)
    assert a.json()["id"] == b.json()["id"]
    assert len(_drafts(web, "Sent twice")) == 1


def test_simultaneous_starts_make_one_draft(factory: sessionmaker[Session]) -> None:
    n = 6
    with factory() as s:
        call = F.fast_call(s, requires_pdf=False)
        make_open(call)
        user = F.user(s, email="clicker@example.org")
        s.commit()
        call_id, user_id = call.id, user.id

    def start(_i: int) -> int:
        with factory() as s:
            c, u = s.get(Call, call_id), s.get(User, user_id)
            assert c is not None and u is not None
            p = services.create_proposal(s, c, u, title="At once", reuse_recent=True)
            s.commit()
            return p.id

    ids, errors = run_together(n, start)
    assert errors == []
    assert len(set(ids)) == 1
    with factory() as s:
        assert s.scalar(select(func.count(Proposal.id)).where(Proposal.call_id == call_id)) == 1
        # without reuse_recent (the demo, the services' other callers) each call is a draft
        c, u = s.get(Call, call_id), s.get(User, user_id)
        assert c is not None and u is not None
        services.create_proposal(s, c, u, title="At once")
        s.commit()
        assert s.scalar(select(func.count(Proposal.id)).where(Proposal.call_id == call_id)) == 2
