"""Pure rules about people: e-mail and institution-name normalisation."""

from __future__ import annotations

import re
import unicodedata

LANGUAGES = ("en", "zh", "fr", "es")

# lowercase Cyrillic and Greek letters drawn like Latin ones (from Unicode's confusables):
# an address part made only of these passes for a Latin one ("раураl" for "paypal")
LATIN_LOOKALIKES = frozenset("аеорсухіјѕԁһԛԝӏєԍοαιντυκρχ")
SPOOFABLE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")


def fold_email(email: str) -> str:
    """An address as typed, with compatibility forms folded (NFKC: fullwidth "ａ" is "a",
    the ligature "ﬁ" is "fi"), so it cannot pass for an account it is not."""
    return unicodedata.normalize("NFKC", email or "").strip()


def _script(ch: str) -> str | None:
    first = unicodedata.name(ch, "").split(" ", 1)[0]
    return first if first in SPOOFABLE_SCRIPTS else None


def email_lookalike(email: str) -> bool:
    """Whether an address could pass for another one: a part of it (the local part or a
    domain label) mixes Latin, Cyrillic and Greek letters ("pаul" with a Cyrillic "а"),
    or is made only of Cyrillic or Greek letters drawn like Latin ones."""
    local, _, domain = email.rpartition("@")
    for part in (local, *domain.split(".")):
        letters = [c for c in part if c.isalpha()]
        scripts = {s for c in letters if (s := _script(c)) is not None}
        if len(scripts) > 1:
            return True
        if scripts and scripts != {"LATIN"} and all(c in LATIN_LOOKALIKES for c in letters):
            return True
    return False


def name_sort_key(name: str) -> tuple[str, str, str]:
    """The order people are listed in by name, the same on every database: letters
    without case or accents first ("ade" < "Ångström" < "Émile" < "Zoë"; "José" typed
    with a combining accent is "José"), then with accents, then as stored; scripts
    follow each other by code point (Latin, Greek, Cyrillic, Arabic, ..., Chinese)."""
    nfc = unicodedata.normalize("NFC", name)
    bare = "".join(c for c in unicodedata.normalize("NFKD", nfc) if not unicodedata.combining(c))
    return (bare.casefold(), nfc.casefold(), nfc)


_STOP = {"the", "of", "and", "for", "de", "la", "le", "des", "du", "del", "di", "at", "&"}


def normalise_email(email: str) -> str:
    """The form addresses are stored and compared in: folded (:func:`fold_email`) and in
    lower case, so an address typed in fullwidth forms finds its account."""
    return fold_email(email).lower()


# scripts whose combining marks are optional accents or vowel points ("São", the Arabic
# short vowels), dropped from the key; elsewhere (Devanagari, Thai...) a mark is a letter
_OPTIONAL_MARKS = ("LATIN", "GREEK", "CYRILLIC", "ARABIC", "HEBREW")


def institution_key(name: str) -> str:
    """A comparison key for institution names in any script: optional accents and
    vowel points, case, punctuation and filler words removed, so "Univ. of São Paulo" ~
    "University of Sao Paulo" and "جَامِعَة القَاهِرَة" ~ "جامعة القاهرة"; letters of every
    script are kept (two universities named in Arabic, Hindi or Chinese never share one)."""
    out: list[str] = []
    base: str | None = None  # the script of the non-Latin letter the next marks belong to
    for c in unicodedata.normalize("NFKD", name).lower():
        if unicodedata.category(c).startswith("M"):
            if base is not None and base not in _OPTIONAL_MARKS:
                out.append(c)
            continue
        script = unicodedata.name(c, "").split(" ", 1)[0]
        # Latin: a-z and 0-9 only, as keys were always made (stored keys stay valid)
        other = c.isalnum() and ord(c) >= 0x370 and script not in ("LATIN", "MODIFIER")
        base = script if other else None
        out.append(c if other or "a" <= c <= "z" or "0" <= c <= "9" else " ")
    text = unicodedata.normalize("NFC", "".join(out))
    text = re.sub(r"\buniv\b\.?", "university", text)
    text = re.sub(r"\binst\b\.?", "institute", text)
    words = [w for w in text.split() if w not in _STOP]
    return " ".join(words)
