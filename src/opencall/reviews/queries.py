from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, union
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.calls.policies import STAFF_ROLES
from opencall.calls.schemas import review_settings
from opencall.db import utcnow
from opencall.people.bibliography import author_key
from opencall.people.domain import institution_key, mailbox_key
from opencall.people.models import Country, Institution, ReviewerPublication, RoleGrant, User
from opencall.people.queries import countries_named
from opencall.proposals import queries as proposal_queries
from opencall.proposals.domain import name_fact
from opencall.proposals.models import (
    AnonymityScan,
    Attachment,
    Proposal,
    ProposalRevision,
    RevisionFact,
    TeamMember,
)
from opencall.proposals.queries import snapshot
from opencall.reviews.domain import REVIEWING_ROLES, PersonFacts, Relation, TeamFacts
from opencall.reviews.models import (
    Conflict,
    DeclaredRelation,
    PanelConsensus,
    RankedProposal,
    Review,
    ReviewAssignment,
    ReviewDeadlineExtension,
    ReviewerLanguages,
    ReviewerLoadLimit,
    ReviewerYearLimit,
    ReviewInvitation,
    SafetyReview,
    SolverRun,
    TechnicalReview,
)

REVIEWABLE = ("under_review", "accepted", "rejected")


def users_of_call(session: Session, call: Call, roles: Sequence[str]) -> list[User]:
    """Everyone who holds one of ``roles`` on the call or on its provider."""
    stmt = (
        select(User)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(
            RoleGrant.role.in_(roles),
            or_(RoleGrant.call_id == call.id, RoleGrant.provider_id == call.provider_id),
        )
        .order_by(User.id)
    )
    return list(session.scalars(stmt).unique())


def reviewers_of_call(session: Session, call: Call) -> list[User]:
    """The call's panel reviewers."""
    return users_of_call(session, call, ("reviewer",))


def reviewers_named(session: Session, call: Call, text: str) -> list[User]:
    """The call's reviewers that ``text`` names: the one whose e-mail it is (letter case
    aside), else those whose full name it is (letter case and spacing aside). How the
    chair's hand-assignment form names a reviewer without the page listing the whole
    pool. The reviewers are those a hand assignment may be given to
    (``services.assignment.add_assignment``): the call's panel reviewers and, in
    distributed review, its applicants too (the accepted members of the teams of its
    proposals under review)."""
    key = " ".join(text.split()).casefold()
    if not key:
        return []
    pool = reviewers_of_call(session, call)
    if review_settings(call.review_settings).mode == "distributed":
        known = {u.id for u in pool}
        applicants = set().union(*review_teams(session, call).values()) - known
        if applicants:
            pool += session.scalars(
                select(User).where(User.id.in_(applicants)).order_by(User.id)
            ).all()
    by_email = [u for u in pool if (u.email or "").casefold() == key]
    return by_email or [u for u in pool if " ".join((u.name or "").split()).casefold() == key]


def judging_users_of_call(session: Session, call: Call) -> list[User]:
    """Everyone who judges or decides on the call's proposals: its reviewers in any role and
    its staff (chairs, and the user office, which runs the call as chair). Conflicts are
    computed for all of them, so that a chair at a team's institution with no reviewing
    role has a recorded conflict too and "leaves the room" (``policies.withheld``).
    A site administrator holds no role on the call and is not among them."""
    return users_of_call(session, call, (*REVIEWING_ROLES, *STAFF_ROLES))


def person_facts(user: User, publications: Sequence[ReviewerPublication] = ()) -> PersonFacts:
    inst = user.institution
    own = author_key(user.name)
    coauthors = {
        (key, pub.year)
        for pub in publications
        for key in (author_key(a) for a in pub.authors or [])
        if key is not None and key != own
    }
    return PersonFacts(
        user_id=user.id,
        email=user.email,
        mailbox=mailbox_key(user.email),
        # from the name, as the team's keys are (a key stored before names in every
        # script had one was empty: such a reviewer would be in conflict with no one)
        institution_key=institution_key(inst.name) if inst is not None else None,
        ror=inst.ror_id if inst is not None and inst.ror_id else None,
        coauthors=tuple(sorted(coauthors, key=lambda c: (c[0], c[1] or 0))),
    )


def publications_by_user(
    session: Session, user_ids: list[int]
) -> dict[int, list[ReviewerPublication]]:
    out: dict[int, list[ReviewerPublication]] = {}
    if not user_ids:
        return out
    for pub in session.scalars(
        select(ReviewerPublication).where(ReviewerPublication.user_id.in_(user_ids))
    ):
        out.setdefault(pub.user_id, []).append(pub)
    return out


def team_facts(
    proposal: Proposal, content: dict[str, Any], institutions: dict[int, Institution]
) -> TeamFacts:
    """The team of the submitted revision plus every member (accepted or invited) now."""
    members = [m for m in proposal.members if m.status in ("accepted", "invited")]
    keys, rors = set(), set()
    for t in content.get("team", []):
        if t.get("institution"):
            keys.add(institution_key(t["institution"]))
        inst = institutions.get(t.get("institution_id") or -1)
        if inst is not None and inst.ror_id:
            rors.add(inst.ror_id)
    emails = {m.email for m in members} | {t["email"] for t in content.get("team", [])}
    return TeamFacts(
        user_ids=frozenset(m.user_id for m in members if m.user_id),
        emails=frozenset(emails),
        mailboxes=frozenset(mailbox_key(e) for e in emails if e),
        institution_keys=frozenset(keys),
        rors=frozenset(rors),
        name_keys=frozenset(
            k for k in (author_key(t.get("name", "")) for t in content.get("team", [])) if k
        ),
    )


