"""What the review's write API shares: its documented refusals and the id path
parameter."""

from __future__ import annotations

from typing import Any

from fastapi import Path

from opencall.web.api import MAX_ID

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "refused: the message says why (nothing changed)"},
    404: {"description": "not found (or not yours)"},
}


def id_param() -> Any:
    """A path parameter that is an id (a positive number the database can hold)."""
    return Path(ge=1, le=MAX_ID)
