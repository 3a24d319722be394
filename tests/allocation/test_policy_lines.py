"""The allocation policy's sentences speak a resource's unit in the reader's language:
an operator-named unit by its own label (found missing by an operator's trial: the
sentences showed the bare key, e.g. "core-h"), a built-in unit through the catalogue."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from opencall.allocation.presenters import policy_lines

CORE_H = {
    "en": {"one": "core-hour", "other": "core-hours"},
    "zh": {"one": "核时", "other": "核时"},
    "fr": {"one": "heure-cœur", "other": "heures-cœur"},
}


def _call(policy: dict[str, Any]) -> Any:
    cluster = SimpleNamespace(name="Cluster", unit="core-h", unit_labels=CORE_H)
    beam = SimpleNamespace(name="SAXS-1", unit="shift", unit_labels={})
    return SimpleNamespace(
        allocation_policy=policy,
        review_settings={},
        pools=[SimpleNamespace(pool_id=7, pool=cluster), SimpleNamespace(pool_id=8, pool=beam)],
    )


def _same(text: str, **params: Any) -> str:
    return text % params


def test_an_operator_named_unit_is_shown_by_its_label_in_the_page_language() -> None:
    call = _call(
        {
            "pi_cap_amount": {"7": 250000.5},
            "resource_limits": {"7": {"max_total": 4000000}, "8": {"max_per_proposal": 3}},
        }
    )
    zh = " ".join(policy_lines(_same, call, "zh"))
    assert "250,000.5 核时" in zh  # as the reader's language writes numbers
    assert "4,000,000 核时" in zh
    assert "core-h " not in zh and "core-h." not in zh
    fr = " ".join(policy_lines(_same, call, "fr"))
    assert "250\u202f000,5 heures-cœur" in fr
    en = " ".join(policy_lines(_same, call))
    assert "4,000,000 core-hours" in en
    # a built-in unit still goes through the message catalogue (here: unchanged English)
    assert "3 shift" in en


def test_a_single_cap_uses_the_first_resource_unit() -> None:
    call = _call({"pi_cap_amount": 1})
    assert any("1 核时" in line for line in policy_lines(_same, call, "zh"))
