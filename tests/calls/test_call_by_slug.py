"""``calls.queries.call_by_slug`` (most pages load their call through it): the call, its
pools in order and each pool's periods of unavailability and items out of service in
order, in two statements."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.calls.queries import call_by_slug
from opencall.facilities.models import PoolItemOutage, PoolUnavailability
from tests import factories as F


def _shape(call: Call) -> list[Any]:
    return [
        call.slug,
        call.provider.slug,
        call.facility.slug,
        [
            (
                cp.id,
                cp.amount,
                cp.pool.name,
                cp.pool.facility.provider.slug,
                [(u.reason, u.starts_at) for u in cp.pool.unavailable],
                [(u.item, u.starts_at) for u in cp.pool.item_outages],
            )
            for cp in call.pools
        ],
    ]


def test_a_call_with_its_pools_and_their_unavailability_in_two_statements(db: Session) -> None:
    call = F.fast_call(db)
    F.fast_call(db)  # another call, whose pools must not be mixed in
    at = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    for pool_index, day, reason in [(3, 5, "later"), (3, 1, "first"), (7, 2, "refit")]:
        db.add(
            PoolUnavailability(
                pool_id=call.pools[pool_index].pool_id,
                starts_at=at + dt.timedelta(days=day),
                ends_at=at + dt.timedelta(days=day + 1),
                reason=reason,
            )
        )
    # two items out on the pool with two periods: joined together, neither list repeats
    for day, item in [(9, "ROV 2"), (3, "ROV 1")]:
        db.add(
            PoolItemOutage(
                pool_id=call.pools[3].pool_id,
                starts_at=at + dt.timedelta(days=day),
                ends_at=at + dt.timedelta(days=day + 2),
                item=item,
            )
        )
    db.commit()
    slug = call.slug

    db.expunge_all()
    expected = _shape(db.get_one(Call, call.id))  # the mapping's own loads
    db.expunge_all()
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        found = call_by_slug(db, slug)
        assert found is not None
        got = _shape(found)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert got == expected
    assert [r for *_, r, _o in got[3][3:4]] == [
        [("first", at + dt.timedelta(days=1)), ("later", at + dt.timedelta(days=5))]
    ]
    assert [o for *_, o in got[3][3:4]] == [
        [("ROV 1", at + dt.timedelta(days=3)), ("ROV 2", at + dt.timedelta(days=9))]
    ]
    assert len(got[3]) == 24
    assert len(seen) == 2, seen
    assert call_by_slug(db, "no-such-call") is None
