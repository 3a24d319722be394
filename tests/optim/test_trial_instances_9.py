"""Instance families of the fifteenth round (trialopt15): the FAST block scheduler's
effort bounded by a count of work, not a clock, and held to answers computed outside it.

Before this round ``schedule_fast`` had no limit of any kind: at twice the demo's call
(1,646 blocks over 120 days) it ran for minutes, at ten times for (much) longer, with
nothing to stop it but the end of its loops (bench/README.md, fifteenth round)."""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

import pytest
from tests.optim.instances import oversubscribed_night, scheduling_violations

from opencall.optim.scheduling import (
    REASON_CROWDED_OUT,
    REASON_WORK_LIMIT,
    schedule_fast,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from bench_trial15 import demo_like, upper_bound  # noqa: E402


def _answer(res):  # type: ignore[no-untyped-def]
    return [(e.block_id, round(e.start_unix, 6), round(e.end_unix, 6)) for e in res.entries]


@pytest.fixture(scope="module")
def night():  # type: ignore[no-untyped-def]
    # 24 blocks of 1-4 h for an 8-hour night: about 5 times more asked than fits
    p = oversubscribed_night(24, 8.0, seed=3)
    free = schedule_fast(p, seed=0, work_limit=None, improve_iterations=40)
    return p, free


def test_unlimited_run_reports_its_work_and_the_default_limit_changes_nothing(night) -> None:  # type: ignore[no-untyped-def]
    p, free = night
    assert free.stats.work_used > 0
    assert free.stats.work_limit is None and not free.stats.work_limit_reached
    default = schedule_fast(p, seed=0, improve_iterations=40)
    assert not default.stats.work_limit_reached
    assert default.stats.work_used == free.stats.work_used
    assert _answer(default) == _answer(free)


@pytest.mark.parametrize("share", [0.02, 0.3, 0.7])
def test_a_work_limit_stops_the_search_with_a_feasible_best_found_and_a_flag(night, share) -> None:  # type: ignore[no-untyped-def]
    p, free = night
    limit = max(1, int(free.stats.work_used * share))
    res = schedule_fast(p, seed=0, work_limit=limit, improve_iterations=40)
    assert res.stats.work_limit_reached
    assert res.stats.work_limit == limit
    # the search stops at the first check past the limit: at most one step over it
    assert limit <= res.stats.work_used < free.stats.work_used
    assert scheduling_violations(p, res) == []
    assert res.check(p) == []
    assert res.priority_weighted_hours <= free.priority_weighted_hours + 1e-9
    # reproducible: a count, not a clock
    again = schedule_fast(p, seed=0, work_limit=limit, improve_iterations=40)
    assert _answer(again) == _answer(res) and again.stats.work_used == res.stats.work_used


def test_blocks_whose_turn_never_came_say_so(night) -> None:  # type: ignore[no-untyped-def]
    p, free = night
    res = schedule_fast(p, seed=0, work_limit=1, improve_iterations=40)
    assert res.stats.work_limit_reached
    placed = {e.block_id for e in res.entries}
    reasons = {u.block_id: u for u in res.unscheduled}
    assert placed.isdisjoint(reasons) and placed | set(reasons) == {b.id for b in p.blocks}
    untried = [u for u in reasons.values() if u.reason == REASON_WORK_LIMIT]
    assert untried, "the limit of 1 cell stops the construction at once"
    for u in untried:
        assert u.detail == "not tried: the scheduler's work limit was reached first"
    # a block the unlimited search left out is crowded out there, never "not tried"
    assert all(u.reason != REASON_WORK_LIMIT for u in free.unscheduled)
    assert any(u.reason == REASON_CROWDED_OUT for u in free.unscheduled)


@pytest.mark.parametrize("bad", [0, -5, 1.5, math.nan, math.inf, "9", True])
def test_a_work_limit_that_is_not_a_positive_whole_number_is_refused(night, bad) -> None:  # type: ignore[no-untyped-def]
    p, _ = night
    with pytest.raises(ValueError, match="work_limit"):
        schedule_fast(p, seed=0, work_limit=bad)


def test_the_limit_holds_an_over_subscribed_season_within_its_count() -> None:
    # 120 blocks made as the demo makes them over 6 days (about three times more asked
    # than the window holds): a limit of 5e6 cells returns a feasible schedule, the best
    # found, under the bound computed outside the scheduler, and says it was cut short
    p = demo_like(120, days=6)
    res = schedule_fast(p, seed=0, work_limit=5 * 10**6)
    assert res.stats.work_limit_reached
    assert res.stats.work_used < 10**7
    assert scheduling_violations(p, res) == []
    wh_bound, obs_bound = upper_bound(p)
    assert 0 < res.priority_weighted_hours <= wh_bound
    assert 0 < res.observed_hours <= obs_bound


def test_upper_bound_is_reached_by_the_schedule_of_a_single_block() -> None:
    # the bench's bound, checked where the optimum is known: one hour-long block that fits
    p = demo_like(1, days=2)
    one = dataclasses.replace(p.blocks[0], splittable=False, duration_s=3600.0, dec_deg=25.0)
    p = dataclasses.replace(p, blocks=(one,))
    res = schedule_fast(p, seed=0)
    wh, obs = upper_bound(p)
    assert len(res.entries) == 1
    assert wh == pytest.approx(res.priority_weighted_hours, abs=1e-3)
    assert obs == pytest.approx(res.observed_hours, abs=1e-3)


def test_the_work_limit_reason_is_said_in_the_readers_language(night) -> None:  # type: ignore[no-untyped-def]
    from opencall.scheduling.presenters import explanation
    from opencall.web.i18n import Translator

    p, _ = night
    res = schedule_fast(p, seed=0, work_limit=1, improve_iterations=40)
    u = next(u for u in res.unscheduled if u.reason == REASON_WORK_LIMIT)
    assert u.message is not None
    # as scheduling.services stores it
    details = {
        "why": u.detail,
        "detail_msg": u.message["msg"],
        "detail_params": u.message["params"],
    }
    for lang in ("fr", "es", "zh"):
        said = explanation(Translator(lang), details)
        assert said and said != u.detail, (lang, said)


# ---------------------------------------------------------------- FAST inputs out of range

_T = 1796083200.0  # 2026-12-01


def _one_block_problem(**changes):  # type: ignore[no-untyped-def]
    from opencall.optim.scheduling import FastBlock, FastScheduleProblem

    p = FastScheduleProblem(_T, _T + 86400.0, (FastBlock("a", 100.0, 25.0, 3600.0, 1),))
    return dataclasses.replace(p, **changes)


def test_a_window_millions_of_years_away_is_refused_not_scheduled_outside_the_limits() -> None:
    # before: a window at 1e15 s (31.7 million years from 1970) was scheduled, and the
    # schedule's own check found its block 85 deg outside its zenith limit
    far = _one_block_problem(window_start_unix=1e15, window_end_unix=1e15 + 86400.0)
    with pytest.raises(ValueError, match="between 1900 and 2200"):
        schedule_fast(far)
    for start in (-1e10, 7.3e9):  # 1653 and 2201
        with pytest.raises(ValueError, match="between 1900 and 2200"):
            schedule_fast(_one_block_problem(window_start_unix=start, window_end_unix=start + 1e5))
    # the two centuries themselves are scheduled (2199 here), and pass the check
    late = _one_block_problem(window_start_unix=7.25e9, window_end_unix=7.25e9 + 86400.0)
    res = schedule_fast(late)
    assert len(res.entries) == 1 and res.check(late) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("duration_s", "3600"), ("ra_deg", None), ("dec_deg", "25"), ("max_zenith_deg", None)],
)
def test_a_block_figure_that_is_not_a_number_is_refused_naming_it(field, value) -> None:  # type: ignore[no-untyped-def]
    # before: TypeError "must be real number, not str", naming no field
    p = _one_block_problem()
    p = dataclasses.replace(p, blocks=(dataclasses.replace(p.blocks[0], **{field: value}),))
    with pytest.raises(ValueError, match=f"block 'a': {field} must be a number"):
        schedule_fast(p)


def test_a_window_or_setup_that_is_not_a_number_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="setup_s must be a number"):
        schedule_fast(_one_block_problem(setup_s="120"))
    with pytest.raises(ValueError, match="window_end_unix must be a number"):
        schedule_fast(_one_block_problem(window_end_unix=None))
