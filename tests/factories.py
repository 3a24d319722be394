"""Small builders for tests (factory_boy-style functions over the real services)."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.cycle import services as cycle_services
from opencall.facilities import services as fac_services
from opencall.facilities.models import CapacityPool, Facility
from opencall.models import metadata
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.proposals import services as prop_services
from opencall.proposals.models import Proposal
from opencall.reviews import services as review_services
from tests import cheap_hasher  # noqa: F401  (the test cost, before PW_HASH below)
from tests.kept_builds import KEPT

NOW = dt.datetime(2027, 4, 1, 12, 0, 0, tzinfo=dt.UTC)
# the clock of the tests whose data are dated absolutely (the ``pinned_clock`` fixture of
# tests/conftest.py): they never depend on the real date
PINNED_NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
_seq = itertools.count(1)
RECEIVERS = ["19-beam", "UWB"]
MODES = ["Tracking", "ON-OFF"]

PW_HASH = people_services.hash_password("correct horse battery")


def user(
    s: Session, *, country: str = "IND", institution: str = "University of Mumbai", **kw: Any
) -> User:
    n = next(_seq)
    return people_services.register_user(
        s,
        email=kw.pop("email", f"user{n}@example.org"),
        name=kw.pop("name", f"Test Person {n}"),
        password_hash=PW_HASH,
        institution=institution,
        country_iso3=country,
        verified=True,
        **kw,
    )


def fast_facility(s: Session, *, provider: str | None = None) -> Facility:
    """FAST, of a new provider (``obs-N``, or the slug ``provider`` where several
    processes add providers to one database and a counter of its own could repeat)."""
    n = next(_seq)
    prov = fac_services.create_provider(
        s,
        name=f"Observatory {provider or n}",
        slug=provider or f"obs-{n}",
        country_iso3="CHN",
    )
    return fac_services.create_facility(
        s,
        prov,
        name="FAST",
        slug="fast",
        kind="telescope",
        attributes={
            "lat_deg": 25.6529,
            "lon_deg": 106.8567,
            "height_m": 1110.0,
            "max_zenith_deg": 40.0,
            "full_gain_zenith_deg": 26.4,
            "dec_min_deg": -14.0,
            "dec_max_deg": 66.0,
            "receivers": RECEIVERS,
            "modes": MODES,
        },
    )


def lst_pools(s: Session, fac: Facility, hours: int = 24) -> list[CapacityPool]:
    """A telescope's 24 LST pools of 75 hours, one an hour of sidereal time (the first
    ``hours`` of them)."""
    return [
        fac_services.create_pool(
            s,
            fac,
            name=f"LST {h:02d}",
            pool_type="lst_hours",
            amount=75,
            attributes={"lst_start_h": h, "lst_end_h": h + 1},
        )
        for h in range(hours)
    ]


def fast_call(
    s: Session, *, status: str = "open", max_hours: float = 50.0, pools: int = 24, **form: Any
) -> Call:
    """A FAST call offering the first ``pools`` of its facility's LST pools (all 24 by
    default; offering them is most of the call's cost, quadratic in their number)."""
    fac = fast_facility(s)
    offered = lst_pools(s, fac, pools)
    n = next(_seq)
    call = call_services.create_call(
        s,
        fac,
        {
            "slug": f"fast-{n}",
            "code": f"F{n}",
            "title": "FAST open time",
            "cycle": "2027",
            "opens_at": NOW - dt.timedelta(days=30),
            "closes_at": NOW + dt.timedelta(days=30),
            "form": {
                "receivers": RECEIVERS,
                "modes": MODES,
                "max_amount_per_proposal": max_hours,
                **form,
            },
        },
    )
    for p in offered:
        call_services.offer_pool(s, call, p)
    if status == "open":
        cycle_services.transition_call(s, call, "open", now=NOW)
    return call


def samples_call(s: Session) -> tuple[Call, CapacityPool]:
    n = next(_seq)
    prov = fac_services.create_provider(
        s, name=f"Agency {n}", slug=f"agency-{n}", country_iso3="CHN"
    )
    fac = fac_services.create_facility(
        s,
        prov,
        name="Lunar samples",
        slug="samples",
        kind="samples",
        attributes={"missions": ["CE-5"]},
    )
    pool = fac_services.create_pool(
        s,
        fac,
        name="CE-5 regolith",
        pool_type="sample_mass",
        amount=1000,
        attributes={"mission": "CE-5", "sample_type": "CE-5 regolith"},
    )
    call = call_services.create_call(
        s,
        fac,
        {
            "slug": f"lunar-{n}",
            "code": f"L{n}",
            "title": "Lunar loans",
            "cycle": "2027",
            "opens_at": NOW - dt.timedelta(days=30),
            "closes_at": NOW + dt.timedelta(days=30),
        },
    )
    call_services.offer_pool(s, call, pool, max_per_request=400)
    cycle_services.transition_call(s, call, "open", now=NOW)
    return call, pool


