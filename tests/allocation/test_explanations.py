"""Decision explanations as people read them: translated sentence by sentence, with
amounts rounded (no floating-point noise) and units named in the reader's language."""

from __future__ import annotations

from opencall.allocation.presenters import explain
from opencall.optim.allocation import readable
from opencall.web.i18n import Translator


def test_readable_amounts() -> None:
    assert readable(-5.684e-14) == "0"
    assert readable(75.0) == "75"
    assert readable(12.3456) == "12.35"
    assert readable(1e7) == "10000000"
    assert readable(-0.001) == "0"


def test_explanations_are_translated_and_rounded() -> None:
    fr, zh = Translator("fr"), Translator("zh")
    noisy = "pool(s) exhausted by higher-ranked requests: LST 05 (-5.684e-14 of 75 h left)"
    out = explain(fr, noisy)
    assert (
        out
        == "réserve(s) épuisée(s) par des demandes mieux classées : LST 05 (reste 0 sur 75 heures)"
    )
    assert "e-14" not in explain(zh, noisy) and "LST 05" in explain(zh, noisy)
    two = "fast: awarded in full; berth: awarded 50.0% of the request (minimum 50%); pool(s) A full"
    assert explain(fr, two) == (
        "Temps de télescope: attribué en totalité; Couchettes à bord: "
        "50.0% de la demande attribué (minimum 50%) ; réserve(s) A pleine(s)"
    )
    assert explain(Translator("en"), noisy) == (
        "pool(s) exhausted by higher-ranked requests: LST 05 (0 of 75 hours left)"
    )
    assert explain(fr, "") == ""


def test_units_of_custom_resources_in_the_readers_words() -> None:
    """A built-in unit of a custom resource (``dive``) and a unit the operator named
    (``shot``, with its words) are said in the reader's language, not by their key."""
    shots = {
        "en": {"one": "shot", "other": "shots"},
        "zh": {"one": "炮次", "other": "炮次"},
        "fr": {"one": "tir", "other": "tirs"},
        "es": {"one": "disparo", "other": "disparos"},
    }
    text = "pool(s) exhausted by higher-ranked requests: Shots (0 of 3 shot left), ROV (1 of 14 dive left)"
    es = explain(Translator("es"), text, {"shot": shots})
    assert "Shots (quedan 0 de 3 disparos)" in es and "ROV (quedan 1 de 14 inmersiones)" in es
    assert "3 炮次" in explain(Translator("zh"), text, {"shot": shots})
    assert "(0 of 3 shots left)" in explain(Translator("en"), text, {"shot": shots})


def test_resource_names_with_parentheses() -> None:
    """ "Cohort B (Sept) (1 of 10 seats left)" was left in English on zh/fr/es pages."""
    text = (
        "pool(s) exhausted by higher-ranked requests: Cohort A (June) (0 of 10 seat left), "
        "Cohort B (Sept) (1 of 10 seat left)"
    )
    fr = explain(Translator("fr"), text)
    assert fr == (
        "réserve(s) épuisée(s) par des demandes mieux classées : Cohort A (June) "
        "(reste 0 sur 10 places), Cohort B (Sept) (reste 1 sur 10 places)"
    )
