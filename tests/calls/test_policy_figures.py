"""A refused allocation policy says its figures as people write them: a fellowship fund of
2,500,000 yuan is "2500000", never "2.5e+06" (and 1,234,567.5 keeps its digits), and its
unit by the resource's label ("yuan"), never by the unit's key ("cny")."""

from __future__ import annotations

import pytest

from opencall.calls.schemas import PolicyPool, ReviewSettings, allocation_policy, check_policy
from opencall.errors import DomainError

YUAN = {
    "en": {"one": "yuan", "other": "yuan"},
    "zh": {"one": "元", "other": "元"},
    "fr": {"one": "yuan", "other": "yuans"},
    "es": {"one": "yuan", "other": "yuanes"},
}


def test_a_limit_above_a_large_offer_is_refused_with_its_figures_in_full() -> None:
    ap = allocation_policy({"resource_limits": {"7": {"max_total": 2_500_000}}})
    with pytest.raises(DomainError) as err:
        check_policy(ap, ReviewSettings(), {7: PolicyPool("Stipend fund", 1_234_567.5, "cny")})
    assert err.value.message == (
        "Invalid allocation policy: resource_limits.7.max_total: 2500000 is more than the "
        "1234567.5 cny that Stipend fund offers."
    )


def test_a_refusal_names_the_unit_by_its_label_in_the_readers_language() -> None:
    ap = allocation_policy({"pi_cap_amount": {"7": 2_500_000}})
    fund = PolicyPool("Stipend fund", 1_234_567.5, "cny", YUAN)
    with pytest.raises(DomainError) as err:
        check_policy(ap, ReviewSettings(), {7: fund})
    assert err.value.message == (
        "Invalid allocation policy: pi_cap_amount.7: 2500000 is more than the "
        "1234567.5 yuan that Stipend fund offers."
    )
    assert "cny" not in err.value.message
    said = err.value.params["amount"]
    assert said.in_lang("es") == "1.234.567,5 yuanes"
    assert said.in_lang("zh") == "1,234,567.5 元"


def test_a_built_in_unit_is_named_by_its_word() -> None:
    ap = allocation_policy({"resource_limits": {"3": {"max_per_proposal": 20}}})
    with pytest.raises(DomainError) as err:
        check_policy(ap, ReviewSettings(), {3: PolicyPool("Leg 2", 12, "berths")})
    assert "12 berths that Leg 2 offers" in err.value.message
    assert err.value.params["amount"].in_lang("fr") == "12 couchettes"
