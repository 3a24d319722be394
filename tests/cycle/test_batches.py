"""A continuous call's batches at the service level: what a cut, an early close and an
edit of the close do, what they refuse (and that a refusal changes nothing), and the
ledger of the resource while batches draw on the call's budget. The whole journey
through the API is ``tests/api/test_continuous_call_journey.py``."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.cycle import batches
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.proposals import services as ps
from opencall.proposals.queries import batch_info
from tests import factories as f

C1 = f.NOW + dt.timedelta(days=10)


def continuous_call(db: Session) -> Call:
    call = f.fast_call(db, status="draft")
    call.mode = "continuous"
    call.cutoffs = [C1.isoformat(), call.closes_at.isoformat()]
    call.decision_days = 14
    cycle.transition_call(db, call, "open", now=f.NOW)
    return call


def test_an_early_close_needs_a_reason_then_cuts_everything_submitted(db: Session) -> None:
    call = continuous_call(db)
    first = f.full_proposal(db, call)
    ps.submit(db, first, now=f.NOW - dt.timedelta(days=2))
    second = f.full_proposal(db, call)
    ps.submit(db, second, now=f.NOW - dt.timedelta(days=1))
    info = batch_info(second, f.NOW)
    assert info is not None and (info.number, info.cutoff, info.cut) == (1, C1, False)
    assert info.decisions_due == C1 + dt.timedelta(days=14)
    db.flush()
    before = f.table_counts(db)
    with pytest.raises(DomainError, match="needs a reason"):
        cycle.transition_call(db, call, "closed", now=f.NOW)
    assert f.table_counts(db) == before and call.status == "open"
    assert call.cutoffs_done == 0 and first.call_id == call.id

    cycle.transition_call(db, call, "closed", now=f.NOW, reason="the microscope is down")
    assert call.status == "closed" and call.cutoffs_done == 2
    (batch,) = batches.batches_of(db, call)
    # one batch of everything submitted, cut now: the cut-offs ahead are dropped
    assert batch.batch_number == 2 and batch.closes_at == f.NOW and batch.status == "closed"
    assert {first.call_id, second.call_id} == {batch.id}
    assert first.status == second.status == "under_review"
    # the continuous call itself goes no further: its batch runs the cycle
    with pytest.raises(DomainError, match="only opens and closes"):
        cycle.transition_call(db, call, "review", now=f.NOW)
    cycle.transition_call(db, batch, "review", now=f.NOW)
    assert batch.status == "review"


def test_a_cut_before_any_cutoff_or_of_a_deadline_call_changes_nothing(db: Session) -> None:
    call = continuous_call(db)
    p = f.full_proposal(db, call)
    ps.submit(db, p, now=f.NOW)
    deadline = f.fast_call(db)
    db.flush()
    before = f.table_counts(db)
    with pytest.raises(DomainError, match="No review cut-off has come yet") as err:
        batches.cut(db, call, now=f.NOW)
    assert err.value.params["when"] == format(C1, "%Y-%m-%d %H:%M:%S")
    with pytest.raises(DomainError, match="one deadline"):
        batches.cut(db, deadline, now=f.NOW)
    assert f.table_counts(db) == before and call.cutoffs_done == 0
    # at the cut-off, the proposal moves; nothing is left to cut until the next one
    (batch,) = batches.cut(db, call, now=C1)
    assert p.call_id == batch.id and batch.batch_number == 1
    assert batch.title.endswith(f"({C1:%Y-%m-%d})") and batch.code == call.code
    with pytest.raises(DomainError, match="No review cut-off"):
        batches.cut(db, call, now=C1 + dt.timedelta(hours=1))
    assert len(batches.batches_of(db, call)) == 1


def test_a_cutoff_with_nothing_submitted_makes_no_batch(db: Session) -> None:
    call = continuous_call(db)
    assert batches.cut(db, call, now=C1) == []
    assert call.cutoffs_done == 1 and batches.batches_of(db, call) == []
    p = f.full_proposal(db, call)
    info = batch_info(p, C1 + dt.timedelta(days=1))
    assert info is not None and info.number == 2 and info.cutoff == call.closes_at


def test_cutoffs_are_checked_and_the_close_is_the_last(db: Session) -> None:
    call = f.fast_call(db, status="draft")
    facility = call.facility
    doc = {"slug": "rolling-x", "code": "RX", "title": "Rolling", "cycle": "2027",
           "opens_at": f.NOW, "closes_at": f.NOW + dt.timedelta(days=60),
           "form": dict(call.form), "mode": "continuous"}  # fmt: skip
    db.flush()
    before = f.table_counts(db)
    for bad in ([f.NOW - dt.timedelta(days=1)], [f.NOW + dt.timedelta(days=61)]):
        with pytest.raises(DomainError, match="not between the opening and the close"):
            call_services.create_call(db, facility, {**doc, "cutoffs": bad})
    with pytest.raises(DomainError, match="one deadline"):
        call_services.create_call(
            db, facility, {**doc, "mode": "deadline", "cutoffs": [f.NOW + dt.timedelta(days=1)]}
        )
    assert f.table_counts(db) == before
    made = call_services.create_call(db, facility, {**doc, "cutoffs": [C1]})
    assert made.cutoffs == [C1.isoformat(), (f.NOW + dt.timedelta(days=60)).isoformat()]
    # an open continuous call's close moves, and its last cut-off with it
    rolling = continuous_call(db)
    later = rolling.closes_at + dt.timedelta(days=30)
    call_services.update_call(db, rolling, {"closes_at": later}, now=f.NOW)
    assert rolling.cutoffs == [C1.isoformat(), later.isoformat()]


def test_the_ledger_counts_a_batch_inside_its_call_budget(db: Session) -> None:
    call = continuous_call(db)
    pool = call.pools[0].pool
    offered = call.pools[0].amount
    others = call_services.offered_elsewhere(db, pool) - offered
    p = f.full_proposal(db, call)
    ps.submit(db, p, now=f.NOW)
    (batch,) = batches.cut(db, call, now=C1)
    # the call takes proposals: it holds its budget, the batch is not counted beside it
    assert call_services.offered_elsewhere(db, pool) == pytest.approx(others + offered)
    # seen from the batch (its allocation): its call holds only what other batches hold
    assert call_services.held_by_call(db, pool, batch.id).get(call.id) == 0.0
    db.execute(select(Call.id))  # (the session stays usable)
    cycle.transition_call(db, call, "closed", now=C1 + dt.timedelta(days=40))
    # the call closed: it holds what its batches hold (an undecided batch, its offer)
    assert call_services.held_by_call(db, pool)[call.id] == pytest.approx(batch.pools[0].amount)


def test_closing_after_cron_cut_the_last_cutoff_closes(db: Session) -> None:
    # cron cut every cut-off, the close's included, before the office closed the call:
    # the close then has nothing left to cut, and closes (it answered "No review cut-off
    # has come yet; the next is at —")
    call = continuous_call(db)
    p = f.full_proposal(db, call)
    ps.submit(db, p, now=f.NOW)
    after = call.closes_at + dt.timedelta(hours=1)
    made = batches.cut_due(db, now=after)
    assert [b.batch_number for b in made] == [1] and call.cutoffs_done == 2
    cycle.transition_call(db, call, "closed", now=after)
    assert call.status == "closed" and len(batches.batches_of(db, call)) == 1


def test_cutoffs_without_an_offset_are_read_in_the_calls_time_zone(db: Session) -> None:
    """A facility that states its dates in its own zone (time_zone) states its cut-offs
    in it too: "1 April 17:00" in Berlin is 15:00 UTC (summer time), not 17:00 UTC; a
    cut-off without an offset and without a zone is refused as a date is."""
    call = f.fast_call(db, status="draft")
    year = f.NOW.year + 1
    doc = {"slug": "rolling-tz", "code": "RTZ", "title": "Rolling", "cycle": str(year),
           "opens_at": dt.datetime(year, 1, 10, 9, 0), "closes_at": dt.datetime(year, 12, 1, 17, 0),
           "form": dict(call.form), "mode": "continuous", "time_zone": "Europe/Berlin",
           "cutoffs": [dt.datetime(year, 4, 1, 17, 0)]}  # fmt: skip
    made = call_services.create_call(db, call.facility, doc)
    assert made.cutoffs == [
        dt.datetime(year, 4, 1, 15, 0, tzinfo=dt.UTC).isoformat(),  # CEST, UTC+2
        dt.datetime(year, 12, 1, 16, 0, tzinfo=dt.UTC).isoformat(),  # CET, UTC+1
    ]
    before = f.table_counts(db)
    with pytest.raises(DomainError, match="time zone"):
        call_services.create_call(
            db,
            call.facility,
            {
                **doc,
                "slug": "rolling-utc",
                "code": "RUTC",
                "time_zone": "",
                "opens_at": f.NOW,
                "closes_at": f.NOW + dt.timedelta(days=60),
                "cutoffs": [dt.datetime(year, 4, 1, 17, 0)],
            },  # fmt: skip
        )
    assert f.table_counts(db) == before
