"""Pure checks of untrusted input shared by every layer: control characters,
text made only of invisible characters, finite numbers, dates within the calendar's
working years."""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
import zoneinfo
from decimal import Decimal, localcontext
from typing import Annotated, Any

from pydantic import AfterValidator, Field

# C0 controls except tab, newline and carriage return; DEL; C1 controls; lone surrogates
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# characters that show nothing, beside whitespace and the format category (Cf)
_BLANKS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u180e"}


def control_char(text: str) -> str | None:
    """The first forbidden control character of ``text``, written as its code point (e.g. "U+0000"), or None."""
    m = _CONTROL.search(text)
    return f"U+{ord(m.group()):04X}" if m else None


def shown(text: str) -> str:
    """``text`` safe to echo in a message: each forbidden control character and lone
    surrogate (which no response can encode) replaced by U+FFFD."""
    return _CONTROL.sub("\ufffd", text)


def invisible_only(text: str) -> bool:
    """True for non-empty text in which nothing would show (zero-width spaces, fillers...)."""
    if not text.strip():
        return False  # empty or plain whitespace: the callers' own checks see it
    return all(c.isspace() or c in _BLANKS or unicodedata.category(c) == "Cf" for c in text)


# explicit bidi embeddings, overrides and isolates (they reorder what follows them:
# "Trojan Source"), and characters that show nothing and join nothing (zero-width space,
# word joiner, byte-order mark, Mongolian vowel separator). Kept: the zero-width
# (non-)joiners, which Bengali, Persian and Arabic spellings need, and the
# left-to-right/right-to-left marks, which reorder nothing beyond their neighbours.
_HIDDEN = re.compile("[\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff\u180e]")


_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def without_bidi_controls(text: str) -> str:
    """``text`` without the explicit bidi embeddings, overrides and isolates (U+202A-E,
    U+2066-9), which reorder what follows them; the marks (LRM, RLM) are kept."""
    return _BIDI_CONTROLS.sub("", text)


def one_line(text: str | None) -> str:
    """A name or title as it is stored: in Unicode's composed form (NFC, so "José" typed
    with a combining accent is the same name as with "é"), without the hidden characters
    of ``_HIDDEN``, on one line with single spaces; empty when nothing would show."""
    value = _HIDDEN.sub("", unicodedata.normalize("NFC", text or ""))
    value = " ".join(value.split())
    return "" if invisible_only(value) else value


def finite_number(text: str) -> float | None:
    """A finite float from user text, or None (NaN, Infinity, 1e999 and non-numbers)."""
    try:
        value = float(text.strip())
    except (ValueError, AttributeError):
        return None
    return value if math.isfinite(value) else None


# The years a typed date may fall in. Python's calendar ends at 0001-01-01 and
# 9999-12-31: a date near either end overflowed (OverflowError, a 500) as soon as a page
# took a day, a week or a time zone's offset from it. No call, loan or closure of this
# platform lies outside 1000-9000, so a date outside is refused where it is read, with
# the error a date the form cannot read gets (a bound, not a library's parser: neither
# ``datetime`` nor pydantic bounds the year below 9999).
MIN_YEAR = 1000
MAX_YEAR = 9000


#: the largest id: keys are 32-bit columns (pages, forms, the API and their schemas)
MAX_ID = 2**31 - 1
#: the most digits :func:`whole_number` reads (an id, a count, a version: far below)
WHOLE_DIGITS = 18


def whole_number(text: str, most: int | None = None) -> int | None:
    """A whole number of 0 or more typed by a user (ASCII digits, around blanks), at most
    ``most`` when given, or None. Not ``str.isdigit``, which is true for "²" and "①" that
    ``int`` refuses (a ValueError: a 500 where it guarded an ``int``)."""
    said = text.strip()
    if not (said.isascii() and said.isdigit()) or len(said) > WHOLE_DIGITS:
        return None
    n = int(said)
    return n if most is None or n <= most else None


def in_calendar(value: dt.date | dt.datetime) -> bool:
    """True when ``value`` (a date or datetime) lies within the years MIN_YEAR..MAX_YEAR."""
    return MIN_YEAR <= value.year <= MAX_YEAR


def calendar_date(text: str | None) -> dt.date | None:
    """An ISO date (YYYY-MM-DD) typed by a user, or None when it is unreadable or outside
    the years MIN_YEAR..MAX_YEAR (:func:`in_calendar`)."""
    try:
        day = dt.date.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return day if in_calendar(day) else None


def bounded_when(value: Any) -> Any:
    """A pydantic ``AfterValidator`` for a date or datetime field of a body: the value
    when :func:`in_calendar`, else a ValueError (pydantic's 422)."""
    if value is not None and not in_calendar(value):
        raise ValueError(f"a date between the years {MIN_YEAR} and {MAX_YEAR}")
    return value


