"""Offering a resource reads the call's policy against that offer only: the entries
that name it, and the units of the call's resources only when a cap over all of them
needs them, instead of every resource of the facility and every offer at each offer
(quadratic: a call offering 24 resources built the 24-resource table 24 times). The
refusals are the same as the full check's (each case below on both paths); the work per
offer does not grow with the resources. Before the fix 24 offers built 600 rows."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from opencall.calls import schemas, services
from opencall.calls.schemas import allocation_policy, check_policy, review_settings
from opencall.errors import DomainError
from opencall.facilities import services as fac_services
from tests import factories as F


def _full_check(s: Session, call, pool, amount: float) -> str | None:  # type: ignore[no-untyped-def]
    """The check as it was: every resource of the facility, the call's offers over them."""
    pools = services.policy_pools(s, None, call.facility)
    pools.update(services.offered_pools(call))
    pools[pool.id] = schemas.PolicyPool(pool.name, amount, pool.unit, pool.unit_labels)
    try:
        check_policy(
            allocation_policy(call.allocation_policy), review_settings(call.review_settings), pools
        )
    except DomainError as exc:
        return exc.message
    return None


def _new_check(s: Session, call, pool, amount: float) -> str | None:  # type: ignore[no-untyped-def]
    try:
        services._check_policy_with_offer(s, call, pool, amount)
    except DomainError as exc:
        return exc.message
    return None


@pytest.mark.parametrize(
    "policy",
    [
        {},
        {"resource_limits": {"{a}": {"max_per_proposal": 3}}},
        {"resource_limits": {"{a}": {"max_total": 2}}},
        {"resource_limits": {"{b}": {"max_total": 2}}},
        {"resource_limits": {"999999": {"max_total": 1}}},
        {"pi_cap_amount": {"{a}": 3}},
        {"pi_cap_amount": {"{b}": 3}},
        {"pi_cap_amount": 5},
        {"group_caps": [{"per": "country", "max_amount": {"{a}": 2}}]},
        {"group_caps": [{"per": "country", "max_amount": 2}]},
    ],
)
def test_the_offer_check_refuses_as_the_full_check_does(db: Session, policy: dict) -> None:
    call = F.fast_call(db, status="draft", pools=2)
    a, b = (cp.pool for cp in call.pools)
    text = repr(policy).replace("{a}", str(a.id)).replace("{b}", str(b.id))
    call.allocation_policy = {"award_mode": "whole", **eval(text)}  # noqa: S307 - a literal
    # a resource the call does not offer yet, of another unit than the hours
    extra = fac_services.create_pool(
        db,
        call.facility,
        name="Extra",
        pool_type="lst_hours",
        amount=9,
        attributes={"lst_start_h": 5, "lst_end_h": 6},
    )
    extra.unit = "slot"
    db.flush()
    for pool in (a, b, extra):
        for amount in (1.0, 2.5, 4.0):
            assert _new_check(db, call, pool, amount) == _full_check(db, call, pool, amount)


def test_the_work_of_an_offer_does_not_grow_with_the_resources(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []
    real = services.PolicyPool

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "PolicyPool", counting)
    per_offer = []
    call = F.fast_call(db, status="draft", pools=0)
    call.allocation_policy = {"award_mode": "whole", "pi_cap_amount": 5}
    for pool in F.lst_pools(db, call.facility, 24):
        built.clear()
        services.offer_pool(db, call, pool, 1.0)
        per_offer.append(len(built))
    assert len(call.pools) == 24
    assert max(per_offer) <= 2, per_offer  # the offer's own row, never the whole table
