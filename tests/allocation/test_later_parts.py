"""outcomes23: a multi-period (long-term) programme. Its award belonged to one call
alone: a programme asking for time over two or three allocation periods, reviewed once,
could not hold its later periods' parts, and the later calls offered that capacity to
others. Now each later part is recorded against the later call that offers the period's
resource (``allocation.later_parts``) and held against that call's offer (its free
capacity, its allocation, what it holds of the resource for other calls), released when
the progress report is accepted, returned (free again) when it is not, or when the award
is ended or declined. Refused inputs change nothing."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.allocation import later_parts as lp
from opencall.allocation import services as al
from opencall.allocation.models import AwardLaterPart
from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.cli import app as cli_app
from opencall.db import unit_of_work
from opencall.errors import DomainError
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from tests import factories as F
from tests.allocation.test_unreviewed import _to_allocation
from tests.cli_db import cli_database
from tests.results.course_world import course_world
from tests.results.test_ended_award_followups import _end


def _programme(db: Session) -> tuple[Proposal, Proposal, Call, int, float]:
    """A programme awarded in the course's call (and another awarded proposal), and a
    later call in review offering a resource: (programme, other, later call, resource id,
    its offer)."""
    _call, props = course_world(db, ["ETH", "KEN"])
    for p in props.values():
        p.status = "accepted"  # as the release of the decisions leaves it
    later, _props, _reviewers = F.call_in_review(db, 3, 3)
    cp = later.pools[0]
    return props["ETH"], props["KEN"], later, cp.pool_id, float(cp.amount)


def _parts(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(AwardLaterPart)) or 0)


def test_a_later_part_is_held_against_the_later_calls_offer(db: Session) -> None:
    programme, _other, later, pool_id, offer = _programme(db)
    assert al.free_capacity(db, later)[pool_id] == pytest.approx(offer)
    part = lp.hold_later_part(db, programme, later, pool_id, offer / 4, actor_id=None)
    assert part.status == "held" and part.call_id == programme.call_id
    assert al.free_capacity(db, later)[pool_id] == pytest.approx(offer * 3 / 4)
    assert al.committed_parts(db, later) == {pool_id: pytest.approx(offer / 4)}
    # the later call's allocation offers the rest, not the part held
    rv.run_assignment(db, later)
    for a in rq.assignments_of_call(db, later):
        rv.submit_review(db, a, db.get_one(User, a.reviewer_id), grade=4,
                         comments_to_applicants="ok")  # fmt: skip
    _to_allocation(db, later)
    problem, meta = al.build_problem(db, later)
    name = next(n for n, pid in meta["pool_id"].items() if pid == pool_id)
    capacity = next(p.capacity for p in problem.pools if p.id == name)
    assert capacity == pytest.approx(offer * 3 / 4), "the later call offered the held part again"
    events = db.scalars(
        select(auditlog.AuditEvent).where(auditlog.AuditEvent.action == "award.later_part_held")
    ).all()
    assert [e.entity_id for e in events] == [str(programme.id)]


def test_progress_accepted_releases_not_accepted_returns(db: Session) -> None:
    programme, other, later, pool_id, offer = _programme(db)
    a = lp.hold_later_part(db, programme, later, pool_id, 3.0)
    b = lp.hold_later_part(db, other, later, pool_id, 2.0)
    lp.decide_later_part(db, a, accepted=True, note="On track: 2 papers, data reduced.")
    lp.decide_later_part(db, b, accepted=False, note="No progress report came.")
    assert (a.status, b.status) == ("released", "returned")
    assert al.free_capacity(db, later)[pool_id] == pytest.approx(offer - 3.0)
    held = call_services.held_by_calls(db, [pool_id])
    assert held[pool_id][later.id] == pytest.approx(offer)  # a call in review holds its offer
    assert al.later_parts_by_call(db, [pool_id]) == {(pool_id, later.id): pytest.approx(3.0)}
    with pytest.raises(DomainError, match="decided already"):
        lp.decide_later_part(db, a, accepted=False, note="again")
    assert a.status == "released"


def test_an_ended_award_returns_its_held_part(db: Session) -> None:
    programme, _other, later, pool_id, offer = _programme(db)
    lp.hold_later_part(db, programme, later, pool_id, 5.0)
    assert al.free_capacity(db, later)[pool_id] == pytest.approx(offer - 5.0)
    end = _end(db, programme.call.provider_id, programme)
    (part,) = lp.parts_of(db, [programme.id])
    assert part.status == "returned" and part.note == "Visa refused"
    assert al.free_capacity(db, later)[pool_id] == pytest.approx(offer)
    ended = db.scalars(
        select(auditlog.AuditEvent).where(auditlog.AuditEvent.action == "award.ended")
    ).one()
    assert ended.data["later_parts_returned"] == [part.id] and end.proposal_id == programme.id
    with pytest.raises(DomainError, match="declined or ended"):
        lp.hold_later_part(db, programme, later, pool_id, 1.0)


@pytest.mark.parametrize(
    "case, message",
    [
        ("zero", "positive number"),
        ("nan", "positive number"),
        ("too_much", "left, less than this part"),
        ("own_call", "not to the call that reviewed"),
        ("not_offered", "does not offer this resource"),
        ("twice", "already has a part"),
        ("not_awarded", "Only an awarded proposal"),
        ("allocated", "allocated already"),
    ],
)
def test_a_bad_later_part_is_refused_and_changes_nothing(
    db: Session, case: str, message: str
) -> None:
    programme, other, later, pool_id, offer = _programme(db)
    lp.hold_later_part(db, other, later, pool_id, 1.0)
    proposal, call, pool, amount = programme, later, pool_id, 1.0
    if case == "zero":
        amount = 0.0
    elif case == "nan":
        amount = math.nan
    elif case == "too_much":
        amount = offer  # one unit is held already
    elif case == "own_call":
        call = programme.call
        pool = programme.call.pools[0].pool_id
    elif case == "not_offered":
        pool = programme.call.pools[0].pool_id
    elif case == "twice":
        proposal = other
    elif case == "not_awarded":
        proposal = db.scalars(select(Proposal).where(Proposal.call_id == later.id)).first()
    elif case == "allocated":
        later.status = "allocation"
    db.flush()
    before = (_parts(db), al.free_capacity(db, later)[pool_id])
    with pytest.raises(DomainError, match=message):
        lp.hold_later_part(db, proposal, call, pool, amount)
    assert (_parts(db), al.free_capacity(db, later)[pool_id]) == before


def test_the_user_office_holds_and_decides_a_later_part_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with cli_database(tmp_path, monkeypatch, "later") as (runner, factory):
        with unit_of_work(factory) as s:
            programme, _other, later, pool_id, offer = _programme(s)
            code, slug, later_slug = programme.code, programme.call.slug, later.slug
        hold = ["postaward", "later-part", "--call", slug, "--proposal", code,
                "--later-call", later_slug, "--resource", str(pool_id)]  # fmt: skip
        r = runner.invoke(cli_app, [*hold, "--amount", str(offer + 1)])
        assert r.exit_code == 2 and "less than this part" in r.output, r.output
        r = runner.invoke(cli_app, [*hold, "--amount", "4"])
        assert r.exit_code == 0 and f"held in {later_slug}" in r.output, r.output
        with unit_of_work(factory) as s:
            (part,) = lp.parts_of(s, [programme.id])
            part_id = part.id
            assert al.free_capacity(s, s.get_one(Call, later.id))[pool_id] == offer - 4
        r = runner.invoke(cli_app, ["postaward", "progress", str(part_id), "--note", ""])
        assert r.exit_code == 2 and "progress report showed" in r.output, r.output
        r = runner.invoke(
            cli_app, ["postaward", "progress", str(part_id), "--return", "--note", "No report."]
        )
        assert r.exit_code == 0 and "returned" in r.output, r.output
        with unit_of_work(factory) as s:
            assert al.free_capacity(s, s.get_one(Call, later.id))[pool_id] == offer
