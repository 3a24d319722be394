"""The demo's earlier cycles and their simulated post-award records: built through
the real services, deterministic from the seed, visible in the report's funnel
after the award and its trend over two cycles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from opencall.calls.queries import call_by_slug
from opencall.demo.cycle import run_cycle
from opencall.demo.past import build_past_cycle
from opencall.demo.postaward import example_accounts, record_postaward
from opencall.outcomes import queries as oq
from opencall.results import domain as d
from opencall.results.models import PostAwardRecord, ResearchOutput

ANCHOR = dt.date(2026, 11, 29)

pytestmark = pytest.mark.slow


@pytest.fixture
def small_world(demo: Any, engine: Engine) -> Iterator[Session]:
    """The demo world of seed 2 at scale 0.12 (tests/test_pipeline.py's and the golden
    digest's: built once per run, copied here; this test built one of seed 3 itself)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the demo path is the same on both backends; run once")
    with demo(2, 0.12)() as s:
        yield s


def test_earlier_cycles_have_records_and_the_report_a_trend(small_world: Session) -> None:
    s = small_world
    lunar = call_by_slug(s, "lunar-2027")
    assert lunar is not None
    run_cycle(s, lunar, seed=3, n_bootstrap=20)
    past = {}
    for slug in ("lunar-2027", "trench-2027", "livelihood-2027"):
        current = call_by_slug(s, slug)
        assert current is not None
        made = build_past_cycle(s, current, seed=3, today=ANCHOR)
        assert made is not None and made.status == "archived"
        past[slug] = made
    recs = list(s.scalars(select(PostAwardRecord)))
    kinds = {r.kind for r in recs}
    assert {"loan", "shipment", "berth", "course"} <= kinds
    loans = [r for r in recs if r.kind == "loan"]
    assert any(d.is_complete("loan", r.data) for r in loans)
    assert any(r.data.get("sailed_on") for r in recs if r.kind == "berth")
    assert any(r.data.get("completed") for r in recs if r.kind == "course")
    assert s.scalars(select(ResearchOutput)).first() is not None
    assert example_accounts(s)
    # the report of the current lunar call continues past the award, with a trend
    data = oq.report(s, lunar)
    aa = data["after_award"]
    cycles = {r["cycle"] for r in aa["trend"]}
    assert len(cycles) == 2, cycles
    assert {r["stage"] for r in aa["funnels"]["income_group"]} == {
        "used",
        "completed",
        "produced_results",
    }
    assert all(r["researcher_share"] is not None for r in aa["trend"] if r["group"] != "unknown")
    # deterministic from the seed: the same records again after removing them
    call = past["lunar-2027"]

    def snapshot() -> list[tuple[str, dict[str, object]]]:
        rows = s.scalars(
            select(PostAwardRecord)
            .where(PostAwardRecord.call_id == call.id)
            .order_by(PostAwardRecord.id)
        )
        return [(r.kind, r.data) for r in rows]

    first = snapshot()
    titles = sorted(s.scalars(select(ResearchOutput.doi).where(ResearchOutput.call_id == call.id)))
    s.execute(delete(PostAwardRecord).where(PostAwardRecord.call_id == call.id))
    s.execute(delete(ResearchOutput).where(ResearchOutput.call_id == call.id))
    record_postaward(s, call, seed=3, today=ANCHOR)
    assert snapshot() == first and first
    again = sorted(s.scalars(select(ResearchOutput.doi).where(ResearchOutput.call_id == call.id)))
    assert again == titles
