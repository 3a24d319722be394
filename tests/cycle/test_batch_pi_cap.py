"""A continuous call's cap on awards per PI holds across its batches (mend10b item 3):
before, each batch's allocation counted only its own proposals, so a PI awarded in the
first batch was awarded again in the second, past the call's cap."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.allocation import services as al
from opencall.allocation.models import Decision
from opencall.calls.models import Call
from opencall.cycle import batches
from opencall.cycle import services as cycle
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.proposals import services as ps
from opencall.proposals.models import Proposal
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from tests import factories as f
from tests.cycle.test_batches import C1, continuous_call


def _decide(s: Session, batch: Call, reviewers: list[User]) -> None:
    """The batch through review and allocation to its released decisions."""
    cycle.transition_call(s, batch, "review")
    rv.run_affinity(s, batch)
    rv.run_assignment(s, batch)
    by_id = {u.id: u for u in reviewers}
    for a in rq.assignments_of_call(s, batch):
        rv.submit_review(s, a, by_id[a.reviewer_id], grade=4, comments_to_applicants="ok")
    rv.run_calibration(s, batch, n_bootstrap=10)
    cycle.transition_call(s, batch, "ranking")
    rv.freeze_ranking(s, batch)
    cycle.transition_call(s, batch, "allocation")
    al.run_allocation(s, batch)


def _panel(s: Session, call: Call) -> list[User]:
    """Three reviewers of the call's provider, of three countries."""
    reviewers = []
    for i in range(3):
        u = f.user(s, institution=f"Panel institute {i}", country=("FRA", "JPN", "KEN")[i])
        people_services.grant_role(s, u.id, "reviewer", provider_id=call.provider_id)
        reviewers.append(u)
    return reviewers


def second_batch(s: Session, call: Call, pi: User, reviewers: list[User]) -> tuple[Proposal, ...]:
    """A proposal of ``pi`` and one of another applicant in the call's second (last)
    batch, decided: (``pi``'s, the other's)."""
    again = f.full_proposal(s, call, pi)
    ps.submit(s, again, now=C1 + dt.timedelta(days=1))
    other = f.full_proposal(s, call, f.user(s, institution="Other institute", country="BRA"))
    ps.submit(s, other, now=C1 + dt.timedelta(days=1))
    cycle.transition_call(s, call, "closed", now=call.closes_at + dt.timedelta(hours=1))
    b2 = batches.batches_of(s, call)[-1]
    assert b2.batch_number == 2 and again.call_id == b2.id
    _decide(s, b2, reviewers)
    return again, other


def _outcome(s: Session, p: Proposal) -> tuple[str, str]:
    d = s.scalar(select(Decision).where(Decision.proposal_id == p.id))
    assert d is not None
    return d.outcome, d.explanation


def test_the_pi_cap_counts_the_awards_of_the_calls_earlier_batches(db: Session) -> None:
    s = db
    call = continuous_call(s)
    call.allocation_policy = {**(call.allocation_policy or {}), "pi_cap_awards": 1}
    reviewers = _panel(s, call)
    pi = f.user(s, institution="Capped institute", country="BRA")
    first = f.full_proposal(s, call, pi)
    ps.submit(s, first, now=f.NOW)
    (b1,) = batches.cut(s, call, now=C1)
    _decide(s, b1, reviewers)
    assert _outcome(s, first)[0] == "awarded"
    al.release_decisions(s, b1)

    again, other = second_batch(s, call, pi, reviewers)
    outcome, why = _outcome(s, again)
    assert outcome != "awarded", "the PI's second award in the call's period, past its cap"
    assert "PI already holds 1 award" in why
    assert _outcome(s, other)[0] == "awarded"  # room there was: the cap alone refused it


def test_the_pi_cap_on_amount_counts_the_amounts_of_the_calls_earlier_batches(
    db: Session,
) -> None:
    """mend11: ``pi_cap_amount`` holds across the batches too (it was per batch: a PI
    awarded 7 of a 10-hour cap in the first batch got 7 more in the second)."""
    s = db
    call = continuous_call(s)
    call.allocation_policy = {**(call.allocation_policy or {}), "pi_cap_amount": 10}
    reviewers = _panel(s, call)
    pi = f.user(s, institution="Capped institute", country="BRA")
    first = f.full_proposal(s, call, pi, hours=7)
    ps.submit(s, first, now=f.NOW)
    (b1,) = batches.cut(s, call, now=C1)
    _decide(s, b1, reviewers)
    assert _outcome(s, first)[0] == "awarded"
    al.release_decisions(s, b1)

    again = f.full_proposal(s, call, pi, hours=7)
    ps.submit(s, again, now=C1 + dt.timedelta(days=1))
    other = f.full_proposal(s, call, f.user(s, institution="Other institute", country="BRA"))
    ps.submit(s, other, now=C1 + dt.timedelta(days=1))
    cycle.transition_call(s, call, "closed", now=call.closes_at + dt.timedelta(hours=1))
    b2 = batches.batches_of(s, call)[-1]
    _decide(s, b2, reviewers)
    outcome, why = _outcome(s, again)
    assert outcome != "awarded", "7 more hours past the PI's 10-hour cap of the call"
    assert "PI already holds 7 of the 10 cap" in why
    assert _outcome(s, other)[0] == "awarded"  # room there was: the cap alone refused it
