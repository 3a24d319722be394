"""A step of the cycle runs once at a time per call: asking for a step again while its
job is queued or running (a double click on "Run", two chairs, the page and the API)
answers that same job instead of queuing another, so the solver does not run twice at
once on the same call (one cheap request each, minutes of a worker each) and two runs
do not write the same call's results over each other. Before the fix every request
queued a new job: two clicks, two allocation jobs."""

from __future__ import annotations

from sqlalchemy import func, select

from opencall import jobs
from opencall.app import create_app
from tests.review_cycle import Cycle
from tests.web.conftest import Web, api_bearer, csrf, web_settings


def _queued(web: Web, kind: str) -> int:
    with web.factory() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(jobs.Job)
                .where(jobs.Job.kind == kind, jobs.Job.status.in_(("queued", "running")))
            )
            or 0
        )


def test_a_step_asked_twice_is_queued_once(web: Web, cycle: Cycle) -> None:
    settings = web_settings(web.factory.kw["bind"], web.tmp, inline_jobs=False)
    web = Web(create_app(settings), settings, web.factory, web.tmp)
    chair = web.login(cycle.emails["chair"])
    path = f"/manage/calls/{cycle.slug}/steps/affinity"
    first = chair.post(path, data={"csrf_token": csrf(chair, f"/manage/calls/{cycle.slug}")})
    again = chair.post(path, data={"csrf_token": csrf(chair, f"/manage/calls/{cycle.slug}")})
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]  # the same job's page
    h = api_bearer(web, cycle.emails["chair"], ("manage",))
    r = web.client().post(f"/api/v1/calls/{cycle.slug}/steps/affinity", json={}, headers=h)
    assert r.status_code == 202, r.text
    assert first.headers["location"] == f"/manage/jobs/{r.json()['id']}"
    assert _queued(web, "review.affinity") == 1
    # another step of the same call is queued beside it
    r = web.client().post(f"/api/v1/calls/{cycle.slug}/steps/conflicts", json={}, headers=h)
    assert r.status_code == 202 and f"/manage/jobs/{r.json()['id']}" != first.headers["location"]
    web.app.state.engine.dispose()
