"""A site after many years, round 23 (scale23): rows read that grow with the site.

Counted, never timed, by the database's own plan (``test_site_history_round21.rows_read``).

* A call's node pages (``/node/calls/{slug}``, ``GET /api/v1/calls/{slug}/node/awards`` and
  ``.../node/providers``) read the post-award records of the call's awards by
  ``award_id``, which had no index: every record of every award of the site was read.
* The page where an applicant names the earlier award a proposal continues
  (``/proposals/{id}/continues``) looked for the reader's awards among ``IN (every
  awarded proposal of the site)``: SQLite read every award."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from opencall.allocation.models import Award
from opencall.calls.models import Call, CallPool
from opencall.people import services as people_services
from opencall.proposals.models import Proposal, TeamMember
from opencall.results import queries as rq
from opencall.results.domain import REPORT_REMINDERS_MAX
from opencall.results.jobs import queue_report_reminders
from opencall.results.models import PostAwardRecord, ReportReminder
from tests import factories as F
from tests.scale.bulk_awards import insert_decided, past_call
from tests.scale.test_site_history_round20 import statements
from tests.scale.test_site_history_round21 import rows_read
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def past_calls(
    s: Session,
    call: Any,
    pi_id: int,
    pi_email: str,
    *,
    calls: int,
    awards: int,
    records: int,
    tag: str = "",
) -> list[str]:
    """``calls`` published earlier calls of ``call``'s facility, each with ``awards``
    awarded proposals of ``pi_id`` and ``records`` post-award records on each award."""
    pool_id = call.pools[0].pool_id
    slugs = []
    for c in range(calls):
        year = 2010 + c
        past = past_call(s, call, f"{call.slug}-past{tag}{c}", f"{call.code}P{tag}{c}", year)
        s.add(CallPool(call_id=past.id, pool_id=pool_id, amount=70.0))  # a past period's
        s.flush()
        slugs.append(past.slug)
        pids = []
        for i in range(awards):
            p = Proposal(call_id=past.id, code=f"{call.code}P{tag}{c}-{i}", pi_user_id=pi_id,
                         status="accepted", title=f"P {i}")  # fmt: skip
            s.add(p)
            s.flush()
            pids.append(p.id)
        s.execute(insert(TeamMember), [
            {"proposal_id": pid, "role": "pi", "email": pi_email, "name": "PI",
             "country_iso3": "KEN", "user_id": pi_id, "status": "accepted"}
            for pid in pids
        ])  # fmt: skip
        insert_decided(s, past.id, pids, pool_id, awarded=awards, kind="fast", details={})
        s.flush()
        award_of = dict(
            s.execute(select(Award.proposal_id, Award.id).where(Award.call_id == past.id)).all()
        )
        if not records:
            continue
        s.execute(insert(PostAwardRecord), [
            {"call_id": past.id, "proposal_id": pid, "award_id": award_of[pid],
             "kind": "session", "reminders_sent": 0,
             "data": {"observed_on": f"{year}-06-01", "observed_hours": 4.0,
                      "lost_hours": 0.0, "lost_reason": None, "completed": True}}
            for pid in pids for _ in range(records)
        ])  # fmt: skip
    return slugs


def counted_get(engine: Any, client: Any, path: str, headers: dict[str, str]) -> tuple[Any, Any]:
    """The answer to a second GET of ``path`` (the first warms the caches) and the
    statements it ran."""
    client.get(path, headers=headers)
    with statements(engine) as seen:
        r = client.get(path, headers=headers)
    assert r.status_code == 200, (path, r.text[:300])
    return r, seen


def test_a_calls_node_pages_read_its_awards_records_not_the_sites(
    web: Web, factory: sessionmaker[Session]
) -> None:
    """The node pages of a call with 3 awards of 2 records each, among 4 other calls of
    10 awards with 5 records each (200 records elsewhere)."""
    with factory() as s:
        call = F.fast_call(s, pools=1)
        pi, other = F.user(s), F.user(s)
        (slug,) = past_calls(s, call, pi.id, pi.email, calls=1, awards=3, records=2, tag="a")
        past_calls(s, call, other.id, other.email, calls=4, awards=10, records=5, tag="b")
        office = F.user(s)
        people_services.grant_role(s, office.id, "call_manager", provider_id=call.provider_id)
        _t, token = people_services.create_api_token(s, office, "node")
        s.commit()
        office_email = office.email
    engine = web.app.state.engine
    c = web.login(office_email)
    api = web.client()
    bearer = {"Authorization": f"Bearer {token}"}
    counts: dict[str, Any] = {}
    for path, client, headers in (
        (f"/node/calls/{slug}", c, {}),
        (f"/api/v1/calls/{slug}/node/awards", api, bearer),
        (f"/api/v1/calls/{slug}/node/providers", api, bearer),
    ):
        _r, seen = counted_get(engine, client, path, headers)
        counts[path.replace(slug, "{slug}")] = rows_read(engine, seen, "postaward_records")
    awards = api.get(f"/api/v1/calls/{slug}/node/awards", headers=bearer).json()
    assert awards["items"] and all(len(a["records"]) == 2 for a in awards["items"]), awards
    print(counts)
    # the call's 6 records (each statement may read them once); not the site's 206
    assert max(counts.values()) <= 12, counts


def test_the_continuation_page_reads_the_readers_awards_not_the_sites(
    web: Web, factory: sessionmaker[Session]
) -> None:
    """An applicant's proposal and its continues page: 2 earlier awards of theirs to
    choose from, among 4 other calls of 10 awards of another PI (42 awards)."""
    with factory() as s:
        call = F.fast_call(s, pools=1)
        pi, other = F.user(s), F.user(s)
        past_calls(s, call, pi.id, pi.email, calls=1, awards=2, records=0, tag="a")
        past_calls(s, call, other.id, other.email, calls=4, awards=10, records=0, tag="b")
        proposal = F.full_proposal(s, call, pi)
        s.commit()
        pid, pi_email = proposal.id, pi.email
    engine = web.app.state.engine
    c = web.login(pi_email)
    r, seen = counted_get(engine, c, f"/proposals/{pid}/continues", {})
    assert r.text.count("Pa0-") == 2, r.text  # the reader's two awards are the choices
    read = rows_read(engine, seen, "awards")
    print({"awards read": read})
    # the reader's 2 awards (looked up by proposal); not the site's 42
    assert read <= 4, read


def stopped_awards(factory: sessionmaker[Session], tag: str, awards: int) -> None:
    """A call released years ago whose ``awards`` awards never reported and whose PIs were
    reminded the most times already (the reminders stopped; the office was told)."""
    with factory() as s:
        call = F.fast_call(s, pools=1)
        pi = F.user(s)
        past_calls(s, call, pi.id, pi.email, calls=1, awards=awards, records=0, tag=tag)
        s.flush()
        pids = s.scalars(
            select(Award.proposal_id)
            .join(Call, Call.id == Award.call_id)
            .where(Call.slug == f"{call.slug}-past{tag}0")
        ).all()
        s.execute(insert(ReportReminder), [
            {"call_id": s.get(Proposal, pid).call_id, "proposal_id": pid,  # type: ignore[union-attr]
             "reminders_sent": REPORT_REMINDERS_MAX,
             "first_reminded_on": dt.date(2011, 1, 1), "last_reminded_on": dt.date(2012, 1, 1)}
            for pid in pids
        ])  # fmt: skip
        s.commit()


def test_the_report_reminders_read_the_stopped_ones_at_once(
    factory: sessionmaker[Session],
) -> None:
    """``opencall`` results reminders (the worker's daily ``remind``) read each unreported
    award's reminder by its own SELECT, also for the awards whose reminders stopped long
    ago: its statements grew with the site's history, not with the mails it sends."""
    counted = []
    for tag, awards in (("s", 2), ("m", 7)):
        stopped_awards(factory, tag, awards)
        with factory() as s:
            with statements(s.get_bind()) as seen:
                n = queue_report_reminders(s, "http://x", dt.date(2030, 1, 1))
            s.rollback()
        assert n == 0  # stopped: nobody mailed
        counted.append(len(seen))
    assert counted[0] == counted[1], counted


def test_the_overdue_loans_read_the_open_loans_not_every_record(
    factory: sessionmaker[Session],
) -> None:
    """The daily ``remind`` job's overdue loans (``results.queries.overdue_loans``) read
    every loan record ever written (and the planner every record: ``kind`` had no index)
    and kept the overdue ones in Python: ten years of returned loans read every day. One
    open overdue loan among 4 earlier calls' 10 awards with 5 returned loans each (200)."""
    with factory() as s:
        call = F.fast_call(s, pools=1)
        pi, other = F.user(s), F.user(s)
        past_calls(s, call, pi.id, pi.email, calls=1, awards=1, records=0, tag="a")
        past_calls(s, call, other.id, other.email, calls=4, awards=10, records=0, tag="b")
        s.flush()
        rows = s.execute(select(Award.call_id, Award.proposal_id, Award.id, Proposal.pi_user_id)
                         .join(Proposal, Proposal.id == Award.proposal_id)).all()  # fmt: skip
        loan = {"sample": "core", "mass_mg": 5.0, "due_on": "2012-01-01"}
        s.execute(insert(PostAwardRecord), [
            {"call_id": c, "proposal_id": p, "award_id": a, "kind": "loan", "reminders_sent": 0,
             "data": {**loan, "returned_on": "2011-12-01"}}
            for c, p, a, u in rows if u == other.id for _ in range(5)
        ])  # fmt: skip
        ((c, p, a, _u),) = [r for r in rows if r[3] == pi.id]
        s.execute(insert(PostAwardRecord), [
            {"call_id": c, "proposal_id": p, "award_id": a, "kind": "loan", "reminders_sent": 0,
             "data": loan}
        ])  # fmt: skip
        s.commit()
    with factory() as s:
        engine = s.get_bind()
        assert engine is not None
        overdue = rq.overdue_loans(s, dt.date(2030, 1, 1))
        assert [r.proposal_id for r in overdue] == [p]
        with statements(engine) as seen:
            rq.overdue_loans(s, dt.date(2030, 1, 1))
        s.rollback()
    read = rows_read(engine, seen, "postaward_records")
    print({"records read": read})
    # the one open loan; not the 200 returned
    assert read <= 2, read
