"""Reading publications and datasets from BibTeX, RIS and CSL-JSON files
(pure: text in, plain dicts out; ``results.schemas.OutputIn`` validates them).

BibTeX is read by bibtexparser (1.x), RIS by rispy; CSL-JSON is plain JSON.
Authors' countries are not part of these formats: a ``countries`` field
(BibTeX), the ``C1`` tag (RIS) or a ``countries`` variable (CSL-JSON) holding
ISO alpha-3 codes is read where present; otherwise they are typed in.

A patent is a BibTeX ``@patent`` (its ``number``), a RIS ``TY  - PAT`` (its ``IS``
tag, else ``M1``) or a CSL-JSON item of type ``patent`` (its ``number``). Authors'
ORCID iDs are an author's ``ORCID`` in CSL-JSON (as Crossref writes it) or an
``orcid`` field in BibTeX (iDs separated by spaces, commas or ``and``); RIS has no tag
for them. ``results.schemas`` checks them.

Every entry is named with the line it starts on (``parse_located``); a file is read
in full or refused: an entry the parser skips (an unclosed brace, a missing ``ER``)
is refused by name, a date that does not exist or a year that is not four digits is
refused, and a file over ``limit`` entries is refused after a cheap count, before
the (slow) BibTeX parser runs.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable
from typing import Any

import rispy

from opencall.errors import DomainError, Sentences
from opencall.inputs import shown

FORMATS = ("bibtex", "ris", "csl-json")
NAMES = {"bibtex": "BibTeX", "ris": "RIS", "csl-json": "CSL-JSON"}
#: Entry types read as a dataset, software or patent (any other is a publication).
BIB_KINDS = {"dataset": "dataset", "software": "software", "patent": "patent"}
RIS_KINDS = {"DATA": "dataset", "COMP": "software", "PAT": "patent"}
CSL_KINDS = {"dataset": "dataset", "software": "software", "patent": "patent"}
MONTHS = {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}


def _clean(value: Any) -> str:
    s = re.sub(r"[{}]", "", str(value or ""))
    return re.sub(r"\s+", " ", s).strip()


def _text(value: Any, where: str, name: str) -> str:
    """A text field of a CSL-JSON item: a string or a number, never an object or list."""
    if isinstance(value, (dict, list)):
        raise DomainError("%(where)s: %(name)s is not text", where=where, name=name)
    return _clean(value)


def _codes(value: Any) -> list[str]:
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    return [c for c in re.split(r"[\s,;]+", _clean(value).upper()) if c]


def _ids(value: Any) -> list[str]:
    """Identifiers listed in one field (spaces, commas, semicolons or ``and`` between)."""
    return [v for v in re.split(r"[\s,;]+(?:and[\s,;]+)?", _clean(value)) if v]


def _number(kind: str, value: Any) -> str:
    """A patent's publication number as written (``results.schemas`` checks it); other
    kinds have none (a report's or an issue's number is not kept)."""
    return _clean(value) if kind == "patent" else ""


def _title(value: Any, where: str) -> str:
    title = _clean(value)
    if not title:
        raise DomainError("%(where)s: no title", where=where)
    return title


def _year(value: Any, where: str) -> int:
    # four digits standing alone: "20200" is no year, not 2020
    m = re.search(r"(?<!\d)\d{4}(?!\d)", str(value or ""))
    if not m:
        raise DomainError("%(where)s: no year", where=where)
    return int(m.group(0))


def _date(year: int, month: Any, day: Any, where: str) -> str | None:
    """The ISO date of a year, month (number or English name) and optional day; None
    without a month or for a month name not known ("Spring"); a number that makes no
    date (month 13, 31 February) is refused."""
    if month in (None, "") or isinstance(month, (dict, list)) or isinstance(day, (dict, list)):
        return None
    m = str(month).strip()
    mm = int(m) if m.isdigit() else MONTHS.get(m.lower()[:3])
    if not mm:
        return None
    d = str(day).strip() if day not in (None, "") else "1"
    try:
        return dt.date(year, mm, int(d)).isoformat()
    except (TypeError, ValueError, OverflowError) as exc:
        raise DomainError(
            "%(where)s: %(date)s is not a date", where=where, date=f"{year}-{m}-{d}"
        ) from exc


def _dated(year: int, parts: list[Any], where: str) -> str | None:
    """The date of ``[year, month, day]`` parts (the day optional; None without a month)."""
    if len(parts) < 2:
        return None
    return _date(year, parts[1], parts[2] if len(parts) > 2 else None, where)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _lines_at(text: str, offsets: list[int]) -> list[int]:
    """The line of each offset (ascending), counted once through the text."""
    out, line, last = [], 1, 0
    for off in offsets:
        line += text.count("\n", last, off)
        last = off
        out.append(line)
    return out


def detect(filename: str, text: str) -> str:
    """The format of an uploaded file, from its name or else its first characters."""
    name = filename.lower()
    if name.endswith((".bib", ".bibtex")):
        return "bibtex"
    if name.endswith(".ris"):
        return "ris"
    if name.endswith(".json"):
        return "csl-json"
    head = text.lstrip()[:20]
    if head.startswith("@"):
        return "bibtex"
    if head.startswith("TY  -"):
        return "ris"
    if head.startswith(("[", "{")):
        return "csl-json"
    raise DomainError("The file is not BibTeX, RIS or CSL-JSON.")


def parse(fmt: str, text: str, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Every entry of the file as a dict for ``OutputIn``; a DomainError for an
    unreadable file or an entry without a title or year (nothing is half-read). The
    award code an entry may name (``award``: a call-wide file) is left out here;
    :func:`parse_located` keeps it."""
    return [
        {k: v for k, v in entry.items() if k != "award"}
        for _where, entry in parse_located(fmt, text, limit=limit)
    ]


