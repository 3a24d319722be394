"""Imported bibliographies carry no control character into the database. An uploaded
file's JSON may spell a NUL or a lone surrogate (``\\u0000``, ``\\ud800``) that the
request guard never sees, and a BibTeX file may hold one as it is. Before the fix a
reviewer's publication import stored a NUL on SQLite and answered 500 on PostgreSQL
("text fields cannot contain NUL"), a lone surrogate answered 500 on both ("surrogates
not allowed"), an escape character (U+001B) was stored, and an award's result import
whose refusal named a title with a lone surrogate answered 500 (the message could not
be encoded). Each is now refused with 400 naming the character, and nothing is added."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from opencall.people.models import ReviewerPublication
from opencall.results.models import ResearchOutput
from tests.results.conftest import Awarded
from tests.web.conftest import Web, api_bearer

pytestmark = pytest.mark.filterwarnings("ignore")


def _csl(title_json: str) -> str:
    return (
        f'[{{"title": "{title_json}", "issued": {{"date-parts": [[2020]]}}, '
        '"type": "article-journal"}]'
    )


FILES = [
    (_csl("a\\u0000b"), "U+0000"),
    (_csl("a\\ud800b"), "U+D800"),
    ("@article{a, title={x\x00y}, year={2020}, author={A, B}}", "U+0000"),
    ("@article{a, title={x\x1b[2Jy}, year={2020}, author={A, B}}", "U+001B"),
]


def _count(web: Web, model: type) -> int:
    with web.factory() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_publication_imports_refuse_control_characters(web: Web, aw: Awarded) -> None:
    h = api_bearer(web, aw.emails["pi"], ("review",))
    c = web.client()
    before = _count(web, ReviewerPublication)
    for content, char in FILES:
        r = c.post(
            "/api/v1/me/publications/import",
            files={"file": ("works.txt", content.encode("utf-8", "surrogatepass"), "text/plain")},
            headers=h,
        )
        assert r.status_code == 400, (content, r.status_code, r.text[:200])
        assert char in r.json()["detail"], r.text[:200]
    assert _count(web, ReviewerPublication) == before


def test_result_imports_refuse_control_characters(web: Web, aw: Awarded) -> None:
    h = api_bearer(web, aw.emails["pi"], ("apply",))
    c = web.client()
    before = _count(web, ResearchOutput)
    for content, char in FILES[:2]:
        r = c.post(
            f"/api/v1/awards/{aw.awarded}/outputs/import",
            json={"format": "csl-json", "content": content},
            headers=h,
        )
        assert r.status_code == 400, (content, r.status_code, r.text[:200])
        assert f"control characters ({char})" in r.json()["detail"], r.text[:200]
        assert "\ufffd" in r.json()["detail"]  # the title, shown without its bad character
    assert _count(web, ResearchOutput) == before
