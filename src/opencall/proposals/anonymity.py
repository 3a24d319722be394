"""Anonymity scanner for dual-anonymous calls (pure: text or PDF bytes in, findings out).

``scan_text(text, team)`` lists the places where a proposal identifies its team:

- ``name``: a team member's full name ("Wei Zhang", "Zhang Wei", "Zhang, Wei") or
  surname with initials ("W. Zhang", "W.-H. Zhang", "Zhang, W.", "Zhang W").
  Matching ignores case and accents (Unicode NFKD, combining marks dropped,
  casefolded), but the matched words must be capitalised in the text as names
  are, so "a rice variety" never matches a member called Anna Rice. A surname
  alone is not a finding (it is usually someone else), except in a citation.
- ``self_citation``: "Zhang et al. (2020)", "(Zhang et al. 2020)", "Zhang & Li 2019",
  "Zhang (2020)" where Zhang is a team member's surname. Under most
  dual-anonymous rules third-person self-citation is allowed; it is reported so
  that the author can check it does not read as their own work.
- ``institution``: a member's institution by its full name or any of its
  comma-separated parts that name an organisation ("University", "Institute",
  "Observatory" ...; place names and departments are not matched), ignoring
  case, accents, "&"/"and" and line breaks; and an all-capitals abbreviation in
  the text only when it equals the institution's acronym (explicit, as in
  "(NAOC)", or built from the initials of its significant words, 3+ letters).
- ``email``: any e-mail address.
- ``url``: any web address (with scheme, "www." or a bare domain under a common
  top-level domain), except links to neutral bibliographic services that say
  nothing about who wrote the proposal: doi.org, arxiv.org, ascl.net and the
  NASA ADS (``NEUTRAL_DOMAINS``; the caller may pass its own list). A link to a
  personal, group, institutional or code-hosting page (github.com/<user>) is a
  finding. Bare DOIs ("doi:10.1234/...") are not URLs and are not findings.
- ``phrase``: self-identifying wording: "our group at", "our team at", "my group",
  "our previous work", "in our earlier paper", "as we showed in", and "we
  (have) previously ..." when a citation follows in the same sentence.
- ``term``: any extra term the call manager passes (``extra_terms``).

Country names are not matched: proposals legitimately discuss countries (sites,
samples, partners) and a country alone does not identify a team.

``extract_pdf_text(data)`` uses pypdf; ``scan_pdf(data, team)`` scans the text of
every page and sets ``Finding.page`` (1-based).
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

NEUTRAL_DOMAINS: tuple[str, ...] = (
    "doi.org",
    "arxiv.org",
    "ascl.net",
    "adsabs.harvard.edu",
)

SUGGESTIONS = {
    "name": "Remove the name or replace it with a neutral role such as 'the PI'.",
    "self_citation": (
        "Cite your own work in the third person like any other work "
        "('Zhang et al. (2020) showed'), never as 'our work'."
    ),
    "institution": "Remove the institution or describe it neutrally ('the home institution').",
    "email": "Remove the e-mail address.",
    "url": "Remove the link, or use a DOI or an anonymised repository.",
    "phrase": (
        "Rewrite in the third person, e.g. 'Zhang et al. (2020) showed' "
        "instead of 'as we showed in'."
    ),
    "term": "Remove or neutralise this term.",
}


@dataclass(frozen=True)
class TeamIdentity:
    """A team member as entered on the proposal.

    ``family_name`` defaults to the part before a comma ("Zhang, Wei"), else the
    last word with any particles before it ("Jan van der Berg" -> "van der Berg").
    """

    name: str
    institution: str = ""
    email: str = ""
    country: str | None = None
    family_name: str | None = None


@dataclass(frozen=True)
class Finding:
    """Something in the text that may identify the team; ``start``/``end`` index the text."""

    kind: str
    matched_text: str
    start: int
    end: int
    suggestion: str
    page: int | None = None


# --------------------------------------------------------------------------- normalisation

# Letters that NFKD does not decompose, and punctuation variants.
_TRANSLIT = {
    "ł": "l",
    "Ł": "l",
    "ø": "o",
    "Ø": "o",
    "đ": "d",
    "Đ": "d",
    "æ": "ae",
    "Æ": "ae",
    "œ": "oe",
    "Œ": "oe",
    "ı": "i",
    "þ": "th",
    "ð": "d",
    "\u2019": "'",
    "\u2018": "'",
    "\u02bc": "'",
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u00a0": " ",
}
_IGNORABLE = {"\u00ad", "\u200b", "\u200c", "\u200d", "\ufeff"}


def normalise(text: str) -> tuple[str, list[int]]:
    """Casefolded, accent-free text and, per output character, its index in ``text``."""
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if ch in _IGNORABLE:
            continue
        base = _TRANSLIT.get(ch)
        if base is None:
            base = "".join(
                c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
            )
        for c in base.casefold():
            out.append(c)
            index.append(i)
    return "".join(out), index


def _norm(s: str) -> str:
    return normalise(s)[0]


class _Text:
    """The original text with its normalised form and a map back to original offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.norm, self.index = normalise(text)

    def span(self, start: int, end: int) -> tuple[int, int]:
        if end <= start:
            return self.index[start], self.index[start]
        return self.index[start], self.index[end - 1] + 1


