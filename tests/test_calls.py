import datetime as dt
import itertools

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.auditlog import AuditEvent
from opencall.calls import services
from opencall.calls.domain import CALL_STATES, CALL_TRANSITIONS, check_call_transition, require_open
from opencall.calls.models import CallPool
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.facilities import services as fac_services
from opencall.facilities.models import CapacityPool
from tests import factories as f

ILLEGAL = [
    (a, b) for a, b in itertools.product(CALL_STATES, CALL_STATES) if b not in CALL_TRANSITIONS[a]
]


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_every_illegal_call_transition_is_refused(current: str, target: str) -> None:
    with pytest.raises(DomainError) as err:
        check_call_transition(current, target)
    assert err.value.code == "illegal_transition"
    assert current in err.value.message and target in err.value.message


def test_unknown_status_refused() -> None:
    with pytest.raises(DomainError):
        check_call_transition("draft", "flying")


def test_transition_is_logged_and_illegal_one_changes_nothing(db: Session) -> None:
    call = f.fast_call(db, status="draft")
    cycle.transition_call(db, call, "open", actor_id=None, now=f.NOW)
    assert call.status == "open"
    ev = db.scalars(select(AuditEvent).where(AuditEvent.action == "call.transition")).all()
    assert ev[-1].data == {"from": "draft", "to": "open"}
    before = f.table_counts(db)
    with pytest.raises(DomainError):
        cycle.transition_call(db, call, "published", now=f.NOW)
    assert call.status == "open"
    assert f.table_counts(db) == before


def test_closing_early_needs_a_reason(db: Session) -> None:
    call = f.fast_call(db)
    with pytest.raises(DomainError, match="reason"):
        cycle.transition_call(db, call, "closed", now=f.NOW)
    assert call.status == "open"
    cycle.transition_call(db, call, "closed", now=f.NOW, reason="facility outage")
    assert call.status == "closed"


def test_call_cannot_open_without_pools(db: Session) -> None:
    fac = f.fast_facility(db)
    call = services.create_call(
        db,
        fac,
        {
            "slug": "x1",
            "code": "X1",
            "title": "Empty call",
            "cycle": "1",
            "opens_at": f.NOW,
            "closes_at": f.NOW + dt.timedelta(days=1),
            "form": {"receivers": ["UWB"], "modes": ["Tracking"]},
        },
    )
    with pytest.raises(DomainError, match="capacity pool"):
        cycle.transition_call(db, call, "open")


def test_offered_pools_are_the_calls_pools_in_order_loaded_or_not(db: Session) -> None:
    """``offer_pool`` puts the new pool among the call's pools (appended where they are
    loaded, read again where they are not): after each offer what the call holds is what
    the database holds, in ``CallPool.id`` order, each with its pool."""
    call = f.fast_call(db, status="draft")
    assert len(call.pools) == 24
    pools = [
        fac_services.create_pool(
            db,
            call.facility,
            name=f"Extra {i}",
            pool_type="lst_hours",
            amount=5,
            attributes={"lst_start_h": i, "lst_end_h": i + 1},
        )
        for i in range(2)
    ]

    def held() -> list[tuple[int, int, str, float]]:
        return [(cp.id, cp.pool_id, cp.pool.name, cp.amount) for cp in call.pools]

    def stored() -> list[tuple[int, int, str, float]]:
        rows = db.execute(
            select(CallPool.id, CallPool.pool_id, CapacityPool.name, CallPool.amount)
            .join(CapacityPool, CapacityPool.id == CallPool.pool_id)
            .where(CallPool.call_id == call.id)
            .order_by(CallPool.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]

    services.offer_pool(db, call, pools[0])  # the call's pools loaded: appended
    assert held() == stored()
    assert held()[-1][2] == "Extra 0"
    db.expire(call, ["pools"])
    services.offer_pool(db, call, pools[1])  # not loaded: read again
    assert held() == stored()
    assert [name for _id, _pool, name, _amount in held()[-2:]] == ["Extra 0", "Extra 1"]


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"closes_at": f.NOW - dt.timedelta(days=1)}, "close after it opens"),
        ({"opens_at": dt.datetime(2027, 1, 1)}, "time zone"),
        ({"slug": "Bad Slug!"}, "slug"),
        ({"title": ""}, "title"),
        ({"allocation_policy": {"award_mode": "whole", "min_fraction": 0.5}}, "min_fraction"),
        (
            {
                "allocation_policy": {
                    "nationality_blind": True,
                    "group_shares": [{"group": "international", "min_share": 0.1}],
                }
            },
            "nationality",
        ),
        (
            {
                "allocation_policy": {
                    "group_shares": [
                        {"group": "ldc", "min_share": 0.7},
                        {"group": "low", "min_share": 0.6},
                    ]
                }
            },
            "100 %",
        ),
        # a share for a group the allocation cannot find the members of (trialfac14)
        ({"allocation_policy": {"group_shares": [{"group": "a", "min_share": 0.2}]}}, "group"),
        (
            {"allocation_policy": {"group_shares": [{"group": "low+low", "min_share": 0.2}]}},
            "first_time",
        ),
        ({"review_settings": {"grade_min": 5, "grade_max": 1}}, "grade_max"),
        ({"form": {"receivers": ["K-band"], "modes": ["Tracking"]}}, "receivers"),
        ({"form": {"receivers": ["UWB"], "modes": ["Tracking"], "bogus": 1}}, "bogus"),
        ({"anonymity": "triple"}, "anonymity"),
    ],
)
def test_bad_call_documents_are_refused_and_change_nothing(
    db: Session, patch: dict, message: str
) -> None:
    fac = f.fast_facility(db)
    data = {
        "slug": "ok-call",
        "code": "OK",
        "title": "A call",
        "cycle": "1",
        "opens_at": f.NOW,
        "closes_at": f.NOW + dt.timedelta(days=2),
        "form": {"receivers": ["UWB"], "modes": ["Tracking"]},
    }
    data.update(patch)
    before = f.table_counts(db)
    with pytest.raises(DomainError) as err:
        services.create_call(db, fac, data)
    assert message.lower() in err.value.message.lower()
    assert f.table_counts(db) == before


def test_open_window_is_judged_in_utc_to_the_second() -> None:
    opens = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
    closes = dt.datetime(2027, 5, 15, 16, 0, 0, tzinfo=dt.UTC)
    require_open("open", opens, closes, closes - dt.timedelta(seconds=1))
    with pytest.raises(DomainError, match="deadline passed"):
        require_open("open", opens, closes, closes)
    # the same instant written in Beijing time is still past the deadline
    beijing = dt.timezone(dt.timedelta(hours=8))
    with pytest.raises(DomainError):
        require_open("open", opens, closes, dt.datetime(2027, 5, 16, 0, 0, 0, tzinfo=beijing))
    with pytest.raises(DomainError, match="not open yet"):
        require_open("open", opens, closes, opens - dt.timedelta(seconds=1))
    with pytest.raises(DomainError):
        require_open("draft", opens, closes, opens + dt.timedelta(days=1))
