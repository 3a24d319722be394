"""A page's numbers are written with the locale and the number pattern read once per
process, not once per number: Babel's ``format_decimal`` given the names parses the
locale's name and the pattern's text at every call (about three quarters of its time,
some 25 of 35 microseconds a number). The same words come out as Babel writes them
from the names."""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

import babel.numbers
import pytest
from babel import Locale

from opencall.inputs import local_decimal, local_general, local_number

LANGS = ("en", "fr", "es", "zh", "xx-unknown")
VALUES = (0, -0.0, 1, -1, 2.5, 1250.5, -1250.55, 24000, 1e-9, 123456789.125, 1e300, -3.3e-7)


def _babel(value: Decimal, pattern: str, lang: str) -> str:
    with localcontext() as ctx:
        ctx.prec = 400
        return babel.numbers.format_decimal(value, format=pattern, locale=lang)


def test_the_words_are_babel_s_from_the_names() -> None:
    for lang in LANGS:
        locale = lang if lang != "xx-unknown" else "en"
        for value in VALUES:
            for decimals in (0, 1, 2, 3):
                x = round(float(value), decimals)
                pattern = "#,##0" + ("." + "#" * decimals if decimals else "")
                expected = _babel(Decimal(repr(x if x != 0 else 0.0)), pattern, locale)
                assert local_number(value, lang, decimals) == expected
                body = "0" + ("." + "0" * decimals if decimals else "")
                for signed in (False, True):
                    text = (
                        f"{float(value):+.{decimals}f}"
                        if signed
                        else f"{float(value):.{decimals}f}"
                    )
                    pat = f"+{body};-{body}" if signed else body
                    assert local_decimal(value, lang, decimals, signed=signed) == _babel(
                        Decimal(text), pat, locale
                    )
            assert local_general(value, lang) == local_general(value, locale)


def test_locale_and_pattern_read_once_not_per_number(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[Any] = []
    parse_pattern, parse_locale = babel.numbers.parse_pattern, Locale.parse

    def counting_pattern(pattern: Any) -> Any:
        if isinstance(pattern, str):
            parsed.append(pattern)
        return parse_pattern(pattern)

    def counting_locale(identifier: Any, *args: Any, **kw: Any) -> Any:
        if isinstance(identifier, str):
            parsed.append(identifier)
        return parse_locale(identifier, *args, **kw)

    # the first numbers of each kind may read them (the first call in the process)
    for lang in ("fr", "es"):
        local_number(1.5, lang)
        local_decimal(1.5, lang, 2, signed=True)
        local_decimal(1.5, lang, 1)
    monkeypatch.setattr(babel.numbers, "parse_pattern", counting_pattern)
    monkeypatch.setattr(Locale, "parse", counting_locale)
    for i in range(200):
        for lang in ("fr", "es"):
            local_number(1000 + i * 1.25, lang)
            local_decimal(i / 7, lang, 2, signed=True)
            local_decimal(i / 3, lang, 1)
    assert parsed == []