def teammates(session: Session, user_ids: list[int]) -> dict[tuple[str, Any], dict[int, int]]:
    """Who shared a team with each of these people on the platform (trialcrowd10): every
    proposal ever submitted, of any call, on whose team both were accepted members.
    ``{("user", id) or ("email", address): {person: the latest year submitted}}``: a
    co-investigator is a co-author the platform knows of, declared or not."""
    from sqlalchemy.orm import aliased

    mine, theirs = aliased(TeamMember), aliased(TeamMember)
    out: dict[tuple[str, Any], dict[int, int]] = {}
    for i in range(0, len(user_ids), 5000):
        rows = session.execute(
            select(mine.user_id, theirs.user_id, theirs.email, func.max(Proposal.submitted_at))
            .join(theirs, theirs.proposal_id == mine.proposal_id)
            .join(Proposal, Proposal.id == mine.proposal_id)
            .where(
                mine.user_id.in_(user_ids[i : i + 5000]),
                mine.status == "accepted",
                theirs.status == "accepted",
                theirs.id != mine.id,
                Proposal.submitted_at.is_not(None),
            )
            .group_by(mine.user_id, theirs.user_id, theirs.email)
        )
        for person, uid, email, when in rows:
            if person is None or when is None:
                continue
            keys = [("email", (email or "").lower())] + ([("user", uid)] if uid else [])
            for key in keys:
                seen = out.setdefault(key, {})
                seen[person] = max(seen.get(person, when.year), when.year)
    return out


def relations(session: Session, *, about: list[User] | None = None) -> list[Relation]:
    """Declared relations (all of them, or those declared by or naming these people)."""
    stmt = select(DeclaredRelation)
    if about is not None:
        stmt = stmt.where(
            or_(
                DeclaredRelation.user_id.in_([u.id for u in about]),
                DeclaredRelation.other_email.in_([u.email for u in about]),
            )
        )
    return [
        Relation(r.user_id, r.other_email, r.kind, r.year, r.note) for r in session.scalars(stmt)
    ]


def revision_content(session: Session, proposal: Proposal) -> dict[str, Any]:
    """The submitted revision under review (empty for a proposal never submitted)."""
    if proposal.current_revision_id is None:
        return {}
    rev = session.get(ProposalRevision, proposal.current_revision_id)
    return rev.content if rev is not None else {}


def revision_contents(session: Session, proposals: Sequence[Proposal]) -> dict[int, dict[str, Any]]:
    """:func:`revision_content` of many proposals, by proposal id, in one query per
    5,000 (a call's list of proposals read a revision a row, twice)."""
    by_rev = {p.current_revision_id: p.id for p in proposals if p.current_revision_id}
    out: dict[int, dict[str, Any]] = {p.id: {} for p in proposals}
    ids = sorted(by_rev)
    for i in range(0, len(ids), 5000):
        rows = session.execute(
            select(ProposalRevision.id, ProposalRevision.content).where(
                ProposalRevision.id.in_(ids[i : i + 5000])
            )
        )
        for rev_id, content in rows:
            out[by_rev[rev_id]] = content
    return out


def revision(session: Session, proposal: Proposal) -> dict[str, Any]:
    """The frozen revision under review (the live content before any submission)."""
    if proposal.current_revision_id is None:
        return snapshot(proposal)  # (only for never-submitted drafts)
    rev = session.get(ProposalRevision, proposal.current_revision_id)
    assert rev is not None
    return rev.content


def proposals_for_review(session: Session, call: Call, of: Any = None) -> list[Proposal]:
    """The call's proposals under review, by id; of those whose ids the select ``of``
    gives, when given (a page that names a few: the rest are not read)."""
    stmt = (
        select(Proposal)
        .where(Proposal.call_id == call.id, Proposal.status.in_(REVIEWABLE))
        .order_by(Proposal.id)
    )
    if of is not None:
        stmt = stmt.where(Proposal.id.in_(of))
    return list(session.scalars(stmt))


def codes_and_titles(session: Session, call: Call, of: Any = None) -> dict[int, dict[str, str]]:
    """``{proposal id: {"code", "title"}}`` of the call's proposals under review (of those
    whose ids the select ``of`` gives, when given: a download's rows), as columns: what
    the office's downloads name a row's proposal by. Whole proposals would load each
    one's team, requests and attachments (a conference's 20,000 proposals: some 100,000
    rows a download)."""
    stmt = select(Proposal.id, Proposal.code, Proposal.title).where(
        Proposal.call_id == call.id, Proposal.status.in_(REVIEWABLE)
    )
    if of is not None:
        stmt = stmt.where(Proposal.id.in_(of))
    return {
        int(pid): {"code": code, "title": title}
        for pid, code, title in session.execute(stmt.order_by(Proposal.id))
    }


def review_teams(session: Session, call: Call) -> dict[int, set[int]]:
    """The accounts on each team of the call's proposals under review (accepted members
    with an account), ``{proposal id: {user id}}``: in distributed review, the reviewers
    and the ties the assignment keeps apart (one query)."""
    out: dict[int, set[int]] = {}
    for pid, uid in session.execute(
        select(TeamMember.proposal_id, TeamMember.user_id)
        .join(Proposal, Proposal.id == TeamMember.proposal_id)
        .where(
            Proposal.call_id == call.id,
            Proposal.status.in_(REVIEWABLE),
            TeamMember.status == "accepted",
            TeamMember.user_id.is_not(None),
        )
    ):
        if uid is not None:
            out.setdefault(pid, set()).add(uid)
    return out


def conflict_candidates(
    session: Session, call: Call, person: PersonFacts, relations: Sequence[Relation]
) -> set[int]:
    """The ids of the proposals under review of ``call`` that ``person`` might be in
    conflict with, found in the database: every proposal sharing a fact with them (an
    account or e-mail on the team now or in the submitted revision, an institution by ROR
    id or name key, a co-author's name key, a declared relation naming either side) or
    with a stored conflict. A superset of the proposals
    :func:`opencall.reviews.domain.conflict_sources` finds a conflict with (it reads the
    same facts: :func:`team_facts`), so that only these need to be read and checked; the
    rest of the call is never loaded. Three statements, whatever the call's size."""
    reviewable = (Proposal.call_id == call.id, Proposal.status.in_(REVIEWABLE))
    # relations declared by the person name a team's e-mail; those declared by someone
    # on a team name the person
    rel_emails = {r.other_email for r in relations if r.user_id == person.user_id}
    rel_users = {r.user_id for r in relations if r.other_email == person.email}
    member = or_(
        TeamMember.user_id.in_(sorted({person.user_id} | rel_users)),
        TeamMember.email.in_(sorted({person.email} | rel_emails)),
    )
    out = set(
        session.scalars(
            select(Proposal.id)
            .join(TeamMember, TeamMember.proposal_id == Proposal.id)
            .where(*reviewable, member)
        )
    )
    wanted: dict[str, set[str]] = {"email": {person.email} | rel_emails}
    if person.institution_key:
        wanted["key"] = {person.institution_key}
    if person.ror:
        wanted["inst"] = {
            str(i)
            for i in session.scalars(select(Institution.id).where(Institution.ror_id == person.ror))
        }
    names = {name_fact(key) for key, _year in person.coauthors}
    if names:
        wanted["name"] = names
    facts = or_(
        *(
            and_(RevisionFact.kind == kind, RevisionFact.value.in_(sorted(values)))
            for kind, values in wanted.items()
            if values
        )
    )
    out.update(
        session.scalars(
            select(Proposal.id)
            .join(RevisionFact, RevisionFact.revision_id == Proposal.current_revision_id)
            .where(*reviewable, facts)
        )
    )
    out.update(
        session.scalars(
            select(Conflict.proposal_id)
            .join(Proposal, Proposal.id == Conflict.proposal_id)
            .where(*reviewable, Conflict.reviewer_id == person.user_id)
        )
    )
    return out


