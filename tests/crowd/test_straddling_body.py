"""A request begun before the deadline whose body is still coming long after it is judged
by when its body arrived, not by when it began (trialcrowd24).

A request is judged by when it reached the server (so that a submission sent one second
before the deadline and served after it counts), and a body may arrive as slowly as it
likes so long as a piece of it comes every ``body_timeout_s`` (60 s). Together: an
applicant could open an edit (or an upload, or a submit) at 16:59:59, send one byte a
minute for as long as they wished, write the rest after the deadline (having read the
others' published abstracts, say) and have it stored as received at 16:59:59; the call
stays open until its chair closes it. Now a body that took longer than ``body_grace_s``
(``OPENCALL_BODY_GRACE_S``, 600 s: a 10 MiB upload at about 150 kbit/s) is judged by
when it was complete; a slow link within that grace keeps its start's time.

The clock is moved between the body's two halves (``time_machine``, no tick): nothing is
timed. The editor's text form, then the submit form, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine

from opencall.proposals.models import Proposal
from tests.web.conftest import Web, World, csrf, deadline_soon, version_of

pytestmark = pytest.mark.filterwarnings("ignore")

LATE_TITLE = "Written after the deadline"


def _proposal(web: Web, world: World) -> tuple[str, str, int | None]:
    with web.factory() as s:
        p = s.get(Proposal, world.ids["proposal"])
        assert p is not None
        return p.title, p.status, p.current_revision_id


def _straddling(
    traveller: Any, body: bytes, after_s: float
) -> Iterator[bytes]:  # pragma: no cover - a generator the client reads
    """``body`` in two halves, the clock moved ``after_s`` seconds between them."""
    yield body[: len(body) // 2]
    traveller.shift(after_s)
    yield body[len(body) // 2 :]


def _post_straddling(
    web: Web, c: Any, path: str, fields: dict[str, str], start: dt.datetime, after_s: float
) -> Any:
    body = urlencode(fields).encode()
    with time_machine.travel(start, tick=False) as traveller:
        return c.post(
            path,
            content=_straddling(traveller, body, after_s),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )


def test_an_edit_whose_body_ends_hours_after_the_deadline_is_refused(
    web: Web, world: World
) -> None:
    deadline = deadline_soon(web, world)
    c = web.login(world.emails["pi"])
    pid = world.ids["proposal"]
    before = _proposal(web, world)
    fields = {"csrf_token": csrf(c, f"/proposals/{pid}"), "version": version_of(c, pid)}
    fields.update(title=LATE_TITLE, abstract="Late.", science_case="Late.", keywords="")
    begun = deadline - dt.timedelta(seconds=1)
    r = _post_straddling(web, c, f"/proposals/{pid}", fields, begun, 2 * 3600)
    assert r.status_code == 400, (r.status_code, r.headers.get("location"))
    assert "The deadline passed" in r.text
    done = begun + dt.timedelta(hours=2)
    assert f"{done:%Y-%m-%d %H:%M:%S}.000 UTC" in r.text  # the time its body was complete
    assert _proposal(web, world) == before


def test_a_slow_link_within_the_grace_keeps_the_time_it_began(web: Web, world: World) -> None:
    deadline = deadline_soon(web, world)
    c = web.login(world.emails["pi"])
    pid = world.ids["proposal"]
    fields = {"csrf_token": csrf(c, f"/proposals/{pid}"), "version": version_of(c, pid)}
    fields.update(title=LATE_TITLE, abstract="On time.", science_case="On time.", keywords="")
    begun = deadline - dt.timedelta(seconds=1)
    grace = web.settings.body_grace_s
    r = _post_straddling(web, c, f"/proposals/{pid}", fields, begun, grace)
    assert r.status_code == 303, r.text[:2000]
    assert _proposal(web, world)[0] == LATE_TITLE


def test_a_submit_whose_body_ends_after_the_grace_is_refused(web: Web, world: World) -> None:
    deadline = deadline_soon(web, world)
    c = web.login(world.emails["pi"])
    pid = world.ids["proposal"]
    token = csrf(c, f"/proposals/{pid}")
    begun = deadline - dt.timedelta(seconds=1)
    after = web.settings.body_grace_s + 1
    r = _post_straddling(web, c, f"/proposals/{pid}/submit", {"csrf_token": token}, begun, after)
    assert r.status_code == 400 and "The deadline passed" in r.text, r.status_code
    assert _proposal(web, world)[1:] == ("draft", None)