TARGETS = [
    {"name": "PSR J0534+2200", "ra_deg": "05:34:31.9", "dec_deg": "+22:00:52", "hours": 4},
    {"name": "M31", "ra_deg": 10.68, "dec_deg": 41.27, "hours": 3},
]


def full_proposal(s: Session, call: Call, pi: User | None = None, *, hours: float = 7) -> Proposal:
    pi = pi or user(s)
    p = prop_services.create_proposal(
        s,
        call,
        pi,
        title="Pulsar timing with FAST",
        abstract="We will time pulsars.",
        science_case="Millisecond pulsars are precise clocks.",
        now=NOW,
    )
    targets = [dict(t) for t in TARGETS]
    targets[0]["hours"] = hours - 3
    prop_services.add_request(
        s, p, "fast", {"receiver": "19-beam", "mode": "Tracking", "targets": targets}, now=NOW
    )
    return p


@functools.cache
def _counting_sql(dialect: str) -> str:
    """One ``SELECT (SELECT count(*) FROM t), ...`` over every table, compiled once per
    backend (one statement in one round trip instead of one a table)."""
    from sqlalchemy.dialects import postgresql, sqlite

    stmt = select(
        *[
            select(func.count()).select_from(t).scalar_subquery().label(t.name)
            for t in metadata.sorted_tables
        ]
    )
    compiled = stmt.compile(
        dialect=postgresql.dialect() if dialect == "postgresql" else sqlite.dialect()  # type: ignore[no-untyped-call]
    )
    assert not compiled.params, compiled.params
    return str(compiled)


def table_counts(s: Session) -> dict[str, int]:
    """The number of rows of every table, as the session sees them (pending writes
    flushed)."""
    s.flush()
    row = s.execute(text(_counting_sql(s.get_bind().dialect.name))).one()
    return {t.name: n or 0 for t, n in zip(metadata.sorted_tables, row, strict=True)}


def call_in_review(
    s: Session, n_proposals: int, n_reviewers: int, **settings: int
) -> tuple[Call, list[Proposal], list[User]]:
    """A FAST call in review: ``n_proposals`` submitted, ``n_reviewers`` reviewers (of three
    countries), affinity computed; ``settings`` overrides its review settings.

    Built once per argument set and test process; a later call into a database in the
    state the build started from (empty, ...) gets the build's rows copied into its
    session's transaction (``tests.kept_builds``)."""
    return KEPT.get(
        s,
        ("call_in_review", n_proposals, n_reviewers, tuple(sorted(settings.items()))),
        lambda s: build_call_in_review(s, n_proposals, n_reviewers, **settings),
        lambda built: (built[0].id, [p.id for p in built[1]], [u.id for u in built[2]]),
        _load_call_in_review,
    )


def _load_call_in_review(
    s: Session, ids: tuple[int, list[int], list[int]]
) -> tuple[Call, list[Proposal], list[User]]:
    call_id, proposal_ids, reviewer_ids = ids
    call = s.get(Call, call_id)
    assert call is not None
    proposals = [s.get(Proposal, i) for i in proposal_ids]
    reviewers = [s.get(User, i) for i in reviewer_ids]
    return call, proposals, reviewers  # type: ignore[return-value]


def build_call_in_review(
    s: Session, n_proposals: int, n_reviewers: int, **settings: int
) -> tuple[Call, list[Proposal], list[User]]:
    """:func:`call_in_review` built through the services, always."""
    call = fast_call(s, requires_pdf=False)
    call.review_settings = {**(call.review_settings or {}), **settings}
    proposals = []
    for i in range(n_proposals):
        p = full_proposal(s, call, user(s, institution=f"Team institute {i}", country="BRA"))
        prop_services.submit(s, p, now=NOW)
        proposals.append(p)
    reviewers = []
    for i in range(n_reviewers):
        u = user(s, institution=f"Panel institute {i}", country=("FRA", "JPN", "KEN")[i % 3])
        people_services.grant_role(s, u.id, "reviewer", call_id=call.id)
        reviewers.append(u)
    cycle_services.transition_call(s, call, "closed", now=NOW + dt.timedelta(days=31), reason="t")
    cycle_services.transition_call(s, call, "review")
    review_services.run_affinity(s, call)
    return call, proposals, reviewers
