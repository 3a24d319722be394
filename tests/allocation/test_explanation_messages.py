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


def test_a_decision_stored_before_its_messages_says_its_request_kinds_translated() -> None:
    """A decision stored before the messages (``explanation_msg`` None, the English text
    only) names each request by its kind ("berth: ...; dive: ..."): the known kinds are
    said in the reader's language, each sentence translated on its own; a prefix that is
    no request kind stays as it was written."""
    old = SimpleNamespace(
        explanation="berth: awarded in full; dive: the request did not pass the eligibility check",
        explanation_msg=None,
    )
    fr, zh = Translator("fr"), Translator("zh")
    said = explain(fr, old)
    assert said == (
        f"{fr.gettext('Berths on the cruise')}: {fr.gettext('awarded in full')}; "
        f"{fr.gettext('Submersible dives')}: "
        f"{fr.gettext('the request did not pass the eligibility check')}"
    ), said
    assert "berth:" not in said and "dive:" not in said
    assert explain(zh, old).startswith(zh.gettext("Berths on the cruise"))
    assert explain(Translator("en"), old) == (  # as a decision stored with its messages
        "Berths on the cruise: awarded in full; "
        "Submersible dives: the request did not pass the eligibility check"
    )
    other = SimpleNamespace(explanation="Night: awarded in full", explanation_msg=None)
    assert explain(fr, other) == f"Night: {fr.gettext('awarded in full')}"
