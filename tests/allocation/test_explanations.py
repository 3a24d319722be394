"""Decision explanations as people read them: translated sentence by sentence (from their
message ids and parameters), with amounts rounded (no floating-point noise) and units named
in the reader's language."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from opencall.allocation.presenters import explain
from opencall.optim.allocation import readable
from opencall.optim.messages import listing, message, number, unit
from opencall.web.i18n import Translator
from tests.allocation.test_explanation_messages import decision


def _left(pool: str, left: str, cap: str, code: str) -> dict[str, Any]:
    return message(
        "%(pool)s (%(left)s of %(cap)s %(unit)s left)",
        pool=pool,
        left=number(left),
        cap=number(cap),
        unit=unit(code, cap),
    )


def _exhausted(*left: dict[str, Any]) -> dict[str, Any]:
    return message(
        "pool(s) exhausted by higher-ranked requests: %(names)s", names=listing(list(left))
    )


def test_readable_amounts() -> None:
    assert readable(-5.684e-14) == "0"
    assert readable(75.0) == "75"
    assert readable(12.3456) == "12.35"
    assert readable(1e7) == "10000000"
    assert readable(-0.001) == "0"


def test_explanations_are_translated_and_rounded() -> None:
    fr, zh = Translator("fr"), Translator("zh")
    noisy = decision((None, _exhausted(_left("LST 05", "-5.684e-14", "75", "h"))))
    out = explain(fr, noisy)
    assert (
        out
        == "réserve(s) épuisée(s) par des demandes mieux classées : LST 05 (reste 0 sur 75 heures)"
    )
    assert "e-14" not in explain(zh, noisy) and "LST 05" in explain(zh, noisy)
    two = decision(
        ("fast", message("awarded in full")),
        (
            "berth",
            message(
                "awarded %(f)s of the request (minimum %(lo)s); pool(s) %(pools)s full",
                f="50.0%",
                lo="50%",
                pools=listing(["A"]),
            ),
        ),
    )
    assert explain(fr, two) == (
        "Temps de télescope: attribué en totalité; Couchettes à bord: "
        "50.0% de la demande attribué (minimum 50%) ; réserve(s) A pleine(s)"
    )
    assert explain(Translator("en"), noisy) == (
        "pool(s) exhausted by higher-ranked requests: LST 05 (0 of 75 hours left)"
    )
    assert explain(fr, SimpleNamespace(explanation="", explanation_msg=None)) == ""


def test_units_of_custom_resources_in_the_readers_words() -> None:
    """A built-in unit of a custom resource (``dive``) and a unit the operator named
    (``shot``, with its words) are said in the reader's language, not by their key."""
    shots = {
        "en": {"one": "shot", "other": "shots"},
        "zh": {"one": "炮次", "other": "炮次"},
        "fr": {"one": "tir", "other": "tirs"},
        "es": {"one": "disparo", "other": "disparos"},
    }
    said = decision(
        (None, _exhausted(_left("Shots", "0", "3", "shot"), _left("ROV", "1", "14", "dive")))
    )
    es = explain(Translator("es"), said, {"shot": shots})
    assert "Shots (quedan 0 de 3 disparos)" in es and "ROV (quedan 1 de 14 inmersiones)" in es
    assert "3 炮次" in explain(Translator("zh"), said, {"shot": shots})
    assert "(0 of 3 shots left)" in explain(Translator("en"), said, {"shot": shots})


def test_resource_names_with_parentheses() -> None:
    """ "Cohort B (Sept) (1 of 10 seats left)" was left in English on zh/fr/es pages."""
    said = decision(
        (
            None,
            _exhausted(
                _left("Cohort A (June)", "0", "10", "seat"),
                _left("Cohort B (Sept)", "1", "10", "seat"),
            ),
        )
    )
    fr = explain(Translator("fr"), said)
    assert fr == (
        "réserve(s) épuisée(s) par des demandes mieux classées : Cohort A (June) "
        "(reste 0 sur 10 places), Cohort B (Sept) (reste 1 sur 10 places)"
    )


