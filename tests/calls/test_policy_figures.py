"""A refused allocation policy says its figures as people write them: a fellowship fund of
2,500,000 yuan is "2500000", never "2.5e+06" (and 1,234,567.5 keeps its digits)."""

from __future__ import annotations

import pytest

from opencall.calls.schemas import ReviewSettings, allocation_policy, check_policy
from opencall.errors import DomainError


def test_a_limit_above_a_large_offer_is_refused_with_its_figures_in_full() -> None:
    ap = allocation_policy({"resource_limits": {"7": {"max_total": 2_500_000}}})
    with pytest.raises(DomainError) as err:
        check_policy(ap, ReviewSettings(), {7: ("Stipend fund", 1_234_567.5, "cny")})
    assert err.value.message == (
        "Invalid allocation policy: resource_limits.7.max_total: 2500000 is more than the "
        "1234567.5 cny that Stipend fund offers."
    )