_W = r"[^\W\d_]"  # a letter
_NB = r"(?<![\w])"  # no word character before
_NA = r"(?![\w])"  # no word character after
PARTICLES = frozenset(
    "van von der den de del della di da du dos das la le ten ter bin ibn al el mac".split()
)
_STOP = frozenset("of the and for in at on de la des du di da del y e und fur & a an to".split())
_INSTITUTION_WORDS = (
    "univers",
    "centro",
    "escuela",
    "ecole",
    "hochschule",
    "institut",
    "academ",
    "observator",
    "college",
    "centre",
    "center",
    "laborator",
    "agency",
    "museum",
    "hospital",
    "foundation",
    "council",
    "survey",
    "society",
    "ministry",
    "bureau",
    "station",
    "polytechnic",
    "politecnic",
    "school",
    "company",
    "corporation",
    "administration",
    "organisation",
    "organization",
    "csiro",
    "cnrs",
    "nasa",
    "esa",
    "eso",
)
_GENERIC_UNIT = re.compile(r"^(?:department|dept|faculty|division|school|unit|group)\b")


# --------------------------------------------------------------------------- names


def _split_name(member: TeamIdentity) -> tuple[list[str], list[str]]:
    """(given-name tokens, family-name tokens), normalised."""
    raw = member.name.strip()
    if member.family_name:
        fam = _norm(member.family_name).split()
        rest = _norm(raw)
        for tok in fam:
            rest = re.sub(rf"{_NB}{re.escape(tok)}{_NA}", " ", rest, count=1)
        return rest.replace(",", " ").split(), fam
    if "," in raw:
        fam_part, given_part = raw.split(",", 1)
        return _norm(given_part).split(), _norm(fam_part).split()
    toks = _norm(raw).split()
    if len(toks) < 2:
        return [], toks
    i = len(toks) - 1
    while i > 1 and toks[i - 1] in PARTICLES:
        i -= 1
    return toks[:i], toks[i:]


def _seq(tokens: Sequence[str]) -> str:
    """Tokens separated by spaces, hyphens or line breaks."""
    return r"[\s\-]+".join(re.escape(t) for t in tokens)


def _name_patterns(member: TeamIdentity) -> list[re.Pattern[str]]:
    given, family = _split_name(member)
    if not family:
        return []
    fam = _seq(family)
    pats: list[str] = []
    if given:
        giv = _seq(given)
        middle = r"(?:\s+" + _W + r"\.)*"
        pats.append(rf"{_NB}{giv}{middle}[\s\-]+{fam}{_NA}")  # Wei Zhang, Wei H. Zhang
        pats.append(rf"{_NB}{fam},?[\s]+{giv}{_NA}")  # Zhang Wei, Zhang, Wei
        first = given[0]
        initials = [p[0] for p in re.split(r"-", first) if p]
        first_initial = re.escape(initials[0])
        more = r"(?:\s*-?\s*" + _W + r"\.)*"
        # W. Zhang, W.-H. Zhang, W.H. Zhang (a dot is required: "A Rice" is prose)
        pats.append(rf"{_NB}{first_initial}\.{more}\s*{fam}{_NA}")
        # Zhang, W. / Zhang W. / Zhang W.-H. / Zhang W (Vancouver style)
        more_nodot = r"(?:\s*-?\s*" + _W + r"(?:\.|(?![\w])))*"
        pats.append(rf"{_NB}{fam},?\s+{first_initial}(?:\.{more_nodot}|{_NA})")
    return [re.compile(p) for p in pats]


