"""An API edit or upload received before the deadline and served after it is judged by
when it arrived, as the pages judge theirs (trialcrowd24).

The site's rule (docs/operators.md): deadlines are judged by when a request arrived, not
when it left the line. The pages passed that time to every change, and so did the API's
submit; the API's other writes (``PATCH /api/v1/proposals/{id}``, requests, team,
attachments) judged by the clock when the service ran: in a crowd's last minute, a
client of the API whose edit or 2 MB PDF had arrived at 16:59:59.5 and waited in line (or
was being cleaned) past 17:00 was refused, where the same from a browser was stored.

The clock stands still at the arrival (``time_machine``, no tick) and is moved on by two
seconds as the service starts: nothing is timed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select

from opencall.proposals import services
from opencall.proposals.models import Attachment, Proposal
from tests.pdf_samples import plain_pdf
from tests.web.conftest import Web, World, api_bearer, deadline_soon

pytestmark = pytest.mark.filterwarnings("ignore")


def _version(web: Web, world: World) -> int:
    with web.factory() as s:
        p = s.get(Proposal, world.ids["proposal"])
        assert p is not None
        return p.version


def _served_late(
    monkeypatch: pytest.MonkeyPatch, traveller: Any, name: str, seconds: float
) -> None:
    """``services.<name>`` runs ``seconds`` after the request arrived (it waited in line)."""
    real: Callable[..., Any] = getattr(services, name)

    def late(*args: Any, **kwargs: Any) -> Any:
        traveller.shift(seconds)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, name, late)


def test_an_api_edit_received_before_the_deadline_is_kept(
    web: Web, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    deadline = deadline_soon(web, world)
    bearer = api_bearer(web, world.emails["pi"])
    version = _version(web, world)
    with time_machine.travel(deadline - dt.timedelta(milliseconds=500), tick=False) as t:
        _served_late(monkeypatch, t, "update_proposal", 2)
        r = web.client().patch(
            f"/api/v1/proposals/{world.ids['proposal']}",
            headers=bearer,
            json={"version": version, "title": "Arrived in time"},
        )
    assert r.status_code == 200, r.text
    with web.factory() as s:
        p = s.get(Proposal, world.ids["proposal"])
        assert p is not None and p.title == "Arrived in time"


def test_an_api_upload_received_before_the_deadline_is_kept(
    web: Web, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    deadline = deadline_soon(web, world)
    bearer = api_bearer(web, world.emails["pi"])
    version = _version(web, world)
    with web.factory() as s:
        before = s.scalar(select(func.count()).select_from(Attachment))
    with time_machine.travel(deadline - dt.timedelta(milliseconds=500), tick=False) as t:
        # the route's first step (is this a retry?) comes 2 s after the arrival
        _served_late(monkeypatch, t, "upload_made", 2)
        r = web.client().post(
            f"/api/v1/proposals/{world.ids['proposal']}/attachments",
            headers=bearer,
            data={"version": str(version)},
            files={"file": ("case.pdf", plain_pdf(), "application/pdf")},
        )
    assert r.status_code == 201, r.text
    with web.factory() as s:
        assert s.scalar(select(func.count()).select_from(Attachment)) == before + 1


def test_an_api_edit_received_after_the_deadline_is_refused(
    web: Web, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    deadline = deadline_soon(web, world)
    bearer = api_bearer(web, world.emails["pi"])
    version = _version(web, world)
    with time_machine.travel(deadline + dt.timedelta(milliseconds=1), tick=False):
        r = web.client().patch(
            f"/api/v1/proposals/{world.ids['proposal']}",
            headers=bearer,
            json={"version": version, "title": "Arrived late"},
        )
    assert r.status_code == 400 and "The deadline passed" in r.json()["detail"], r.text
    assert _version(web, world) == version
