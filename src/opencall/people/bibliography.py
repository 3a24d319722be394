"""Publication lists a reviewer brings to their expertise profile, read from
BibTeX (bibtexparser), ORCID "works" JSON or CSL-JSON, and author-name keys for
co-authorship conflicts. Pure: no database, no web.
"""

from __future__ import annotations

import json
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

#: A DOI within text (a reference, an address), and the syntax of a DOI as stored
DOI_RE = re.compile(r"10\.\d{4,9}/\S{1,190}")
DOI_SYNTAX = re.compile(r"^10\.\d{4,9}/\S+$")
MAX_ENTRIES = 2000
# fields of one BibTeX entry (a real one has a dozen or two); bibtexparser's time grows
# with the square of an entry's fields
MAX_FIELDS = 200
# fields of the whole file read (about 0.3 ms of bibtexparser's time each): the entries
# after them are not read, as those after MAX_ENTRIES (a profile holds 500 publications)
MAX_FIELDS_READ = 12_000
MSG_TOO_MANY_FIELDS = "An entry of the file has more than %(n)s fields."
_ENTRY_HEAD = re.compile(r"@\s*([A-Za-z]+)\s*([{(])")
_ENTRY_TOKENS = re.compile(r'[{}(),"]')


class BibliographyError(ValueError):
    """A file that is none of the supported formats, or has no usable entry."""


@dataclass
class Work:
    title: str
    year: int | None = None
    doi: str = ""
    abstract: str = ""
    authors: list[str] = field(default_factory=list)