def _capitalised(original: str) -> bool:
    """Every word of a matched name (particles aside) starts with a capital letter."""
    words = re.findall(r"[^\W\d_][^\W\d_'\-]*", original)
    if not words:
        return False
    return all(w[0].isupper() for w in words if w.lower() not in PARTICLES)


def _citation_patterns(member: TeamIdentity) -> list[re.Pattern[str]]:
    _, family = _split_name(member)
    if not family:
        return []
    fam = _seq(family)
    coauthor = r"[^\W\d_][\w'\-]*"
    others = rf"(?:\s+et\s+al\.?|(?:,\s*{coauthor})*,?\s+(?:and|&)\s+{coauthor})?"
    y = r"(?:19|20)\d{2}[a-z]?(?![\d\w])"
    year = rf",?\s*(?:\(\s*{y}\)?|{y})"
    return [re.compile(rf"{_NB}{fam}{others}{year}")]


# --------------------------------------------------------------------------- institutions


def _institution_parts(institution: str) -> tuple[list[str], set[str]]:
    """(normalised names to match, acronyms to match case-sensitively)."""
    acronyms = set(re.findall(r"\(([A-Z][A-Z0-9&\-]{1,11})\)", institution))
    base = re.sub(r"\([^)]*\)", " ", institution)
    parts = [p.strip() for p in re.split(r"[,;/]", base) if p.strip()]
    names: list[str] = []
    full = " ".join(_norm(base).replace("&", " and ").split())
    if len(full.split()) >= 2 or full.isalpha():
        names.append(full)
    for p in parts:
        n = " ".join(_norm(p).replace("&", " and ").split())
        words = n.split()
        if _GENERIC_UNIT.match(n):
            continue
        if any(w.startswith(k) for w in words for k in _INSTITUTION_WORDS):
            if len(words) >= 2 or n in _INSTITUTION_WORDS:
                names.append(n)
            # Built acronym: initials of significant words.
            sig = [w for w in re.split(r"[\s\-]+", p) if w and w.lower() not in _STOP]
            acro = "".join(w[0] for w in sig if w[0].isalpha()).upper()
            if len(acro) >= 3 and len(sig) >= 3:
                acronyms.add(acro)
        # A part that is itself an all-capitals acronym ("CSIRO", "NAOC").
        if re.fullmatch(r"[A-Z][A-Z0-9&\-]{2,11}", p):
            acronyms.add(p)
    # An all-capitals word in the full name ("NASA Goddard ...").
    for w in re.findall(r"\b[A-Z][A-Z0-9]{2,11}\b", base):
        acronyms.add(w)
    return list(dict.fromkeys(names)), acronyms


def _institution_pattern(name: str) -> re.Pattern[str]:
    tokens = name.split()
    pieces = []
    for t in tokens:
        if t == "and":
            pieces.append(r"(?:and|&)")
        elif t == "the":
            pieces.append(r"the")
        else:
            pieces.append(re.escape(t))
    return re.compile(_NB + r"[\s,\-]+".join(pieces) + _NA)


# --------------------------------------------------------------------------- e-mail and URLs

