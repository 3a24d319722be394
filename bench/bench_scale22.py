"""A site after years of calls, round 22 (scale22): before/after, each read against its
named peer (the code before scale22, kept here) in the same process on the same
database, the answers compared.

* ``reviewer_pool``: ``reviews.recruitment.pool_query`` of a call, after ``--providers``
  other providers each with ``--per-provider`` reviewers on the provider, and
  ``--other-calls`` calls of others with ``--per-provider`` reviewers each: the rows of
  ``role_grants`` read (PostgreSQL, ``EXPLAIN ANALYZE``; ``bench_scale21.rows_of``); peer:
  the roles on the provider ``OR`` on any of its calls (``IN`` a subquery).
* ``review_reminders``: ``reviews.notify.queue_reminders`` of a call of ``--reviewers``
  reviewers each assigned ``--proposals`` proposals: its statements (the mail jobs' own
  INSERTs aside); peer: a SELECT per reviewer and an INSERT per assignment.

    createdb -h 127.0.0.1 -U postgres w22   # a fresh database each run (the builders name anew)
    U=postgresql+psycopg://postgres@127.0.0.1:5432/w22
    OPENCALL_DATABASE_URL=$U .venv/bin/opencall db upgrade
    PYTHONPATH=bench .venv/bin/python bench/bench_scale22.py --database-url $U
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, insert, or_, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' builders

from tests import factories as F  # noqa: E402

from bench_scale21 import rows_of  # noqa: E402  (this folder is on sys.path when run)
from opencall.calls.models import Call  # noqa: E402
from opencall.calls.schemas import review_settings  # noqa: E402
from opencall.db import make_engine, make_sessionmaker  # noqa: E402
from opencall.facilities.models import Provider  # noqa: E402
from opencall.people import services as people_services  # noqa: E402
from opencall.people.models import RoleGrant, User  # noqa: E402
from opencall.people.queries import may_be_mailed  # noqa: E402
from opencall.reviews import notify, recruitment  # noqa: E402
from opencall.reviews import queries as q  # noqa: E402
from opencall.reviews.models import ReviewAssignment, ReviewReminder  # noqa: E402

DEADLINE = dt.datetime(2027, 3, 1, 2, 0, tzinfo=dt.UTC)


def pool_before(call: Call, *, uninvited: bool = False) -> Any:
    """The pool as before scale22 (``uninvited`` not read here)."""
    calls = select(Call.id).where(Call.provider_id == call.provider_id)
    held = (
        select(RoleGrant.user_id, func.count(RoleGrant.call_id).label("reviewed_calls"))
        .where(
            RoleGrant.role.in_(recruitment.REVIEW_ROLES),
            or_(RoleGrant.provider_id == call.provider_id, RoleGrant.call_id.in_(calls)),
        )
        .group_by(RoleGrant.user_id)
        .subquery()
    )
    return (
        select(User, held.c.reviewed_calls)
        .join(held, held.c.user_id == User.id)
        .where(User.is_active.is_(True))
        .order_by(User.name, User.id)
    )


def reminders_before(session: Any, call: Call, base_url: str, *, now: dt.datetime) -> int:
    """``queue_reminders`` (within 3 days) as before scale22: a SELECT per reviewer, an
    INSERT per assignment."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    deadline = review_settings(call.review_settings).review_deadline
    extended = q.deadline_extensions(session, call)
    ins = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    pending: dict[int, int] = {}
    fresh: set[int] = set()
    writable: dict[int, bool] = {}
    for a in q.assignments_of_call(session, call):
        if not now <= extended.get(a.reviewer_id, deadline) <= now + dt.timedelta(days=3):
            continue
        if a.reviewer_id not in writable:
            writable[a.reviewer_id] = may_be_mailed(session.get(User, a.reviewer_id))
        if a.status in ("assigned", "accepted") and writable[a.reviewer_id]:
            pending[a.reviewer_id] = pending.get(a.reviewer_id, 0) + 1
            claimed = session.scalar(
                ins(ReviewReminder)
                .values(assignment_id=a.id, days=3, sent_at=now)
                .on_conflict_do_nothing(index_elements=["assignment_id", "days"])
                .returning(ReviewReminder.assignment_id)
            )
            if claimed is not None:
                fresh.add(a.reviewer_id)
    n = 0
    for rid, count in sorted(pending.items()):
        user = session.get(User, rid) if rid in fresh else None
        if user is not None:
            notify._queue(
                session, user, call, notify.SUBJECT_REMINDER, "reviews/mail_reminder.txt",
                count, base_url, deadline=str(deadline),
            )  # fmt: skip
            n += 1
    return n