#: What may stand before a DOI: a resolver address (any case, with or without
#: ``www.`` or ``dx.``, http or https, or no scheme) or a ``doi:`` label.
DOI_PREFIX = re.compile(r"^(?:(?:https?://)?(?:www\.|dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)


#: Punctuation that ends a sentence or a clause, never a DOI as tools match them.
DOI_TRAILING = ".,;:!?'\"\u2019\u201d"
#: A closing bracket is the DOI's own only when the DOI opens it too.
DOI_BRACKETS = {")": "(", "]": "[", "}": "{", ">": "<"}


def _strip_trailing(v: str) -> str:
    """``v`` without the punctuation of the sentence it was copied from ("10.1234/abc)."):
    trailing stops, commas, colons, quotes, and closing brackets the DOI did not open.
    Hand-written: no library at hand does this one step (the DOI resolvers and Crossref's
    matching do the same when they pick a DOI out of text)."""
    while v:
        last = v[-1]
        if last in DOI_TRAILING or last.isspace():
            v = v[:-1]
        elif last in DOI_BRACKETS and v.count(last) > v.count(DOI_BRACKETS[last]):
            v = v[:-1]
        else:
            break
    return v


def normalise_doi(value: str) -> str:
    """A DOI as stored: without its resolver address or ``doi:`` label nor the trailing
    punctuation of a sentence it was copied from, percent-escapes decoded (a DOI copied
    from an address), lower case (DOIs ignore case)."""
    v = _strip_trailing(DOI_PREFIX.sub("", value.strip()).strip())
    if "%" in v:
        v = urllib.parse.unquote(v)
    return v.lower()


def clean_doi(raw: str) -> str:
    """The DOI found in ``raw`` as :func:`normalise_doi` stores it: ``https://doi.org/10.1/x``,
    ``doi:10.1/x`` or ``10.1/x),`` -> ``10.1/x``; ``""`` if none (``10.1/.)``: nothing
    but punctuation after the prefix, refused as a result's DOI is)."""
    m = DOI_RE.search((raw or "").strip())
    doi = normalise_doi(m.group(0)) if m else ""
    return doi if DOI_SYNTAX.match(doi) else ""


def _year(raw: Any) -> int | None:  # noqa: ANN401 - the sources give strings, ints or null
    m = re.search(r"\b(1[89]\d\d|20\d\d|21\d\d)\b", str(raw or ""))
    return int(m.group(1)) if m else None


def _tex(s: str) -> str:
    return " ".join(re.sub(r"[{}\\]", "", s or "").split())


def bibtex_entries(text: str) -> str:
    """What bibtexparser is given: the first :data:`MAX_ENTRIES` entries of ``text``
    (``@string`` and ``@preamble`` count), up to :data:`MAX_FIELDS_READ` fields, without ``@comment`` blocks or the text
    between entries, which it ignores anyway but reads slowly (2 MiB of either took 20 s;
    2 MiB of small entries, or one entry of 50,000 fields, minutes). One pass over the
    text. Raises :class:`BibliographyError` for an entry of more than
    :data:`MAX_FIELDS` fields."""
    kept: list[str] = []
    pos = budget = 0
    while len(kept) < MAX_ENTRIES and budget < MAX_FIELDS_READ:
        at = text.find("@", pos)
        if at < 0:
            break
        head = _ENTRY_HEAD.match(text, at)
        if head is None:
            pos = at + 1
            continue
        close = "}" if head.group(2) == "{" else ")"
        depth, quoted, commas, end = 0, False, 0, len(text)
        for tok in _ENTRY_TOKENS.finditer(text, head.end()):
            c = tok.group()
            if c == "{":
                depth += 1
            elif c == "}" and depth:
                depth -= 1
            elif depth == 0 and c == '"':
                quoted = not quoted
            elif depth == 0 and not quoted and c == ",":
                commas += 1
                if commas > MAX_FIELDS + 1:  # the key's comma, then one after each field
                    raise BibliographyError(MSG_TOO_MANY_FIELDS % {"n": MAX_FIELDS})
            elif depth == 0 and not quoted and c == close:
                end = tok.end()
                break
        if head.group(1).lower() != "comment":
            kept.append(text[at:end])
            budget += max(1, commas)
        pos = end
    return "\n".join(kept)


def parse_bibtex(text: str) -> list[Work]:
    import bibtexparser
    from bibtexparser.bparser import BibTexParser

    parser = BibTexParser(common_strings=True)
    parser.ignore_nonstandard_types = False
    text = bibtex_entries(text)
    try:
        db = bibtexparser.loads(text, parser=parser)
    except Exception as exc:  # noqa: BLE001 - the parser raises many kinds on bad input
        raise BibliographyError(f"This BibTeX file could not be read ({exc}).") from exc
    out = []
    for e in db.entries[:MAX_ENTRIES]:
        title = _tex(e.get("title", ""))
        if not title:
            continue
        authors = [_tex(a) for a in re.split(r"\s+and\s+", e.get("author", "")) if a.strip()]
        out.append(
            Work(
                title=title,
                year=_year(e.get("year")),
                doi=clean_doi(e.get("doi", "") or e.get("url", "")),
                abstract=_tex(e.get("abstract", "")),
                authors=authors,
            )
        )
    return out


def _orcid_works(data: dict[str, Any]) -> list[Work]:
    out = []
    for group in data.get("group") or []:
        summaries = group.get("work-summary") or []
        if not summaries:
            continue
        s = summaries[0]
        title = (((s.get("title") or {}).get("title") or {}).get("value")) or ""
        year = ((s.get("publication-date") or {}).get("year") or {}).get("value")
        doi = ""
        for ext in ((s.get("external-ids") or {}).get("external-id")) or []:
            if (ext.get("external-id-type") or "").lower() == "doi":
                doi = clean_doi(ext.get("external-id-value") or "")
                break
        if title.strip():
            out.append(Work(title=" ".join(title.split()), year=_year(year), doi=doi))
    return out


def _csl_name(a: dict[str, Any]) -> str:
    if a.get("family"):
        return f"{a['family']}, {a.get('given', '')}".strip().rstrip(",")
    return str(a.get("literal") or "")


def _csl(items: list[Any]) -> list[Work]:
    out = []
    for it in items:
        if not isinstance(it, dict) or not str(it.get("title") or "").strip():
            continue
        issued = (it.get("issued") or {}).get("date-parts") or [[None]]
        out.append(
            Work(
                title=" ".join(str(it["title"]).split()),
                year=_year(issued[0][0] if issued and issued[0] else None),
                doi=clean_doi(str(it.get("DOI") or "")),
                abstract=str(it.get("abstract") or ""),
                authors=[_csl_name(a) for a in it.get("author") or [] if isinstance(a, dict)],
            )
        )
    return out


def parse_publications(raw: bytes) -> list[Work]:
    """Works from a BibTeX file, an ORCID works export (JSON) or CSL-JSON."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BibliographyError("The file is not UTF-8 text.") from exc
    stripped = text.lstrip()
    works: list[Work]
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(stripped)
        except ValueError as exc:
            raise BibliographyError("This JSON file could not be read.") from exc
        if isinstance(data, dict) and "group" in data:
            works = _orcid_works(data)
        elif isinstance(data, list):
            works = _csl(data)
        elif isinstance(data, dict) and isinstance(data.get("items"), list):
            works = _csl(data["items"])
        else:
            raise BibliographyError("Expected an ORCID works export or a CSL-JSON list.")
    elif "@" in stripped:
        works = parse_bibtex(text)
    else:
        raise BibliographyError("Expected a BibTeX file, an ORCID works export or CSL-JSON.")
    if not works:
        raise BibliographyError("The file has no publication with a title.")
    return works[:MAX_ENTRIES]


def _ascii(s: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c)
    ).casefold()


def author_key(name: str) -> tuple[str, str] | None:
    """(family name, first initial), accent- and case-insensitive, from
    ``"Family, Given"`` or ``"Given Family"``; None when there is no family name."""
    name = " ".join((name or "").replace(".", " ").split())
    if not name:
        return None
    if "," in name:
        family, _, given = name.partition(",")
    else:
        parts = name.split(" ")
        family, given = parts[-1], " ".join(parts[:-1])
    family = re.sub(r"[^\w\-' ]", "", _ascii(family)).strip()
    given = _ascii(given).strip()
    if not family:
        return None
    return family, given[:1]