# a local part of 64 characters at most (an address's limit): a search that starts at
# each character of a long run of letters looks 64 characters ahead, not to the run's
# end (unbounded, the scan was quadratic: 2 s for 20,000 letters); the same matches
# wherever the local part is an address's
EMAIL_RE = re.compile(r"[\w.+\-]{1,64}@[\w\-]+(?:\.[\w\-]+)+")
_URL_SCHEME_RE = re.compile(r"(?:https?://|ftp://|www\.)[^\s<>\"'\])}]+", re.IGNORECASE)
_GENERIC_TLDS = "com|org|net|edu|gov|int|info|io|dev|app|xyz|science|site|online|eu"
_CC_TLDS = (
    "cn|uk|de|fr|jp|in|br|za|ke|au|nz|ca|it|es|nl|ru|kr|ch|se|no|dk|fi|be|at|pl|mx|ar|cl|"
    "ng|eg|pk|bd|th|vn|my|sg|id|ph|tw|hk|us|ir|tr|pt|gr|ie|il|et|gh|tz|ug|pe|co|uy|lk|np"
)
_BARE_URL_RE = re.compile(
    r"(?<![@\w.\-/])"
    r"(?:"
    rf"(?:[a-z0-9\-]+\.)+(?:{_GENERIC_TLDS})(?:/[^\s<>\"'\])}}]*)?"
    rf"|(?:[a-z0-9\-]+\.){{2,}}(?:{_CC_TLDS})(?:/[^\s<>\"'\])}}]*)?"
    rf"|[a-z0-9\-]+\.(?:{_CC_TLDS})/[^\s<>\"'\])}}]*"
    r")(?![\w@])",
    re.IGNORECASE,
)


def _host(url: str) -> str:
    u = re.sub(r"^(?:https?|ftp)://", "", url, flags=re.IGNORECASE)
    return u.split("/", 1)[0].split(":", 1)[0].lower().removeprefix("www.")


def _is_neutral(url: str, neutral: Iterable[str]) -> bool:
    host = _host(url)
    return any(host == n or host.endswith("." + n) for n in neutral)


# --------------------------------------------------------------------------- phrases

_PHRASES = [
    re.compile(
        r"\b(?:our|my)\s+(?:own\s+)?(?:research\s+)?(?:group|team|lab|laboratory|institute|"
        r"department|university|observatory|collaboration|centre|center)\s+(?:at|in)\b"
    ),
    re.compile(r"\bmy\s+(?:research\s+)?(?:group|team|lab|laboratory|students|postdocs?)\b"),
    re.compile(
        r"\b(?:in\s+)?our\s+(?:own\s+)?(?:previous|earlier|prior|past|recent|last)\s+"
        r"(?:work|works|paper|papers|article|articles|study|studies|publications?|results|"
        r"observations|survey|analysis|campaign|expedition|cruise|trials?)\b"
    ),
    re.compile(
        r"\bas\s+we\s+(?:have\s+)?(?:showed|shown|demonstrated|reported|described|published|"
        r"argued)\b(?!\s+(?:in\s+)?(?:section|sect|fig|figure|table|eq|equation|above|below|"
        r"appendix|the\s+(?:previous|next|following)\s+section))"
        r"(?:\s+(?:in|previously|earlier|before))?"
    ),
]
_PREVIOUSLY_RE = re.compile(r"\bwe\s+(?:have\s+|had\s+)?previously\b")
_CITATION_RE = re.compile(
    r"[A-Z][\w'\-]+(?:\s+et\s+al\.?|\s+(?:and|&)\s+[A-Z][\w'\-]+)?,?\s*\(?\s*(?:19|20)\d{2}"
    r"|\[\d+(?:\s*[,\u2013\-]\s*\d+)*\]"
)
_SENTENCE_END = re.compile(r"(?<!\bal)(?<!\be\.g)(?<!\bi\.e)(?<!\bcf)[.!?](?=\s+[A-Z]|\s*$)")


# --------------------------------------------------------------------------- scanning


#: a finding's kind and where it stands in the text
_Span = tuple[str, int, int]


def scan_text(
    text: str,
    team: Sequence[TeamIdentity],
    extra_terms: Iterable[str] = (),
    *,
    neutral_domains: Iterable[str] = NEUTRAL_DOMAINS,
) -> list[Finding]:
    """All findings in ``text``, sorted by position (duplicates removed)."""
    t = _Text(text)
    spans: list[_Span] = []
    for member in team:
        spans += _member_spans(t, member)
    spans += _address_spans(text, tuple(neutral_domains))
    spans += _phrase_spans(t)
    spans += _term_spans(t, extra_terms)
    found = [Finding(k, text[s:e], s, e, SUGGESTIONS[k]) for k, s, e in spans]
    return _one_per_place(found)


