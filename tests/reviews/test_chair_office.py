"""Chairs and the user office (issue 17): a "Run" step is queued and the browser is sent
to the live progress page at once (even where jobs run inline), one person may hold the
office and chair roles, and an early close asks again on a page that says what it does."""

from __future__ import annotations

import html
import re
import threading
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall import jobs
from opencall.calls.models import Call
from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from opencall.settings import Settings
from opencall.web.security import LANG_COOKIE
from tests.review_cycle import Cycle, Web
from tests.web.conftest import World, csrf


def _post(c: Any, path: str, data: dict[str, str], page: str) -> Any:
    return c.post(path, data={"csrf_token": csrf(c, page), **data})


def test_run_step_answers_at_once_with_a_live_progress_page(
    web: Web,
    cycle: Cycle,
    factory: sessionmaker[Session],
) -> None:
    release = threading.Event()
    seen = threading.Event()

    def slow(session: Session, job: jobs.Job, progress: Any) -> None:
        seen.set()
        release.wait(20)  # without the fix the request itself would wait here

    web.app.state.jobs.register("review.conflicts", slow)
    chair = web.login(cycle.emails["chair"])
    cockpit = f"/manage/calls/{cycle.slug}"
    r = _post(chair, f"{cockpit}/steps/conflicts", {}, cockpit)
    assert r.status_code == 303
    job_url = r.headers["location"]
    assert re.fullmatch(r"/manage/jobs/\d+", job_url)
    job_id = int(job_url.rsplit("/", 1)[1])
    with factory() as s:
        job = s.get(jobs.Job, job_id)
        assert job is not None and job.status in ("queued", "running")  # not waited for
    live = chair.get(job_url).text
    assert 'data-live="1"' in live and re.search(r"/static/poll\.[0-9a-f]{10}\.js", live)
    # every OPENCALL_JOB_POLL_MS (2 s unless set) the page asks again
    assert f'data-poll="{web.app.state.settings.job_poll_ms}"' in live
    assert Settings().job_poll_ms == 2000
    assert '<noscript><meta http-equiv="refresh"' in live  # the no-JavaScript fallback
    assert seen.wait(20)
    release.set()
    web.app.state.inline_runner.submit(lambda: None).result(timeout=30)  # the job has ended
    done = chair.get(job_url).text
    assert 'data-live="1"' not in done and "refresh" not in done and "100 %" in done


def test_one_person_is_office_and_chair(
    web: Web,
    cycle: Cycle,
    factory: sessionmaker[Session],
) -> None:
    with factory() as s:
        u = user_by_email(s, cycle.emails["chair"])
        call = s.get(Call, cycle.ids["call"])
        assert u is not None and call is not None
        people_services.grant_role(s, u.id, "call_manager", provider_id=call.provider_id)
        s.commit()
    both = web.login(cycle.emails["chair"])
    page = both.get(f"/manage/calls/{cycle.slug}").text
    assert 'class="transition"' in page  # the office's actions ...
    assert 'id="step-calibration"' in page  # ... and the chair's, in one session
    assert 'id="edit-call"' in page


def test_early_close_asks_and_says_what_it_does(
    web: Web,
    world: World,
    factory: sessionmaker[Session],
) -> None:
    slug = world.slugs["call"]
    with factory() as s:
        u = user_by_email(s, world.emails["manager"])
        call = s.scalar(select(Call).where(Call.slug == slug))
        assert u is not None and call is not None
        people_services.grant_role(s, u.id, "call_manager", provider_id=call.provider_id)
        s.commit()
    mgr = web.login(world.emails["manager"])
    cockpit = f"/manage/calls/{slug}"
    form = {"target": "closed", "confirm": "yes", "reason": "enough proposals"}
    r = _post(mgr, f"{cockpit}/transition", form, cockpit)
    assert r.status_code == 200 and 'id="close-early"' in r.text
    assert "2 proposals are still drafts" in r.text and "days" in r.text
    assert 'name="early"' in r.text and "required" in r.text
    with factory() as s:
        assert s.scalar(select(Call.status).where(Call.slug == slug)) == "open"
    r = _post(mgr, f"{cockpit}/transition", {**form, "early": "yes"}, cockpit)
    assert r.status_code == 303
    with factory() as s:
        assert s.scalar(select(Call.status).where(Call.slug == slug)) == "closed"


