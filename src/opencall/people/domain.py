"""Pure rules about people: e-mail and institution-name normalisation, and the time
zone a person (or a site) names."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from babel.core import get_global

from opencall.errors import DomainError
from opencall.inputs import time_zone_name
from opencall.reference.loader import countries

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


def throwaway_mailbox(email: str) -> bool:
    """Whether ``email`` (normalised) is at a known throwaway-mailbox service
    (mailinator.com and its like, or a subdomain of one): the offline list of the
    ``disposable-email-domains`` package, which registration refuses (trialcrowd10)."""
    from disposable_email_domains import blocklist

    labels = email.rpartition("@")[2].lower().split(".")
    return any(".".join(labels[i:]) in blocklist for i in range(len(labels) - 1))


def normalise_email(email: str) -> str:
    """The form addresses are stored and compared in: folded (:func:`fold_email`) and in
    lower case, so an address typed in fullwidth forms finds its account."""
    return fold_email(email).lower()


#: domains whose mail ignores the dots of the local part (Gmail's two names)
DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}

#: domains whose sub-addresses take a "-" ("name-keyword@yahoo.com", Yahoo's disposable
#: addresses, all read in one mailbox), where an account's own name never holds a "-"
#: (Yahoo's names are letters, digits, "_" and one "."): there "pi-2@" is an alias of
#: pi@'s mailbox (trialcrowd18). Elsewhere a "-" is a letter of a name ("mary-jane@"), and
#: a server whose delimiter is "-" by its own configuration is not known from its name.
DASH_TAG_DOMAINS = frozenset(
    {
        "yahoo.com",
        "ymail.com",
        "rocketmail.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "yahoo.es",
        "yahoo.de",
        "yahoo.it",
        "yahoo.ca",
        "yahoo.co.in",
        "yahoo.com.au",
        "yahoo.com.br",
        "yahoo.com.ar",
        "yahoo.com.mx",
    }
)


def mailbox_key(email: str) -> str:
    """The mailbox an address (normalised) reaches: its ``+tag`` dropped ("pi+2@x.org" is
    read in pi@x.org's box), at the domains of :data:`DASH_TAG_DOMAINS` its ``-tag`` too
    ("pi-2@yahoo.com"), and at Gmail its dots too, "googlemail.com" being
    "gmail.com". One mailbox, one account (trialcrowd17): aliases let one person be many
    applicants. Hand-written on purpose: the libraries that do this (``email-normalize``)
    ask DNS for the domain's mail servers, and the site makes no network call to judge an
    address. A local part that is nothing but a tag is kept whole."""
    email = normalise_email(email)
    local, _, domain = email.rpartition("@")
    base = local.split("+", 1)[0]
    if domain in DASH_TAG_DOMAINS:
        base = base.split("-", 1)[0]  # "pi-2@yahoo.com" (trialcrowd18)
    if base:
        local = base
    if domain in DOTLESS_DOMAINS:
        domain = DOTLESS_DOMAINS[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}"


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
    chars = unicodedata.normalize("NFKD", name).lower()
    for i, c in enumerate(chars):
        if unicodedata.category(c) == "Cf" and _hides_in_word(chars, i):
            continue  # "Nai" soft hyphen "robi" is "Nairobi" (trialcrowd13)
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
    words = _as_latin(text.split())
    return " ".join(w for w in words if w not in _STOP)


def _hides_in_word(chars: str, i: int) -> bool:
    """Whether the invisible character ``chars[i]`` stands next to a Latin, Cyrillic or
    Greek letter, where it joins nothing and only splits a word in two."""
    return any(0 <= j < len(chars) and _script(chars[j]) for j in (i - 1, i + 1))


def _as_latin(words: list[str]) -> list[str]:
    """The words of a key with Cyrillic and Greek letters drawn like Latin ones read as
    those, in a word that holds a Latin letter ("nаirobi") or, in a name with Latin
    letters, that is made only of such letters ("саре" beside "university"): how the name
    looks. Names written in one alphabet keep their keys."""
    latin = [any("a" <= c <= "z" for c in w) for w in words]
    return [
        w.translate(_TO_LATIN)
        if has or (any(latin) and all(c in LATIN_LOOKALIKES for c in w if c.isalpha()))
        else w
        for w, has in zip(words, latin, strict=True)
    ]


# what mail programs and browsers turn into a link: a scheme ("http://"), "www.", an
# e-mail address, or a host name: one written all in lowercase ("evil.example"), or one
# ending in a common top-level domain in any case ("EVIL.COM"); "Zhang.wei" and
# "St.John" are names
_COMMON_TLDS = "com|net|org|info|biz|io|co|me|app|xyz|top|online|site|link|click|ru|cn|uk|de"
_SCHEME_WWW_MAIL = re.compile(r"[a-z][a-z0-9+.\-]*://|\bwww\d{0,3}\.|[^@]+@[^@]+\.", re.I)
_HOST = re.compile(
    r"(?<![\w.-])(?:[a-z0-9_-]{1,63}\.)+[a-z]{2,24}(?![\w-])"
    r"|(?<![\w.-])(?:[\w-]{1,63}\.)+(?i:" + _COMMON_TLDS + r")(?![\w-])"
)
# the dots a browser reads as one in a host name ("evil。com")
_DOTS = str.maketrans({"\u3002": ".", "\uff61": "."})
# embeddings, overrides and isolates: they turn the text after them around (U+202E
# makes "Bob\u202emoc.live" show as "Bobevil.com"), beyond the name when unclosed
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def link_in_name(name: str) -> str | None:
    """The part of a person's name that a mail program or browser would show as a link
    (a web or e-mail address), or None. Names are mailed to strangers ("Hello <name>," to
    whatever address was typed at registration, "<name> invites you" to a co-investigator),
    where a link would come from this site. "St.John" and "J. R. R. Tolkien" are names."""
    text = unicodedata.normalize("NFKC", name).translate(_DOTS)
    for word in text.split():
        if _SCHEME_WWW_MAIL.search(word) or _HOST.search(word):
            return word
    return None


def bidi_control_in(text: str) -> str | None:
    """The first character of ``text`` that turns the direction of the text after it
    (U+202A-U+202E, U+2066-U+2069), written as its code point, or None."""
    found = next((c for c in text if c in BIDI_CONTROLS), None)
    return f"U+{ord(found):04X}" if found else None


# The look-alike rules below are written here, beside the address rules that share their
# table (LATIN_LOOKALIKES), rather than with the confusable-homoglyphs package: that
# package answers "is this string confusable", not the comparison key of two names that
# a team's check needs, and a dependency for 26 letters is not worth its lock entry.
#: the Latin letter each of LATIN_LOOKALIKES is drawn like
_TO_LATIN = str.maketrans(
    dict(zip("аеорсухіјѕԁһԛԝӏєԍοαιντυκρχ", "aeopcyxijsdhqwlegoaivtukpx", strict=True))
)
# the zero-width non-joiner and joiner shape the letters of Arabic, Persian and Indic
# scripts ("فرزانه" ZWNJ "نژاد"): kept between two letters (or marks) of such a script
_JOINERS = frozenset("\u200c\u200d")
# the left-to-right, right-to-left and Arabic letter marks place the punctuation of
# right-to-left names (``inputs.one_line`` keeps them): kept next to such a letter
_MARKS = frozenset("\u200e\u200f\u061c")


def _shaped(ch: str) -> bool:
    return (ch.isalpha() or unicodedata.category(ch).startswith("M")) and _script(ch) is None


def invisible_in_name(text: str) -> str | None:
    """The first invisible character of ``text`` (a format character: zero-width space,
    word joiner, byte-order mark, soft hyphen, direction mark...), written as its code
    point, or None: a name carrying one shows as another ("Ja" ZWSP "ne" as "Jane"). A
    joiner between two letters of a script that it shapes, and a direction mark next to
    a letter of a script other than Latin, Cyrillic and Greek, are no such characters."""
    for i, c in enumerate(text):
        if unicodedata.category(c) != "Cf":
            continue
        before = i > 0 and _shaped(text[i - 1])
        after = i < len(text) - 1 and _shaped(text[i + 1])
        if (c in _JOINERS and before and after) or (c in _MARKS and (before or after)):
            continue
        return f"U+{ord(c):04X}"
    return None


def word_mixes_scripts(name: str) -> str | None:
    """The first word of ``name`` that mixes Latin, Cyrillic and Greek letters ("Jаne"
    with a Cyrillic "а", drawn like the Latin one), or None: no real name does."""
    for word in unicodedata.normalize("NFKC", name).split():
        if len({s for c in word if c.isalpha() and (s := _script(c)) is not None}) > 1:
            return word
    return None


def lookalike_word(name: str) -> str | None:
    """The first word of an institution's name that passes for a Latin one it is not: a
    word mixing Latin, Cyrillic and Greek letters ("Nаirobi"), or, in a name with Latin
    letters, a word made only of Cyrillic or Greek letters drawn like Latin ones ("саре"),
    or None. A name in one alphabet ("Московский университет") has none."""
    mixed = word_mixes_scripts(name)
    if mixed:
        return mixed
    words = unicodedata.normalize("NFKC", name).split()
    if not any(_script(c) == "LATIN" for w in words for c in w):
        return None
    for word in words:
        letters = [c.lower() for c in word if c.isalpha()]
        if letters and all(c in LATIN_LOOKALIKES for c in letters):
            return word
    return None


def name_skeleton(name: str) -> str:
    """What a name looks like: compatibility forms folded (NFKC: fullwidth "Ｊ" is "J"),
    invisible characters dropped, case folded, Cyrillic and Greek letters drawn like
    Latin ones read as those, spaces collapsed. Two names with one skeleton that are
    written differently pass for each other; accents count ("José" is not "Jose")."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf").casefold()
    return " ".join(text.translate(_TO_LATIN).split())


