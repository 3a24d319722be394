"""Languages: Babel catalogues, negotiation and translation of service messages.

Catalogues live in ``web/locale/<lang>/LC_MESSAGES/*.po`` (``messages.po``
and one per part of the UI, e.g. ``workspaces.po``; merged). They are
compiled in memory with Babel when first used (no build step, and a ``.mo`` can
never be stale). English is the source language, so ``en`` has no catalogue.

Adding strings (``tests/web/test_i18n.py`` fails until every language has them)::

    pybabel extract -F src/opencall/web/babel.cfg --no-location --omit-header \
        -o src/opencall/web/locale/messages.pot src/opencall
    pybabel update -i src/opencall/web/locale/messages.pot -d src/opencall/web/locale \
        --no-fuzzy-matching
    # then write the new msgstr entries in zh, fr and es (French and Spanish
    # have three plural forms in CLDR: one, many, other)

A service's ``DomainError`` carries a message id (a literal with ``%(name)s``
placeholders, extracted by Babel: ``DomainError`` is a keyword in ``babel.cfg``)
and its parameters; :meth:`Translator.error` translates it by id. Texts composed
elsewhere in English (a validator's message, a solver check's findings, a job's
progress note, ``DomainError.composed``) are still translated by matching the
catalogued templates (:meth:`Translator.message`).
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any, NamedTuple

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from markupsafe import Markup

from opencall.errors import N_ as N_  # the marker, importable here
from opencall.errors import DomainError, Localized, Sentences

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES: dict[str, str] = {"en": "English", "zh": "中文", "fr": "Français", "es": "Español"}
HTML_LANG = {"en": "en", "zh": "zh-Hans", "fr": "fr", "es": "es"}


def merged_catalog(lang: str) -> Catalog | None:
    """Every ``*.po`` of a language merged (``messages.po`` first), or None."""
    files = sorted(
        (LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po"),
        key=lambda p: (p.name != "messages.po", p.name),
    )
    if lang == "en" or not files:
        return None
    catalog: Catalog | None = None
    for po in files:
        with po.open("rb") as fh:
            part = read_po(fh, locale=lang)
        if catalog is None:
            catalog = part
            continue
        for msg in part:
            if msg.id and msg.id not in catalog:
                catalog[msg.id] = msg
    return catalog


@lru_cache(maxsize=8)
def translations(lang: str) -> gettext.NullTranslations:
    catalog = merged_catalog(lang)
    if catalog is None:
        return gettext.NullTranslations()
    buf = BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


# how deep Translator.message looks into a composed text (field prefixes, parameters)
MESSAGE_DEPTH = 6

_PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%\((\w+)\)\.\d+f")


class _Template(NamedTuple):
    """A catalogued template with placeholders: its regular expression, and the literal
    text before its first placeholder (``head``), between them (``body``) and after its
    last (``tail``). A text that does not start with the head, end with the tail and hold
    every piece of the body cannot match, and is never handed to the regular expression,
    whose lazy ``(.+?)`` groups cost the square of the text's length on a near miss (a
    client's key of 1,000 ``"a: "`` took 1.3 s here, 2.0 s in CI, against 490 templates)."""

    pattern: re.Pattern[str]
    msgid: str
    head: str
    body: tuple[str, ...]
    tail: str

    def may_match(self, text: str) -> bool:
        return (
            text.startswith(self.head)
            and text.endswith(self.tail)
            and all(piece in text for piece in self.body)
        )


@lru_cache(maxsize=8)
def _templates(lang: str) -> tuple[_Template, ...]:
    """Message templates with placeholders, as regular expressions, for
    translating texts composed in English without a message id (:meth:`Translator.message`)."""
    catalog = merged_catalog(lang)
    if catalog is None:
        return ()
    out = []
    for msg in catalog:
        if not msg.id or not isinstance(msg.id, str) or "%(" not in msg.id:
            continue
        if not any(c.isalpha() for c in _PLACEHOLDER.sub("", msg.id)):
            # placeholders and punctuation alone ("%(where)s: %(message)s") would match
            # any text with a colon, ahead of the ``prefix: `` rule below
            continue
        pattern = ""
        pos = 0
        seen: set[str] = set()
        literals: list[str] = []
        for m in _PLACEHOLDER.finditer(msg.id):
            name = m.group(1) or m.group(2)
            literals.append(msg.id[pos : m.start()].replace("%%", "%"))
            pattern += re.escape(literals[-1])
            pattern += f"(?P={name})" if name in seen else f"(?P<{name}>.+?)"
            seen.add(name)
            pos = m.end()
        literals.append(msg.id[pos:].replace("%%", "%"))
        pattern += re.escape(literals[-1])
        out.append(
            _Template(
                re.compile(pattern + r"\Z", re.S),
                msg.id,
                literals[0],
                tuple(piece for piece in literals[1:-1] if piece),
                literals[-1],
            )
        )
    # longest templates first so that the most specific one wins
    out.sort(key=lambda t: -len(t.msgid))
    return tuple(out)


def _fill(text: str, params: dict[str, Any]) -> str:
    """``text % params``; where a parameter is markup (a name the template isolated for
    bidirectional text with ``bdi()``), the sentence is escaped and filled as markup, so
    that the ``<bdi>`` stays an element and every other parameter is escaped."""
    if any(isinstance(v, Markup) for v in params.values()):
        return Markup.escape(text) % params
    return text % params


#: FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE: plain text's ``<bdi>``
FSI, PDI = "\u2068", "\u2069"