def test_cockpit_counts_what_the_lists_hold(
    web: Web,
    cycle: Cycle,
    factory: sessionmaker[Session],
) -> None:
    """The cockpit's three counts (COUNT queries) are the lengths of the lists they
    count: the reviewable proposals, the active assignments (the declared conflict's
    is not), the submitted reviews."""
    from opencall.reviews import queries as rq
    from tests.review_cycle import TEAMS

    with factory() as s:
        call = s.get(Call, cycle.ids["call"])
        assert call is not None
        lists = (
            len(rq.proposals_for_review(s, call)),
            len(rq.assignments_of_call(s, call)),
            len(rq.submitted_reviews(s, call)),
        )
        everything = len(rq.assignments_of_call(s, call, active=False))
    assert lists == (len(TEAMS), 1, 0) and everything == 2
    page = web.login(cycle.emails["chair"]).get(f"/manage/calls/{cycle.slug}").text
    shown = re.search(
        r"Proposals under review: (\d+) · Active assignments: (\d+) · Submitted reviews: (\d+)",
        page,
    )
    assert shown is not None
    assert tuple(int(n) for n in shown.groups()) == lists


def test_a_refused_job_says_its_sentence_in_the_readers_language(
    web: Web, cycle: Cycle, factory: sessionmaker[Session]
) -> None:
    """A step's job refused when it runs (the call is in review, not in allocation) fails
    at its first attempt; its page says the refusal in the reader's language, without
    the exception's class, and the cockpit lists it as failed."""
    with factory() as s:
        job = jobs.enqueue(
            s, "allocation.run", {"call_id": cycle.ids["call"]}, call_id=cycle.ids["call"]
        )
        s.commit()
        job_id = job.id
    jobs.run_pending(factory, web.app.state.jobs, ids=[job_id])
    manager = web.login(cycle.emails["manager"])
    manager.cookies.set(LANG_COOKIE, "fr")
    page = html.unescape(manager.get(f"/manage/jobs/{job_id}").text)
    assert "Cette étape ne peut pas s’exécuter tant que l’appel est" in page
    assert "DomainError" not in page and "1 / 3" in page
    cockpit = html.unescape(manager.get(f"/manage/calls/{cycle.slug}").text)
    assert re.search(rf'/manage/jobs/{job_id}">{job_id}</a></td><td>[^<]*</td><td>échoué', cockpit)


def test_a_refused_transition_says_the_same_sentence_on_the_page_the_api_and_the_cli(
    web: Web, cycle: Cycle
) -> None:
    """A call in review cannot go back to open: the cockpit and the API say why in the
    words the command line says (``check_call_transition``), in the reader's language,
    not "This value is not valid." on one and an English sentence of its own on the other."""
    from opencall.calls.domain import check_call_transition
    from opencall.errors import DomainError
    from opencall.web.i18n import Translator
    from tests.api.test_writes import token

    with pytest.raises(DomainError) as said:
        check_call_transition("review", "open")
    cockpit = f"/manage/calls/{cycle.slug}"
    manager = web.login(cycle.emails["manager"])
    manager.cookies.set(LANG_COOKIE, "fr")
    data = {"target": "open", "confirm": "yes"}
    r = _post(manager, f"{cockpit}/transition", data, cockpit)
    assert r.status_code == 400
    assert Translator("fr").error(said.value) in html.unescape(r.text)
    h = token(web, cycle.emails["manager"])
    api = web.client()
    r = api.post(f"/api/v1/calls/{cycle.slug}/transition", headers=h, json={"target": "open"})
    assert r.status_code == 400, r.text
    assert r.json()["detail"] == f"target: {said.value.message}"
    assert r.json()["message_id"] == said.value.msg_id


