"""Pure rules about people: e-mail and institution-name normalisation."""

from __future__ import annotations

import re
import unicodedata

LANGUAGES = ("en", "zh", "fr", "es")

_STOP = {"the", "of", "and", "for", "de", "la", "le", "des", "du", "del", "di", "at", "&"}


def normalise_email(email: str) -> str:
    return email.strip().lower()


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