def test_bundle_explanations_are_translated() -> None:
    """The explanations of all-or-nothing bundles (two magnet cells at once, a seat and its
    travel grant), as the optimiser writes them, read in Chinese, French and Spanish with
    no English left but the names (the bundle's key, the resources, the request ids).
    Before the fix "awarded in full, as part of the all-or-nothing bundle 'pair' (2
    requests): all of it or none" stayed in English on every page."""
    import re

    from opencall.optim.allocation import (
        AllocationPolicy,
        AllocationProblem,
        Pool,
        Request,
        ResourceLimit,
        solve_allocation,
    )

    def r(rid: str, merit: float, demand: dict[str, float], **kw: object) -> Request:
        return Request(id=rid, proposal_id=rid[0], pi_id=rid[0], merit=merit, demand=demand,
                       **kw)  # type: ignore[arg-type]  # fmt: skip

    reqs = (
        r("a1", 5, {"CellA": 2}, bundle="pair"), r("a2", 5, {"CellB": 2}, bundle="pair"),
        r("b1", 4, {"CellA": 1}, bundle="duo"), r("b2", 4, {"CellB": 1}, bundle="duo",
                                                  feasible=False, infeasible_reason="no insert"),
        r("c1", 3, {"CellA": 2}, bundle="trio"), r("c2", 3, {"CellB": 2}, bundle="trio"),
        r("d1", 2, {"CellA": 3}, bundle="big"), r("d2", 2, {"CellB": 1}, bundle="big"),
    )  # fmt: skip
    pools = (Pool("CellA", 3, unit="day"), Pool("CellB", 3, unit="day"))
    policy = AllocationPolicy(resource_limits={"CellA": ResourceLimit(max_per_proposal=2.5)})
    res = solve_allocation(AllocationProblem(pools, reqs, policy), seed=1)
    texts = {k: e.detail for k, e in res.explanations.items()}
    said = {k: decision((None, e.message)) for k, e in res.explanations.items()}

    assert "as part of" in texts["a1"] and "dropped as a whole" in texts["b1"], texts
    assert "was not awarded as a whole" in texts["c1"] and "than the limit" in texts["d1"]
    names = re.compile(r"'(pair|duo|trio|big)'|\b(CellA|CellB|b2|no insert)\b")
    english = re.compile(
        r"\b(awarded|bundle|requests?|dropped|whole|nothing|limit|proposal|exhausted|left|"
        r"feasible|eligible|threshold|day|days|none|part|asks)\b"
    )
    for lang in ("zh", "fr", "es"):
        t = Translator(lang)
        for rid, d in said.items():
            text = names.sub("", explain(t, d))
            left = re.findall(r"[A-Za-z]{3,}" if lang == "zh" else english, text)
            assert not left, (lang, rid, text, left)
    assert explain(Translator("fr"), said["a1"]) == (
        "attribué en totalité, dans le lot tout ou rien 'pair' (2 demandes) : tout ou rien"
    )


def test_a_bundles_sentence_is_said_once() -> None:
    """An experiment's mass, volume and power on one flight (a bundle of three requests)
    read "Request: awarded in full, as part of ..." three times over; the next bundle's
    own sentence, and a sentence of another request, are still said."""

    def bundle(key: str) -> dict[str, Any]:
        return message("the all-or-nothing bundle %(key)s (%(n)s requests)", key=repr(key), n=3)

    whole = message(
        "awarded in full, as part of %(bundle)s: all of it or none", bundle=bundle("F1")
    )
    capped = message(
        "%(bundle)s was not awarded as a whole (all or nothing): %(detail)s",
        bundle=bundle("F2"),
        detail=message("the PI already holds %(k)s award(s), the cap", k=1),
    )
    en = explain(Translator("en"), decision(*[("custom", whole)] * 3, *[("custom", capped)] * 3))
    assert en == (
        "Request: awarded in full, as part of the all-or-nothing bundle 'F1' (3 requests): all "
        "of it or none; Request: the all-or-nothing bundle 'F2' (3 requests) was not awarded as "
        "a whole (all or nothing): the PI already holds 1 award(s), the cap"
    ), en
    full = message("awarded in full")
    assert (
        explain(Translator("en"), decision(("berth", full), ("dive", full))).count(
            "awarded in full"
        )
        == 2
    )
