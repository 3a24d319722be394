"""Long tables cut into pages (``?page=N``): the decisions and the schedule of a large
call were 250-340 KB of HTML. A page's size then grows with the page length, not
with the number of proposals; the CSV download keeps every row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

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


def paginate(
    items: Sequence[T], query: Any, per_page: int, anchor: str = ""
) -> tuple[list[T], Pager]:
    """The items of the page ``query["page"]`` asks for (clamped), and its pager."""
    total = len(items)
    pages = max(1, -(-total // per_page))
    raw = str(query.get("page", "1"))
    page = int(raw) if raw.isdecimal() and len(raw) < 7 else 1
    page = min(max(page, 1), pages)
    start = (page - 1) * per_page
    shown = list(items[start : start + per_page])
    keep = {k: v for k, v in query.items() if k not in ("page", "m")}

    def url(n: int) -> str:
        return "?" + urlencode({**keep, "page": n}) + anchor

    return shown, Pager(
        page=page,
        pages=pages,
        total=total,
        per_page=per_page,
        first=start + 1 if shown else 0,
        last=start + len(shown),
        prev_url=url(page - 1) if page > 1 else None,
        next_url=url(page + 1) if page < pages else None,
    )
