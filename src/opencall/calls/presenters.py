"""A call's phase as the API shows it (shared by the API routes of the features
that move a call on: reviews freezes, allocation releases, scheduling publishes), a
date typed on a staff form read on the call's clock, and a call's status in words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from opencall.calls.domain import CALL_STATE_WORDS, CALL_TRANSITIONS
from opencall.calls.models import Call
from opencall.calls.queries import providers_offered
from opencall.calls.schemas import END_OF_DAY as END_OF_DAY  # importable here
from opencall.calls.schemas import parse_when as parse_when  # importable here
from opencall.people.models import Country
from opencall.web.api import Api, from_row
from opencall.web.i18n import N_, country_name
from opencall.web.labels import JOB_KINDS, JOB_STATUS, labeller
from opencall.web.pages import Page

MSG_DATE = N_("Enter a date and time (YYYY-MM-DD HH:MM, UTC).")
MSG_DATE_ZONE = N_("Enter a date and time (YYYY-MM-DD HH:MM) on the clock of %(zone)s.")


def call_labels(page: Any) -> dict[str, Any]:
    """``status_label`` for the public pages (their ``unit_label``:
    ``facilities.labels.unit_labels``): the words a refused transition says too."""
    return {"status_label": labeller(page, CALL_STATE_WORDS)}


def status_labels(page: Any) -> dict[str, Any]:
    """``status_label``, ``job_status_label`` and ``job_kind_label`` for managers' pages."""
    return {
        **call_labels(page),
        "job_status_label": labeller(page, JOB_STATUS),
        "job_kind_label": labeller(page, JOB_KINDS),
    }


def date_error(page: Page, zone: str) -> str:
    """The error for a date the form cannot read, naming the clock it is read on."""
    return page._(MSG_DATE_ZONE, zone=zone) if zone else page._(MSG_DATE)


class PhaseOut(BaseModel):
    slug: str
    status: str
    next: list[str] = Field(description="the phases it may move to next")
    ranking_frozen_at: dt.datetime | None
    decisions_released_at: dt.datetime | None
    published_at: dt.datetime | None


def phase_out(call: Call) -> PhaseOut:
    return from_row(
        PhaseOut, call, next=[t for t in CALL_TRANSITIONS.get(call.status, ()) if t != "published"]
    )


def move_call(api: Api, call: Call, move: Callable[[], object]) -> PhaseOut:
    """``move`` (a freeze, a release, a publication, a transition of ``call``) done and
    committed, answered with the call's new phase; a service's refusal changes nothing
    (:meth:`opencall.web.api.Api.refusing`)."""
    with api.refusing(commit=True):
        move()
        out = phase_out(call)
    return out


def joint_providers(page: Page, call: Call) -> list[dict[str, str]]:
    """A joint call's providers as the public pages name them (empty for a call of one
    provider): each provider whose resources the call offers, its country in the
    reader's language and the facilities of those resources."""
    offered = providers_offered(call)
    if len(offered) < 2:
        return []
    rows = []
    for provider, facilities in offered:
        country = page.db.get(Country, provider.country_iso3)
        rows.append(
            {
                "name": provider.name,
                "country": country_name(page.lang, country.iso2, country.name)
                if country
                else provider.country_iso3,
                "facilities": ", ".join(f.name for f in facilities),
            }
        )
    return rows
