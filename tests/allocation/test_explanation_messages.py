"""Decision explanations kept as message ids and parameters, translated at the edge: a
resource's name holding a semicolon or a colon stays one name, and every sentence the
optimiser writes is translated. Before, the pages parsed the English sentence back with
regular expressions: "Night; dive: B" was cut in two at its semicolon (its second half
taken for a dive request's sentence), and "the PI already holds 2 of the cap of 3 dive on
..." came out as "the PI already holds 2 sur the cap sur 3 dive" in French."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from opencall.allocation.presenters import explain
from opencall.optim.allocation import (
    AllocationPolicy,
    AllocationProblem,
    Pool,
    Request,
    solve_allocation,
)
from opencall.optim.messages import message
from opencall.web.i18n import Translator

POOL = "Night; dive: B"


def decision(*parts: tuple[str | None, Any]) -> SimpleNamespace:
    """A decision as stored (``allocation.services``): each request's kind and message."""
    return SimpleNamespace(
        explanation="(English)", explanation_msg=[{"kind": k, "message": m} for k, m in parts]
    )


def _explained(policy: AllocationPolicy | None = None) -> dict[str, Any]:
    reqs = (
        Request(id="a", proposal_id="a", pi_id="a", merit=5, demand={POOL: 3}),
        Request(id="b", proposal_id="b", pi_id="b", merit=4, demand={POOL: 2}),
        Request(id="c", proposal_id="c", pi_id="a", merit=3, demand={POOL: 1}),
    )
    problem = AllocationProblem((Pool(POOL, 4, unit="dive"),), reqs, policy or AllocationPolicy())
    return dict(solve_allocation(problem, seed=1).explanations)


def test_a_name_with_a_semicolon_and_a_colon_is_said_whole() -> None:
    e = _explained()["b"]
    assert e.detail == f"pool(s) exhausted by higher-ranked requests: {POOL} (1 of 4 dive left)"
    said = decision(("dive", e.message), ("berth", message("awarded in full")))
    fr = explain(Translator("fr"), said)
    assert fr == (
        "Plongées en submersible: réserve(s) épuisée(s) par des demandes mieux classées : "
        "Night; dive: B (reste 1 sur 4 plongées); Couchettes à bord: attribué en totalité"
    ), fr


def test_the_pis_cap_on_one_resource_is_translated() -> None:
    e = _explained(AllocationPolicy(max_amount_per_pi_by_pool={POOL: 3}))["c"]
    assert e.detail == "the PI already holds 3 of the cap of 3 dive on Night; dive: B"
    fr = explain(Translator("fr"), decision((None, e.message)))
    assert fr == "le PI détient déjà 3 sur un plafond de 3 plongées sur Night; dive: B", fr
    en = explain(Translator("en"), decision((None, e.message)))
    assert en == "the PI already holds 3 of the cap of 3 dives on Night; dive: B", en


def test_a_decision_stored_before_messages_reads_its_english_text() -> None:
    """A decision stored before the explanation was kept as messages (``explanation_msg``
    None) shows its English text, translated where a whole catalogued template matches."""
    old = SimpleNamespace(explanation="awarded in full", explanation_msg=None)
    assert explain(Translator("fr"), old) == "attribué en totalité"
    assert explain(Translator("en"), old) == "awarded in full"
