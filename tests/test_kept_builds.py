"""The kept builds (``tests.kept_builds``, behind ``tests.factories.call_in_review`` and
the helpers that go on from it) give
a test the database, the objects and the session a build through the services would
have given it: the same rows (compared as the database stores them, so a JSON ``null``
is not an SQL ``NULL``), the same sequence positions on PostgreSQL, the same returned
objects and queued jobs; and only where the build would have started from the same
state."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from opencall import jobs
from opencall.models import metadata
from tests import factories as F
from tests import kept_builds
from tests.conftest import _truncate_pg
from tests.kept_builds import KEEP, KeptBuilds, _sequences


def _state(engine: Engine) -> dict[str, Any]:
    """Every row of every table as stored (PostgreSQL: each row's text form; SQLite: the
    driver's raw values), and on PostgreSQL every sequence's position."""
    state: dict[str, Any] = {}
    with engine.connect() as conn:
        pg = engine.dialect.name == "postgresql"
        for t in metadata.sorted_tables:
            if t.name == "alembic_version":
                continue
            sql = f'SELECT x::text FROM public."{t.name}" x' if pg else f'SELECT * FROM "{t.name}"'  # noqa: S608
            state[t.name] = sorted(conn.exec_driver_sql(sql).all(), key=repr)
        if pg:
            state["sequences"] = _sequences(conn)
    return state


def _empty(engine: Engine) -> None:
    """Back to the state the ``engine`` fixture gives a test."""
    if engine.dialect.name == "postgresql":
        _truncate_pg(engine)
        return
    with engine.begin() as conn:
        conn.execute(text("UPDATE proposals SET current_revision_id = NULL"))
        for t in reversed(metadata.sorted_tables):
            if t.name not in KEEP:
                conn.execute(t.delete())


def _seen(s: Session, built: tuple[Any, list[Any], list[Any]]) -> dict[str, Any]:
    call, proposals, reviewers = built
    return {
        "call": (call.id, call.slug, call.status, call.review_settings, call.closes_at),
        "proposals": [
            (p.id, p.code, p.status, p.pi_user_id, p.current_revision_id, p.version)
            for p in proposals
        ],
        "reviewers": [(u.id, u.email, u.institution_id) for u in reviewers],
        "queued": [(j.id, j.kind, j.payload) for j in s.info.get(jobs.QUEUED_KEY, [])],
        "in_session": all(o in s for o in [call, *proposals, *reviewers]),
    }


@pytest.fixture
def kept(monkeypatch: pytest.MonkeyPatch) -> KeptBuilds:
    own = KeptBuilds()
    monkeypatch.setattr(F, "KEPT", own)
    monkeypatch.setattr(kept_builds, "KEPT", own)
    return own


def test_a_copied_call_in_review_is_the_one_a_build_gives(
    factory: sessionmaker[Session], kept: KeptBuilds
) -> None:
    engine = factory.kw["bind"]
    with factory() as s:
        seen_built = _seen(s, F.call_in_review(s, 3, 3, reviewers_per_proposal=2))
        s.commit()
    after_build = _state(engine)
    assert kept.copies == 0 and after_build["proposals"] and after_build["affinity_scores"]
    assert seen_built["queued"] and seen_built["in_session"]

    _empty(engine)
    with factory() as s:
        seen_copied = _seen(s, F.call_in_review(s, 3, 3, reviewers_per_proposal=2))
        s.commit()
    assert kept.copies == 1
    assert seen_copied == seen_built
    assert _state(engine) == after_build

    # after a copy, the caller's own writes are checked at once, as after a build (the
    # copy's foreign keys were deferred or not checked while it wrote)
    _empty(engine)
    with factory() as s:
        call, proposals, reviewers = F.call_in_review(s, 3, 3, reviewers_per_proposal=2)
        with pytest.raises(IntegrityError):
            with s.begin_nested():
                s.execute(
                    text(
                        "INSERT INTO affinity_scores (reviewer_id, score, call_id, proposal_id) "
                        "VALUES (:r, 0.5, :c, 999999)"
                    ),
                    {"r": reviewers[0].id, "c": call.id},
                )
        s.rollback()
    assert kept.copies == 2

    # the copy is written in the caller's transaction: rolled back with it
    _empty(engine)
    before = _state(engine)
    with factory() as s:
        F.call_in_review(s, 3, 3, reviewers_per_proposal=2)
        s.rollback()
    assert kept.copies == 3
    if engine.dialect.name == "sqlite":  # (sequences are not transactional, as for a build)
        assert _state(engine) == before
    else:
        assert {k: v for k, v in _state(engine).items() if k != "sequences"} == {
            k: v for k, v in before.items() if k != "sequences"
        }

    # a copied call goes on as a built one: its next step writes the same rows
    states = []
    for _ in range(2):
        _empty(engine)
        with factory() as s:
            call, _props, _reviewers = F.call_in_review(s, 3, 3, reviewers_per_proposal=2)
            from opencall.reviews import services as review_services

            review_services.run_assignment(s, call)
            s.commit()
            pairs = s.execute(
                text("SELECT proposal_id, reviewer_id, status FROM review_assignments ORDER BY id")
            ).all()
            states.append((F.table_counts(s), pairs))
    assert kept.copies == 5
    assert states[0][1] and states[0] == states[1]


def test_a_database_not_in_the_builds_starting_state_gets_a_build(
    factory: sessionmaker[Session], kept: KeptBuilds
) -> None:
    engine = factory.kw["bind"]
    with factory() as s:
        F.call_in_review(s, 2, 2)
        s.commit()
    # a row written first (pending in the session, not yet flushed): built
    _empty(engine)
    with factory() as s:
        F.user(s, country="FRA")
        call, proposals, _ = F.call_in_review(s, 2, 2)
        s.commit()
        assert call.status == "review" and len(proposals) == 2
    assert kept.copies == 0
    # another argument set: built
    _empty(engine)
    with factory() as s:
        F.call_in_review(s, 2, 3)
    assert kept.copies == 0
    # on a moved clock: built (the rows' dates are the clock's)
    _empty(engine)
    with time_machine.travel(dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC), tick=True):
        with factory() as s:
            F.call_in_review(s, 2, 2)
    assert kept.copies == 0
    # another audit key (the events' MACs): built
    _empty(engine)
    with factory(info={"audit_key": "another"}) as s:
        F.call_in_review(s, 2, 2)
    assert kept.copies == 0
    if engine.dialect.name == "postgresql":
        # the tables empty, the sequences moved on: built (the ids would differ)
        _empty(engine)
        with factory() as s:
            F.user(s)
            s.flush()
            s.rollback()
        with factory() as s:
            F.call_in_review(s, 2, 2)
        assert kept.copies == 0
    _empty(engine)
    with factory() as s:
        F.call_in_review(s, 2, 2)
    assert kept.copies == 1


def _call_seen(s: Session, call: Any) -> dict[str, Any]:
    return {
        "call": (call.id, call.slug, call.status, call.anonymity, call.review_settings),
        "frozen": call.ranking_frozen_at,
        "pools": sorted((cp.id, cp.amount) for cp in call.pools),
        "in_session": call in s,
    }


def _ranked_call(s: Session) -> tuple[Any, Any]:
    from tests.allocation.test_edges import ranked_call

    call = ranked_call(s, n_proposals=4)
    return _call_seen(s, call), call.id


def _frozen(s: Session) -> tuple[Any, Any]:
    from tests.reviews.test_unfreeze import _frozen

    call = _frozen(s, unreviewed=1)
    return _call_seen(s, call), call.id


def _reviewed(s: Session) -> tuple[Any, Any]:
    from tests.reviews.test_edges import _reviewed

    call = _reviewed(s)
    return _call_seen(s, call), call.id


def _graded(s: Session) -> tuple[Any, Any]:
    from tests.reviews.test_chair_edges import _graded

    call, props, by_id = _graded(s)
    seen = _call_seen(s, call)
    seen["proposals"] = [(p.id, p.code, p.status) for p in props]  # type: ignore[attr-defined]
    seen["reviewers"] = sorted((i, u.id, u.email, u in s) for i, u in by_id.items())
    return seen, call.id


def _declining(s: Session) -> tuple[Any, Any]:
    from tests.results.decline_world import build

    w = build(s)
    return w, w


def _next_allocation(s: Session, call_id: Any) -> Any:
    """The allocation of a ranked call: the same decisions."""
    from opencall.allocation import services as al
    from opencall.calls.models import Call

    call = s.get(Call, call_id)
    assert call is not None
    al.run_allocation(s, call)
    return s.execute(
        text("SELECT proposal_id, outcome, explanation FROM decisions ORDER BY proposal_id")
    ).all()


def _next_calibration(s: Session, call_id: Any) -> Any:
    """Unfrozen (where frozen) and calibrated again: the same ranking."""
    from opencall.calls.models import Call
    from opencall.reviews import queries as rq
    from opencall.reviews import services as rv

    call = s.get(Call, call_id)
    assert call is not None
    if call.ranking_frozen_at is not None:
        rv.unfreeze_ranking(s, call, reason="Again.", actor_id=None)
    rv.run_calibration(s, call, n_bootstrap=10, seed=3)
    return [(r.proposal_id, r.score) for r in rq.ranking(s, call)]


def _next_decline(s: Session, w: Any) -> Any:
    """The first awarded PI declines: the same freed capacity and mails queued."""
    from opencall.results import declines
    from tests.results.decline_world import get_proposal

    row, made = declines.decline_award(
        s, get_proposal(s, w.awarded[0]), reason="visa", actor_id=w.ids["pi"]
    )
    queued = [(j.kind, j.payload) for j in s.info.get(jobs.QUEUED_KEY, [])]
    return made, row.freed, row.entries_released, queued


@pytest.mark.parametrize(
    ("helper", "next_step", "levels"),
    [
        (_ranked_call, _next_allocation, 2),
        (_frozen, _next_calibration, 2),
        (_reviewed, _next_calibration, 2),
        (_graded, _next_calibration, 2),
        (_declining, _next_decline, 3),  # decline_world.build, ranked_call, call_in_review
    ],
    ids=["ranked_call", "frozen", "reviewed", "graded", "decline_world"],
)
def test_a_copied_helper_build_is_the_one_a_build_gives(
    factory: sessionmaker[Session], kept: KeptBuilds, helper: Any, next_step: Any, levels: int
) -> None:
    """The helpers that review, calibrate, freeze, allocate or release on top of
    ``call_in_review`` are kept under keys of their own: the second call copies the
    whole build (one copy, the inner ``call_in_review`` not called), with the same rows,
    sequences and returned objects, and the next step gives the same rows."""
    engine = factory.kw["bind"]
    seen, states = [], []
    for _ in range(2):
        _empty(engine)
        with factory() as s:
            seen_now, handle = helper(s)
            seen.append(seen_now)
            s.commit()
        states.append(_state(engine))
        with factory() as s:
            after = next_step(s, handle)
            s.commit()
            states.append((after, F.table_counts(s)))
    assert len(kept.kept) == levels  # the helper's build and those inside it
    assert kept.copies == 1
    assert seen[0] == seen[1]
    assert states[0] == states[2]
    assert states[1] == states[3]
