"""Hostile result files: each is refused with a message that names the entry and its
line, or normalised; never an unexpected exception (a 500 at the edge); a file over the
entry limit is refused before the slow BibTeX parser reads it."""

from __future__ import annotations

import json

import pytest

from opencall.errors import DomainError
from opencall.results import importers
from opencall.results.schemas import normalise_doi, validate_output

BIB_OK = "@article{good,\n  title = {A fine paper},\n  year = {2028},\n}\n"


def _refused(fmt: str, text: str) -> str:
    with pytest.raises(DomainError) as e:
        importers.parse(fmt, text)
    return e.value.message


@pytest.mark.parametrize(
    ("fmt", "text", "says"),
    [
        # deep nesting: the JSON reader's recursion limit is a refusal, not a crash
        ("csl-json", "[" * 100_000 + "]" * 100_000, "could not be read"),
        # a date that is not an object
        ("csl-json", json.dumps([{"title": "T", "issued": "2020"}]), "CSL-JSON item 1 (line 1)"),
        (
            "csl-json",
            json.dumps([{"title": {"a": 1}, "issued": {"date-parts": [[2020]]}}]),
            "title",
        ),
        (
            "csl-json",
            json.dumps([{"title": "T", "issued": {"date-parts": [[2020]]}, "author": "X"}]),
            "author",
        ),
        # dates out of range are refused, not dropped or cut to four digits
        (
            "csl-json",
            json.dumps([{"title": "T", "issued": {"date-parts": [[2020, 13, 1]]}}]),
            "2020-13-1",
        ),
        ("bibtex", "@article{a, title={T}, year={2020}, month={feb}, day={31}}", "2020-feb-31"),
        ("bibtex", "@article{a, title={T}, year={20200}}", "no year"),
        ("ris", "TY  - JOUR\nTI  - T\nPY  - 2020\nDA  - 2020/02/31\nER  - \n", "2020-02-31"),
    ],
)
def test_hostile_entries_are_refused(fmt: str, text: str, says: str) -> None:
    assert says in _refused(fmt, text)


def test_an_entry_the_parser_drops_is_named_with_its_line() -> None:
    # an unclosed entry swallows the next one: nothing may be half-read
    bib = (
        BIB_OK + "@article{open, title={T}, year={2020}\n\n@article{next, title={U}, year={2021}}\n"
    )
    assert "line 5" in _refused("bibtex", bib)
    ris = "TY  - JOUR\nTI  - T\nPY  - 2020\nER  - \nTY  - JOUR\nTI  - U\nPY  - 2021\n"
    assert "RIS entry 2 (line 5)" in _refused("ris", ris)


def test_errors_carry_the_line() -> None:
    bib = BIB_OK + "\n@article{bad,\n  title = {No year},\n}\n"
    assert _refused("bibtex", bib) == "BibTeX entry bad (line 6): no year"
    ris = "TY  - JOUR\nTI  - T\nPY  - 2020\nER  - \n\nTY  - JOUR\nTI  - U\nER  - \n"
    assert _refused("ris", ris) == "RIS entry 2 (line 6): no year"
    csl = '[\n {"title": "T", "issued": {"date-parts": [[2020]]}},\n {"title": "U"}\n]'
    assert _refused("csl-json", csl) == "CSL-JSON item 2 (line 3): no year"
    located = importers.parse_located("bibtex", bib.replace("{No year},", "{Dated}, year={2001},"))
    assert [w for w, _e in located][0] == "BibTeX entry good (line 1)"


def test_too_many_entries_are_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """bibtexparser needs about 13 s for these: the count refuses them before it is
    called (asserted by the parser never being reached, not by a clock)."""
    import bibtexparser

    bib = "\n".join(f"@article{{k{i}, title={{P{i}}}, year={{2021}}}}" for i in range(5000))

    def parser_reached(*_a: object, **_k: object) -> None:
        raise AssertionError("the BibTeX parser read a file over the limit")

    monkeypatch.setattr(bibtexparser, "loads", parser_reached)
    with pytest.raises(DomainError, match="At most 500 entries"):
        importers.parse("bibtex", bib, limit=500)
    with pytest.raises(DomainError, match="parser read"):  # the stand-in is the one used
        importers.parse("bibtex", BIB_OK, limit=500)


@pytest.mark.parametrize(
    "doi",
    [
        "10.1234/ABC",
        "https://doi.org/10.1234/abc",
        "HTTPS://DOI.ORG/10.1234/ABC",
        "http://dx.doi.org/10.1234/abc",
        "https://www.doi.org/10.1234/abc",
        "doi.org/10.1234/abc",
        "doi: 10.1234/abc",
        "DOI:10.1234/ABC",
        "https://doi.org/10.1234%2Fabc",
    ],
)
def test_odd_doi_forms_are_normalised(doi: str) -> None:
    assert normalise_doi(doi) == "10.1234/abc"
    assert validate_output({"title": "T", "year": 2020, "doi": doi}).doi == "10.1234/abc"


def test_huge_author_names_are_refused() -> None:
    with pytest.raises(DomainError, match="authors"):
        validate_output({"title": "T", "year": 2020, "authors": ["A" * 100_000]})
