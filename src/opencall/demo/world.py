"""Builds the demo world: four facilities, their calls, applicants from
over 100 countries, about 400 proposals and 150 reviewers.

Deterministic for a seed (and an anchor date, default: today UTC), built
through the same services the web pages use, so every demo proposal passed
the same validation as a real one.

The world is built in named steps, each in its own module: the facilities
(:mod:`opencall.demo.facilities`), the calls (:mod:`opencall.demo.calls`), the
people (:mod:`opencall.demo.accounts`) and the proposals
(:mod:`opencall.demo.proposals`); calls move through :mod:`opencall.cycle`.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.demo import calls as demo_calls
from opencall.demo.accounts import (
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    Accounts,
    build_applicants,
    build_reviewers,
    build_staff,
)
from opencall.demo.facilities import FAST_MODES, FAST_RECEIVERS, build_facilities
from opencall.demo.proposals import build_proposals
from opencall.facilities.models import Facility, Provider
from opencall.people import services as people_services
from opencall.people.models import Country, User
from opencall.proposals.models import Proposal, TeamMember

__all__ = [
    "DEMO_PASSWORD",
    "FAST_MODES",
    "FAST_RECEIVERS",
    "DemoCounts",
    "build",
    "is_empty",
    "summary",
]


@dataclass
class DemoCounts:
    facilities: int = 0
    calls: int = 0
    countries: int = 0
    applicant_countries: int = 0
    applicants: int = 0
    proposals: int = 0
    proposals_by_call: dict[str, int] = field(default_factory=dict)
    reviewers: int = 0
    accounts: dict[str, str] = field(default_factory=dict)


def _midnight(d: dt.date) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC)


def build(
    session: Session,
    *,
    seed: int = 1,
    anchor: dt.date | None = None,
    scale: float = 1.0,
    progress: Callable[[str, int], None] | None = None,
    bulk: bool | None = None,
) -> DemoCounts:
    """Build the world into an empty, migrated database.

    ``bulk`` (default: above ``bulk.BULK_ABOVE``) writes the applicants, reviewers and
    proposals in batches (:mod:`opencall.demo.bulk`): the same world, much faster."""
    if session.scalar(select(func.count(Call.id))):
        raise RuntimeError("the database already holds calls; the demo builds into an empty one")
    rng = random.Random(seed)
    anchor = anchor or dt.datetime.now(dt.UTC).date()
    now = _midnight(anchor)
    step = progress or (lambda _label, _n: None)
    counts = DemoCounts()
    counts.countries = people_services.load_countries(session)
    countries = {c.iso3: c for c in session.scalars(select(Country))}
    account = Accounts(session)

    step("facilities", 0)
    fac = build_facilities(session, anchor)
    counts.facilities = 4

    step("calls", 0)
    calls = demo_calls.create_calls(session, fac, anchor, now)
    demo_calls.offer_pools(session, calls, fac)
    demo_calls.open_calls(session, calls, now)
    counts.calls = 4

    build_staff(session, account, fac, calls)

    from opencall.demo import bulk as bulk_path

    if (scale > bulk_path.BULK_ABOVE) if bulk is None else bulk:
        bulk_path.populate(
            session,
            rng,
            scale=scale,
            now=now,
            countries=countries,
            calls=calls.all(),
            pw_hash=account.pw_hash,
            counts=counts,
            step=step,
        )
        demo_calls.close_past_deadline(session, calls, now)
        return counts

    applicants = build_applicants(rng, account, countries, scale, step)
    counts.applicants = len(applicants.users)
    counts.applicant_countries = len({u.country_iso3 for u in applicants.users})

    reviewers = build_reviewers(
        rng, account, account.grant_reviewer, countries, applicants, calls.all(), scale, step
    )
    counts.reviewers = len(reviewers)

    counts.proposals_by_call = build_proposals(session, rng, calls, applicants, now, scale, step)
    counts.proposals = sum(counts.proposals_by_call.values())

    demo_calls.close_past_deadline(session, calls, now)

    counts.accounts = dict(DEMO_ACCOUNTS)
    session.flush()
    return counts


def is_empty(session: Session) -> bool:
    """No account, provider, facility or call: a database that `db upgrade` made and
    filled with its reference data only (the countries), nothing of a site's own. A site
    with its administrator or a provider and no call yet is not empty (trialop21: the
    demo, with its site administrator of a published password, was built into it)."""
    return not any(
        session.scalar(select(model.id).limit(1)) is not None
        for model in (User, Provider, Facility, Call)
    )


def summary(session: Session) -> dict[str, int]:
    return {
        "facilities": session.scalar(select(func.count(Facility.id))) or 0,
        "calls": session.scalar(select(func.count(Call.id))) or 0,
        "countries": session.scalar(select(func.count(Country.iso3))) or 0,
        "proposals": session.scalar(select(func.count(Proposal.id))) or 0,
        "team members": session.scalar(select(func.count(TeamMember.id))) or 0,
    }
