"""The pure rules of the safety review and of a resource's limits on the team
(trialfac24): what holds an award, who a limit counts, what the call's documents accept.
The whole cycle through the API and the pages: tests/facilities/test_neutron_source.py."""

from __future__ import annotations

import pytest

from opencall.calls.domain import team_counted
from opencall.calls.schemas import allocation_policy, review_settings
from opencall.errors import DomainError
from opencall.reviews.domain import safety_hold

APPROVAL = ("biological", "radioactive")


@pytest.mark.parametrize(
    ("hazard", "decision", "hold"),
    [
        (None, None, "unreviewed"),
        ("none", "pending", None),
        ("chemical", "approved", None),
        ("biological", "pending", "awaiting"),
        ("radioactive", "approved", None),
        ("none", "refused", "refused"),  # a refusal holds whatever the class
        ("radioactive", "refused", "refused"),
    ],
)
def test_what_a_safety_review_says_of_an_award(
    hazard: str | None, decision: str | None, hold: str | None
) -> None:
    assert safety_hold(hazard, decision, APPROVAL) == hold


def test_a_limit_counts_the_members_of_its_income_groups_or_everyone() -> None:
    team = ["low", "lower-middle", "high", ""]
    assert team_counted(team, []) == 4
    assert team_counted(team, ["low", "lower-middle"]) == 2
    assert team_counted(team, ["upper-middle"]) == 0
    assert team_counted([], ["low"]) == 0


def test_the_review_settings_name_the_hazard_classes_and_those_needing_approval() -> None:
    rs = review_settings({"hazard_classes": ["none", "bio"], "approval_required": ["bio"]})
    assert rs.safety_review and rs.approval_required == ["bio"]
    assert not review_settings({}).safety_review
    for bad, said in [
        ({"hazard_classes": ["none"], "approval_required": ["bio"]}, "bio is not one of"),
        ({"hazard_classes": ["bio", "bio"]}, "named twice"),
        ({"hazard_classes": ["Bio Hazard"]}, "not a class name"),
        ({"approval_required": ["bio"]}, "none given"),
    ]:
        with pytest.raises(DomainError) as e:
            review_settings(bad)
        assert said in e.value.message, e.value.message


def test_a_resource_limit_may_count_the_team() -> None:
    ap = allocation_policy(
        {
            "resource_limits": {
                "4": {"max_per_person": 1500, "income_groups": ["lower-middle", "low"]}
            }
        }
    )
    lim = ap.resource_limits["4"]
    assert lim.max_per_person == 1500 and lim.income_groups == ["low", "lower-middle"]
    for bad, said in [
        ({"4": {"income_groups": ["LIC"]}}, "'lic' is not an income group"),
        ({"4": {"max_per_person": 0}}, "greater than 0"),
        ({"4": {}}, "max_per_person or income_groups"),
    ]:
        with pytest.raises(DomainError) as e:
            allocation_policy({"resource_limits": bad})
        assert said in e.value.message, e.value.message
