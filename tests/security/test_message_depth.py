"""A composed message built around the user's own text (a pydantic error names a key the
client sent: ``"<key>: Extra inputs are not permitted"``) is translated with bounded work:
each ``prefix: `` peeled off the text began the template search again on the rest, one
level deeper, so a key of 1,000 ``"a: "`` took 18 s of CPU and ended in a RecursionError
(a 500) in any language but English. Then, depth bounded, every level still handed the
whole text to each of the 490 templates' regular expressions, whose lazy groups cost the
square of its length on a near miss: 1.3 s of CPU here, and CI failed it at 2.0 s. The
work is counted, not timed: the characters handed to the templates' expressions. Pure:
no database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from opencall.errors import DomainError
from opencall.web import i18n
from opencall.web.i18n import MESSAGE_DEPTH, Translator


class _Counting:
    """A compiled pattern that adds the length of every text it is asked to match."""

    def __init__(self, pattern: re.Pattern[str], handed: list[int]) -> None:
        self._pattern = pattern
        self._handed = handed

    def match(self, text: str) -> re.Match[str] | None:
        self._handed.append(len(text))
        return self._pattern.match(text)


@contextmanager
def _counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    handed: list[int] = []
    real = i18n._templates

    def templates(lang: str) -> tuple[Any, ...]:
        return tuple(t._replace(pattern=_Counting(t.pattern, handed)) for t in real(lang))

    with monkeypatch.context() as m:
        m.setattr(i18n, "_templates", templates)
        yield handed


def test_a_message_of_many_prefixes_hands_the_templates_little(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = "a: " * 1000
    text = f"{key}Extra inputs are not permitted"
    with _counting(monkeypatch) as handed:
        out = Translator("fr").error(DomainError.composed(text))
    assert out.startswith("a: a: ")
    # no template ends so: none is tried (the old search handed it ~8.9 million characters)
    assert sum(handed) == 0, f"{len(handed)} tries, {sum(handed)} characters"


def test_a_near_miss_is_tried_by_the_templates_it_may_match_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A text shaped to end as a template ends ("... is not an object") reaches that
    template's expression, at most once a level: a few times its length in all."""
    text = "a: " * 1000 + "b is not an object"
    with _counting(monkeypatch) as handed:
        Translator("fr").message(text)
    assert 0 < sum(handed) <= 3 * MESSAGE_DEPTH * len(text), (len(handed), sum(handed))


def test_field_prefixes_are_still_translated() -> None:
    fr = Translator("fr")
    plain = fr.message("The file has no publication with a title.")
    assert plain != "The file has no publication with a title."
    assert fr.message("details.targets.0.name: The file has no publication with a title.") == (
        "details.targets.0.name: " + plain
    )
    assert fr.message("a: b: The file has no publication with a title.") == "a: b: " + plain


def test_a_template_with_a_percent_sign_is_matched() -> None:
    """A template's ``%%`` is a ``%`` in the English text composed from it: the expression
    looked for ``%%`` and never matched such a text (it stayed English)."""
    msgid = next(t.msgid for t in i18n._templates("fr") if "%%" in t.msgid)
    params = {name or name2: "7" for name, name2 in i18n._PLACEHOLDER.findall(msgid)}
    english = re.sub(r"%\((\w+)\)\.\d+f", r"%(\1)s", msgid) % params
    assert "%" in english and "%%" not in english
    assert Translator("fr").message(english) != english
