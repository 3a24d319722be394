"""A released FAST call with an award to decline: four proposals, two awarded (the
capacity of every LST hour cut to 2.2 h so that two of the four fit), a co-investigator
on the first awarded proposal, a reviewer, the call's chair and a second chair with a
recorded conflict with the best-ranked proposal not awarded."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.allocation import services as al
from opencall.allocation.models import Decision
from opencall.calls.models import Call
from opencall.people import services as people_services
from opencall.proposals.models import Proposal, TeamMember
from opencall.reviews import queries as rq
from opencall.reviews.models import Conflict
from opencall.scheduling.models import ScheduleEntry
from tests import factories as F
from tests.allocation.test_edges import ranked_call
from tests.kept_builds import kept, plain, plain_again


@dataclass
class Declining:
    call_id: int = 0
    slug: str = ""
    awarded: list[int] = field(default_factory=list)  # in rank order
    waiting: list[int] = field(default_factory=list)  # not awarded, in rank order
    emails: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)


@kept(plain, plain_again)
def build(s: Session) -> Declining:
    """The world of the module's docstring (built once per test process, then copied:
    ``tests.kept_builds``)."""
    call = ranked_call(s, n_proposals=4)
    for cp in call.pools:
        cp.amount = 2.2
    al.run_allocation(s, call)
    al.release_decisions(s, call)
    outcome = {d.proposal_id: d.outcome for d in s.scalars(select(Decision))}
    order = [r.proposal_id for r in rq.ranking(s, call)]
    w = Declining(call_id=call.id, slug=call.slug)
    w.awarded = [p for p in order if outcome.get(p) == "awarded"]
    w.waiting = [p for p in order if outcome.get(p) == "not_awarded"]
    assert len(w.awarded) == 2 and len(w.waiting) == 2, outcome
    first = s.get(Proposal, w.awarded[0])
    other = s.get(Proposal, w.awarded[1])
    assert first is not None and other is not None
    s.add(ScheduleEntry(call_id=call.id, proposal_id=first.id, kind="fast", label="block",
                        amount=1.0))  # fmt: skip
    coi = F.user(s, email="coi@decline.example", name="Co Applicant")
    s.add(TeamMember(proposal_id=first.id, user_id=coi.id, role="coi", email=coi.email,
                     name=coi.name, status="accepted"))  # fmt: skip
    chair = F.user(s, email="chair@decline.example", name="Chair Person")
    people_services.grant_role(s, chair.id, "chair", call_id=call.id)
    conflicted = F.user(s, email="conflicted@decline.example", name="Conflicted Chair")
    people_services.grant_role(s, conflicted.id, "chair", call_id=call.id)
    s.add(Conflict(call_id=call.id, proposal_id=w.waiting[0], reviewer_id=conflicted.id,
                   source="declared_reviewer"))  # fmt: skip
    reviewer = F.user(s, email="reviewer@decline.example")
    people_services.grant_role(s, reviewer.id, "reviewer", call_id=call.id)
    s.flush()
    w.emails = {
        "pi": _email(s, first.pi_user_id),
        "other_pi": _email(s, other.pi_user_id),
        "coi": coi.email,
        "chair": chair.email,
        "conflicted": conflicted.email,
        "reviewer": reviewer.email,
    }
    w.ids = {"pi": first.pi_user_id, "other_pi": other.pi_user_id, "coi": coi.id,
             "chair": chair.id, "conflicted": conflicted.id, "reviewer": reviewer.id}  # fmt: skip
    return w


def _email(s: Session, user_id: int) -> str:
    from opencall.people.models import User

    u = s.get(User, user_id)
    assert u is not None
    return u.email


def get_call(s: Session, w: Declining) -> Call:
    c = s.get(Call, w.call_id)
    assert c is not None
    return c


def get_proposal(s: Session, pid: int) -> Proposal:
    p = s.get(Proposal, pid)
    assert p is not None
    return p
