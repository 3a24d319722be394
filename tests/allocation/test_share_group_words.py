"""An explanation that names a share rule's group names it in the reader's words (trialfac19).

Before, the optimiser put the rule's key into the sentence: a Solomon Islands applicant
whose travel grant the LDC share raised read, in French, "75% attribué parce que la règle
de part minimale pour ldc s'appliquait", and the one it displaced "... under the minimum
share rule for low+first_time"."""

from __future__ import annotations

import pytest

from opencall.allocation.presenters import explain
from opencall.optim.allocation import (
    AWARDED_BY_GROUP_SHARE,
    NOT_AWARDED_POOL_EXHAUSTED,
    AllocationPolicy,
    AllocationProblem,
    Group,
    GroupShareRule,
    Pool,
    Request,
    solve_allocation,
)
from opencall.optim.messages import render
from opencall.web.i18n import Translator
from tests.allocation.test_explanation_messages import decision

WORDS = {
    "ldc": {"en": "Least developed countries", "fr": "Pays les moins avancés"},
    "low+first_time": {"en": "Low income and first-time users"},
}


def _explained(group: str) -> dict[str, object]:
    reqs = (
        Request(id="top", proposal_id="top", pi_id="top", merit=5, demand={"fund": 5}),
        Request(id="next", proposal_id="next", pi_id="next", merit=4, demand={"fund": 5}),
        Request(id="g", proposal_id="g", pi_id="g", merit=3, demand={"fund": 5}),
    )
    policy = AllocationPolicy(group_share_rules=(GroupShareRule(group, 0.3),))
    problem = AllocationProblem(
        (Pool("fund", 10, unit="jpy"),), reqs, policy, (Group(group, frozenset({"g"})),)
    )
    res = solve_allocation(problem)
    assert res.check(problem) == []
    assert res.explanations["g"].code == AWARDED_BY_GROUP_SHARE
    assert res.explanations["next"].code == NOT_AWARDED_POOL_EXHAUSTED
    return {k: e.message for k, e in res.explanations.items()}


@pytest.mark.parametrize("group", sorted(WORDS))
@pytest.mark.parametrize("lang", ["en", "fr", "es", "zh"])
def test_a_share_rules_group_is_said_in_the_readers_words(group: str, lang: str) -> None:
    msgs = _explained(group)
    t = Translator(lang)
    for rid in ("g", "next"):
        said = explain(t, decision((None, msgs[rid])))
        assert group not in said, (lang, rid, said)
        if lang in WORDS[group]:
            assert WORDS[group][lang] in said, (lang, rid, said)
    # the stored English sentence (API, CSV) keeps naming the rule by its key
    assert group in render(msgs["g"])  # type: ignore[arg-type]
