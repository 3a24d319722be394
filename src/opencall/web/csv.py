"""Tables as CSV downloads, for every manager's page (``?format=csv``)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi.responses import Response

from opencall.inputs import finite_number
from opencall.web.pages import Page


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A table as a CSV download (UTF-8 with BOM so that spreadsheets read CJK names)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    for row in rows:
        w.writerow(["" if v is None else _csv_cell(v) for v in row])
    safe = "".join(c for c in filename if c.isalnum() or c in "-_.") or "export.csv"
    return Response(
        "\ufeff" + buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


def _csv_cell(v: Any) -> str:
    text = v.isoformat() if isinstance(v, dt.datetime) else str(v)
    # never let a spreadsheet evaluate a cell (CSV injection)
    if text[:1] in ("=", "+", "-", "@") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    return finite_number(text) is not None


def wants_csv(page: Page) -> bool:
    return page.request.query_params.get("format") == "csv"