def zone_name(text: str | None) -> str | None:
    """The IANA time zone named by ``text`` ("Africa/Kinshasa"), None for none (times in
    UTC alone): an account's zone and a resource's site zone alike. A name the time zone
    database does not hold is refused, naming it."""
    try:
        return time_zone_name(text)
    except ValueError:
        raise DomainError(
            "Unknown time zone %(zone)s: give a name such as Africa/Kinshasa, Asia/Dhaka, "
            "America/La_Paz or Pacific/Apia, or leave it empty for UTC.",
            field="time_zone",
            zone=repr(str(text or "").strip()[:80]),
        ) from None


#: an ORCID iD as written, with or without its resolver address (https://orcid.org/)
_ORCID = re.compile(
    r"(?:(?:https?://)?(?:www\.)?orcid\.org/)?(\d{4})-?(\d{4})-?(\d{4})-?(\d{3}[\dX])",
    re.IGNORECASE,
)


def orcid_id(raw: str) -> str:
    """An ORCID iD in its canonical form ("0000-0002-1825-0097"), from the iD or its
    address: sixteen characters, the last a check digit (ISO 7064 mod 11-2, "X" for 10).
    A bad format or check digit raises a DomainError (field ``orcid``)."""
    match = _ORCID.fullmatch(raw.strip())
    if match is None:
        raise DomainError(
            "ORCID iD %(orcid)s is not of the form 0000-0002-1825-0097.", field="orcid", orcid=raw
        )
    digits = "".join(match.groups()).upper()
    total = 0
    for ch in digits[:-1]:
        total = (total + int(ch)) * 2
    check = (12 - total % 11) % 11
    if digits[-1] != ("X" if check == 10 else str(check)):
        raise DomainError(
            "ORCID iD %(orcid)s has a wrong check digit: please copy it again from orcid.org.",
            field="orcid",
            orcid=raw,
        )
    return "-".join(digits[i : i + 4] for i in range(0, 16, 4))


@cache
def country_zone(iso3: str | None) -> str | None:
    """The time zone an account of ``iso3`` reads times in until it chooses one: the
    country's zone where it has only one (Nepal: Asia/Kathmandu; Bolivia:
    America/La_Paz), else None (UTC, named as such). From CLDR's territory zones, which
    Babel ships, rather than a table of our own."""
    ref = countries().get(iso3 or "")
    if ref is None or not ref.iso2:
        return None
    zones = get_global("territory_zones").get(ref.iso2.upper(), [])
    return str(zones[0]) if len(zones) == 1 else None
