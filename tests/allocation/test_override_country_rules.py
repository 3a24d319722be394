"""A chair's override to 'awarded' keeps a resource's rules by country
(``CapacityPool.country_rules``): a team whose PI's country is barred from a resource,
or that needs more days before its first day than are left, is refused the award by hand
as the allocation refuses it, and nothing changes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall.allocation import services as al
from opencall.allocation.models import Award, Decision
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.reviews import queries as rq
from tests.test_pipeline import _cycle, small_world  # noqa: F401


def _awarded(s: Session, slug: str):
    call = _cycle(s, slug)
    d = s.scalars(
        select(Decision).where(Decision.call_id == call.id, Decision.outcome == "awarded")
    ).first()
    assert d is not None
    p = next(p for p in rq.proposals_for_review(s, call) if p.id == d.proposal_id)
    award = s.scalars(select(Award).where(Award.proposal_id == p.id, Award.amount > 0)).first()
    assert award is not None
    # the chair takes the award back (room is free again), and the rules change
    al.override_decision(s, call, p, outcome="not_awarded", reason="sample went elsewhere")
    return call, p, d, next(cp.pool for cp in call.pools if cp.pool_id == award.pool_id)


def test_an_override_cannot_award_a_resource_to_a_barred_country(small_world: Session) -> None:  # noqa: F811
    s = small_world
    call, p, d, pool = _awarded(s, "lunar-2027")
    iso3 = p.pi_member.country_iso3
    assert iso3
    pool.country_rules = {"barred": [iso3]}
    s.flush()
    n_awards = s.scalar(select(func.count(Award.id)).where(Award.call_id == call.id))
    with pytest.raises(DomainError) as err:
        al.override_decision(s, call, p, outcome="awarded", reason="strong science")
    assert "rules by country" in err.value.message and pool.name in err.value.message
    assert d.outcome == "not_awarded"
    assert s.scalar(select(func.count(Award.id)).where(Award.call_id == call.id)) == n_awards
    # another country is barred: the override goes through
    pool.country_rules = {"barred": ["ZZZ" if iso3 != "ZZZ" else "AAA"]}
    s.flush()
    al.override_decision(s, call, p, outcome="awarded", reason="strong science")
    assert d.outcome == "awarded"


def test_an_override_keeps_the_lead_time_of_a_country(small_world: Session) -> None:  # noqa: F811
    s = small_world
    call, p, d, pool = _awarded(s, "lunar-2027")
    iso3 = p.pi_member.country_iso3
    pool.period_start = (utcnow() + dt.timedelta(days=10)).date()
    pool.period_end = (utcnow() + dt.timedelta(days=400)).date()
    pool.country_rules = {"lead_days": {iso3: 60}}
    s.flush()
    with pytest.raises(DomainError) as err:
        al.override_decision(s, call, p, outcome="awarded", reason="strong science")
    assert "60" in err.value.message and "rules by country" in err.value.message
    assert d.outcome == "not_awarded"
