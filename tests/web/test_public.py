"""Public results (awarded programmes, who applied by country group) and the
applicant's outcome page (award, schedule, reviewers' feedback)."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from sqlalchemy.orm import Session

from opencall.allocation.models import Award, Decision
from opencall.calls.queries import call_by_slug
from opencall.cycle.services import transition_call
from opencall.db import utcnow
from opencall.proposals import services as prop_services
from opencall.proposals.models import Proposal
from opencall.reviews.models import Review, ReviewAssignment
from opencall.scheduling.models import ScheduleEntry
from tests import factories as F
from tests.web.conftest import Web, World, full_proposal

pytestmark = pytest.mark.filterwarnings("ignore")


def publish(s: Session, w: World) -> None:
    """Submit both proposals, add six more applicants from low-income countries,
    close the call and walk it to published with one award and feedback."""
    call = call_by_slug(s, w.slugs["call"])
    assert call is not None
    p = s.get(Proposal, w.ids["proposal"])
    assert p is not None
    prop_services.submit(s, p)
    prop_services.submit(s, s.get(Proposal, w.ids["other_proposal"]))  # type: ignore[arg-type]
    for i in range(6):
        q = full_proposal(s, call, F.user(s, country="ETH", name=f"Applicant {i}"))
        prop_services.submit(s, q)
    now = utcnow()
    prop_services.close_call(s, call, reason="test", now=now)
    call.decisions_released_at = now  # publishing needs released decisions
    for target in ("review", "ranking", "allocation", "scheduling", "published"):
        transition_call(s, call, target, now=now)
    pool = call.pools[5].pool
    s.add(
        Decision(
            call_id=call.id,
            proposal_id=p.id,
            outcome="awarded",
            priority="A",
            explanation="Ranked 1st of 8; fits the LST range.",
        )
    )
    s.add(
        Award(
            call_id=call.id,
            proposal_id=p.id,
            request_id=p.requests[0].id,
            pool_id=pool.id,
            amount=6.5,
        )
    )
    start = now + dt.timedelta(days=40)
    s.add(
        ScheduleEntry(
            call_id=call.id,
            proposal_id=p.id,
            pool_id=pool.id,
            kind="block",
            label="Crab pulsar, 19-beam",
            start=start,
            end=start + dt.timedelta(hours=2),
            amount=2.0,
        )
    )
    reviewer = F.user(s, name="Reviewer Hidden", email="rev@example.org")
    a = ReviewAssignment(
        call_id=call.id, proposal_id=p.id, reviewer_id=reviewer.id, status="submitted"
    )
    s.add(a)
    s.flush()
    s.add(
        Review(
            assignment_id=a.id,
            grade=4.5,
            confidence=3,
            comments_to_applicants="A compelling timing case.",
            comments_to_panel="Panel-only remark.",
            submitted_at=now,
        )
    )
    s.flush()


def test_results_are_hidden_until_published(web: Web, world: World) -> None:
    c = web.client()
    r = c.get(f"/calls/{world.slugs['call']}/awarded")
    assert (
        r.status_code == 200
        and "published when the call's results are published" in html.unescape(r.text)
    )
    assert "Pulsar timing" not in r.text
    r = c.get(f"/calls/{world.slugs['call']}/figures")
    assert r.status_code == 200 and "<table" not in r.text


def test_published_results_and_outcome(web: Web, world: World) -> None:
    with web.factory() as s:
        publish(s, world)
        s.commit()
    slug = world.slugs["call"]
    c = web.client("fr")
    text = html.unescape(c.get(f"/calls/{slug}/awarded").text)
    assert "Pulsar timing with FAST" in text and "Tanzanie" in text and "6,5 heures" in text
    assert ">A<" in text
    for secret in world.secrets:
        assert secret not in text
    figures = html.unescape(c.get(f"/calls/{slug}/figures").text)
    assert "Revenu faible" in figures and "<5" in figures and "Afrique" in figures
    assert "Ximena" not in figures
    # the PI's own outcome page: decision, award, schedule and feedback (not the panel's notes)
    pi = web.login(world.emails["pi"], "es")
    r = pi.get(f"/proposals/{world.ids['proposal']}/outcome")
    text = html.unescape(r.text)
    assert r.status_code == 200
    assert "concedida" in text and "6,5 horas" in text and "Crab pulsar, 19-beam" in text
    assert "A compelling timing case." in text and "Panel-only remark." not in text
    assert "Reviewer Hidden" not in text
    assert "Resultado" in html.unescape(pi.get("/dashboard").text)
    # the co-investigator sees it too; another applicant does not
    assert (
        web.login(world.emails["coi"])
        .get(f"/proposals/{world.ids['proposal']}/outcome")
        .status_code
        == 200
    )
    assert (
        web.login(world.emails["other"])
        .get(f"/proposals/{world.ids['proposal']}/outcome")
        .status_code
        == 404
    )


def test_partly_awarded_outcome_is_said_in_words(web: Web, world: World) -> None:
    """A decision the allocation made ``awarded_partially`` (less than asked) reads
    "partly awarded" on the PI's outcome page, as on the chair's decisions page, never
    the code: both pages take their words from the one table of decision outcomes."""
    with web.factory() as s:
        publish(s, world)
        d = s.query(Decision).filter_by(proposal_id=world.ids["proposal"]).one()
        d.outcome = "awarded_partially"
        s.commit()
    text = html.unescape(
        web.login(world.emails["pi"]).get(f"/proposals/{world.ids['proposal']}/outcome").text
    )
    assert "partly awarded" in text
    assert "awarded_partially" not in text
    text = html.unescape(
        web.login(world.emails["pi"], "fr").get(f"/proposals/{world.ids['proposal']}/outcome").text
    )
    assert "awarded_partially" not in text