def _candidate_ids(call: Call) -> Any:
    """The ids (a subquery) of :func:`anonymity_candidates` before the unscanned are
    set apart."""
    reviewable = (Proposal.call_id == call.id, Proposal.status.in_(REVIEWABLE))
    flagged = (
        select(AnonymityScan.proposal_id)
        .join(Proposal, Proposal.id == AnonymityScan.proposal_id)
        .where(
            *reviewable,
            # superseded: a version the job found changed before it ran, never the
            # current one (a return to it queues its scan again)
            AnonymityScan.status != "superseded",
            or_(
                AnonymityScan.status != "done",
                func.json_array_length(AnonymityScan.findings) > 0,
            ),
        )
    )
    no_text = select(Proposal.id).where(
        *reviewable,
        ~select(AnonymityScan.id)
        .where(AnonymityScan.proposal_id == Proposal.id, AnonymityScan.subject == "text")
        .exists(),
    )
    no_file = (
        select(Attachment.proposal_id)
        .join(Proposal, Proposal.id == Attachment.proposal_id)
        .where(
            *reviewable,
            ~select(AnonymityScan.id).where(AnonymityScan.attachment_id == Attachment.id).exists(),
        )
    )
    return union(flagged, no_text, no_file).subquery()


def _unscanned(call: Call) -> Any:
    """The candidates (:func:`_candidate_ids`) none of whose scans ran: every scan row
    of theirs queued or superseded (or none). By ``cached_findings_of``'s reckoning each
    has its text and each of its files pending and nothing else (a queued scan is
    pending, a superseded one is never of the current version): counted, never read."""
    ran = (
        select(AnonymityScan.id)
        .where(
            AnonymityScan.proposal_id == Proposal.id,
            AnonymityScan.status.not_in(("queued", "superseded")),
        )
        .exists()
    )
    candidates = _candidate_ids(call)
    return select(Proposal.id).where(Proposal.id.in_(select(candidates.c[0])), ~ran)


def anonymity_candidates(session: Session, call: Call) -> list[Proposal]:
    """The proposals under review of ``call`` whose anonymity check may have something to
    show (``proposals.queries.cached_findings_of``: a finding, a scan pending or failed),
    found in the database: those with a scan not done (superseded aside) or with findings
    (of any version), with no text scan at all, or with a file never scanned; but those
    none of whose scans ran (:func:`unscanned_pending` counts them). The others' scans
    are all done and clean, so only these need to be read and keyed: the chair's cockpit
    read and keyed every proposal of a dual-anonymous call on every visit (8,616 rows at
    the demo's scale 5), and every one not scanned yet (105,854 rows for 18,041 at scale
    80). A version changed without its scan requested (every service that changes the
    text, the team or the files requests it) would not be seen as pending."""
    ids = _candidate_ids(call)
    return list(
        session.scalars(
            select(Proposal)
            .where(Proposal.id.in_(select(ids.c[0])), Proposal.id.not_in(_unscanned(call)))
            .order_by(Proposal.id)
        )
    )


def unscanned_pending(session: Session, call: Call) -> int:
    """The scans pending of the candidates none of whose scans ran: their texts and their
    files, counted in the database (what ``cached_findings_of`` would count reading each
    one whole with its team, requests and files)."""
    unscanned = _unscanned(call)
    texts = session.scalar(select(func.count()).select_from(unscanned.subquery())) or 0
    files = (
        session.scalar(
            select(func.count(Attachment.id)).where(Attachment.proposal_id.in_(unscanned))
        )
        or 0
    )
    return int(texts) + int(files)


def count_proposals_for_review(session: Session, call: Call) -> int:
    """``len(proposals_for_review(...))`` as one COUNT (no proposal loaded)."""
    stmt = select(func.count(Proposal.id)).where(
        Proposal.call_id == call.id, Proposal.status.in_(REVIEWABLE)
    )
    return int(session.scalar(stmt) or 0)


def conflict_pairs(session: Session, call: Call) -> set[tuple[int, int]]:
    rows = session.execute(
        select(Conflict.proposal_id, Conflict.reviewer_id).where(Conflict.call_id == call.id)
    )
    return {(p, r) for p, r in rows}


@dataclass(frozen=True)
class LateConflict:
    """A conflict a reviewer declared after submitting their review (trialchair24)."""

    proposal_id: int
    reviewer_id: int
    reason: str
    at: dt.datetime


def late_conflicts(session: Session, call: Call) -> list[LateConflict]:
    """The conflicts of ``call`` its reviewers declared after submitting their review, in
    the order declared: each such review is kept but no longer counts in the calibration,
    and the chair's ranking page lists them."""
    stmt = (
        select(Conflict.proposal_id, Conflict.reviewer_id, Conflict.detail, Conflict.created_at)
        .join(
            ReviewAssignment,
            (ReviewAssignment.proposal_id == Conflict.proposal_id)
            & (ReviewAssignment.reviewer_id == Conflict.reviewer_id),
        )
        .join(Review, Review.assignment_id == ReviewAssignment.id)
        .where(
            Conflict.call_id == call.id,
            Conflict.source == "declared_reviewer",
            ReviewAssignment.status == "removed",
            Review.submitted_at.is_not(None),
        )
        .order_by(Conflict.created_at, Conflict.id)
    )
    return [LateConflict(p, r, d, at) for p, r, d, at in session.execute(stmt)]


