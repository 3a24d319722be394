"""The writes of outcomes: a public page's release, kept when it is first shown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from opencall.db import utcnow
from opencall.outcomes.models import PublicRelease


def record_releases(session: Session, page: str, new: Mapping[int, Mapping[str, Any]]) -> None:
    """Keep the releases of ``page`` that a reader is about to see (by call id: its
    ``number`` and ``body``, ``queries.public_after_award``'s ``new_releases``). Flushed:
    a release of the same number recorded meanwhile breaks the unique key, and the
    caller computes the page again over it."""
    if not new:
        return
    # one statement for every cycle's release (a facility's twentieth cycle keeps the
    # page's statements those of its second)
    session.execute(
        insert(PublicRelease),
        [
            {
                "call_id": call_id,
                "page": page,
                "number": int(release["number"]),
                "body": release["body"],
                "created_at": utcnow(),
            }
            for call_id, release in sorted(new.items())
        ],
    )
    session.flush()
