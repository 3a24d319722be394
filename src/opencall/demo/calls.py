"""The demo world's four calls: created, offered their pools, and moved through
the workflow service (``opencall.cycle``) like a call manager would."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.cycle import services as cycle
from opencall.demo.facilities import FAST_MODES, FAST_RECEIVERS, DemoFacilities


@dataclass
class DemoCalls:
    fast: Call
    sea: Call
    lunar: Call
    prog: Call

    def all(self) -> tuple[Call, Call, Call, Call]:
        return (self.fast, self.sea, self.lunar, self.prog)


def create_calls(
    session: Session, fac: DemoFacilities, anchor: dt.date, now: dt.datetime
) -> DemoCalls:
    """The calls of the anchor's next cycle (drafts, not yet offering pools)."""
    fast, vessel, samples, prog = fac.fast, fac.vessel, fac.samples, fac.prog
    sample_pools = fac.sample_pools
    fast_call = call_services.create_call(
        session,
        fast,
        {
            "slug": f"fast-{anchor.year + 1}",
            "code": "FAST27",
            "cycle": f"{anchor.year + 1}-{anchor.year + 2}",
            "title": f"FAST open time for international users, cycle {anchor.year + 1}-{anchor.year + 2}",
            "description": "Regular Science Programmes of at most 50 h. About 1,800 h of open time, "
            "users of any nationality or affiliation. 12-month proprietary period.",
            "opens_at": now - dt.timedelta(days=40),
            "closes_at": now + dt.timedelta(days=20, hours=16),
            "anonymity": "dual",
            "review_settings": {
                "reviewers_per_proposal": 3,
                "max_load": 10,
                "grade_min": 1,
                "grade_max": 5,
                "lower_is_better": False,
            },
            "allocation_policy": {
                "award_mode": "partial",
                "min_fraction": 0.5,
                "pi_cap_awards": 2,
                "group_shares": [{"group": "low_lmic", "min_share": 0.05}],
            },
            "form": {
                "requires_pdf": False,
                "receivers": FAST_RECEIVERS,
                "modes": FAST_MODES,
                "max_amount_per_proposal": 50,
                "max_targets": 60,
                "abstract_max_words": 250,
            },
        },
    )
    sea_call = call_services.create_call(
        session,
        vessel,
        {
            "slug": f"trench-{anchor.year + 1}",
            "code": "TREND27",
            "cycle": str(anchor.year + 1),
            "title": "Global hadal exploration: berths and dives on the Pacific trench expedition",
            "description": "Berths on three legs and dives with the full-ocean-depth submersible.",
            "opens_at": now - dt.timedelta(days=90),
            "closes_at": now - dt.timedelta(days=5),
            "anonymity": "single",
            "review_settings": {"reviewers_per_proposal": 3, "max_load": 9},
            "allocation_policy": {
                "award_mode": "whole",
                "group_shares": [{"group": "low_lmic", "min_share": 0.2}],
            },
            "form": {"max_amount_per_proposal": 12},
        },
    )
    lunar_call = call_services.create_call(
        session,
        samples,
        {
            "slug": f"lunar-{anchor.year + 1}",
            "code": "LUNAR27",
            "cycle": str(anchor.year + 1),
            "title": "International loans of Chang'e-5 and Chang'e-6 samples",
            "description": "Research loans of lunar sample mass; loan agreement, return and results reporting.",
            "opens_at": now - dt.timedelta(days=100),
            "closes_at": now - dt.timedelta(days=10),
            "anonymity": "dual",
            "review_settings": {"reviewers_per_proposal": 3, "max_load": 8},
            "allocation_policy": {"award_mode": "partial", "min_fraction": 0.5},
            "form": {"sample_types": [p.attributes["sample_type"] for p in sample_pools]},
        },
    )
    prog_call = call_services.create_call(
        session,
        prog,
        {
            "slug": f"livelihood-{anchor.year + 1}",
            "code": "LIVE27",
            "cycle": str(anchor.year + 1),
            "title": "Training courses and demonstration packages: hybrid rice, tilapia, juncao",
            "description": "Seats on 45-day courses in China and demonstration packages for suitable sites.",
            "opens_at": now - dt.timedelta(days=30),
            "closes_at": now + dt.timedelta(days=30),
            "anonymity": "open",
            "review_settings": {"reviewers_per_proposal": 2, "max_load": 10},
            "allocation_policy": {
                "award_mode": "whole",
                "pi_cap_awards": 1,
                "group_shares": [{"group": "ldc", "min_share": 0.25}],
            },
            "form": {"technologies": ["hybrid rice", "tilapia", "juncao"]},
        },
    )
    return DemoCalls(fast=fast_call, sea=sea_call, lunar=lunar_call, prog=prog_call)


def offer_pools(session: Session, calls: DemoCalls, fac: DemoFacilities) -> None:
    """Each call offers its facility's pools, with the per-request limits."""
    fast_call, sea_call, lunar_call, prog_call = calls.all()
    for p in fac.fast_pools:
        call_services.offer_pool(session, fast_call, p)
    for berth_pool, dive_pool in fac.vessel_pools:
        call_services.offer_pool(session, sea_call, berth_pool, max_per_request=4)
        call_services.offer_pool(session, sea_call, dive_pool, max_per_request=4)
    for p in fac.sample_pools:
        call_services.offer_pool(session, lunar_call, p, max_per_request=2000)
    for p in fac.seat_pools:
        call_services.offer_pool(session, prog_call, p, max_per_request=3)
    for p in fac.package_pools:
        call_services.offer_pool(session, prog_call, p, max_per_request=2)


def open_calls(session: Session, calls: DemoCalls, now: dt.datetime) -> None:
    for cl in calls.all():
        cycle.transition_call(session, cl, "open", now=now)


def close_past_deadline(session: Session, calls: DemoCalls, now: dt.datetime) -> None:
    """Calls whose deadline has passed are closed, their proposals frozen for review."""
    for cl in calls.all():
        if cl.closes_at <= now:
            cycle.transition_call(session, cl, "closed", now=now, reason="deadline passed")