def is_conflicted(session: Session, proposal_id: int, reviewer_id: int) -> bool:
    stmt = select(Conflict.id).where(
        Conflict.proposal_id == proposal_id, Conflict.reviewer_id == reviewer_id
    )
    return session.scalar(stmt.limit(1)) is not None


def conflicted_among(session: Session, pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """The (proposal_id, reviewer_id) pairs among ``pairs`` with a conflict (as
    :func:`is_conflicted`, for many pairs in a few queries)."""
    wanted = set(pairs)
    out: set[tuple[int, int]] = set()
    proposal_ids = sorted({p for p, _ in wanted})
    for i in range(0, len(proposal_ids), 5000):
        rows = session.execute(
            select(Conflict.proposal_id, Conflict.reviewer_id).where(
                Conflict.proposal_id.in_(proposal_ids[i : i + 5000])
            )
        )
        out.update(pair for pair in rows.tuples() if pair in wanted)
    return out


def assignments_of_call(
    session: Session, call: Call, *, active: bool = True
) -> list[ReviewAssignment]:
    stmt = select(ReviewAssignment).where(ReviewAssignment.call_id == call.id)
    if active:
        stmt = stmt.where(ReviewAssignment.status.in_(("assigned", "accepted", "submitted")))
    return list(session.scalars(stmt.order_by(ReviewAssignment.id)))


def active_pairs(session: Session, call: Call) -> list[tuple[int, int]]:
    """(proposal id, reviewer id) of the call's active assignments, as plain columns: a
    hand assignment's check for reviewers who review each other reads these, not every
    assignment row with its relations (a large call holds thousands)."""
    stmt = select(ReviewAssignment.proposal_id, ReviewAssignment.reviewer_id).where(
        ReviewAssignment.call_id == call.id,
        ReviewAssignment.status.in_(("assigned", "accepted", "submitted")),
    )
    return [(int(p), int(r)) for p, r in session.execute(stmt.order_by(ReviewAssignment.id))]


def assignments_of_proposals(
    session: Session, call: Call, proposal_ids: Sequence[int]
) -> list[ReviewAssignment]:
    """The active assignments of some proposals of the call (one page of the chair's
    table), by id."""
    stmt = select(ReviewAssignment).where(
        ReviewAssignment.call_id == call.id,
        ReviewAssignment.proposal_id.in_(list(proposal_ids)),
        ReviewAssignment.status.in_(("assigned", "accepted", "submitted")),
    )
    return list(session.scalars(stmt.order_by(ReviewAssignment.id)))


def count_active_assignments(session: Session, call: Call) -> int:
    """``len(assignments_of_call(...))`` as one COUNT (an assignment row loads its
    proposal with it)."""
    stmt = select(func.count(ReviewAssignment.id)).where(
        ReviewAssignment.call_id == call.id,
        ReviewAssignment.status.in_(("assigned", "accepted", "submitted")),
    )
    return int(session.scalar(stmt) or 0)


def conflicted_assignments_of_reviewer(session: Session, reviewer_id: int) -> list[int]:
    """The ids of the reviewer's assignments (any status) of proposals they have a
    conflict with: what their browser must no longer keep a draft of (trialrev23)."""
    stmt = (
        select(ReviewAssignment.id)
        .join(
            Conflict,
            (Conflict.proposal_id == ReviewAssignment.proposal_id)
            & (Conflict.reviewer_id == ReviewAssignment.reviewer_id),
        )
        .where(ReviewAssignment.reviewer_id == reviewer_id)
        .distinct()
    )
    return sorted(session.scalars(stmt))


def assignments_of_reviewer(session: Session, reviewer_id: int) -> list[ReviewAssignment]:
    stmt = select(ReviewAssignment).where(
        ReviewAssignment.reviewer_id == reviewer_id,
        ReviewAssignment.status.in_(("assigned", "accepted", "submitted")),
    )
    return list(session.scalars(stmt.order_by(ReviewAssignment.id)))


def deadline_extensions(session: Session, call: Call) -> dict[int, dt.datetime]:
    """The reviewers of ``call`` whose review deadline the chair extended, and until
    when (``ReviewDeadlineExtension``)."""
    return {
        e.reviewer_id: e.until
        for e in session.scalars(
            select(ReviewDeadlineExtension).where(ReviewDeadlineExtension.call_id == call.id)
        )
    }


def more_time_asked(session: Session, call: Call) -> dict[int, tuple[dt.datetime, str]]:
    """The reviewers of ``call`` who asked for more time and have not been given a later
    deadline since: {reviewer id: (when they last asked, why)}, from the call's audit
    events (``review.more_time_asked``, answered by ``review.deadline_extended``)."""
    from opencall.auditlog import AuditEvent

    out: dict[int, tuple[dt.datetime, str]] = {}
    for ev in session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.call_id == call.id,
            AuditEvent.action.in_(("review.more_time_asked", "review.deadline_extended")),
        )
        .order_by(AuditEvent.id)
    ):
        rid = (ev.data or {}).get("reviewer_id")
        if not isinstance(rid, int):
            continue
        if ev.action == "review.more_time_asked":
            out[rid] = (ev.at, ev.reason)
        else:
            out.pop(rid, None)
    return out


def _decline_reasons(
    session: Session, call: Call, assignment_ids: Sequence[str]
) -> dict[str, tuple[dt.datetime, str]]:
    """{assignment id (text): (when it was declined, the reviewer's reason)} from the
    ``assignment.declined`` audit events of ``call`` (the last of each). One query."""
    from opencall.auditlog import AuditEvent

    said: dict[str, tuple[dt.datetime, str]] = {}
    if not assignment_ids:
        return said
    for at, entity_id, reason in session.execute(
        select(AuditEvent.at, AuditEvent.entity_id, AuditEvent.reason)
        .where(
            AuditEvent.call_id == call.id,
            AuditEvent.action == "assignment.declined",
            AuditEvent.entity == "review_assignment",
            AuditEvent.entity_id.in_(list(assignment_ids)),
        )
        .order_by(AuditEvent.id)
    ):
        said[entity_id] = (at, reason)
    return said