_RTL = frozenset({"R", "AL", "AN"})


def isolate(value: Any) -> str:
    """A name or title put into plain text (a page's ``<title>``, an e-mail and its
    subject), isolated for bidirectional text with U+2068 ... U+2069, as pages isolate
    it with ``<bdi>``: an Arabic or Hebrew name leaves the text's punctuation and the
    words after it in place. Text without a right-to-left letter or digit (a code, a
    date, a Latin or Chinese name) is left as it is: in the site's left-to-right
    languages it moves nothing. "" for None."""
    text = "" if value is None else str(value)
    if any(unicodedata.bidirectional(c) in _RTL for c in text):
        return f"{FSI}{text}{PDI}"
    return text


class Translator:
    """gettext for one language, with ``%(name)s`` formatting."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "en"
        self._t = translations(self.lang)

    def gettext(self, message: str, **params: Any) -> str:
        text = self._t.gettext(message)
        return _fill(text, params) if params else text

    __call__ = gettext

    def plain(self, message: str, **params: Any) -> str:
        """:meth:`gettext` for plain text (the e-mails, their subjects): every text
        parameter holding right-to-left text (a name, a title) is isolated
        (:func:`isolate`)."""
        return self.gettext(
            message, **{k: isolate(v) if isinstance(v, str) else v for k, v in params.items()}
        )

    def ngettext(self, singular: str, plural: str, n: int, **params: Any) -> str:
        text = self._t.ngettext(singular, plural, n)
        return _fill(text, {"num": n, **params})

    def error(self, exc: DomainError) -> str:
        """A service's error in this language: its message id translated and filled
        with its parameters (a parameter that is another ``DomainError`` is translated
        by its own id, one that is a catalogued English text by the templates). An error without an id (``DomainError.composed``) goes
        through :meth:`message`."""
        if exc.msg_id is None:
            return self.message(exc.message)
        if self.lang == "en" and not any(isinstance(v, Localized) for v in exc.params.values()):
            return exc.message  # (a Localized number is written "1,250.5" in English too)
        text = self._t.gettext(exc.msg_id)
        if not exc.params:
            return text
        params = {
            k: self.error(v)
            if isinstance(v, DomainError)
            else self.sentences([self.error(e) for e in v.errors])
            if isinstance(v, Sentences)
            else v.in_lang(self.lang)
            if isinstance(v, Localized)
            else self.message(v)
            if isinstance(v, str)
            else v
            for k, v in exc.params.items()
        }
        try:
            return text % params
        except (KeyError, ValueError, TypeError):  # a broken translation: English, not a 500
            return exc.message

    def sentences(self, said: list[str]) -> str:
        """Sentences of this language one after the other: Chinese ones (ending in
        "。") without a space between them, the others with one."""
        return ("" if self.lang == "zh" else " ").join(said)

    def message(self, text: str) -> str:
        """Translate a text composed elsewhere in English, which has no message id
        (``DomainError.composed``: a validator's or parser's message; a job's
        progress note; a presenter's sentence): exact match first, then a catalogued
        template with placeholders; a ``field.path: message`` prefix is kept as it
        is. A ``DomainError`` with an id goes through :meth:`error` instead."""
        return self._message(text, MESSAGE_DEPTH)

    def _message(self, text: str, depth: int) -> str:
        """:meth:`message`, looking ``depth`` levels deep at most (``prefix: `` peeled
        off or a template's parameter): a composed text holds the user's own words (a
        key they sent), and each level searches the templates again."""
        if self.lang == "en" or not text or depth <= 0:
            return text
        exact = self._t.gettext(text)
        if exact != text:
            return exact
        for template in _templates(self.lang):
            m = template.pattern.match(text) if template.may_match(text) else None
            if m:
                params = {k: self._message(v, depth - 1) for k, v in m.groupdict().items()}
                return self._t.gettext(template.msgid) % params
        prefix, sep, rest = text.partition(": ")
        if sep and rest and " " not in prefix:
            return f"{prefix}: {self._message(rest, depth - 1)}"
        return text


def error_json(exc: DomainError, lang: str, prefix: str = "") -> dict[str, Any]:
    """An API error's body: ``detail`` in the reader's language (``prefix``, e.g.
    ``"field: "``, kept as it is) and, where the error has one, its ``message_id``
    and ``params`` (strings and numbers) for clients that translate themselves."""
    out: dict[str, Any] = {"detail": prefix + Translator(lang).error(exc)}
    if exc.msg_id is not None:
        out["message_id"] = exc.msg_id
        out["params"] = {
            k: str.__str__(v)
            if isinstance(v, Localized | Sentences)
            else v
            if v is None or isinstance(v, str | int | float | bool)
            else str(v)
            for k, v in exc.params.items()
        }
    return out


def negotiate(accept_language: str | None) -> str | None:
    """The best supported language from an Accept-Language header (q-values honoured)."""
    if not accept_language:
        return None
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")):
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag.strip().lower()))
    for neg_q, _i, tag in sorted(ranked):
        if neg_q >= 0:
            continue
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return None


@lru_cache(maxsize=8)
def _territories(lang: str) -> dict[str, str]:
    from babel import Locale

    return dict(Locale.parse({"zh": "zh_Hans"}.get(lang, lang)).territories)


def country_name(lang: str, iso2: str, fallback: str) -> str:
    """The country's name in the reader's language (Babel/CLDR), else the reference name."""
    return _territories(lang).get(iso2, fallback) if iso2 else fallback
