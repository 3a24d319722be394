"""Conflicts of interest: computed for a call from teams, institutions, co-authorship
and declared relations (a conflicted active assignment is removed), relations a
person declares, and the conflict a reviewer declares on an assignment."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.calls.models import Call
from opencall.calls.schemas import review_settings
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.people.models import Institution, User
from opencall.reviews import queries as q
from opencall.reviews.domain import ConflictIndex
from opencall.reviews.models import Conflict, DeclaredRelation, ReviewAssignment
from opencall.reviews.services.assignment import _audit_assignment
from opencall.reviews.services.common import load_revisions, lock_answer, revision_content
from opencall.runs import Solve, record_run


def compute_conflicts(
    session: Session, call: Call, *, actor_id: int | None = None, now: dt.datetime | None = None
) -> dict[str, int]:
    """Recompute the computed conflicts of a call (declared ones are kept).

    Sources: ``team`` (the reviewer is on the team, also in distributed review
    where applicants review each other), ``institution`` (same institution by
    ROR id or normalised name), ``coauthor`` (declared co-authorship or
    advising, a team member among the authors of the reviewer's publications, or a
    team member who shared the team of a submitted proposal with the reviewer, any
    call: ``queries.teammates``; within ``coauthor_years``), ``personal`` (declared by
    either side).
    """
    solve = Solve(actor_id=actor_id)
    now = now or utcnow()
    rs = review_settings(call.review_settings)
    # every reviewing role (panel and technical reviewers alike) and the call's staff: a
    # chair at a team's institution is conflicted with it even without a reviewing role
    reviewers = q.judging_users_of_call(session, call)
    proposals = q.proposals_for_review(session, call)
    session.execute(
        delete(Conflict).where(
            Conflict.call_id == call.id,
            Conflict.source.in_(("team", "institution", "coauthor", "personal")),
        )
    )
    # the teams' institutions are read for their ROR ids only: not the whole table, which
    # grows by a row for each new name anyone types (an account page saved again and
    # again; trialcrowd16), only the rows that have one (an operator's records)
    insts = {
        i.id: i for i in session.scalars(select(Institution).where(Institution.ror_id.is_not(None)))
    }
    relations = q.relations(session)
    pubs = q.publications_by_user(session, [r.id for r in reviewers])
    people = [q.person_facts(r, pubs.get(r.id, ())) for r in reviewers]
    found: dict[tuple[int, int, str], str] = {}
    _held = load_revisions(session, proposals)  # held: revision_content reads them
    # only the people who share a fact with a team are tested against it (not P x R pairs)
    index = ConflictIndex(people, relations)
    # co-investigators on a proposal submitted here, of any call, within the co-author
    # years: co-authors the platform knows of, whether or not either declared it
    mates = q.teammates(session, [r.id for r in reviewers])
    for p in proposals:
        team = q.team_facts(p, revision_content(session, p), insts)
        for person, sources in index.sources(team, coauthor_years=rs.coauthor_years, year=now.year):
            for source, detail in sources.items():
                found[(p.id, person.user_id, source)] = detail
        keys = [("user", u) for u in team.user_ids] + [("email", e.lower()) for e in team.emails]
        for key in keys:
            for rid, year in mates.get(key, {}).items():
                if rid in team.user_ids or now.year - year > rs.coauthor_years:
                    continue
                if (p.id, rid, "team") not in found:
                    found.setdefault(
                        (p.id, rid, "coauthor"), f"on a proposal's team together ({year})"
                    )
    rows = [
        {
            "call_id": call.id,
            "proposal_id": pid,
            "reviewer_id": rid,
            "source": source,
            "detail": detail,
        }
        for (pid, rid, source), detail in sorted(found.items())
    ]
    for i in range(0, len(rows), 5000):
        session.execute(insert(Conflict), rows[i : i + 5000])
    session.flush()
    # conflicts are enforced: an active assignment that became conflicted is removed
    removed = 0
    pairs = q.conflict_pairs(session, call)
    for a in q.assignments_of_call(session, call):
        if (a.proposal_id, a.reviewer_id) in pairs and a.status != "submitted":
            a.status = "removed"
            removed += 1
    counts: dict[str, int] = {}
    for _, _, source in found:
        counts[source] = counts.get(source, 0) + 1
    record_run(
        session,
        call,
        "conflicts",
        solve,
        inputs={"proposals": [p.id for p in proposals], "reviewers": [r.id for r in reviewers]},
        parameters={"coauthor_years": rs.coauthor_years},
        summary={"by_source": counts, "assignments_removed": removed},
    )
    return counts


def declare_relation(
    session: Session,
    user: User,
    other_email: str,
    kind: str,
    year: int | None = None,
    note: str = "",
) -> DeclaredRelation:
    if kind not in ("coauthor", "advisor", "personal"):
        raise DomainError(
            "A declared relation is a coauthor, advisor or personal one.", field="kind"
        )
    rel = DeclaredRelation(
        user_id=user.id, other_email=other_email.strip().lower(), kind=kind, year=year, note=note
    )
    session.add(rel)
    session.flush()
    auditlog.record(
        session,
        "conflict.declared_relation",
        "user",
        user.id,
        actor_id=user.id,
        data={"kind": kind},
    )
    return rel


def declare_conflict(
    session: Session, assignment: ReviewAssignment, reviewer: User, reason: str
) -> Conflict:
    """A reviewer declares a conflict: the assignment is removed, the reason kept.

    Before reading, or after the review was submitted (a conflict the reviewer learns of
    late, trialchair24): the review is kept but no longer counts (the calibration reads
    submitted assignments without a conflict, so the ranking says it must be calibrated
    again), the event is audited as ``conflict.declared_after_review`` and the chair's
    ranking page lists it (``queries.late_conflicts``)."""
    lock_answer(session, assignment)
    if assignment.reviewer_id != reviewer.id:
        raise DomainError("Not found", code="not_found")
    late = assignment.status == "submitted"
    if not reason.strip():
        raise DomainError("Please say briefly why you are conflicted.", field="reason")
    assignment.status = "removed"
    c = Conflict(
        call_id=assignment.call_id,
        proposal_id=assignment.proposal_id,
        reviewer_id=reviewer.id,
        source="declared_reviewer",
        detail=reason.strip()[:2000],
    )
    session.add(c)
    action = "conflict.declared_after_review" if late else "conflict.declared"
    _audit_assignment(session, action, assignment, actor_id=reviewer.id, reason=reason)
    return c


def declared_before(
    session: Session, assignment_id: int, reviewer: User | None
) -> tuple[ReviewAssignment, Conflict] | None:
    """The assignment ``reviewer`` already declared a conflict on, and that declaration:
    the same declaration sent again (a browser's resend, an API client's retry after a
    lost answer) gets the first one's answer and changes nothing. None for any other
    assignment (someone else's, one still active, one removed for another reason)."""
    a = session.get(ReviewAssignment, assignment_id)
    if reviewer is None or a is None or a.reviewer_id != reviewer.id or a.status != "removed":
        return None
    c = session.scalar(
        select(Conflict)
        .where(
            Conflict.proposal_id == a.proposal_id,
            Conflict.reviewer_id == reviewer.id,
            Conflict.source == "declared_reviewer",
        )
        .order_by(Conflict.id)
        .limit(1)
    )
    return None if c is None else (a, c)