# a body's date or datetime field within the calendar's years (else pydantic's 422)
BoundedDate = Annotated[dt.date, AfterValidator(bounded_when)]
BoundedDateTime = Annotated[dt.datetime, AfterValidator(bounded_when)]


def plain_number(value: float, decimals: int | None = None) -> str:
    """A number as people write it: no exponent (4000000, not 4e+06), every digit
    the float holds (1234567.5, not 1.23457e+06), no trailing zeros; ``decimals``
    rounds it first. Amounts of capacity are shown and put back in forms with it."""
    x = float(value)
    if decimals is not None:
        x = round(x, decimals)
    if not math.isfinite(x):
        return str(x)
    text = format(Decimal(repr(x)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def local_number(value: float, lang: str = "en", decimals: int = 2) -> str:
    """A number as readers of ``lang`` write it (Babel, from CLDR): the locale's group
    and decimal signs ("1,250.5" in English and Chinese, "1 250,5" in French with a
    narrow no-break space, "1.250,5" in Spanish), at most ``decimals`` decimals, no
    trailing zeros and never a negative zero. For pages and e-mails; CSV files and
    forms keep :func:`plain_number`, which a program (or the form) reads back."""
    from babel.numbers import format_decimal

    x = round(float(value), decimals)
    if not math.isfinite(x):
        return str(x)
    pattern = _pattern("#,##0" + ("." + "#" * decimals if decimals > 0 else ""))
    # the digits the float holds (plain_number's), in a context wide enough for 1e308:
    # Babel quantizes in the current decimal context (28 digits: InvalidOperation past it)
    with localcontext() as ctx:
        ctx.prec = 400
        return format_decimal(
            Decimal(repr(x if x != 0 else 0.0)), format=pattern, locale=_babel_locale(lang)
        )


def local_decimal(
    value: float, lang: str = "en", decimals: int = 2, *, signed: bool = False
) -> str:
    """A decimal a person reads (a share, a grade, a difference, a ratio) with exactly
    ``decimals`` decimals, rounded as Python's format rounds it ("12.5", "+0.25",
    "-0.07"), in ``lang``'s decimal sign (Babel, from CLDR): "12,5" in French and
    Spanish, "12.5" in English and Chinese; no group separator; the sign always with
    ``signed``. For pages, PDFs and e-mails; CSV and JSON keep the dot."""
    from babel.numbers import format_decimal

    text = f"{float(value):+.{decimals}f}" if signed else f"{float(value):.{decimals}f}"
    if not math.isfinite(float(value)):
        return text
    body = "0" + ("." + "0" * decimals if decimals > 0 else "")
    pattern = _pattern(f"+{body};-{body}" if signed else body)
    with localcontext() as ctx:
        ctx.prec = 400
        return format_decimal(Decimal(text), format=pattern, locale=_babel_locale(lang))


def local_general(value: float, lang: str = "en", digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits as Python's ``g`` format writes it
    ("0.0123", "1.5e-05"), in ``lang``'s decimal sign (:func:`local_decimal`): a
    p-value a person reads."""
    text = f"{float(value):.{digits}g}"
    if not math.isfinite(float(value)):
        return text
    mantissa, e, exponent = text.partition("e")
    decimals = len(mantissa.partition(".")[2])
    return local_decimal(float(mantissa), lang, decimals) + e + exponent


def decimal_symbol(lang: str) -> str:
    """The decimal sign of ``lang`` (Babel, from CLDR): "." in English and Chinese,
    "," in French and Spanish."""
    from babel.numbers import get_decimal_symbol

    return str(get_decimal_symbol(_number_locale(lang)))


def local_when(
    at: dt.datetime, tz: dt.tzinfo | None, lang: str = "en", *, seconds: bool = False
) -> str:
    """A moment as readers of ``lang`` write it (Babel, from CLDR: the locale's medium
    date and short time, or medium with ``seconds``) on the wall clock of ``tz``, the zone
    named in that language with its offset that day ("21 déc. 2026, 05:15 (heure :
    Népal, UTC+05:45)"); without ``tz``, in UTC, named: "Dec 20, 2026, 11:30 PM (UTC)"."""
    from babel import dates

    locale = _babel_locale(lang)
    local = at.astimezone(tz or dt.UTC)
    day = dates.format_date(local, "medium", locale=locale)
    clock = dates.format_time(local, "medium" if seconds else "short", locale=locale)
    text = str(dates.get_datetime_format("medium", locale=locale)).format(clock, day)
    if tz is None:
        return f"{text} (UTC)"
    off = local.strftime("%z")  # +0545
    where = dates.get_timezone_location(tz, locale=locale)
    return f"{text} ({where}, UTC{off[:3]}:{off[3:5]})"


def local_date(day: dt.date, lang: str = "en") -> str:
    """A day as readers of ``lang`` write it (Babel, from CLDR: the locale's medium date):
    "16 janv. 2027", "2027年1月16日", "Jan 16, 2027"; the date counterpart of
    :func:`local_when`. Pages and e-mails say days this way; CSV, JSON, iCalendar, the
    API and form inputs' values keep ISO."""
    from babel import dates

    return str(dates.format_date(day, "medium", locale=_babel_locale(lang)))


# Babel's format_decimal given a locale's name and a pattern's text parses both at every
# call (about 25 of the 35 microseconds of a number); given the parsed Locale and
# NumberPattern it uses them as they are (neither is changed by formatting), so each is
# parsed once per process here: the same words, written some three times faster
# (tests/web/test_number_format_once.py).
@functools.cache
def _pattern(text: str) -> Any:
    from babel.numbers import parse_pattern

    return parse_pattern(text)


@functools.cache
def _babel_locale(lang: str) -> Any:
    from babel import Locale

    return Locale.parse(_number_locale(lang))


@functools.cache
def _number_locale(lang: str) -> str:
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(lang.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return "en"
    return lang.replace("-", "_")


def first_error(exc: Any, prefix: str = "", *, empty: str = "") -> tuple[str, str]:
    """``(where, message)`` of a pydantic ``ValidationError``'s first error: the field
    path (``prefix`` + the dotted location; ``empty`` where there is none) and the
    message without pydantic's ``"Value error, "``."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    where = f"{prefix}{loc}" if loc else (prefix.rstrip(".") or empty)
    return where, error_message(err)


def error_message(err: Any) -> str:
    """One pydantic error's message without pydantic's ``"Value error, "`` (a
    validator's own sentence as it wrote it)."""
    return str(err.get("msg", "invalid")).removeprefix("Value error, ")


def error_text(exc: Any, prefix: str = "", *, empty: str = "") -> str:
    """The first error of a pydantic ``ValidationError`` as ``"where: message"``."""
    where, msg = first_error(exc, prefix, empty=empty)
    return f"{where}: {msg}" if where else msg


# the zones a reader's time is never shown in beside UTC (it would repeat UTC)
_UTC_ZONES = frozenset(
    {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu"}
)


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone_name(text: str | None) -> str | None:
    """The IANA time zone named by ``text`` ("Asia/Dhaka"), surrounding spaces removed;
    None for empty text. Raises ValueError for a name the time zone database (the
    system's, or the ``tzdata`` package) does not hold: only names it lists are
    accepted, never a path or a POSIX rule string."""
    name = (text or "").strip()
    if not name:
        return None
    if name not in _known_zones():
        raise ValueError(name)
    return name


def checked_time_zone(text: str) -> str:
    """:func:`time_zone_name` as a schema's field validator: the zone's name, or "" for
    none; a name the database does not hold is a ValueError that quotes it (cut short)."""
    try:
        return time_zone_name(text) or ""
    except ValueError:
        raise ValueError(f"unknown time zone {text.strip()[:64]!r}") from None


# a schema's IANA time zone: its name, "" for none (else pydantic's 422, quoting it)
TimeZoneName = Annotated[str, Field(max_length=64), AfterValidator(checked_time_zone)]


@functools.lru_cache(maxsize=256)
def reader_zone(name: str | None) -> zoneinfo.ZoneInfo | None:
    """The zone to show times in beside UTC: None for no zone, a UTC alias, or a name the
    database no longer knows (a stored name outlived by a tzdata update)."""
    if not name or name in _UTC_ZONES or name not in _known_zones():
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return None


#: a language code as written in a proposal or a reviewer's languages: ISO 639 (two or
#: three letters), known to the CLDR data Babel ships
_LANGUAGE = re.compile(r"[a-z]{2,3}")


def language_code(text: str) -> str | None:
    """``text`` as a known ISO 639 language code (lower case, e.g. "es"), or None when it
    is not one (a region or script, a name such as "Spanish", an unknown code)."""
    from babel import localedata

    code = text.strip().lower()
    if not _LANGUAGE.fullmatch(code):
        return None
    return code if localedata.exists(code) else None


def language_name(code: str, reader: str) -> str:
    """The name of the language ``code`` in the language ``reader`` reads (Babel's CLDR
    display names: "espagnol" for "es" read in French); the code itself when unknown."""
    from babel import Locale, UnknownLocaleError

    try:
        name = Locale.parse(reader).languages.get(code)
    except (ValueError, UnknownLocaleError):
        name = None
    return str(name) if name else code