def declines(
    session: Session, call: Call, proposal_ids: Sequence[int]
) -> list[tuple[ReviewAssignment, dt.datetime, str]]:
    """The declined invitations to review ``proposal_ids`` of ``call``, each with when it
    was declined and the reviewer's reason ("" for none given), from the
    ``assignment.declined`` audit events (trialrev19), oldest first. Two queries."""
    if not proposal_ids:
        return []
    declined = {
        str(a.id): a
        for a in session.scalars(
            select(ReviewAssignment).where(
                ReviewAssignment.call_id == call.id,
                ReviewAssignment.proposal_id.in_(proposal_ids),
                ReviewAssignment.status == "declined",
            )
        )
    }
    said = _decline_reasons(session, call, list(declined))
    rows = [(a, *said[k]) for k, a in declined.items() if k in said]
    return sorted(rows, key=lambda r: (r[1], r[0].id))


def declined_rows(
    session: Session, call: Call, withheld: Iterable[int] = ()
) -> list[dict[str, Any]]:
    """Every declined invitation of ``call`` but those of the proposals ``withheld`` from
    the reader, as columns (no ORM rows: the assignment CSV and the chair's API,
    trialop20): ``assignment_id``, ``proposal_id``, ``reviewer_id``, ``reviewer_name``
    (None for a deleted account), ``declined_at``, ``reason``; oldest first. Two queries."""
    hidden = set(withheld)
    found = [
        row
        for row in session.execute(
            select(
                ReviewAssignment.id,
                ReviewAssignment.proposal_id,
                ReviewAssignment.reviewer_id,
                User.name,
            )
            .outerjoin(User, User.id == ReviewAssignment.reviewer_id)
            .where(ReviewAssignment.call_id == call.id, ReviewAssignment.status == "declined")
        )
        if row[1] not in hidden
    ]
    said = _decline_reasons(session, call, [str(row[0]) for row in found])
    out = [
        {
            "assignment_id": aid,
            "proposal_id": pid,
            "reviewer_id": rid,
            "reviewer_name": name,
            "declined_at": said[str(aid)][0],
            "reason": said[str(aid)][1],
        }
        for aid, pid, rid, name in found
        if str(aid) in said
    ]
    return sorted(out, key=lambda r: (r["declined_at"], r["assignment_id"]))


def extensions_of_reviewer(session: Session, reviewer_id: int) -> dict[int, dt.datetime]:
    """The calls whose review deadline the chair extended for ``reviewer_id``, and until
    when."""
    return {
        e.call_id: e.until
        for e in session.scalars(
            select(ReviewDeadlineExtension).where(
                ReviewDeadlineExtension.reviewer_id == reviewer_id
            )
        )
    }


def reviewers_of_proposals(session: Session, call: Call, proposal_ids: frozenset[int]) -> set[int]:
    """The reviewers ever assigned (in any state) to one of ``proposal_ids`` of ``call``."""
    if not proposal_ids:
        return set()
    return set(
        session.scalars(
            select(ReviewAssignment.reviewer_id).where(
                ReviewAssignment.call_id == call.id,
                ReviewAssignment.proposal_id.in_(sorted(proposal_ids)),
            )
        )
    )


def review_due(session: Session, call: Call, reviewer_id: int) -> dt.datetime | None:
    """The review deadline that applies to ``reviewer_id`` in ``call``: the chair's
    extension for them, else the call's (None: the call has none, and nothing is read)."""
    deadline = review_settings(call.review_settings).review_deadline
    if deadline is None:
        return None
    until = session.scalar(
        select(ReviewDeadlineExtension.until).where(
            ReviewDeadlineExtension.call_id == call.id,
            ReviewDeadlineExtension.reviewer_id == reviewer_id,
        )
    )
    return until if until is not None else deadline


def has_review_to_write(session: Session, call: Call, reviewer_id: int) -> bool:
    """Whether ``reviewer_id`` holds an assignment of ``call`` still to review (invited
    or accepted, not submitted, declined or removed)."""
    return (
        session.scalar(
            select(ReviewAssignment.id)
            .where(
                ReviewAssignment.call_id == call.id,
                ReviewAssignment.reviewer_id == reviewer_id,
                ReviewAssignment.status.in_(("assigned", "accepted")),
            )
            .limit(1)
        )
        is not None
    )


def review_of(session: Session, assignment_id: int) -> Review | None:
    return session.scalar(select(Review).where(Review.assignment_id == assignment_id))


def reviews_of(session: Session, assignment_ids: Sequence[int]) -> dict[int, Review]:
    """The reviews of these assignments, by assignment id (as :func:`review_of`)."""
    out: dict[int, Review] = {}
    ids = sorted(set(assignment_ids))
    for i in range(0, len(ids), 5000):
        for r in session.scalars(select(Review).where(Review.assignment_id.in_(ids[i : i + 5000]))):
            out[r.assignment_id] = r
    return out


def _submitted(stmt: Any, call: Call) -> Any:
    return (
        stmt.join(Review, Review.assignment_id == ReviewAssignment.id)
        .where(
            ReviewAssignment.call_id == call.id,
            ReviewAssignment.status == "submitted",
            Review.submitted_at.is_not(None),
        )
        .order_by(ReviewAssignment.id)
    )


def submitted_reviews(session: Session, call: Call) -> list[tuple[ReviewAssignment, Review]]:
    stmt = _submitted(select(ReviewAssignment, Review), call)
    return [(a, r) for a, r in session.execute(stmt)]


def count_submitted_reviews(session: Session, call: Call) -> int:
    """``len(submitted_reviews(...))`` as one COUNT."""
    stmt = _submitted(select(ReviewAssignment.id), call).order_by(None)
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def submitted_pairs(session: Session, call: Call) -> list[tuple[int, int]]:
    """(proposal id, reviewer id) of each submitted review: the ids only (an assignment
    row loads its proposal with it)."""
    stmt = _submitted(select(ReviewAssignment.proposal_id, ReviewAssignment.reviewer_id), call)
    return [(p, r) for p, r in session.execute(stmt)]


def _conflicted_pair() -> Any:
    """A conflict of the assignment's reviewer with its proposal (``.exists()`` of it, in
    a statement over ``ReviewAssignment``)."""
    return select(Conflict.id).where(
        Conflict.proposal_id == ReviewAssignment.proposal_id,
        Conflict.reviewer_id == ReviewAssignment.reviewer_id,
    )


