"""What the review's write API shares: a row of the chair's call (its documented
refusals are ``opencall.web.api.WRITE_ERRORS``)."""

from __future__ import annotations

from typing import Any, TypeVar

from opencall.calls.models import Call
from opencall.web.api import Api

T = TypeVar("T")


def row_of_call(api: Api, model: type[T], row_id: int, call: Call) -> T:
    """The ``model`` row ``row_id`` when it belongs to ``call``, else not found."""
    row: Any = api.db.get(model, row_id)
    if row is None or row.call_id != call.id:
        raise api.not_found()
    return row  # type: ignore[no-any-return]
