"""A publication file cannot cost a web process minutes: bibtexparser's time grows with
the entries and fields it reads and with the text around them (2 MiB of small entries,
of @comment or of text between entries took from 20 s to minutes of CPU, holding the
request's thread and the process's interpreter). It is given at most MAX_ENTRIES
entries and MAX_FIELDS_READ fields, never the comments or the text between entries,
and an entry of more than MAX_FIELDS fields is refused. Pure: no database."""

from __future__ import annotations

from typing import Any

import bibtexparser
import pytest

from opencall.people import bibliography as B
from opencall.people.bibliography import BibliographyError, parse_publications


@pytest.fixture
def given(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts bibtexparser is given."""
    texts: list[str] = []
    real = bibtexparser.loads

    def spy(text: str, *a: Any, **kw: Any) -> Any:
        texts.append(text)
        return real(text, *a, **kw)

    monkeypatch.setattr(bibtexparser, "loads", spy)
    # smaller bounds, for a cheap test (the code reads them at each call)
    monkeypatch.setattr(B, "MAX_ENTRIES", 50, raising=False)
    monkeypatch.setattr(B, "MAX_FIELDS_READ", 1000, raising=False)
    return texts


def test_only_the_entries_that_are_used_are_parsed(given: list[str]) -> None:
    raw = "".join(f"@misc{{k{i}, title={{T{i}}}}}\n" for i in range(3 * B.MAX_ENTRIES))
    works = parse_publications(raw.encode())
    assert len(works) == B.MAX_ENTRIES
    assert given[-1].count("@misc") == B.MAX_ENTRIES, given[-1].count("@misc")


def test_comments_and_text_between_entries_are_not_parsed(given: list[str]) -> None:
    raw = (
        "x" * 100_000
        + "\n@comment{"
        + "c" * 100_000
        + '}\n@article{a, title={Kept, with a comma}, author="Doe, J. and Roe, R."}'
        + "\n@string{jn = {Journal}}\n@book(b, title = {Parens})\n"
        + "y" * 100_000
    )
    works = parse_publications(raw.encode())
    assert [w.title for w in works] == ["Kept, with a comma", "Parens"]
    assert works[0].authors == ["Doe, J.", "Roe, R."]
    assert len(given[-1]) < 200, len(given[-1])


def test_fields_are_bounded(given: list[str]) -> None:
    # title and MAX_FIELDS - 1 others (with a trailing comma); then MAX_FIELDS + 2
    fields = ", ".join(f"f{i}={{v}}" for i in range(B.MAX_FIELDS - 1))
    ok = f"@article{{k, title={{Many fields}}, {fields},}}"
    assert [w.title for w in parse_publications(ok.encode())] == ["Many fields"]
    too_many = f"@article{{k, title={{Too many}}, {fields}, g={{v}}, h={{v}}}}"
    with pytest.raises(BibliographyError, match=f"more than {B.MAX_FIELDS} fields"):
        parse_publications(too_many.encode())
    # commas inside braces or quotes are no fields
    quoted = '@article{k, title={A, B}, author="' + ", ".join(["X"] * 500) + '"}'
    assert [w.title for w in parse_publications(quoted.encode())] == ["A, B"]
    # the whole file: the entries after MAX_FIELDS_READ fields are not read
    per = 100
    entry = ", ".join(f"f{i}={{v}}" for i in range(per - 1))
    n = 3 * B.MAX_FIELDS_READ // per
    raw = "".join(f"@misc{{k{j}, title={{T{j}}}, {entry}}}\n" for j in range(n))
    works = parse_publications(raw.encode())
    read = given[-1].count("@misc")
    assert read * per <= B.MAX_FIELDS_READ + per and len(works) == read < n, (read, n)
