"""A submission that reaches the server after the deadline is refused with the deadline
and with the moment the server received it, to the millisecond (trialcrowd24): an
applicant on a slow link whose own clock said 16:59:58 sees why "after" holds, and the
user office can answer them from the refusal alone. Before, the refusal named the
deadline only ("The deadline passed at ... UTC; the call is closed."), and a request
received within the deadline's second was told the deadline and nothing else.

Through the JSON API and the submit form, in English and French; the clock stands still
(``time_machine``, no tick), so the time stated is the request's arrival, not a wall
clock; nothing is written (the proposal stays a draft without a revision)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from opencall.proposals.models import Proposal
from tests.web.conftest import Web, World, api_bearer, csrf, deadline_soon

pytestmark = pytest.mark.filterwarnings("ignore")


def _draft(web: Web, world: World) -> tuple[str, int | None]:
    with web.factory() as s:
        p = s.get(Proposal, world.ids["proposal"])
        assert p is not None
        return p.status, p.current_revision_id


@pytest.mark.parametrize("late_ms", [250, 2_250])
def test_a_late_api_submission_is_told_when_it_arrived(
    web: Web, world: World, late_ms: int
) -> None:
    deadline = deadline_soon(web, world)
    bearer = api_bearer(web, world.emails["pi"])
    arrived = deadline + dt.timedelta(milliseconds=late_ms)
    with time_machine.travel(arrived, tick=False):
        r = web.client().post(
            f"/api/v1/proposals/{world.ids['proposal']}/submit", headers=bearer, json={}
        )
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert f"{deadline:%Y-%m-%d %H:%M:%S} UTC" in detail, detail
    stamp = f"{arrived:%Y-%m-%d %H:%M:%S}.{late_ms % 1000:03d} UTC"
    assert stamp in detail, detail
    assert _draft(web, world) == ("draft", None)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_late_form_submission_is_told_when_it_arrived(web: Web, world: World, lang: str) -> None:
    deadline = deadline_soon(web, world)
    c = web.login(world.emails["pi"], lang)
    pid = world.ids["proposal"]
    token = csrf(c, f"/proposals/{pid}")
    arrived = deadline + dt.timedelta(seconds=3, milliseconds=7)
    with time_machine.travel(arrived, tick=False):
        r = c.post(f"/proposals/{pid}/submit", data={"csrf_token": token})
    assert r.status_code == 400, r.text[:2000]
    assert f"{deadline:%Y-%m-%d %H:%M:%S} UTC" in r.text
    assert f"{arrived:%Y-%m-%d %H:%M:%S}.007 UTC" in r.text, r.text[:4000]
    said = {"en": "reached the server at", "fr": "parvenue au serveur"}[lang]
    assert said in r.text
    assert _draft(web, world) == ("draft", None)