def feedback_for(session: Session, proposal_id: int) -> list[str]:
    """The comments to the applicants of the proposal's submitted reviews, in the order
    they were written: not those of a review the chair removed (misconduct), nor of a
    draft, nor of a reviewer found conflicted with the proposal after the review came in
    (its grade no longer counts either; the review is kept for the record)."""
    return [
        c
        for c in session.scalars(
            select(Review.comments_to_applicants)
            .join(ReviewAssignment, ReviewAssignment.id == Review.assignment_id)
            .where(
                ReviewAssignment.proposal_id == proposal_id,
                ReviewAssignment.status == "submitted",
                Review.submitted_at.is_not(None),
                ~_conflicted_pair().exists(),
            )
            .order_by(Review.id)
        )
        if c and c.strip()
    ]


def panel_comment_for(session: Session, proposal_id: int) -> str:
    """The panel's consensus comment on the proposal ("" without one): its applicants
    read it with their outcome, before the reviews' comments (trialchair23)."""
    comment = session.scalar(
        select(PanelConsensus.comment).where(PanelConsensus.proposal_id == proposal_id)
    )
    return (comment or "").strip()


def panel_grades(session: Session, call: Call) -> dict[int, float]:
    """``{proposal id: the panel's consensus grade}`` of the call's proposals still under
    review: what ranks them in place of their calibrated score."""
    stmt = (
        select(PanelConsensus.proposal_id, PanelConsensus.grade)
        .join(Proposal, Proposal.id == PanelConsensus.proposal_id)
        .where(PanelConsensus.call_id == call.id, Proposal.status.in_(REVIEWABLE))
        .order_by(PanelConsensus.proposal_id)
    )
    return {int(p): float(g) for p, g in session.execute(stmt)}


def panel_consensus_of(session: Session, proposal_ids: Sequence[int]) -> dict[int, PanelConsensus]:
    """The panel's consensus recorded on each of ``proposal_ids`` that has one (a page of
    the ranking), by proposal id."""
    if not proposal_ids:
        return {}
    rows = session.scalars(
        select(PanelConsensus).where(PanelConsensus.proposal_id.in_(list(proposal_ids)))
    )
    return {row.proposal_id: row for row in rows}


def technical_notes_for(session: Session, proposal_id: int) -> str:
    """The technical review's notes to the applicants of the proposal ("" without one):
    the team reads them with its outcome (a safety officer's veto says why; trialfac14),
    followed by the safety review's notes to them where it has any (trialfac24)."""
    notes = session.scalar(
        select(TechnicalReview.notes_to_applicants).where(
            TechnicalReview.proposal_id == proposal_id
        )
    )
    safety = session.scalar(
        select(SafetyReview.notes_to_applicants).where(SafetyReview.proposal_id == proposal_id)
    )
    return "\n\n".join(n.strip() for n in (notes, safety) if n and n.strip())


def submitted_grades(session: Session, call: Call) -> list[tuple[int, int, float | None]]:
    """(proposal id, reviewer id, grade) of each submitted review whose grade counts, in
    the order of :func:`submitted_reviews`: the columns the outcomes report needs, not the
    ORM pairs. A review whose reviewer was found conflicted with the proposal after it
    came in is left out, as the calibration leaves its grade out."""
    stmt = _submitted(
        select(ReviewAssignment.proposal_id, ReviewAssignment.reviewer_id, Review.grade), call
    ).where(~_conflicted_pair().exists())
    return [(p, r, g) for p, r, g in session.execute(stmt)]


def ranked_grades(session: Session, call: Call) -> list[tuple[int, int, float | None]]:
    """:func:`submitted_grades` of the proposals still under review: what "Calibrate and
    rank" ranks. A proposal withdrawn in review keeps its written reviews, unread
    (trialchair23: before, the calibration still ranked it)."""
    stmt = (
        _submitted(
            select(ReviewAssignment.proposal_id, ReviewAssignment.reviewer_id, Review.grade), call
        )
        .join(Proposal, Proposal.id == ReviewAssignment.proposal_id)
        .where(~_conflicted_pair().exists(), Proposal.status.in_(REVIEWABLE))
    )
    return [(p, r, g) for p, r, g in session.execute(stmt)]


def reviewed_proposal_ids(session: Session, call_ids: Sequence[int]) -> dict[int, set[int]]:
    """{call id: the proposals with at least one submitted review} of several calls (a
    facility's cycles) in one statement: one row per proposal (DISTINCT), not per review."""
    stmt = (
        select(ReviewAssignment.call_id, ReviewAssignment.proposal_id)
        .distinct()
        .join(Review, Review.assignment_id == ReviewAssignment.id)
        .where(
            ReviewAssignment.call_id.in_(call_ids),
            ReviewAssignment.status == "submitted",
            Review.submitted_at.is_not(None),
        )
    )
    out: dict[int, set[int]] = {c: set() for c in call_ids}
    for cid, pid in session.execute(stmt):
        out[cid].add(pid)
    return out


def technical_verdicts(session: Session, call_ids: Sequence[int]) -> dict[int, str]:
    """proposal id -> verdict of the technical reviews of several calls (as
    :func:`technical_reviews` has them, the columns alone; a proposal is of one call)."""
    stmt = (
        select(TechnicalReview.proposal_id, TechnicalReview.verdict)
        .join(Proposal, Proposal.id == TechnicalReview.proposal_id)
        .where(Proposal.call_id.in_(call_ids))
    )
    return {pid: verdict for pid, verdict in session.execute(stmt)}


def technical_reviews(session: Session, call: Call) -> dict[int, TechnicalReview]:
    stmt = (
        select(TechnicalReview)
        .join(Proposal, Proposal.id == TechnicalReview.proposal_id)
        .where(Proposal.call_id == call.id)
    )
    return {t.proposal_id: t for t in session.scalars(stmt)}


def safety_reviews(session: Session, call: Call) -> dict[int, SafetyReview]:
    """The safety reviews of a call's proposals, by proposal id (trialfac24)."""
    stmt = select(SafetyReview).where(SafetyReview.call_id == call.id)
    return {s.proposal_id: s for s in session.scalars(stmt)}


def safety_reviews_of(session: Session, proposal_ids: list[int]) -> dict[int, SafetyReview]:
    """The safety reviews of these proposals (a page of a list), by proposal id."""
    if not proposal_ids:
        return {}
    stmt = select(SafetyReview).where(SafetyReview.proposal_id.in_(proposal_ids))
    return {s.proposal_id: s for s in session.scalars(stmt)}


