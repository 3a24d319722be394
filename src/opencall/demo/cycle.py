"""Runs a demo call through the whole cycle with SIMULATED reviews, through
the same services the chair's pages and the CLI use."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from opencall.allocation import services as al
from opencall.calls.models import Call
from opencall.cycle.services import transition_call
from opencall.demo.simulate import simulate_reviews
from opencall.reviews import services as rv
from opencall.scheduling import services as sc


def run_cycle(
    session: Session,
    call: Call,
    *,
    seed: int = 0,
    days: int = 120,
    n_bootstrap: int = 200,
    publish: bool = True,
    postaward: bool = True,
    progress: Callable[[int, str], None] = lambda _p, _m: None,
) -> None:
    if call.status == "open":
        transition_call(session, call, "closed", reason="demo cycle")
    if call.status == "closed":
        transition_call(session, call, "review")
    progress(5, "conflicts")
    rv.compute_conflicts(session, call)
    progress(15, "affinity")
    rv.run_affinity(session, call)
    progress(30, "assignment")
    rv.run_assignment(session, call, seed=seed)
    progress(45, "simulated reviews")
    simulate_reviews(session, call, seed=seed)
    progress(55, "calibration")
    rv.run_calibration(session, call, seed=seed, n_bootstrap=n_bootstrap)
    transition_call(session, call, "ranking")
    rv.freeze_ranking(session, call)
    transition_call(session, call, "allocation")
    progress(70, "allocation")
    al.run_allocation(session, call, seed=seed)
    transition_call(session, call, "scheduling")
    progress(80, "scheduling")
    sc.run_schedule(session, call, seed=seed, days=days)
    if publish:
        al.release_decisions(session, call)
        transition_call(session, call, "published")
        if postaward:  # simulated records of what happened after the award (dated up to today)
            from opencall.demo.postaward import record_postaward

            record_postaward(session, call, seed=seed)
