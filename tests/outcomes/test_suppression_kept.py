"""The small-cell audit (``domain.recoverable_cells``: a min and a max linear program
for each hidden cell, HiGHS) is a function of its arguments alone, and the public
figures, after-award and report pages ran it again, for the same tables, on every
view (branch speedweb21). It is kept per process: the same audit again solves nothing,
and an audit that differs in any argument is solved (and answers as a fresh one)."""

from __future__ import annotations

from typing import Any

import pytest
from scipy import optimize

from opencall.outcomes import domain as d
from opencall.outcomes.domain import TOTAL
from tests.outcomes.test_domain import _true

# a lone small cell on a row (primary), the cells that hide it (complementary)
TABLE = {"a": {"x": 3, "y": 20, "z": 30}, "b": {"x": 40, "y": 9, "z": 6}}


@pytest.fixture
def solves(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many linear programs HiGHS is given (scipy's ``linprog``, counted)."""
    count = [0]
    real = optimize.linprog

    def counted(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(optimize, "linprog", counted)
    d.clear_kept_audits()
    yield count
    d.clear_kept_audits()


def test_the_same_table_suppressed_again_solves_nothing(solves: list[int]) -> None:
    first = d.suppress_small_cells(TABLE, 5)
    assert solves[0] > 0  # the audit ran
    before = solves[0]
    again = d.suppress_small_cells({r: dict(c) for r, c in TABLE.items()}, 5)
    assert solves[0] - before == 0
    assert again == first


# one audit, then each argument changed alone: every one is an audit of its own
BASE: dict[str, Any] = {
    "rows": ("a", "b"),
    "columns": ("x", "y"),
    "true": _true({"a": {"x": 3, "y": 2}, "b": {"x": 10, "y": 9}}),
    "primary": frozenset({("a", "x")}),
    "complementary": frozenset(),
    "min_cell": 5,
    "suppress_zeros": True,
    "known": (),
}
CHANGED: dict[str, Any] = {
    # the small cell hidden among more
    "complementary": frozenset({("a", "y"), ("b", "x"), ("b", "y")}),
    # a second small cell hidden on the row
    "primary": frozenset({("a", "x"), ("a", "y")}),
    "true": _true({"a": {"x": 3, "y": 3}, "b": {"x": 10, "y": 9}}),
    "min_cell": 10,
    "suppress_zeros": False,
    "known": (("a", TOTAL),),
    "rows": ("b", "a"),
}


def _audit(args: dict[str, Any]) -> list[tuple[str, str]]:
    return d.recoverable_cells(
        args["rows"],
        args["columns"],
        args["true"],
        args["primary"],
        args["complementary"],
        args["min_cell"],
        args["suppress_zeros"],
        args["known"],
    )


@pytest.mark.parametrize("name", sorted(CHANGED))
def test_an_audit_that_differs_in_one_argument_is_its_own(name: str, solves: list[int]) -> None:
    other = {**BASE, name: CHANGED[name]}
    fresh = _audit(other)  # nothing kept yet: solved
    d.clear_kept_audits()
    base = _audit(BASE)
    assert base == [("a", "x")]  # the lone hidden cell is pinned by its row
    n = solves[0]
    assert _audit(other) == fresh
    assert solves[0] > n  # solved, not the kept answer of ``BASE``


def test_a_caller_that_changes_its_answer_changes_nothing_kept(solves: list[int]) -> None:
    first = _audit(BASE)
    first.append(("b", "y"))
    first.clear()
    assert _audit(BASE) == [("a", "x")]
    table = d.suppress_small_cells(TABLE, 5)
    table.values[("a", "x")] = 3  # a caller writing in its copy
    assert d.suppress_small_cells(TABLE, 5).values[("a", "x")] is None