def parse_located(
    fmt: str, text: str, *, limit: int | None = None, errors: list[DomainError] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """:func:`parse`, each entry with where it is (``BibTeX entry key (line 12)``); a
    file with more than ``limit`` entries is refused. Given ``errors``, the refusals of
    single entries go there (the others are returned) for the caller to refuse with its
    own; a file that cannot be read at all is refused here either way."""
    if fmt not in FORMATS:
        raise DomainError(
            "Unknown format %(fmt)s; expected one of %(formats)s.",
            fmt=repr(fmt),
            formats=", ".join(FORMATS),
        )
    if "\x00" in text:
        raise DomainError("The file contains a NUL character.")
    entries = {"bibtex": _bibtex, "ris": _ris, "csl-json": _csl}[fmt](text, limit, errors)
    if not entries and not errors:
        raise DomainError("No entries found in the %(fmt)s file.", fmt=fmt)
    return entries


#: At most this many bad entries are named in one refusal (the others are counted).
MAX_NAMED = 20


LINE_IN = re.compile(r"\(line (\d+)\)")


def _line_in(error: DomainError) -> int:
    """The line an entry's refusal names (every ``where`` says ``(line N)``)."""
    m = LINE_IN.search(error.message)
    return int(m.group(1)) if m else 0


def refuse_entries(errors: list[DomainError]) -> None:
    """Refuse a file for every bad entry in it at once (each names its entry and line),
    so that a large file is corrected in one pass, not one entry per upload."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        errors = sorted(errors, key=_line_in)  # in file order, whatever refused them
        raise DomainError(
            "%(n)s entries were refused and nothing was imported: %(problems)s",
            n=len(errors),
            problems=Sentences(errors[:MAX_NAMED]),
        )


def _read_each(
    items: list[Any],
    read: Callable[[int, Any], tuple[str, dict[str, Any]]],
    errors: list[DomainError] | None,
) -> list[tuple[str, dict[str, Any]]]:
    """``read(i, item)`` -> (where, entry) for each item, every refusal collected: into
    ``errors`` when given (the caller refuses them with its own), else refused here
    (:func:`refuse_entries`)."""
    out, refused = [], []
    for i, item in enumerate(items, start=1):
        try:
            out.append(read(i, item))
        except DomainError as exc:
            refused.append(exc)
    if errors is None:
        refuse_entries(refused)
    else:
        errors.extend(refused)
    return out


def csv_rows(text: str, required: tuple[str, ...], limit: int) -> list[tuple[str, dict[str, str]]]:
    """A CSV file's rows as (where, {column: stripped cell}), where is "row N (line L)":
    its header must name the ``required`` columns (header names are stripped and in lower
    case); a file without rows, or of more than ``limit`` rows, or that is not CSV, is
    refused. A row with more cells than the header is refused by line, as an entry."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        if not any(header):
            raise DomainError("The file has no rows.")
        missing = [c for c in required if c not in header]
        if missing:
            raise DomainError(
                "The file's first line must name the columns %(columns)s.",
                columns=", ".join(required),
            )
        out: list[tuple[str, dict[str, str]]] = []
        errors: list[DomainError] = []
        for n, cells in enumerate(reader, start=1):
            if not any(c.strip() for c in cells):
                continue  # a blank line
            _over(n, limit)
            where = f"row {n} (line {reader.line_num})"
            if len(cells) > len(header):
                errors.append(
                    DomainError("%(where)s: more cells than the header names.", where=shown(where))
                )
                continue
            out.append((where, {h: c.strip() for h, c in zip(header, cells, strict=False)}))
    except csv.Error as exc:
        raise DomainError(
            "The file could not be read as CSV (line %(line)s).", line=reader.line_num
        ) from exc
    refuse_entries(errors)
    if not out:
        raise DomainError("The file has no rows.")
    return out


def _over(n: int, limit: int | None) -> None:
    if limit is not None and n > limit:
        raise DomainError("At most %(n)s entries per file.", n=limit)


#: Where a BibTeX entry starts (``@comment``, ``@string`` and ``@preamble`` are no entries).
BIB_START = re.compile(r"^[ \t]*@[ \t]*(\w+)[ \t]*[{(][ \t]*([^,\s]*)", re.MULTILINE)
BIB_NOT_ENTRIES = {"comment", "string", "preamble"}


def _bibtex(
    text: str, limit: int | None, errors: list[DomainError] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    import bibtexparser
    from bibtexparser.bparser import BibTexParser

    found = [m for m in BIB_START.finditer(text) if m.group(1).lower() not in BIB_NOT_ENTRIES]
    starts = list(
        zip([m.group(2) for m in found], _lines_at(text, [m.start() for m in found]), strict=True)
    )
    _over(len(starts), limit)
    parser = BibTexParser(common_strings=True)
    parser.ignore_nonstandard_types = False
    try:
        db = bibtexparser.loads(text, parser=parser)
    except Exception as exc:  # the parser raises assorted errors on broken input
        raise DomainError("The BibTeX file could not be read: %(error)s", error=exc) from exc
    line: dict[str, int] = {}
    for key, n in starts:
        line.setdefault(key, n)
    parsed = {e.get("ID") for e in db.entries}
    for key, n in starts:  # an entry the parser skipped (swallowed by an unclosed one)
        if key not in parsed:
            raise DomainError(
                "%(where)s could not be read.", where=f"BibTeX entry {key} (line {n})"
            )

    def read(_i: int, e: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        key = e.get("ID", "?")
        where = f"BibTeX entry {key} (line {line.get(key, '?')})"
        title = _title(e.get("title"), where)
        year = _year(e.get("year"), where)
        kind = BIB_KINDS.get(e.get("ENTRYTYPE", "").lower(), "publication")
        entry = {
            "kind": kind,
            "doi": _clean(e.get("doi")),
            "number": _number(kind, e.get("number")),
            "orcids": _ids(e.get("orcid", "")),
            "title": title,
            "year": year,
            "published_on": _date(year, e.get("month"), e.get("day"), where),
            "authors": [_clean(a) for a in re.split(r"\s+and\s+", e.get("author", "")) if a],
            "countries": _codes(e.get("countries", "")),
            "abstract": _clean(e.get("abstract")),
            "acknowledgement": _clean(e.get("acknowledgement") or e.get("note")),
            "award": _clean(e.get("award")),
        }
        return where, entry

    return _read_each(db.entries, read, errors)


RIS_START = re.compile(r"^TY  -", re.MULTILINE)


def _ris(
    text: str, limit: int | None, errors: list[DomainError] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    lines = _lines_at(text, [m.start() for m in RIS_START.finditer(text)])
    _over(len(lines), limit)
    try:
        entries = rispy.loads(text)
    except Exception as exc:
        raise DomainError("The RIS file could not be read: %(error)s", error=exc) from exc
    if len(entries) < len(lines):  # rispy drops an entry without its closing ER line
        i = len(entries) + 1
        raise DomainError(
            "%(where)s could not be read.", where=f"RIS entry {i} (line {lines[i - 1]})"
        )

    def read(i: int, e: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        where = f"RIS entry {i} (line {lines[i - 1] if i <= len(lines) else '?'})"
        title = _title(e.get("title") or e.get("primary_title"), where)
        year = _year(e.get("year") or e.get("publication_year") or e.get("date"), where)
        date = str(e.get("date") or e.get("publication_year") or "")
        parts = re.findall(r"\d+", date)
        kind = RIS_KINDS.get(str(e.get("type_of_reference")), "publication")
        entry = {
            "kind": kind,
            "doi": _clean(e.get("doi")),
            "number": _number(kind, e.get("number") or e.get("note")),
            "title": title,
            "year": year,
            "published_on": _dated(year, parts, where),
            "authors": [_clean(a) for a in e.get("authors", []) or e.get("first_authors", [])],
            "countries": _codes(e.get("custom1", "")),
            "abstract": _clean(e.get("abstract")),
            "acknowledgement": _clean(" ".join(e.get("notes", []) or [])),
            "award": _clean(e.get("custom2")),
        }
        return where, entry

    return _read_each(entries, read, errors)


def _csl_lines(text: str, n: int) -> list[int]:
    """The line each item of a CSL-JSON array starts on (1 for a single object)."""
    dec = json.JSONDecoder()
    i = len(text) - len(text.lstrip())
    if not text.startswith("[", i):
        return [_line_of(text, i)] * n
    i += 1
    starts: list[int] = []
    ws = re.compile(r"[\s,]*")
    while len(starts) < n:
        i = ws.match(text, i).end()  # type: ignore[union-attr]  # always matches
        starts.append(i)
        _obj, i = dec.raw_decode(text, i)
    return _lines_at(text, starts)


def _csl(
    text: str, limit: int | None, errors: list[DomainError] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise DomainError("The CSL-JSON file could not be read: %(error)s", error=exc) from exc
    except RecursionError as exc:  # nesting deeper than the reader's stack
        raise DomainError(
            "The CSL-JSON file could not be read: %(error)s", error="nested too deeply"
        ) from exc
    items = data if isinstance(data, list) else [data]
    _over(len(items), limit)
    lines = _csl_lines(text, len(items))

    def read(i: int, e: Any) -> tuple[str, dict[str, Any]]:
        ident = e.get("id", i) if isinstance(e, dict) else i
        where = f"CSL-JSON item {_clean(ident)[:40] or i} (line {lines[i - 1]})"
        if not isinstance(e, dict):
            raise DomainError("%(where)s: not an object", where=where)
        title = _title(_text(e.get("title"), where, "title"), where)
        issued = e.get("issued") or {}
        if not isinstance(issued, dict):
            raise DomainError("%(where)s: %(name)s is not an object", where=where, name="issued")
        parts = issued.get("date-parts") or [[]]
        first = parts[0] if isinstance(parts, list) and parts and isinstance(parts[0], list) else []
        if not first:
            raise DomainError("%(where)s: no year", where=where)
        year = _year(first[0], where)
        people = e.get("author", [])
        if not isinstance(people, list):
            raise DomainError("%(where)s: %(name)s is not a list", where=where, name="author")
        authors = [
            _text(f"{a.get('given', '')} {a.get('family', '')}", where, "author")
            or _text(a.get("literal"), where, "author")
            for a in people
            if isinstance(a, dict)
        ]
        orcids = [
            _text(a.get("ORCID"), where, "ORCID")
            for a in people
            if isinstance(a, dict) and a.get("ORCID")
        ]
        kind = CSL_KINDS.get(str(e.get("type")), "publication")
        entry = {
            "kind": kind,
            "doi": _text(e.get("DOI"), where, "DOI"),
            "number": _number(kind, _text(e.get("number"), where, "number")),
            "orcids": orcids,
            "title": title,
            "year": year,
            "published_on": _dated(year, first, where),
            "authors": authors,
            "countries": _codes(e.get("countries", [])),
            "abstract": _text(e.get("abstract"), where, "abstract"),
            "acknowledgement": _text(e.get("note"), where, "note"),
            "award": _text(e.get("award"), where, "award"),
        }
        return where, entry

    return _read_each(items, read, errors)