def _norm_span(t: _Text, kind: str, m: re.Match[str], check_caps: bool = False) -> list[_Span]:
    """A match in the normalised text, as a span of the text itself (a name only where
    the text writes it capitalised)."""
    s, e = t.span(m.start(), m.end())
    if check_caps and not _capitalised(t.text[s:e]):
        return []
    return [(kind, s, e)]


def _member_spans(t: _Text, member: TeamIdentity) -> list[_Span]:
    """A team member's name, self-citations, institution (names and acronyms) and e-mail."""
    text = t.text
    out: list[_Span] = []
    for pat in _name_patterns(member):
        for m in pat.finditer(t.norm):
            out += _norm_span(t, "name", m, check_caps=True)
    for pat in _citation_patterns(member):
        for m in pat.finditer(t.norm):
            s, e = t.span(m.start(), m.end())
            fam_end = s + len(text[s:e].split()[0])
            if _capitalised(text[s:fam_end]):
                out.append(("self_citation", s, e))
    if member.institution.strip():
        out += _institution_spans(t, member.institution)
    if member.email.strip():
        for m in re.finditer(re.escape(member.email.strip()), text, re.IGNORECASE):
            out.append(("email", m.start(), m.end()))
    return out


def _institution_spans(t: _Text, institution: str) -> list[_Span]:
    """An institution's names (normalised) and acronyms (as written)."""
    out: list[_Span] = []
    names, acronyms = _institution_parts(institution)
    for n in names:
        for m in _institution_pattern(n).finditer(t.norm):
            out += _norm_span(t, "institution", m)
    for a in acronyms:
        for m in re.finditer(rf"{_NB}{re.escape(a)}{_NA}", t.text):
            out.append(("institution", m.start(), m.end()))
    return out


def _address_spans(text: str, neutral: tuple[str, ...]) -> list[_Span]:
    """Every e-mail address, and every URL that is not inside one and not neutral."""
    out: list[_Span] = []
    email_spans: list[tuple[int, int]] = []
    for m in EMAIL_RE.finditer(text):
        email_spans.append((m.start(), m.end()))
        out.append(("email", m.start(), m.end()))
    url_spans: list[tuple[int, int]] = []
    for rx in (_URL_SCHEME_RE, _BARE_URL_RE):
        for m in rx.finditer(text):
            s, e = m.start(), m.end()
            while e > s and text[e - 1] in ".,;:!?":
                e -= 1
            if any(a <= s < b or a < e <= b for a, b in email_spans + url_spans):
                continue
            url_spans.append((s, e))
            if not _is_neutral(text[s:e], neutral):
                out.append(("url", s, e))
    return out


def _phrase_spans(t: _Text) -> list[_Span]:
    """Self-referencing phrases, and "we previously" followed by a citation in the same
    sentence."""
    text = t.text
    out: list[_Span] = []
    for pat in _PHRASES:
        for m in pat.finditer(t.norm):
            out += _norm_span(t, "phrase", m)
    for m in _PREVIOUSLY_RE.finditer(t.norm):
        s, e = t.span(m.start(), m.end())
        window = text[e : e + 240]
        end = _SENTENCE_END.search(window)
        sentence = window[: end.start()] if end else window
        cite = _CITATION_RE.search(sentence)
        if cite:
            out.append(("phrase", s, e + cite.end()))
    return out


def _term_spans(t: _Text, extra_terms: Iterable[str]) -> list[_Span]:
    """The call's extra terms, words apart by spaces or hyphens."""
    out: list[_Span] = []
    for term in extra_terms:
        nt = _norm(term).strip()
        if not nt:
            continue
        rx = re.compile(_NB + r"[\s\-]+".join(re.escape(w) for w in nt.split()) + _NA)
        for m in rx.finditer(t.norm):
            out += _norm_span(t, "term", m)
    return out


