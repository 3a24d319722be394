"""The share group ``countries``: a list of countries the call names itself (trialfac23c)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from opencall.allocation.presenters import share_group_words
from opencall.allocation.services import _share_groups
from opencall.calls.manage_views import form_shares, share_countries
from opencall.calls.schemas import AllocationPolicyDoc, GroupShare


def policy(*shares: dict[str, Any], **kw: Any) -> AllocationPolicyDoc:
    return AllocationPolicyDoc.model_validate({"group_shares": list(shares), **kw})


def test_the_list_is_kept_in_capitals_once() -> None:
    doc = policy({"group": "countries", "countries": ["ken", "NPL", "KEN"], "min_share": 0.2})
    assert doc.group_shares[0].countries == ["KEN", "NPL"]
    assert doc.group_shares[0].nationality_based


@pytest.mark.parametrize(
    ("shares", "kw", "words"),
    [
        ([{"group": "countries", "countries": ["KEN", "XYZ"], "min_share": 0.2}], {}, "'XYZ'"),
        ([{"group": "countries", "min_share": 0.2}], {}, "countries"),
        ([{"group": "ldc", "countries": ["KEN"], "min_share": 0.2}], {}, "only with it"),
        (
            [
                {"group": "countries", "countries": ["KEN"], "min_share": 0.2},
                {"group": "countries+first_time", "countries": ["NPL"], "min_share": 0.1},
            ],
            {},
            "one share rule",
        ),
        (
            [{"group": "countries", "countries": ["KEN"], "min_share": 0.2}],
            {"nationality_blind": True},
            "nationality-blind",
        ),
    ],
)
def test_a_wrong_list_is_refused(shares: list[Any], kw: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError) as err:
        policy(*shares, **kw)
    assert words in str(err.value), str(err.value)


def test_members_are_the_proposals_of_listed_countries_joined_by_plus() -> None:
    base = {"country:KEN": {"1", "2"}, "country:NPL": {"3"}, "country:GBR": {"4"},
            "first_time": {"2", "3", "4"}}  # fmt: skip
    shares = [
        GroupShare(group="countries+first_time", countries=["KEN", "NPL", "PHL"], min_share=0.2)
    ]
    assert _share_groups(base, shares) == {"countries+first_time": (frozenset({"2", "3"}), True)}


def test_the_sentence_names_the_codes() -> None:
    words = share_group_words(str, "countries+first_time", ["KEN", "NPL"])
    assert words == "Teams from the countries the call lists (KEN, NPL) and first-time users"


def test_the_call_form_writes_and_reads_the_list() -> None:
    rule = {"group": "countries", "countries": ["KEN", "NPL"], "min_share": 0.25}
    text = f"ldc:0.1, countries{share_countries(rule)}:0.25"
    assert text == "ldc:0.1, countries(KEN NPL):0.25"
    assert form_shares(text) == [{"group": "ldc", "min_share": 0.1}, rule]
    assert form_shares("ldc:many") is None
