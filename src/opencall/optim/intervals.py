"""Half-open intervals ``[start, end)`` of numbers (seconds of an observing night) or of
instants (a resource's unavailable periods): what is left of some once others are cut out."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

_T = TypeVar("_T", float, dt.datetime)


def subtract(pieces: list[tuple[_T, _T]], cut: list[tuple[_T, _T]]) -> list[tuple[_T, _T]]:
    """The parts of ``pieces`` that no interval of ``cut`` covers, in the order of
    ``pieces``: a piece inside a cut is dropped, one a cut overlaps keeps the rest (one or
    two parts)."""
    out = pieces
    for cs, ce in cut:
        nxt: list[tuple[_T, _T]] = []
        for a, b in out:
            if ce <= a or cs >= b:
                nxt.append((a, b))
                continue
            if a < cs:
                nxt.append((a, cs))
            if ce < b:
                nxt.append((ce, b))
        out = nxt
    return out