def _one_per_place(found: list[Finding]) -> list[Finding]:
    """One finding per place: exact duplicates dropped, and findings of the same kind that
    lie inside a longer one ("Institute X" inside "Institute X, Sanya")."""
    ordered = sorted(
        {(f.kind, f.start, f.end): f for f in found}.values(),
        key=lambda f: (f.start, -f.end, f.kind),
    )
    kept: list[Finding] = []
    for f in ordered:
        if any(k.kind == f.kind and k.start <= f.start and f.end <= k.end for k in kept):
            continue
        kept.append(f)
    return sorted(kept, key=lambda f: (f.start, f.end, f.kind))


def extract_pdf_text(data: bytes) -> str:
    """The text of every page (pypdf), pages separated by a blank line."""
    return "\n\n".join(_pdf_pages(data))


def _pdf_pages(data: bytes) -> list[str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        return [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a readable PDF: {exc}") from exc


def scan_pdf(
    data: bytes,
    team: Sequence[TeamIdentity],
    extra_terms: Iterable[str] = (),
    *,
    neutral_domains: Iterable[str] = NEUTRAL_DOMAINS,
) -> list[Finding]:
    """Scan the text of a PDF; offsets index ``extract_pdf_text(data)``, ``page`` is 1-based."""
    return scan_pages(_pdf_pages(data), team, extra_terms, neutral_domains=neutral_domains)


def scan_pages(
    pages: Sequence[str],
    team: Sequence[TeamIdentity],
    extra_terms: Iterable[str] = (),
    *,
    neutral_domains: Iterable[str] = NEUTRAL_DOMAINS,
) -> list[Finding]:
    """Scan the text of a document's pages together; ``page`` is 1-based."""
    text = "\n\n".join(pages)
    starts = []
    pos = 0
    for p in pages:
        starts.append(pos)
        pos += len(p) + 2
    out = []
    for f in scan_text(text, team, extra_terms, neutral_domains=neutral_domains):
        page = max(i for i, s in enumerate(starts) if s <= f.start) + 1
        out.append(replace(f, page=page))
    return out


_SEPARATORS = re.compile(r"[_.\-+]+")


def scan_label(
    text: str,
    team: Sequence[TeamIdentity],
    *,
    neutral_domains: Iterable[str] = NEUTRAL_DOMAINS,
) -> list[Finding]:
    """Scan a short label that is not prose: a PDF's metadata value, an embedded file's
    name. Also read with separators as spaces and words capitalised, so that
    "zhang_wei_cv.pdf" names Wei Zhang; and, unlike in prose, a member's family name
    alone (3 letters or more) is a finding: "wamalwa_cv.txt" names Wamalwa. Offsets
    index ``text`` only for the first pass."""
    found = scan_text(text, team, neutral_domains=neutral_domains)
    seen = {(f.kind, f.matched_text.casefold()) for f in found}
    relaxed = " ".join(w[:1].upper() + w[1:] for w in _SEPARATORS.sub(" ", text).split())
    t = _Text(relaxed)
    for member in team:
        _, family = _split_name(member)
        parts = [p for tok in family for p in tok.split("-") if p]
        if sum(len(p) for p in parts) < 3:
            continue
        rx = re.compile(_NB + r"[\s\-]+".join(re.escape(p) for p in parts) + _NA)
        for m in rx.finditer(t.norm):
            a, b = t.span(m.start(), m.end())
            key = ("name", relaxed[a:b].casefold())
            if key not in seen and not any(key[1] in k[1] for k in seen if k[0] == "name"):
                seen.add(key)
                found.append(Finding("name", relaxed[a:b], a, b, SUGGESTIONS["name"]))
    if relaxed != text:
        for f in scan_text(relaxed, team, neutral_domains=neutral_domains):
            if (
                f.kind in ("name", "institution", "term")
                and (
                    f.kind,
                    f.matched_text.casefold(),
                )
                not in seen
            ):
                seen.add((f.kind, f.matched_text.casefold()))
                found.append(f)
    return found
