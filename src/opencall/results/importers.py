"""Reading publications and datasets from BibTeX, RIS and CSL-JSON files
(pure: text in, plain dicts out; ``results.schemas.OutputIn`` validates them).

BibTeX is read by bibtexparser (1.x), RIS by rispy; CSL-JSON is plain JSON.
Authors' countries are not part of these formats: a ``countries`` field
(BibTeX), the ``C1`` tag (RIS) or a ``countries`` variable (CSL-JSON) holding
ISO alpha-3 codes is read where present; otherwise they are typed in.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import rispy

from opencall.errors import DomainError

FORMATS = ("bibtex", "ris", "csl-json")
MONTHS = {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}


def _clean(value: Any) -> str:
    s = re.sub(r"[{}]", "", str(value or ""))
    return re.sub(r"\s+", " ", s).strip()


def _codes(value: Any) -> list[str]:
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    return [c for c in re.split(r"[\s,;]+", _clean(value).upper()) if c]


def _title(value: Any, where: str) -> str:
    title = _clean(value)
    if not title:
        raise DomainError("%(where)s: no title", where=where)
    return title


def _year(value: Any, where: str) -> int:
    m = re.search(r"\d{4}", str(value or ""))
    if not m:
        raise DomainError("%(where)s: no year", where=where)
    return int(m.group(0))


def _date(year: int, month: Any, day: Any = None) -> str | None:
    try:
        mm = int(month) if str(month).isdigit() else MONTHS.get(str(month).strip().lower()[:3])
        if not mm:
            return None
        return dt.date(year, mm, int(day) if day else 1).isoformat()
    except (TypeError, ValueError):
        return None


def _dated(year: int, parts: list[Any]) -> str | None:
    """The date of ``[year, month, day]`` parts (the day optional; None without a month)."""
    return _date(year, parts[1], parts[2] if len(parts) > 2 else None) if len(parts) > 1 else None


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


def parse(fmt: str, text: str) -> list[dict[str, Any]]:
    """Every entry of the file as a dict for ``OutputIn``; a DomainError for an
    unreadable file or an entry without a title or year (nothing is half-read)."""
    if fmt not in FORMATS:
        raise DomainError(
            "Unknown format %(fmt)s; expected one of %(formats)s.",
            fmt=repr(fmt),
            formats=", ".join(FORMATS),
        )
    if "\x00" in text:
        raise DomainError("The file contains a NUL character.")
    entries = {"bibtex": _bibtex, "ris": _ris, "csl-json": _csl}[fmt](text)
    if not entries:
        raise DomainError("No entries found in the %(fmt)s file.", fmt=fmt)
    return entries


def _bibtex(text: str) -> list[dict[str, Any]]:
    import bibtexparser
    from bibtexparser.bparser import BibTexParser

    parser = BibTexParser(common_strings=True)
    parser.ignore_nonstandard_types = False
    try:
        db = bibtexparser.loads(text, parser=parser)
    except Exception as exc:  # the parser raises assorted errors on broken input
        raise DomainError("The BibTeX file could not be read: %(error)s", error=exc) from exc
    out = []
    for e in db.entries:
        where = f"BibTeX entry {e.get('ID', '?')}"
        title = _title(e.get("title"), where)
        year = _year(e.get("year"), where)
        out.append(
            {
                "kind": "dataset" if e.get("ENTRYTYPE", "").lower() == "dataset" else "publication",
                "doi": _clean(e.get("doi")),
                "title": title,
                "year": year,
                "published_on": _date(year, e.get("month"), e.get("day")),
                "authors": [_clean(a) for a in re.split(r"\s+and\s+", e.get("author", "")) if a],
                "countries": _codes(e.get("countries", "")),
                "abstract": _clean(e.get("abstract")),
                "acknowledgement": _clean(e.get("acknowledgement") or e.get("note")),
            }
        )
    return out


def _ris(text: str) -> list[dict[str, Any]]:
    try:
        entries = rispy.loads(text)
    except Exception as exc:
        raise DomainError("The RIS file could not be read: %(error)s", error=exc) from exc
    out = []
    for i, e in enumerate(entries, start=1):
        where = f"RIS entry {i}"
        title = _title(e.get("title") or e.get("primary_title"), where)
        year = _year(e.get("year") or e.get("publication_year") or e.get("date"), where)
        date = str(e.get("date") or e.get("publication_year") or "")
        parts = re.findall(r"\d+", date)
        out.append(
            {
                "kind": "dataset" if e.get("type_of_reference") == "DATA" else "publication",
                "doi": _clean(e.get("doi")),
                "title": title,
                "year": year,
                "published_on": _dated(year, parts),
                "authors": [_clean(a) for a in e.get("authors", []) or e.get("first_authors", [])],
                "countries": _codes(e.get("custom1", "")),
                "abstract": _clean(e.get("abstract")),
                "acknowledgement": _clean(" ".join(e.get("notes", []) or [])),
            }
        )
    return out


def _csl(text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise DomainError("The CSL-JSON file could not be read: %(error)s", error=exc) from exc
    items = data if isinstance(data, list) else [data]
    out = []
    for i, e in enumerate(items, start=1):
        where = f"CSL-JSON item {e.get('id', i) if isinstance(e, dict) else i}"
        if not isinstance(e, dict):
            raise DomainError("%(where)s: not an object", where=where)
        title = _title(e.get("title"), where)
        parts = (e.get("issued") or {}).get("date-parts") or [[]]
        first = parts[0] if parts and isinstance(parts[0], list) else []
        if not first:
            raise DomainError("%(where)s: no year", where=where)
        year = _year(first[0], where)
        authors = [
            _clean(f"{a.get('given', '')} {a.get('family', '')}") or _clean(a.get("literal"))
            for a in e.get("author", [])
            if isinstance(a, dict)
        ]
        out.append(
            {
                "kind": "dataset" if e.get("type") == "dataset" else "publication",
                "doi": _clean(e.get("DOI")),
                "title": title,
                "year": year,
                "published_on": _dated(year, first),
                "authors": authors,
                "countries": _codes(e.get("countries", [])),
                "abstract": _clean(e.get("abstract")),
                "acknowledgement": _clean(e.get("note")),
            }
        )
    return out
