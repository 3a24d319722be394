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


_STOP = {"the", "of", "and", "for", "de", "la", "le", "des", "du", "del", "di", "at", "&"}


def normalise_email(email: str) -> str:
    """The form addresses are stored and compared in: folded (:func:`fold_email`) and in
    lower case, so an address typed in fullwidth forms finds its account."""
    return fold_email(email).lower()


def institution_key(name: str) -> str:
    """A comparison key for institution names: accents, case, punctuation and
    filler words removed, so "Univ. of São Paulo" ~ "University of Sao Paulo"."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"\buniv\b\.?", "university", text)
    text = re.sub(r"\binst\b\.?", "institute", text)
    text = re.sub(r"[^a-z0-9]+", " ", text)
    words = [w for w in text.split() if w not in _STOP]
    return " ".join(words)