def test_the_api_refuses_a_step_out_of_order_in_the_readers_language(
    web: Web, cycle: Cycle
) -> None:
    """As the cockpit (and the job, and the command line) does: the refusal's sentence
    translated, with its message id, not the English text alone."""
    from tests.api.test_writes import token

    h = {**token(web, cycle.emails["manager"]), "Accept-Language": "fr"}
    r = web.client().post(f"/api/v1/calls/{cycle.slug}/steps/allocation", headers=h, json={})
    assert r.status_code == 400, r.text
    assert r.json()["message_id"] == "This step cannot run while the call is %(status)s."
    assert r.json()["detail"].startswith("Cette étape ne peut pas s’exécuter")


def test_the_api_says_a_call_with_one_deadline_has_no_batches_in_the_readers_language(
    web: Web, cycle: Cycle
) -> None:
    """The refusal ``opencall calls cut-batches --call`` says, translated with its id."""
    from tests.api.test_writes import token

    h = {**token(web, cycle.emails["manager"]), "Accept-Language": "fr"}
    api = web.client()
    for r in (
        api.get(f"/api/v1/calls/{cycle.slug}/batches", headers=h),
        api.post(f"/api/v1/calls/{cycle.slug}/batches", headers=h),
    ):
        assert r.status_code == 400, r.text
        assert (
            r.json()["detail"]
            == "Cet appel a une seule date limite ; il n’est pas évalué par lots."
        )
        assert r.json()["message_id"].startswith("This call has one deadline")


def test_the_cockpit_offers_exactly_the_transitions_the_workflow_allows(
    web: Web, cycle: Cycle, factory: sessionmaker[Session]
) -> None:
    """In scheduling the workflow (``opencall.cycle``) moves the call to published or back
    to allocation: the cockpit offers both, and publishing before the release is refused
    with the workflow's sentence (as ``opencall calls transition``), nothing changed."""
    from opencall.calls.domain import CALL_TRANSITIONS
    from opencall.cycle.services import transition_call
    from opencall.errors import DomainError
    from opencall.web.i18n import Translator

    with factory() as s:
        call = s.get(Call, cycle.ids["call"])
        assert call is not None and call.decisions_released_at is None
        call.status = "scheduling"
        s.commit()
        with pytest.raises(DomainError) as said:
            transition_call(s, call, "published")
        s.rollback()
    cockpit = f"/manage/calls/{cycle.slug}"
    manager = web.login(cycle.emails["manager"])
    manager.cookies.set(LANG_COOKIE, "fr")
    page = manager.get(cockpit).text
    offered = re.findall(r'name="target" value="([a-z]+)"', page)
    assert offered == list(CALL_TRANSITIONS["scheduling"]) == ["published", "allocation"]
    r = _post(manager, f"{cockpit}/transition", {"target": "published", "confirm": "yes"}, cockpit)
    assert r.status_code == 400
    assert Translator("fr").error(said.value) in html.unescape(r.text)
    with factory() as s:
        assert s.scalar(select(Call.status).where(Call.id == cycle.ids["call"])) == "scheduling"


def test_the_batches_page_says_a_call_with_one_deadline_has_no_batches(
    web: Web, cycle: Cycle
) -> None:
    """As the API and ``opencall calls cut-batches --call`` do: the sentence in the reader's
    language with a refusal's status (400), not "not found"; nothing is cut."""
    cockpit = f"/manage/calls/{cycle.slug}"
    manager = web.login(cycle.emails["manager"])
    manager.cookies.set(LANG_COOKIE, "fr")
    said = "Cet appel a une seule date limite ; il n’est pas évalué par lots."
    r = manager.get(f"{cockpit}/batches")
    assert r.status_code == 400 and said in html.unescape(r.text), r.text[:2000]
    r = _post(manager, f"{cockpit}/batches/cut", {"confirm": "yes"}, cockpit)
    assert r.status_code == 400 and said in html.unescape(r.text), r.text[:2000]
