"""The rules of a joint call's partners, at the service (the journey through the API:
tests/api/test_joint_call_journey.py): a partner's resource must be at a facility of the
call's kind; a batch of a continuous call has its call's partners and is answered on
the call; every refusal changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from opencall.calls import partners as call_partners
from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.calls.queries import accepted_partner_ids, offerable_pools, partners_of
from opencall.errors import DomainError
from opencall.facilities import services as fac_services
from tests import factories as F


def _draft(s: Session) -> Call:
    call = F.fast_call(s, status="draft")
    s.flush()
    return call


def test_a_partners_resource_is_offered_only_at_a_facility_of_the_calls_kind(
    db: Session,
) -> None:
    call = _draft(db)
    other = F.fast_facility(db)  # another provider's telescope
    lst = F.lst_pools(db, other)[0]
    lab = fac_services.create_facility(
        db, other.provider, name="Lab", slug="lab", kind="custom", attributes={}
    )
    day = fac_services.create_resource(db, lab, name="Lab day", unit="day", amount=5)
    partner = call_partners.invite_partner(db, call, other.provider)
    call_partners.accept_partner(db, partner, call)
    assert {p.id for p in offerable_pools(db, call)} >= {lst.id}
    assert day.id not in {p.id for p in offerable_pools(db, call)}
    before = F.table_counts(db)
    with pytest.raises(DomainError) as e:
        call_services.offer_pool(db, call, day)
    assert "of kind custom" in str(e.value) and "of kind telescope" in str(e.value)
    assert F.table_counts(db) == before
    call_services.offer_pool(db, call, lst, 10)
    assert lst.id in {cp.pool_id for cp in call.pools}
    # the partner's resource is offered: leaving is refused, naming it
    with pytest.raises(DomainError) as e:
        call_partners.withdraw_partner(db, partner, call)
    assert lst.name in str(e.value)
    assert partners_of(db, call) == [partner]


def test_invitations_are_refused_once_the_call_has_closed(db: Session) -> None:
    call = _draft(db)
    other = F.fast_facility(db)
    call.status = "review"
    before = F.table_counts(db)
    with pytest.raises(DomainError, match="draft or open"):
        call_partners.invite_partner(db, call, other.provider)
    assert F.table_counts(db) == before


def test_a_batch_has_its_calls_partners_and_is_answered_on_the_call(db: Session) -> None:
    call = _draft(db)
    other = F.fast_facility(db)
    partner = call_partners.invite_partner(db, call, other.provider)
    call_partners.accept_partner(db, partner, call)
    batch = Call(
        provider_id=call.provider_id, facility_id=call.facility_id, slug=f"{call.slug}-b1",
        code=call.code, title=call.title, cycle="2027/b1", opens_at=call.opens_at,
        closes_at=call.opens_at + dt.timedelta(days=1), status="open",
        anonymity=call.anonymity, review_settings=dict(call.review_settings),
        allocation_policy=dict(call.allocation_policy), form=dict(call.form),
        parent_id=call.id, batch_number=1,
    )  # fmt: skip
    db.add(batch)
    db.flush()
    assert partners_of(db, batch) == [partner]
    assert accepted_partner_ids(db, batch) == {other.provider_id}
    third = F.fast_facility(db).provider
    before = F.table_counts(db)
    for act in (
        lambda: call_partners.invite_partner(db, batch, third),
        lambda: call_partners.accept_partner(db, partner, batch),
        lambda: call_partners.withdraw_partner(db, partner, batch),
    ):
        with pytest.raises(DomainError, match="on the call itself"):
            act()
    assert F.table_counts(db) == before


def test_the_refusal_before_acceptance_names_who_may_accept(db: Session) -> None:
    """Call managers of the partner may accept too, not only its administrators."""
    call = _draft(db)
    other = F.fast_facility(db)
    lst = F.lst_pools(db, other)[0]
    call_partners.invite_partner(db, call, other.provider)
    before = F.table_counts(db)
    with pytest.raises(DomainError) as e:
        call_services.offer_pool(db, call, lst, 10)
    assert "administrators or call managers" in str(e.value)
    assert F.table_counts(db) == before
