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
