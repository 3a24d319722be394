"""Long tables cut into pages (``?page=N``): the decisions and the schedule of a large
call were 250-340 KB of HTML. A page's size then grows with the page length, not
with the number of proposals; the CSV download keeps every row. Pages of a query are
cut in the database (:func:`paginate_query`): only the rows shown are read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


@dataclass(frozen=True)
class Pager:
    page: int
    pages: int
    total: int
    per_page: int
    first: int  # 1-based number of the first row shown (0 when none)
    last: int
    prev_url: str | None
    next_url: str | None


def _page_asked(query: Any, total: int, per_page: int, param: str = "page") -> tuple[int, int]:
    """The page ``query[param]`` asks for, clamped to those there are, and their count."""
    pages = max(1, -(-total // per_page))
    raw = str(query.get(param, "1"))
    page = int(raw) if raw.isdecimal() and len(raw) < 7 else 1
    return min(max(page, 1), pages), pages


def _pager(
    query: Any,
    page: int,
    pages: int,
    total: int,
    per_page: int,
    shown: int,
    anchor: str,
    path: str = "",
    param: str = "page",
) -> Pager:
    start = (page - 1) * per_page
    keep = {k: v for k, v in query.items() if k not in (param, "m")}

    def url(n: int) -> str:
        return path + "?" + urlencode({**keep, param: n}) + anchor

    return Pager(
        page=page,
        pages=pages,
        total=total,
        per_page=per_page,
        first=start + 1 if shown else 0,
        last=start + shown,
        prev_url=url(page - 1) if page > 1 else None,
        next_url=url(page + 1) if page < pages else None,
    )


def paginate(
    items: Sequence[T], query: Any, per_page: int, anchor: str = ""
) -> tuple[list[T], Pager]:
    """The items of the page ``query["page"]`` asks for (clamped), and its pager."""
    page, pages = _page_asked(query, len(items), per_page)
    start = (page - 1) * per_page
    shown = list(items[start : start + per_page])
    return shown, _pager(query, page, pages, len(items), per_page, len(shown), anchor)


def count_of(session: Session, stmt: Any) -> int:
    """The number of rows ``stmt`` selects, counted in the database (its ORDER BY
    dropped): the total of a paged list, HTML (:func:`paginate_query`) or API
    (``web.api.keyset_page``)."""
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def paginate_query(
    session: Session,
    stmt: Any,
    query: Any,
    per_page: int,
    anchor: str = "",
    path: str = "",
    param: str = "page",
) -> tuple[list[Any], Pager]:
    """:func:`paginate` done in the database: ``stmt`` (whose ORDER BY must end with a
    unique key, so that the pages neither repeat nor skip a row) counted, then only the
    rows of the page asked for fetched. Two statements, whatever the number of rows.
    ``path``: the page's own address, for a table shown again at a form's address (a
    refused write), whose page links would otherwise lead to that form's address.
    ``param``: the query parameter holding the page number (two tables paged on one page
    each have their own; a link of one keeps the other's page)."""
    total = count_of(session, stmt)
    page, pages = _page_asked(query, total, per_page, param)
    rows = session.execute(stmt.offset((page - 1) * per_page).limit(per_page)).all()
    single = len(stmt.column_descriptions) == 1
    shown = [r[0] if single else tuple(r) for r in rows]
    return shown, _pager(query, page, pages, total, per_page, len(shown), anchor, path, param)
