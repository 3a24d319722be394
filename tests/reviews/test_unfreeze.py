"""A chair who froze the ranking too early unfreezes it (reason required, audited) and
calibrates again; only before the allocation has run on it and never after the
release, refused otherwise with a clear message and nothing changed. Page, API and CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.allocation import services as al
from opencall.auditlog import AuditEvent
from opencall.calls.models import Call
from opencall.cli import app as cli_app
from opencall.cycle import services as cycle
from opencall.db import unit_of_work
from opencall.errors import DomainError
from opencall.people import services as people_services
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from tests import factories as F
from tests.api.test_writes import token
from tests.cli_db import cli_database
from tests.kept_builds import call_id, kept, load_call
from tests.web.conftest import Web, csrf


@kept(call_id, load_call)
def _frozen(s: Session, *, unreviewed: int = 0, anonymity: str = "single") -> Call:
    """A call in ranking, every proposal reviewed but the last ``unreviewed``, frozen
    (single-anonymous unless said: a dual-anonymous freeze is never undone); kept and
    copied as ``tests.kept_builds`` says."""
    call, props, reviewers = F.call_in_review(s, 3, 3)
    call.anonymity = anonymity
    rv.run_assignment(s, call)
    by_id = {u.id: u for u in reviewers}
    skip = {p.id for p in props[3 - unreviewed :]} if unreviewed else set()
    for a in rq.assignments_of_call(s, call):
        if a.proposal_id not in skip:
            rv.submit_review(s, a, by_id[a.reviewer_id], grade=3, comments_to_applicants="ok")
    rv.run_calibration(s, call, n_bootstrap=10)
    cycle.transition_call(s, call, "ranking")
    rv.freeze_ranking(s, call)
    return call


def _events(s: Session, call: Call, action: str) -> list[AuditEvent]:
    return list(
        s.scalars(
            select(AuditEvent).where(AuditEvent.call_id == call.id, AuditEvent.action == action)
        )
    )


def test_unfreeze_needs_a_reason_is_audited_and_lets_the_chair_calibrate(db: Session) -> None:
    s = db
    call = _frozen(s)
    chair = F.user(s)
    frozen_at = call.ranking_frozen_at
    for reason in ("", "   "):
        with pytest.raises(DomainError, match="reason"):
            rv.unfreeze_ranking(s, call, reason=reason, actor_id=chair.id)
    assert call.ranking_frozen_at == frozen_at
    with pytest.raises(DomainError, match="frozen"):
        rv.run_calibration(s, call, n_bootstrap=10)
    rv.unfreeze_ranking(s, call, reason="Froze before the panel met.", actor_id=chair.id)
    assert call.ranking_frozen_at is None
    (event,) = _events(s, call, "ranking.unfrozen")
    assert event.reason == "Froze before the panel met." and event.actor_id == chair.id
    rv.run_calibration(s, call, n_bootstrap=10, seed=1)  # calibrating again is allowed
    with pytest.raises(DomainError, match="not frozen"):
        rv.unfreeze_ranking(s, call, reason="again")


def test_a_dual_anonymous_freeze_is_never_undone(db: Session) -> None:
    """The freeze showed the teams to the chair: undoing it would let the ranking be made
    again knowing them. Refused, nothing changed, and the page offers no unfreeze."""
    s = db
    call = _frozen(s, anonymity="dual")
    frozen_at = call.ranking_frozen_at
    with pytest.raises(DomainError, match="dual-anonymous"):
        rv.unfreeze_ranking(s, call, reason="Froze before the panel met.")
    assert call.ranking_frozen_at == frozen_at
    assert _events(s, call, "ranking.unfrozen") == []


def test_unfreeze_is_refused_once_the_allocation_has_run_or_after_release(db: Session) -> None:
    s = db
    call = _frozen(s)
    cycle.transition_call(s, call, "allocation")
    al.run_allocation(s, call)
    frozen_at = call.ranking_frozen_at
    with pytest.raises(DomainError, match="allocation has already run"):
        rv.unfreeze_ranking(s, call, reason="too late")
    al.release_decisions(s, call)
    with pytest.raises(DomainError, match="already released"):
        rv.unfreeze_ranking(s, call, reason="too late")
    assert call.ranking_frozen_at == frozen_at
    assert _events(s, call, "ranking.unfrozen") == []


def test_the_ranking_page_and_the_api_unfreeze(web: Web) -> None:
    with web.factory() as s:
        call = _frozen(s)
        chair = F.user(s, email=f"chair-{call.id}@example.org")
        people_services.grant_role(s, chair.id, "chair", call_id=call.id)
        slug = call.slug
        s.commit()
    c = web.login(chair.email)
    r = c.get(f"/manage/calls/{slug}/ranking")
    assert r.status_code == 200 and 'id="unfreeze"' in r.text
    t = csrf(c, f"/manage/calls/{slug}/ranking")
    r = c.post(
        f"/manage/calls/{slug}/ranking/unfreeze",
        data={"csrf_token": t, "confirm": "yes", "reason": ""},
    )
    assert r.status_code == 400
    r = c.post(
        f"/manage/calls/{slug}/ranking/unfreeze",
        data={"csrf_token": t, "confirm": "yes", "reason": "Too early."},
    )
    assert r.status_code == 303, r.text[:500]
    h = token(web, chair.email)
    api = web.client()
    assert api.post(f"/api/v1/calls/{slug}/ranking/freeze", headers=h).json()["ranking_frozen_at"]
    r = api.post(f"/api/v1/calls/{slug}/ranking/unfreeze", headers=h, json={"reason": ""})
    assert r.status_code == 400
    r = api.post(f"/api/v1/calls/{slug}/ranking/unfreeze", headers=h, json={"reason": "Again."})
    assert r.status_code == 200 and r.json()["ranking_frozen_at"] is None
    api.post(f"/api/v1/calls/{slug}/ranking/freeze", headers=h)
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        cycle.transition_call(s, call, "allocation")
        al.run_allocation(s, call)
        s.commit()
    r = c.get(f"/manage/calls/{slug}/ranking")
    assert 'id="unfreeze"' not in r.text  # no longer offered
    r = api.post(f"/api/v1/calls/{slug}/ranking/unfreeze", headers=h, json={"reason": "x"})
    assert r.status_code == 400 and "allocation has already run" in r.json()["detail"]


def test_the_command_line_unfreezes_and_resolves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with cli_database(tmp_path, monkeypatch, "chair") as (runner, factory):
        with unit_of_work(factory) as s:
            call = _frozen(s, unreviewed=1)
            slug = call.slug
            lost = al.short_of_reviews(s, call)[0].code
        r = runner.invoke(cli_app, ["review", "unfreeze", "--call", slug, "--reason", " "])
        assert r.exit_code == 2 and "reason" in r.output
        r = runner.invoke(cli_app, ["review", "unfreeze", "--call", slug, "--reason", "Early."])
        assert r.exit_code == 0, r.output
        r = runner.invoke(cli_app, ["review", "freeze", "--call", slug])
        assert r.exit_code == 0, r.output
        with unit_of_work(factory) as s:
            call = s.scalars(select(Call).where(Call.slug == slug)).one()
            cycle.transition_call(s, call, "allocation")
            al.run_allocation(s, call)
        r = runner.invoke(cli_app, ["release", "--call", slug])
        assert r.exit_code == 2 and lost in r.output
        r = runner.invoke(cli_app, ["review", "unreviewed", "--call", slug])
        assert r.exit_code == 0 and lost in r.output and "none yet" in r.output
        argv = ["review", "resolve", "--call", slug, "--proposal", lost, "--action", "reject"]
        r = runner.invoke(cli_app, [*argv, "--reason", "No reviewer."])
        assert r.exit_code == 0, r.output
        r = runner.invoke(cli_app, ["release", "--call", slug])
        assert r.exit_code == 0 and "3 decisions released" in r.output
        r = runner.invoke(cli_app, ["review", "unfreeze", "--call", slug, "--reason", "Late."])
        assert r.exit_code == 2 and "already released" in r.output


def test_the_command_line_release_mails_the_decisions_as_the_page_and_the_api_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``opencall release`` queues the decision e-mails (one ``allocation.notify`` job) as
    the decisions page and ``POST /calls/{slug}/release`` do; a second release, which
    finds them released, queues none."""
    from opencall import jobs

    with cli_database(tmp_path, monkeypatch, "release") as (runner, factory):
        with unit_of_work(factory) as s:
            call = _frozen(s)
            slug, call_id = call.slug, call.id
            cycle.transition_call(s, call, "allocation")
            al.run_allocation(s, call)
        for _ in range(2):
            r = runner.invoke(cli_app, ["release", "--call", slug])
            assert r.exit_code == 0 and "3 decisions released" in r.output, r.output
        with factory() as s:
            kinds = s.scalars(select(jobs.Job.kind).where(jobs.Job.call_id == call_id))
            assert list(kinds).count("allocation.notify") == 1
