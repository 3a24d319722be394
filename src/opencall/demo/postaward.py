"""SIMULATED post-award records and results for a demo call, through the real
services (validated and audited): observing sessions with lost time, sailed
berths with dives, sample loans returned, consumed or overdue, shipments with
tracking and customs, course completion, reported yields, publications and
datasets. Deterministic from the seed; dates up to ``today`` only."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.db import utc_today
from opencall.people.models import Country
from opencall.proposals.models import Proposal
from opencall.proposals.queries import pi_user
from opencall.results import queries as rq
from opencall.results import services as rs

BASELINE_T_HA = {"hybrid rice": 4.2, "tilapia": 5.0, "juncao": 90.0}
LOAN_DAYS = 180


def _on(day: dt.date, today: dt.date) -> str | None:
    return day.isoformat() if day <= today else None


def _income(session: Session, proposal: Proposal) -> str:
    pi = proposal.pi_member
    c = session.get(Country, pi.country_iso3) if pi and pi.country_iso3 else None
    return (c.income_group if c else "") or "unknown"


def record_postaward(
    session: Session, call: Call, *, seed: int = 0, today: dt.date | None = None
) -> int:
    """Records and results for every award of a call whose decisions are out;
    returns the number of records and results made."""
    if call.decisions_released_at is None:
        return 0
    today = today or utc_today()
    day0 = rq.awarded_on(call)
    rng = random.Random(f"postaward-{seed}-{call.code}")
    made = 0
    for p in rq.awarded_proposals(session, call):
        if rq.records_of(session, p.id) or rq.outputs_of(session, p.id):
            continue  # already recorded (the demo may run twice)
        pi = p.pi_member
        actor = pi.user_id if pi else None
        income = _income(session, p)
        # simulated: awards used less often where travel, customs and funds are harder
        p_use = {"low": 0.82, "lower-middle": 0.88}.get(income, 0.94)
        used = rng.random() < p_use
        awards = rq.awards_of(session, p.id)
        pool_types = {pool.pool_type for _a, pool in awards}

        def add(
            kind: str,
            data: dict[str, object],
            award_id: int | None = None,
            p: Proposal = p,
            actor: int | None = actor,
        ) -> None:
            nonlocal made
            rs.add_record(session, p, kind, data, actor_id=actor, award_id=award_id)
            made += 1

        if "lst_hours" in pool_types:
            hours = sum(a.amount for a, pool in awards if pool.pool_type == "lst_hours")
            n = rng.randint(1, 3)
            for k in range(n):
                day = day0 + dt.timedelta(days=30 + rng.randint(0, 240))
                if day > today or not used:
                    continue
                share = hours / n
                lost = round(share * rng.choice([0, 0, 0.05, 0.1, 0.2, 0.35]), 2)
                add(
                    "session",
                    {
                        "observed_on": day.isoformat(),
                        "observed_hours": round(share - lost, 2),
                        "lost_hours": lost,
                        "lost_reason": rng.choice(["rfi", "rfi", "weather", "fault"])
                        if lost
                        else "",
                        "completed": k == n - 1,
                    },
                )
        if pool_types & {"berths", "dives"}:
            dives = int(sum(a.amount for a, pool in awards if pool.pool_type == "dives"))
            for a, pool in awards:
                if pool.pool_type != "berths":
                    continue
                start = dt.date.fromisoformat(pool.attributes["start_date"])
                end = dt.date.fromisoformat(pool.attributes["end_date"])
                for b in range(int(a.amount)):
                    if not used or start > today:
                        continue
                    add(
                        "berth",
                        {
                            "participant": f"{p.code} participant {b + 1}",
                            "arrived_on": start.isoformat(),
                            "sailed_on": _on(end, today),
                            "dives_made": max(0, dives - rng.choice([0, 0, 1])) if b == 0 else 0,
                        },
                        a.id,
                    )
        if "sample_mass" in pool_types:
            linked: set[int] = set()
            for a, pool in awards:
                if pool.pool_type != "sample_mass":
                    continue
                shipped = day0 + dt.timedelta(days=20 + rng.randint(0, 30))
                if shipped > today:
                    continue
                received = shipped + dt.timedelta(days=rng.randint(4, 15))
                due = shipped + dt.timedelta(days=LOAN_DAYS)
                fate = rng.random()
                returned = received + dt.timedelta(days=rng.randint(100, 230))
                plan = next(
                    (
                        e
                        for e in rq.planned_shipments(session, p.id)
                        if e.pool_id == pool.id and e.id not in linked
                    ),
                    None,
                )
                if plan is not None:
                    linked.add(plan.id)
                add(
                    "shipment",
                    {
                        "schedule_entry_id": plan.id if plan else None,
                        "description": f"{a.amount:g} mg of {pool.attributes['sample_type']}",
                        "planned_on": (day0 + dt.timedelta(days=20)).isoformat(),
                        "shipped_on": shipped.isoformat(),
                        "delivered_on": _on(received, today) if used else None,
                        "tracking_ref": f"EE{rng.randint(10**8, 10**9 - 1)}CN",
                        "customs_status": "cleared"
                        if used and received <= today
                        else rng.choice(["pending", "held"]),
                    },
                    a.id,
                )
                add(
                    "loan",
                    {
                        "sample": str(pool.attributes["sample_type"]),
                        "mass_mg": a.amount,
                        "shipped_on": shipped.isoformat(),
                        "received_on": _on(received, today) if used else None,
                        "due_on": due.isoformat(),
                        "returned_on": _on(returned, today)
                        if used and fate < 0.6 and returned <= today
                        else None,
                        "consumed": used and 0.6 <= fate < 0.8 and received <= today,
                    },
                    a.id,
                )
        if "seats" in pool_types:
            for a, pool in awards:
                if pool.pool_type != "seats":
                    continue
                start = dt.date.fromisoformat(pool.attributes["start_date"])
                for k in range(int(a.amount)):
                    attended = used and start <= today and rng.random() < 0.95
                    completed = attended and rng.random() < 0.9
                    add(
                        "course",
                        {
                            "participant": f"{p.code} trainee {k + 1}",
                            "attended": attended,
                            "completed": completed,
                            "certificate": f"{call.code}-{p.id:04d}-{k + 1}" if completed else "",
                        },
                        a.id,
                    )
        if "packages" in pool_types:
            for a, pool in awards:
                if pool.pool_type != "packages":
                    continue
                tech = str(pool.attributes.get("technology", "hybrid rice"))
                planted = day0 + dt.timedelta(days=60 + rng.randint(0, 40))
                reported = planted + dt.timedelta(days=120)
                base = BASELINE_T_HA.get(tech, 4.0)
                has_yield = used and reported <= today and rng.random() < 0.85
                add(
                    "package",
                    {
                        "site": f"{p.code} demonstration site",
                        "planted_on": _on(planted, today) if used else None,
                        "reported_on": reported.isoformat() if has_yield else None,
                        "yield_t_ha": round(base * rng.uniform(0.9, 1.7), 2) if has_yield else None,
                        "baseline_t_ha": base,
                    },
                    a.id,
                )
        # results: publications and datasets (simulated)
        p_result = {"low": 0.5, "lower-middle": 0.58}.get(income, 0.68)
        if not used or rng.random() >= p_result:
            continue
        countries = sorted({m.country_iso3 for m in p.members if m.country_iso3})[:6]
        for k in range(rng.choice([1, 1, 2, 3])):
            day = day0 + dt.timedelta(days=int(rng.lognormvariate(5.5, 0.4)))
            if day > today:
                continue
            dataset = k == 1 and rng.random() < 0.4
            ack = (
                f"Based on data obtained under award {p.code} at the {call.facility.name}."
                if rng.random() < 0.85
                else ""
            )
            rs.add_output(
                session,
                p,
                {
                    "kind": "dataset" if dataset else "publication",
                    "doi": f"10.5555/{call.code.lower()}.{p.id}.{k + 1}",
                    "title": f"{'Data release: ' if dataset else ''}{p.title}"[:480],
                    "year": day.year,
                    "published_on": day.isoformat(),
                    "authors": [m.name for m in p.members if m.status == "accepted"][:8],
                    "countries": countries,
                    "abstract": p.abstract[:2000],
                    "acknowledgement": ack,
                },
                actor_id=actor,
            )
            made += 1
    session.flush()
    return made


def example_accounts(session: Session) -> dict[str, str]:
    """A PI to sign in as for each kind of record (and one with an overdue loan)."""
    from opencall.results import domain as d
    from opencall.results.models import PostAwardRecord

    out: dict[str, str] = {}
    today = utc_today()
    for r in session.scalars(select(PostAwardRecord).order_by(PostAwardRecord.id)):
        key = f"PI with {r.kind} records"
        if r.kind == "loan" and d.is_overdue(r.kind, r.data, today):
            key = "PI with an overdue loan"
        if key in out:
            continue
        p = session.get(Proposal, r.proposal_id)
        u = pi_user(session, p) if p else None
        if u is not None:
            out[key] = f"{u.email} (/awards/{r.proposal_id})"
    return out
