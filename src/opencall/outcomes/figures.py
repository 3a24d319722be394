"""The public figures of a call: who applied and who was awarded, by country
group, with small cells suppressed. Pure (no database): the rows come from
:func:`opencall.outcomes.queries.applied_pis`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from opencall.outcomes.domain import (
    TOTAL,
    Release,
    SuppressedTable,
    suppress_release,
    suppress_small_cells,
)

MIN_CELL = 5
APPLIED_STATES = ("submitted", "under_review", "accepted", "rejected", "set_aside")


class FiguresTable:
    """Public figures of one grouping: awarded, not awarded (suppressed) and applied."""

    def __init__(self, not_awarded: Any, awarded: dict[str, int]) -> None:
        self.na = not_awarded
        self.awarded = awarded

    def _awarded(self, row: str) -> int:
        return sum(self.awarded.values()) if row == TOTAL else self.awarded.get(row, 0)

    def display(self, row: str, column: str) -> str:
        small = f"<{MIN_CELL}"
        if column == "awarded":
            n = self._awarded(row)
            return small if 0 < n < MIN_CELL else str(n)
        shown = str(self.na.display(row, "not_awarded"))
        if column == "not_awarded":
            return shown
        if not shown.isdigit():
            return "x"
        total = int(shown) + self._awarded(row)
        return small if 0 < total < MIN_CELL else str(total)


def figures_by_group(
    applied: Iterable[tuple[int, int | None, str, str | None, str | None]],
    awarded_ids: set[int],
    key: str,
    groups: Iterable[str],
) -> tuple[list[str], FiguresTable]:
    """PIs who applied and were awarded, grouped by ``key`` ("income" or "region");
    ``applied`` rows are (proposal id, user id, e-mail, income group, region).
    Returns the rows shown (groups, suppression applied) and the table."""
    people: dict[str, dict[str, set[str]]] = {
        g: {"applied": set(), "awarded": set()} for g in groups if g
    }
    for pid, uid, email, income, region in applied:
        g = (income if key == "income" else region) or ""
        cell = people.setdefault(g, {"applied": set(), "awarded": set()})
        who = str(uid or email)
        cell["applied"].add(who)
        if pid in awarded_ids:
            cell["awarded"].add(who)
    awarded = {g: len(cols["awarded"]) for g, cols in people.items()}
    # The awarded list names each awarded PI's country, so awarded counts per group are
    # public anyway: the cells to protect are those who applied and were not awarded.
    # Suppress that column (with complementary suppression), and publish a group's
    # "applied" total only where its not-awarded count is published.
    table = suppress_small_cells(
        {g: {"not_awarded": len(cols["applied"] - cols["awarded"])} for g, cols in people.items()},
        MIN_CELL,
    )
    return list(table.rows), FiguresTable(table, awarded)


def declines_table(
    declined: Iterable[tuple[int, str, str | None, str | None, bool | None]],
    key: str,
    reasons: Iterable[str],
) -> SuppressedTable | None:
    """Awards declined by their applicants, by group (``key``: "income", "region" or
    "ldc") and reason category, small cells suppressed as in the other public tables;
    ``declined`` rows are (proposal id, reason, income group, region, LDC). None when no
    award was declined. A group's number of declines is known to a reader whatever the
    table shows (the figures count a declined award as awarded, the list of awarded
    programmes leaves it out): the audit takes the row totals as known
    (``suppress_small_cells(known_rows=True)``)."""
    counts = _decline_counts(declined, key, reasons)
    return suppress_small_cells(counts, MIN_CELL, known_rows=True) if counts else None


def _decline_counts(
    declined: Iterable[tuple[int, str, str | None, str | None, bool | None]],
    key: str,
    reasons: Iterable[str],
) -> dict[str, dict[str, int]]:
    columns = list(reasons)
    counts: dict[str, dict[str, int]] = {}
    for _pid, reason, income, region, ldc in declined:
        if key == "ldc":
            g = "" if ldc is None else ("LDC" if ldc else "non-LDC")
        else:
            g = (income if key == "income" else region) or ""
        counts.setdefault(g, {c: 0 for c in columns})[reason] += 1
    return counts


def same_reason(before: str, after: str) -> bool:
    """A decline keeps its reason from one release of the page to the next (a reader who
    kept an earlier page knows it)."""
    return before == after


def declines_release(
    declined: list[tuple[int, str, str | None, str | None, bool | None]],
    reasons: Iterable[str],
    earlier: Sequence[Release] = (),
) -> Release | None:
    """The release of the declines table split by reason (``REASONS_BY``), audited with
    the page's ``earlier`` releases (``domain.suppress_release``): a new decline in a
    named group must not give away its reason, nor an earlier one's, to a reader who
    subtracts a saved page. None when no award was declined."""
    counts = _decline_counts(declined, REASONS_BY, reasons)
    if not counts:
        return None
    return suppress_release(counts, REASONS_BY, MIN_CELL, earlier=earlier, moves=same_reason)


#: the one grouping whose declines the public page splits by reason; the others give each
#: group's number of declines only. A reader knows every (income group, region, LDC)
#: kind of country's number of declines (above), so three tables split by reason,
#: each audited alone, let a reader pin a hidden cell from the three together, and
#: hiding more cells does not help while a hidden cell's mark says which side of five it
#: lies ("<5" against "x"). One table split by reason, with its row totals taken as
#: known, is audited whole (docs/who-benefits.md).
REASONS_BY = "income"
DECLINE_GROUPINGS = ("income", "region", "ldc")


def published_declines(
    declined: list[tuple[int, str, str | None, str | None, bool | None]],
    reasons: Iterable[str],
    release: Release | None = None,
) -> dict[str, tuple[SuppressedTable, list[str]]] | None:
    """The public page's declines tables: for each grouping, the suppressed table and
    the columns it publishes (every reason and the total for ``REASONS_BY``, the total
    only for the others). ``release`` (:func:`declines_release`) gives the table split
    by reason, audited with the page's earlier releases. None when no award was
    declined."""
    out: dict[str, tuple[SuppressedTable, list[str]]] = {}
    reasons = list(reasons)
    for key in DECLINE_GROUPINGS:
        table = (
            release.tables[key]
            if release is not None and key == REASONS_BY
            else declines_table(declined, key, reasons)
        )
        if table is None:
            return None
        columns = [*table.columns, TOTAL] if key == REASONS_BY else [TOTAL]
        out[key] = (table, columns)
    return out
