"""Tables as CSV downloads, for every manager's page (``?format=csv``)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi.responses import Response

from opencall.inputs import finite_number, without_bidi_controls
from opencall.web.pages import Page, attachment_response


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A table as a CSV download (UTF-8 with BOM so that spreadsheets read CJK names)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    for row in rows:
        w.writerow(["" if v is None else csv_cell(v) for v in row])
    return attachment_response(
        "\ufeff" + buf.getvalue(), filename, "text/csv; charset=utf-8", "export.csv"
    )


#: what a spreadsheet may take as the start of a formula (OWASP's list: = + - @, a tab
#: and a carriage return, which some strip before reading the rest; and a line feed, the
#: full-width forms that some convert, and whitespace before any of them)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")

#: a formula's sign after a semicolon, a tab or a line break inside a cell (spaces, tabs
#: and double quotes between them): a spreadsheet whose list separator is ";" (Excel where the
#: decimal mark is a comma: French, Spanish, German...) splits our comma-separated lines
#: at every semicolon, and a quote it reads out of step (``P-001,"a;b"``) can leave a
#: quoted cell's line break unquoted, ending a record there; what follows either is read
#: as a cell of its own. Such a sign gets an apostrophe too; a number there as well (the
#: rest of the line follows it in that cell: ``-5,P-002``).
INNER_FORMULA = re.compile(r'(?<=[;\t\r\n])(?=[ "\t]*[=+\-@\uff1d\uff0b\uff0d\uff20])')


def csv_cell(v: Any) -> str:
    """A cell as text that no spreadsheet evaluates (CSV injection): one that could start
    a formula gets a leading apostrophe; a number ("-5", "+1.5") stays as it is; a
    formula's sign after a semicolon or a line break in it (:data:`INNER_FORMULA`) gets
    one where it stands. Bidi embeddings, overrides and isolates are left out (they
    reorder what follows them)."""
    text = v.isoformat() if isinstance(v, dt.datetime) else str(v)
    # nothing that reorders the rest of the cell or line, or hides a formula's start
    text = without_bidi_controls(text)
    text = INNER_FORMULA.sub("'", text)
    if text.lstrip(" ")[:1] in FORMULA_START and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    return finite_number(text) is not None


def wants_csv(page: Page) -> bool:
    return page.request.query_params.get("format") == "csv"
