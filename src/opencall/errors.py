"""Domain errors: pure, importable from any layer (domain modules included)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

# what an error never repeats as it was typed: control characters (C0 but tab, newline
# and carriage return; DEL; C1), lone surrogates, the bidi controls (embeddings,
# overrides, isolates, the LRM/RLM/ALM marks: a right-to-left override turns the rest of
# the message around) and the characters that show nothing and join nothing
_UNSAID = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff\u180e]"
)


def escaped(text: str) -> str:
    """``text`` safe to repeat in an error: each character of ``_UNSAID`` written as its
    code point ("U+202E"). The zero-width (non-)joiners, which Persian and Bengali
    spellings need, are kept."""
    return _UNSAID.sub(lambda m: f"U+{ord(m.group()):04X}", text)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    """Mark a string for extraction (Babel's default keyword); it is translated where it
    is shown. Here, below every layer, so that a domain table (``calls.domain``'s state
    words) is the one the pages label with; ``web.i18n`` re-exports it."""
    return message


class Localized(str):
    """A text an operator gave in several languages (a resource's field label) used
    as a message parameter: the string is the default text (the English label, what
    ``DomainError.message`` and the API's ``params`` show); ``Translator.error`` puts
    the reader's language in its place, falling back to the default::

        raise DomainError("%(label)s: ...", label=Localized("Safety sheet", labels))
    """

    by_lang: dict[str, str]

    def __new__(cls, default: str, by_lang: Mapping[str, str] | None = None) -> Localized:
        obj = super().__new__(cls, default)
        obj.by_lang = {k: v for k, v in (by_lang or {}).items() if v}
        return obj

    def in_lang(self, lang: str) -> str:
        return self.by_lang.get(lang) or str.__str__(self)


class Sentences(str):
    """Several errors said one after the other as one message parameter (a proposal's
    problems that block its submission): the string is the English sentences joined by
    spaces (what ``DomainError.message`` shows); ``Translator.error`` says each in the
    reader's language and joins them as that language does::

        raise DomainError("Cannot submit: %(problems)s", problems=Sentences(errors))
    """

    errors: tuple[DomainError, ...]

    def __new__(cls, errors: Sequence[DomainError]) -> Sentences:
        obj = super().__new__(cls, " ".join(e.message for e in errors))
        obj.errors = tuple(errors)
        return obj


class DomainError(Exception):
    """A rule of the domain was broken; the message is safe to show to the user.

    ``msg_id`` is the gettext message id: the English text with ``%(name)s``
    placeholders, always a string literal at the call (Babel extracts it: the
    ``DomainError`` keyword in ``web/babel.cfg``), and ``params`` fill them. The
    web edge translates it into the reader's language (``Translator.error``);
    ``message`` is the English rendering, for logs, the CLI and fallbacks::

        raise DomainError("Unknown role %(role)s.", field="role", role=role)

    A text parameter (what was typed, repeated) is kept :func:`escaped`: no control or
    bidi character of it reaches a page, an answer or a log.
    """

    msg_id: str | None

    def __init__(
        self, msg_id: str, *, field: str | None = None, code: str = "invalid", **params: Any
    ) -> None:
        params = {k: escaped(v) if type(v) is str else v for k, v in params.items()}
        message = msg_id % params if params else msg_id
        super().__init__(message)
        self.msg_id = msg_id
        self.params = params
        self.message = message
        self.field = field
        self.code = code

    @classmethod
    def composed(cls, text: str, *, field: str | None = None, code: str = "invalid") -> DomainError:
        """An error whose text was composed elsewhere in English (a validator's
        message, a parser's complaint): it has no message id, and the edge
        translates it by matching the catalogued templates (``Translator.message``).
        Not for texts written at the call: those take an id."""
        err = cls(escaped(text), field=field, code=code)
        err.msg_id = None
        return err
