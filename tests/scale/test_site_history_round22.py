"""A site after many years, round 22 (scale22): rows read that grow with the site.

Counted, never timed, by the database's own plan (``test_site_history_round21.rows_read``:
PostgreSQL's ``EXPLAIN ANALYZE`` with sequential scans disabled, SQLite's ``EXPLAIN QUERY
PLAN`` where a ``SCAN`` of the table counts its every row).

* The chair's reviewer pool (``reviews.recruitment.pool_query``: the page
  ``/manage/calls/{slug}/reviewers`` and ``GET /api/v1/calls/{slug}/reviewer-pool``) reads
  the reviewing roles held on the call's provider or on any of its calls. ``role_grants``
  had no index on ``call_id`` nor ``provider_id``, and the ``OR ... IN (the provider's
  calls)`` could use none: every role of every call of the site was read. Now both
  columns are indexed (migration ``scale22_01``) and the pool is the union of the roles
  on the provider and those on its calls, each a search of an index."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call
from opencall.people import services as people_services
from opencall.people.models import RoleGrant
from opencall.reviews import notify
from opencall.reviews.models import ReviewAssignment, ReviewReminder
from tests import factories as F
from tests.scale.test_site_history_round20 import statements
from tests.scale.test_site_history_round21 import rows_read
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def other_providers(factory: sessionmaker[Session], calls: int, reviewers: int) -> None:
    """``calls`` calls of other providers, each with ``reviewers`` reviewers on the call and
    as many on its provider: the roles of the site's years elsewhere."""
    with factory() as s:
        for _ in range(calls):
            call = F.fast_call(s, pools=1)
            for _j in range(reviewers):
                people_services.grant_role(s, F.user(s).id, "reviewer", call_id=call.id)
                people_services.grant_role(
                    s, F.user(s).id, "reviewer", provider_id=call.provider_id
                )
        s.commit()


def test_the_reviewer_pool_reads_the_providers_roles_not_the_sites(
    web: Web, factory: sessionmaker[Session]
) -> None:
    """The pool names the provider's reviewers (on the provider and on its past call);
    to find them it read every role of the site."""
    with factory() as s:
        call = F.fast_call(s, pools=1, requires_pdf=False)
        past = F.fast_call(s, pools=1)
        past.provider_id = call.provider_id  # an earlier call of the same provider
        chair = F.user(s)
        people_services.grant_role(s, chair.id, "chair", call_id=call.id)
        wide = F.user(s, name="Reviewer on the provider")
        people_services.grant_role(s, wide.id, "reviewer", provider_id=call.provider_id)
        earlier = F.user(s, name="Reviewer of the past call")
        people_services.grant_role(s, earlier.id, "reviewer", call_id=past.id)
        _t, token = people_services.create_api_token(s, chair, "pool")
        s.commit()
        slug, chair_email = call.slug, chair.email
        expected = sorted([wide.email, earlier.email])
    other_providers(factory, calls=4, reviewers=10)
    with factory() as s:
        assert s.query(RoleGrant).count() > 80
    engine = web.app.state.engine
    c = web.login(chair_email)
    path = f"/manage/calls/{slug}/reviewers"
    c.get(path)  # warm
    with statements(engine) as seen:
        r = c.get(path)
    assert r.status_code == 200
    assert "Reviewer on the provider" in r.text and "Reviewer of the past call" in r.text
    api = web.client()
    bearer = {"Authorization": f"Bearer {token}"}
    api.get(f"/api/v1/calls/{slug}/reviewer-pool", headers=bearer)  # warm
    with statements(engine) as seen_api:
        a = api.get(f"/api/v1/calls/{slug}/reviewer-pool", headers=bearer)
    assert a.status_code == 200, a.text
    assert sorted(m["email"] for m in a.json()["items"]) == expected
    counts: dict[str, Any] = {
        "page": rows_read(engine, seen, "role_grants"),
        "api": rows_read(engine, seen_api, "role_grants"),
    }
    # the chair's own role and the provider's two reviewers' (a role checked per
    # request); not the 80 roles of the other providers and their calls
    assert max(counts.values()) < 20, counts


DEADLINE = dt.datetime(2027, 3, 1, 2, 0, tzinfo=dt.UTC)


def reminded_call(factory: sessionmaker[Session], reviewers: int, proposals: int) -> int:
    """A call whose review deadline is two days after ``DEADLINE - 2 days``, each of its
    ``reviewers`` assigned every one of its ``proposals``, none submitted."""
    with factory() as s:
        call = F.fast_call(s, pools=1)
        call.review_settings = {**call.review_settings, "review_deadline": DEADLINE.isoformat()}
        props = [F.full_proposal(s, call) for _ in range(proposals)]
        people = [F.user(s) for _ in range(reviewers)]
        s.flush()
        for p in props:
            for u in people:
                s.add(ReviewAssignment(call_id=call.id, proposal_id=p.id, reviewer_id=u.id))
        s.commit()
        return call.id


def test_the_review_reminders_claim_and_read_at_once(factory: sessionmaker[Session]) -> None:
    """``opencall remind`` claimed each assignment's reminder by its own INSERT and read
    each reviewer by their own SELECT: its statements grew with the call's assignments.
    Counted: the statements other than the queued mails' own INSERTs (one job a
    reminder, as before)."""
    counted = []
    for reviewers, proposals in ((2, 2), (6, 4)):
        call_id = reminded_call(factory, reviewers, proposals)
        with factory() as s:
            call = s.get(Call, call_id)
            assert call is not None
            engine = s.get_bind()
            with statements(engine) as seen:
                n = notify.queue_reminders(s, call, "http://x", now=DEADLINE - dt.timedelta(days=2))
            assert n == reviewers
            claimed = s.scalar(
                select(func.count())
                .select_from(ReviewReminder)
                .join(ReviewAssignment, ReviewAssignment.id == ReviewReminder.assignment_id)
                .where(ReviewAssignment.call_id == call_id)
            )
            assert claimed == reviewers * proposals
            # a second run: every reminder claimed already, nobody mailed again
            assert notify.queue_reminders(s, call, "http://x", now=DEADLINE) == 0
            s.rollback()
        counted.append(
            len(
                [sql for sql, _p in seen if not sql.lstrip().upper().startswith("INSERT INTO JOBS")]
            )
        )
    assert counted[0] == counted[1], counted
