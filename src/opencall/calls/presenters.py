"""A call's phase as the API shows it (shared by the API routes of the features
that move a call on: reviews freezes, allocation releases, scheduling publishes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from pydantic import BaseModel, Field

from opencall.calls.domain import CALL_TRANSITIONS
from opencall.calls.models import Call
from opencall.web.api import Api


class PhaseOut(BaseModel):
    slug: str
    status: str
    next: list[str] = Field(description="the phases it may move to next")
    ranking_frozen_at: dt.datetime | None
    decisions_released_at: dt.datetime | None
    published_at: dt.datetime | None


def phase_out(call: Call) -> PhaseOut:
    return PhaseOut(
        slug=call.slug,
        status=call.status,
        next=[t for t in CALL_TRANSITIONS.get(call.status, ()) if t != "published"],
        ranking_frozen_at=call.ranking_frozen_at,
        decisions_released_at=call.decisions_released_at,
        published_at=call.published_at,
    )


def move_call(api: Api, call: Call, move: Callable[[], object]) -> PhaseOut:
    """``move`` (a freeze, a release, a publication, a transition of ``call``) done and
    committed, answered with the call's new phase; a service's refusal changes nothing
    (:meth:`opencall.web.api.Api.refusing`)."""
    with api.refusing(commit=True):
        move()
        out = phase_out(call)
    return out
