"""An awardee declines a released award: the capacity is freed (awards removed, the
schedule's entries released), the office is mailed once, the chair offers the freed
capacity to the next in line through the override's capacity check, and bad input or
the wrong person changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall import jobs
from opencall.allocation import services as al
from opencall.allocation.models import Award, AwardDecline, Decision
from opencall.auditlog import AuditEvent
from opencall.errors import DomainError
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.results import declines
from opencall.reviews.models import Conflict
from opencall.reviews.policies import withheld
from opencall.scheduling.models import ScheduleEntry
from tests import factories as F
from tests.results.decline_world import build, get_call, get_proposal


def _mails(s: Session) -> list[str]:
    """The recipients of the mail jobs queued so far, in the order queued."""
    return [
        j.payload["to"]
        for j in s.scalars(select(jobs.Job).where(jobs.Job.kind == "mail").order_by(jobs.Job.id))
    ]


def _awards(s: Session, pid: int) -> list[float]:
    return sorted(s.scalars(select(Award.amount).where(Award.proposal_id == pid)))


def test_the_pi_declines_and_the_capacity_and_the_schedule_are_freed(db: Session) -> None:
    s = db
    w = build(s)
    first = get_proposal(s, w.awarded[0])
    held = _awards(s, first.id)
    assert held and s.scalar(
        select(func.count(ScheduleEntry.id)).where(ScheduleEntry.proposal_id == first.id)
    )
    free_before = al.free_capacity(s, get_call(s, w))
    # a third chair with a conflict with the declined proposal is not told of it
    hands_off = F.user(s, email="hands-off@decline.example")
    people_services.grant_role(s, hands_off.id, "chair", call_id=w.call_id)
    s.add(Conflict(call_id=w.call_id, proposal_id=first.id, reviewer_id=hands_off.id,
                   source="declared_reviewer"))  # fmt: skip
    before_mails = len(_mails(s))
    row, made = declines.decline_award(
        s, first, reason="visa", note="Visa refused twice.", actor_id=w.ids["pi"],
        base_url="https://oc.example",
    )  # fmt: skip
    assert made and row.reason == "visa" and row.note == "Visa refused twice."
    assert sorted(f["amount"] for f in row.freed) == held
    assert row.entries_released == 1
    assert _awards(s, first.id) == []
    assert not s.scalar(
        select(func.count(ScheduleEntry.id)).where(ScheduleEntry.proposal_id == first.id)
    )
    free_after = al.free_capacity(s, get_call(s, w))
    freed = {f["pool_id"]: f["amount"] for f in row.freed}
    for pool_id, amount in freed.items():
        assert free_after[pool_id] == pytest.approx(free_before[pool_id] + amount)
    # the decision stands as decided; the decline is beside it
    d = s.scalar(select(Decision).where(Decision.proposal_id == first.id))
    assert d is not None and d.outcome == "awarded"
    ev = s.scalar(select(AuditEvent).where(AuditEvent.action == "award.declined"))
    assert ev is not None and ev.data["reason"] == "visa" and ev.actor_id == w.ids["pi"]
    # the call's chairs are mailed once each (the second chair's conflict is with another
    # proposal), the one conflicted with the declined proposal is not, nor anybody else
    assert sorted(_mails(s)[before_mails:]) == sorted([w.emails["chair"], w.emails["conflicted"]])
    # a resend changes nothing and mails nobody
    counts = F.table_counts(s)
    again, made = declines.decline_award(s, first, reason="funding", actor_id=w.ids["pi"])
    assert not made and again.id == row.id and again.reason == "visa"
    assert F.table_counts(s) == counts


@pytest.mark.parametrize(
    ("who", "reason", "note", "match"),
    [
        ("pi", "bored", "", "Choose why"),
        ("pi", "visa", "x" * 2001, "2,000"),
        ("coi", "visa", "", "Not found"),
        ("other_pi", "visa", "", "Not found"),
        ("reviewer", "visa", "", "Not found"),
        ("chair", "visa", "", "Not found"),
    ],
)
def test_bad_input_or_the_wrong_person_changes_nothing(
    db: Session, who: str, reason: str, note: str, match: str
) -> None:
    s = db
    w = build(s)
    first = get_proposal(s, w.awarded[0])
    counts = F.table_counts(s)
    with pytest.raises(DomainError, match=match):
        declines.decline_award(s, first, reason=reason, note=note, actor_id=w.ids[who])
    assert F.table_counts(s) == counts
    if who != "pi":
        # once the PI has declined, the service still refuses anyone else: it does not
        # hand them the PI's decline and note as a resend's answer
        declines.decline_award(s, first, reason="visa", note="Visa refused.", actor_id=w.ids["pi"])
        with pytest.raises(DomainError, match="Not found"):
            declines.decline_award(s, first, reason="visa", actor_id=w.ids[who])


def test_an_unreleased_or_used_award_cannot_be_declined(db: Session) -> None:
    s = db
    w = build(s)
    call = get_call(s, w)
    first = get_proposal(s, w.awarded[0])
    call.decisions_released_at = None
    counts = F.table_counts(s)
    with pytest.raises(DomainError, match="released award"):
        declines.decline_award(s, first, reason="visa", actor_id=w.ids["pi"])
    assert F.table_counts(s) == counts
    # a proposal never awarded has nothing to decline
    waiting = get_proposal(s, w.waiting[0])
    with pytest.raises(DomainError, match="released award"):
        declines.decline_award(s, waiting, reason="visa", actor_id=waiting.pi_user_id)
    assert F.table_counts(s) == counts


def test_the_chair_offers_the_freed_capacity_to_the_next_in_line(db: Session) -> None:
    s = db
    w = build(s)
    call = get_call(s, w)
    chair = s.get(User, w.ids["chair"])
    assert al.next_in_line(s, call) == []  # nothing declined, nothing to offer
    with pytest.raises(DomainError, match="follows a declined award"):
        al.offer_award(s, call, get_proposal(s, w.waiting[0]), reason="r", actor_id=chair.id)
    declines.decline_award(s, get_proposal(s, w.awarded[0]), reason="dates",
                           actor_id=w.ids["pi"])  # fmt: skip
    line = al.next_in_line(s, call)
    # each of the two waiting fits alone in what was freed, in the ranking's order
    assert [p.id for _, p, _ in line] == w.waiting
    assert [r for r, _, _ in line] == sorted(r for r, _, _ in line)
    counts = F.table_counts(s)
    with pytest.raises(DomainError, match="reason"):
        al.offer_award(s, call, get_proposal(s, w.waiting[0]), reason=" ", actor_id=chair.id)
    with pytest.raises(DomainError, match="not in line"):
        al.offer_award(s, call, get_proposal(s, w.awarded[1]), reason="r", actor_id=chair.id)
    assert F.table_counts(s) == counts
    nxt = get_proposal(s, w.waiting[0])
    d = al.offer_award(s, call, nxt, reason="Visa refused for the first", actor_id=chair.id)
    assert d.outcome == "awarded" and nxt.status == "accepted"
    assert sum(_awards(s, nxt.id)) == pytest.approx(
        sum(a.amount for _, p, aw in line if p.id == nxt.id for a in aw)
    )
    assert s.scalar(select(AuditEvent).where(AuditEvent.action == "decision.offered"))
    # the second no longer fits: the override's capacity check refuses it, nothing changes
    assert al.next_in_line(s, call) == []
    counts = F.table_counts(s)
    with pytest.raises(DomainError, match="overdraw capacity"):
        al.offer_award(s, call, get_proposal(s, w.waiting[1]), reason="r", actor_id=chair.id)
    assert F.table_counts(s) == counts
    # a declined award is not offered again
    first = get_proposal(s, w.awarded[0])
    with pytest.raises(DomainError, match="not in line"):
        al.offer_award(s, call, first, reason="r", actor_id=chair.id)
    assert s.scalar(select(func.count(AwardDecline.id))) == 1


def test_a_conflicted_chair_neither_sees_nor_offers_the_conflicted_proposal(db: Session) -> None:
    s = db
    w = build(s)
    call = get_call(s, w)
    declines.decline_award(s, get_proposal(s, w.awarded[0]), reason="visa",
                           actor_id=w.ids["pi"])  # fmt: skip
    conflicted = s.get(User, w.ids["conflicted"])
    hidden = withheld(s, conflicted, call)
    assert w.waiting[0] in hidden
    assert [p.id for _, p, _ in al.next_in_line(s, call, hidden)] == [w.waiting[1]]
    counts = F.table_counts(s)
    with pytest.raises(DomainError) as e:
        al.offer_award(s, call, get_proposal(s, w.waiting[0]), reason="r", actor_id=conflicted.id)
    assert e.value.code == "own_proposal"
    assert F.table_counts(s) == counts


def test_declines_are_counted_by_group_and_not_as_awards_used(db: Session) -> None:
    from opencall.outcomes import queries as oq
    from opencall.outcomes.domain import TOTAL
    from opencall.outcomes.figures import declines_table
    from opencall.results import queries as resq

    s = db
    w = build(s)
    call = get_call(s, w)
    assert "declines" not in oq.report(s, call)  # none declined: the report as it was
    declines.decline_award(s, get_proposal(s, w.awarded[0]), reason="visa",
                           actor_id=w.ids["pi"])  # fmt: skip
    data = oq.report(s, call)
    income = data["declines"]["by"]["income_group"]
    assert income[0] == {
        "group": "all",
        "awarded": 2,
        "declined": 1,
        "reasons": {"visa": 1, "funding": 0, "dates": 0, "other": 0},
    }
    assert [r["group"] for r in income[1:]] == ["upper-middle"]  # every PI is in Brazil
    assert data["declines"]["by"]["ldc"][1]["group"] == "non-LDC"
    assert data["declines"]["by"]["un_region"][1]["declined"] == 1
    assert "declined:visa" in oq.report_csv(data)
    from opencall.outcomes.report import report_document, report_pdf

    doc = report_document(data, lambda text, **k: text % k if k else text)
    assert [t["title"] for t in doc["declines"]][0] == (
        "Awards declined by the applicants, by income group"
    )
    assert doc["declines"][0]["rows"][0][1:4] == ["2", "1", "1"]  # awarded, declined, visa
    assert report_pdf(data).startswith(b"%PDF")
    # the declined award is no award used after the award
    stages = resq.stages_of_call(s, call, today=F.NOW.date())
    assert w.awarded[0] not in stages and w.awarded[1] in stages
    # the public table: one decline is a small cell, shown as "<5"
    rows = oq.declined_pis(s, call.id)
    assert [(pid, reason) for pid, reason, *_ in rows] == [(w.awarded[0], "visa")]
    table = declines_table(rows, "income", ["visa", "funding", "dates", "other"])
    assert table is not None and table.display("upper-middle", "visa") == "<5"
    assert table.display(TOTAL, TOTAL) == "<5"
