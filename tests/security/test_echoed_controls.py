"""An error that repeats what was typed never repeats a bidi control (a right-to-left
override would turn the rest of the message around: "Trojan Source") or a control
character: each is written as its code point ("U+202E")."""

from __future__ import annotations

import pytest

from opencall.errors import DomainError
from opencall.people import domain as pd
from opencall.web.api import validation_message
from opencall.web.i18n import Translator, error_json

RLO = "\u202e"
HIDDEN = [RLO, "\u2066", "\u200f", "\u061c", "\u200b", "\ufeff", "\x1b", "\x85"]


def _clean(text: str) -> None:
    for c in HIDDEN:
        assert c not in text, (c, text)


@pytest.mark.parametrize("c", HIDDEN)
def test_a_bad_orcid_is_not_echoed_with_its_controls(c: str) -> None:
    with pytest.raises(DomainError) as e:
        pd.orcid_id(f"0000-0002-{c}1825-0097")
    err = e.value
    assert f"U+{ord(c):04X}" in err.message and "1825" in err.message
    _clean(err.message)
    for lang in ("en", "zh", "fr", "es"):
        said = Translator(lang).error(err)
        _clean(said)
        assert f"U+{ord(c):04X}" in said
        _clean(str(error_json(err, lang)))


def test_every_domain_error_and_composed_text_escapes_them() -> None:
    err = DomainError("Unknown role %(role)s.", field="role", role=f"admin{RLO}txt.exe")
    assert err.message == "Unknown role adminU+202Etxt.exe."
    assert err.params["role"] == "adminU+202Etxt.exe"
    composed = DomainError.composed(f"fields.0: bad value {RLO}abc")
    assert composed.message == "fields.0: bad value U+202Eabc"
    # the shaping joiners that Persian and Bengali spellings need are kept
    assert DomainError("%(n)s", n="\u0645\u200c\u06cc").message == "\u0645\u200c\u06cc"


def test_the_api_422_sentence_escapes_them() -> None:
    said = validation_message(
        {"loc": ("body", f"x{RLO}y"), "msg": f"Value error, bad {RLO}value", "type": "value_error"}
    )
    assert said == "xU+202Ey: bad U+202Evalue"