def technical_review_of(session: Session, proposal_id: int) -> TechnicalReview | None:
    """The proposal's technical review (one at most), if written."""
    return session.scalar(select(TechnicalReview).where(TechnicalReview.proposal_id == proposal_id))


def technical_reviews_of(session: Session, proposal_ids: list[int]) -> dict[int, TechnicalReview]:
    """The technical reviews of these proposals (a page of a list), by proposal id."""
    if not proposal_ids:
        return {}
    stmt = select(TechnicalReview).where(TechnicalReview.proposal_id.in_(proposal_ids))
    return {t.proposal_id: t for t in session.scalars(stmt)}


def latest_run(session: Session, call: Call, kind: str) -> SolverRun | None:
    stmt = (
        select(SolverRun)
        .where(SolverRun.call_id == call.id, SolverRun.kind == kind, SolverRun.status == "ok")
        .order_by(SolverRun.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def latest_runs(session: Session, call_ids: Sequence[int], kind: str) -> dict[int, SolverRun]:
    """:func:`latest_run` of several calls, in one statement: {call id: run} (calls
    without one left out)."""
    newest = (
        select(func.max(SolverRun.id))
        .where(SolverRun.call_id.in_(call_ids), SolverRun.kind == kind, SolverRun.status == "ok")
        .group_by(SolverRun.call_id)
    )
    return {
        r.call_id: r for r in session.scalars(select(SolverRun).where(SolverRun.id.in_(newest)))
    }


def ranking_columns_of(session: Session, runs: Sequence[SolverRun]) -> dict[int, list[Any]]:
    """{run id: its (proposal_id, score, rank) rows in rank order} (the columns of
    :func:`ranking` for several calls' latest calibration runs, in one statement)."""
    out: dict[int, list[Any]] = {r.id: [] for r in runs}
    if not runs:
        return out
    stmt = (
        select(
            RankedProposal.run_id,
            RankedProposal.proposal_id,
            RankedProposal.score,
            RankedProposal.rank,
        )
        .where(RankedProposal.run_id.in_(list(out)))
        .order_by(RankedProposal.rank)
    )
    for row in session.execute(stmt):
        out[row.run_id].append(row)
    return out


def ranking(session: Session, call: Call) -> list[RankedProposal]:
    run = latest_run(session, call, "calibration")
    if run is None:
        return []
    stmt = (
        select(RankedProposal).where(RankedProposal.run_id == run.id).order_by(RankedProposal.rank)
    )
    return list(session.scalars(stmt))


def ranked_proposals(session: Session, call: Call) -> list[Proposal]:
    """The proposals under review of ``call`` in its latest ranking (none before one):
    the rows the ranking page shows, read in the database instead of every proposal of
    the call."""
    run = latest_run(session, call, "calibration")
    if run is None:
        return []
    stmt = (
        select(Proposal)
        .where(
            Proposal.call_id == call.id,
            Proposal.status.in_(REVIEWABLE),
            Proposal.id.in_(
                select(RankedProposal.proposal_id).where(RankedProposal.run_id == run.id)
            ),
        )
        .order_by(Proposal.id)
    )
    return list(session.scalars(stmt))


def declared_max_loads(session: Session, call: Call) -> dict[int, int]:
    """reviewer id -> the most proposals they accepted to review in this call."""
    rows = session.execute(
        select(ReviewInvitation.user_id, ReviewInvitation.max_load).where(
            ReviewInvitation.call_id == call.id,
            ReviewInvitation.status == "accepted",
            ReviewInvitation.max_load.is_not(None),
            ReviewInvitation.role == "reviewer",
        )
    )
    return {uid: int(n) for uid, n in rows if uid is not None and n is not None}


#: the states of a call whose reviews are still being written: an assignment not yet
#: submitted in such a call is on its reviewer's desk (``reviews_at_once``)
REVIEWING_STATES = ("closed", "review")


def reviews_at_once(
    session: Session, *, reviewer_id: int | None = None, besides: Call | None = None
) -> dict[int, tuple[int, int]]:
    """reviewer id -> (the most reviews they take at once across calls, the reviews they
    still have to write in calls in review, a conflicted pair not counted), for the reviewers who set a limit
    (``ReviewerLoadLimit``), or that one; ``besides``: that call's reviews not counted.
    Two queries whatever the number of reviewers (the limits join the assignments: no
    list of ids)."""
    return _own_limits(
        session,
        ReviewerLoadLimit.max_at_once,
        (
            ReviewAssignment.status.in_(("assigned", "accepted")),
            Call.status.in_(REVIEWING_STATES),
        ),
        reviewer_id=reviewer_id,
        besides=besides,
        in_calls=True,
    )


def _own_limits(
    session: Session,
    limit: Any,
    counted: tuple[Any, ...],
    *,
    reviewer_id: int | None,
    besides: Call | None,
    in_calls: bool = False,
) -> dict[int, tuple[int, int]]:
    """reviewer id -> (their own ``limit`` column, the assignments meeting ``counted``),
    for the reviewers with a row of the limit's table, or that one; ``besides``: that
    call's assignments not counted; ``in_calls``: ``counted`` reads the call. Two
    queries (the limits join the assignments: no list of ids)."""
    model = limit.class_
    limits = select(model.user_id, limit)
    pending = select(ReviewAssignment.reviewer_id, func.count(ReviewAssignment.id)).join(
        model, model.user_id == ReviewAssignment.reviewer_id
    )
    if in_calls:
        pending = pending.join(Call, Call.id == ReviewAssignment.call_id)
    pending = pending.where(
        *counted,
        # a pair found conflicted after it was accepted is hidden from its reviewer
        # and no longer counted in its call: it takes no place under a limit
        ~select(Conflict.id)
        .where(
            Conflict.proposal_id == ReviewAssignment.proposal_id,
            Conflict.reviewer_id == ReviewAssignment.reviewer_id,
        )
        .exists(),
    ).group_by(ReviewAssignment.reviewer_id)
    if reviewer_id is not None:
        limits = limits.where(model.user_id == reviewer_id)
        pending = pending.where(ReviewAssignment.reviewer_id == reviewer_id)
    if besides is not None:
        pending = pending.where(ReviewAssignment.call_id != besides.id)
    counts = {int(u): int(n) for u, n in session.execute(pending)}
    return {int(u): (int(n), counts.get(int(u), 0)) for u, n in session.execute(limits)}


def _left(limits: dict[int, tuple[int, int]]) -> dict[int, int]:
    """reviewer id -> their limit less what counts against it, never below 0."""
    return {u: max(0, limit - n) for u, (limit, n) in limits.items()}


def load_left(session: Session, call: Call, *, reviewer_id: int | None = None) -> dict[int, int]:
    """reviewer id -> how many proposals of ``call`` they may still be given under their
    own limit across calls (their limit less the reviews they still have to write in the
    other calls in review; never below 0), for the reviewers who set one."""
    return _left(reviews_at_once(session, reviewer_id=reviewer_id, besides=call))


def reviews_this_year(
    session: Session,
    *,
    reviewer_id: int | None = None,
    besides: Call | None = None,
    now: dt.datetime | None = None,
) -> dict[int, tuple[int, int]]:
    """reviewer id -> (the most reviews they take in a calendar year, the assignments made
    to them in ``now``'s year, UTC, not declined, removed or found conflicted) for the
    reviewers who set a limit per year (``ReviewerYearLimit``, trialrev18), or that one;
    ``besides``: that call's assignments not counted. Two queries."""
    year = (now or utcnow()).astimezone(dt.UTC).year
    start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
    return _own_limits(
        session,
        ReviewerYearLimit.max_per_year,
        (
            ReviewAssignment.status.in_(("assigned", "accepted", "submitted")),
            ReviewAssignment.created_at >= start,
            ReviewAssignment.created_at < end,
        ),
        reviewer_id=reviewer_id,
        besides=besides,
    )


def year_left(session: Session, call: Call, *, reviewer_id: int | None = None) -> dict[int, int]:
    """reviewer id -> how many proposals of ``call`` they may still be given under their
    limit per calendar year (less those given them this year in other calls; never below
    0), for the reviewers who set one."""
    return _left(reviews_this_year(session, reviewer_id=reviewer_id, besides=call))


def review_languages(session: Session, user_id: int) -> list[str]:
    """The languages ``user_id`` declared they review in (sorted ISO 639 codes), or []
    when they declared none (not restricted)."""
    row = session.get(ReviewerLanguages, user_id)
    return row.languages.split(",") if row is not None else []


def unreadable_pairs(
    session: Session, proposals: list[Proposal], reviewers: list[User]
) -> list[tuple[int, int]]:
    """(proposal position, reviewer position) of each reviewer who declared the languages
    they review in and a proposal whose stated language is not among them (trialrev18).
    A proposal with no stated language, or a reviewer who declared none, makes no pair.
    One query (the declared languages, a row per reviewer who declared any)."""
    stated = [(i, p.language) for i, p in enumerate(proposals) if p.language]
    if not stated or not reviewers:
        return []
    declared = {
        int(u): set(langs.split(","))
        for u, langs in session.execute(
            select(ReviewerLanguages.user_id, ReviewerLanguages.languages)
        )
    }
    readers = [(j, declared[r.id]) for j, r in enumerate(reviewers) if r.id in declared]
    return [(i, j) for i, lang in stated for j, langs in readers if lang not in langs]


# --------------------------------------------------------------------------- bias model inputs

LMIC_INCOME = ("low", "lower-middle")


def country_groups(country: Country | None) -> dict[str, str]:
    """The groups of a country for the reviewer-bias model (``"unknown"`` when unclassified):
    UN region, income group, LDC status and ``lmic`` (low or lower-middle income)."""
    if country is None:
        return {
            "un_region": "unknown",
            "income_group": "unknown",
            "ldc": "unknown",
            "lmic": "unknown",
        }
    income = country.income_group or "unknown"
    region = country.un_region if country.un_region and country.un_region != "Unknown" else ""
    lmic = "unknown"
    if income in LMIC_INCOME:
        lmic = "low or lower-middle"
    elif income in ("upper-middle", "high"):
        lmic = "upper-middle or high"
    return {
        "un_region": region or "unknown",
        "income_group": income,
        "ldc": "LDC" if country.ldc else "non-LDC",
        "lmic": lmic,
    }


def user_countries(session: Session, ids: list[int]) -> dict[int, str | None]:
    """user id -> country of the users ``ids``: the column, not whole users, 5,000 ids a
    statement (a bound the databases' parameter limits allow)."""
    out: dict[int, str | None] = {}
    for i in range(0, len(ids), 5000):
        out.update(
            session.execute(
                select(User.id, User.country_iso3).where(User.id.in_(ids[i : i + 5000]))
            )
            .tuples()
            .all()
        )
    return out


def bias_groups(
    session: Session,
    proposal_ids: list[int],
    reviewer_ids: list[int],
    *,
    pi_countries: dict[int, str | None] | None = None,
    reviewer_countries: dict[int, str | None] | None = None,
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Group labels per reviewer (by the reviewer's country) and per proposal (by its PI's
    country), in the order of the given ids: ``(reviewer_groups, applicant_groups)``."""
    # columns, not ORM rows: whole proposals would load their teams, requests and
    # attachments (thousands of rows at a conference's scale) to find each one's PI
    # the countries a caller has read already (the outcomes report) are not read again;
    # a PI's country missing from ``pi_countries`` is a proposal without a PI
    users: dict[int, str | None] = dict(reviewer_countries or {})
    pi_country: dict[int, str | None] = dict(pi_countries or {})
    users.update(user_countries(session, [r for r in reviewer_ids if r not in users]))
    for i in range(0, len(proposal_ids) if pi_countries is None else 0, 5000):
        pi_country.update(proposal_queries.pi_countries(session, proposal_ids[i : i + 5000]))
    # the countries named, not the reference data's 250 (a kept report's check re-runs it)
    countries = countries_named(session, [*users.values(), *pi_country.values()])
    rg = [country_groups(countries.get(users[r] or "")) for r in reviewer_ids]
    ag = []
    for pid in proposal_ids:
        pi = pi_country[pid] if pid in pi_country else None
        ag.append(country_groups(countries.get(pi or "") if pid in pi_country else None))
    reviewer_groups = {c: [g[c] for g in rg] for c in ("un_region", "income_group", "ldc")}
    applicant_groups = {c: [g[c] for g in ag] for c in ("un_region", "income_group", "ldc", "lmic")}
    return reviewer_groups, applicant_groups