def build(factory: Any, a: argparse.Namespace) -> tuple[int, int]:
    """The pool's call (its provider's two reviewers, one on a past call) among the
    others' roles; the reminders' call. Returns their ids."""
    with factory() as s:
        call = F.fast_call(s, pools=1)
        past = F.fast_call(s, pools=1)
        past.provider_id = call.provider_id
        people = [F.user(s) for _ in range(a.per_provider)]
        people_services.grant_role(s, people[0].id, "reviewer", provider_id=call.provider_id)
        people_services.grant_role(s, people[1].id, "reviewer", call_id=past.id)
        country = s.get(Provider, call.provider_id).country_iso3  # type: ignore[union-attr]
        ids = s.scalars(
            insert(Provider).returning(Provider.id),
            [
                {"name": f"Other {i}", "slug": f"bench22-{call.id}-{i}", "country_iso3": country}
                for i in range(a.providers)
            ],
        ).all()
        rows = [
            {"user_id": u.id, "role": "reviewer", "provider_id": pid} for pid in ids for u in people
        ]
        for _ in range(a.other_calls):
            other = F.fast_call(s, pools=1)
            rows += [{"user_id": u.id, "role": "reviewer", "call_id": other.id} for u in people]
        s.execute(insert(RoleGrant), rows)
        rem = F.fast_call(s, pools=1)
        rem.review_settings = {**rem.review_settings, "review_deadline": DEADLINE.isoformat()}
        props = [F.full_proposal(s, rem) for _ in range(a.proposals)]
        s.flush()
        s.execute(
            insert(ReviewAssignment),
            [
                {"call_id": rem.id, "proposal_id": p.id, "reviewer_id": u.id}
                for p in props
                for u in people[: a.reviewers]
            ],
        )
        s.commit()
        return call.id, rem.id


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--database-url", required=True)
    p.add_argument("--providers", type=int, default=2000)
    p.add_argument("--per-provider", type=int, default=50)
    p.add_argument("--other-calls", type=int, default=20)
    p.add_argument("--reviewers", type=int, default=50)
    p.add_argument("--proposals", type=int, default=40)
    a = p.parse_args()
    engine = make_engine(a.database_url)
    factory = make_sessionmaker(engine)
    pool_call, rem_call = build(factory, a)
    seen: list[tuple[int, str, Any]] = []

    def on(_c: Any, _cur: Any, sql: str, params: Any, *_a: Any) -> None:
        seen.append((0, sql, params))

    event.listen(engine, "before_cursor_execute", on)
    with factory() as s:
        s.execute(select(func.count()).select_from(RoleGrant)).scalar_one()
        grants = s.scalar(select(func.count()).select_from(RoleGrant))
        call = s.get(Call, pool_call)
        out: dict[str, Any] = {}
        for name, query in (("before", pool_before), ("after", recruitment.pool_query)):
            seen.clear()
            got = [(u.id, n) for u, n in s.execute(query(call))]
            out[name] = {"role_grants_rows": rows_of(engine, list(seen), "role_grants")}
            out[name + "_answer"] = got
        print(
            json.dumps(
                {
                    "case": "reviewer_pool",
                    "role_grants": grants,
                    "before": out["before"],
                    "after": out["after"],
                    "same": out["before_answer"] == out["after_answer"],
                }
            ),
            flush=True,
        )
        rem = s.get(Call, rem_call)
        at = DEADLINE - dt.timedelta(days=2)
        res: dict[str, Any] = {}
        runs = (
            ("before", lambda: reminders_before(s, rem, "http://x", now=at)),
            ("after", lambda: notify.queue_reminders(s, rem, "http://x", now=at)),
        )
        for name, run in runs:
            seen.clear()
            n = run()
            claimed = s.scalar(select(func.count()).select_from(ReviewReminder))
            counted = [x for x in seen if not x[1].lstrip().upper().startswith("INSERT INTO JOBS")]
            res[name] = {"statements": len(counted), "mails": n, "claimed": claimed}
            s.rollback()
        print(
            json.dumps(
                {
                    "case": "review_reminders",
                    "assignments": a.reviewers * a.proposals,
                    **res,
                    "same": res["before"]["mails"] == res["after"]["mails"]
                    and res["before"]["claimed"] == res["after"]["claimed"],
                }
            ),
            flush=True,
        )
    event.remove(engine, "before_cursor_execute", on)


if __name__ == "__main__":
    main()
