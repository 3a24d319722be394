"""The review engine's writes: conflicts, affinity, assignment, reviews,
technical reviews and calibration. Each optimiser step builds its problem
from the database, calls ``opencall.optim``, checks the result and records a
solver run (inputs hash, parameters, seed, version, objective, time)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.calls.models import Call
from opencall.calls.schemas import review_settings
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.people.models import (
    Country,
    ExpertiseProfile,
    Institution,
    ReviewerPublication,
    User,
)
from opencall.proposals.models import Proposal, ProposalRevision, Request
from opencall.reviews import policies
from opencall.reviews import queries as q
from opencall.reviews.domain import ConflictIndex
from opencall.reviews.models import (
    AffinityScore,
    Conflict,
    DeclaredRelation,
    RankedProposal,
    Review,
    ReviewAssignment,
    TechnicalReview,
)
from opencall.runs import (  # noqa: F401  (VERSION, inputs_hash: importable here as before)
    VERSION,
    Progress,
    SolverRun,
    inputs_hash,
    inputs_hash_with_rows,
    record_run,
)
from opencall.runs import no_progress as _noop


def load_revisions(session: Session, proposals: list[Proposal]) -> list[ProposalRevision]:
    """Load the current revisions of many proposals in a few queries. While the
    caller holds the returned list, :func:`revision_content` finds each one in the
    session (no query per row)."""
    ids = [p.current_revision_id for p in proposals if p.current_revision_id is not None]
    out: list[ProposalRevision] = []
    for i in range(0, len(ids), 5000):
        chunk = ids[i : i + 5000]
        out += session.scalars(select(ProposalRevision).where(ProposalRevision.id.in_(chunk)))
    return out


def revision_content(session: Session, proposal: Proposal) -> dict[str, Any]:
    if proposal.current_revision_id is None:
        raise DomainError(f"Proposal {proposal.code} has no submitted revision.")
    rev = session.get(ProposalRevision, proposal.current_revision_id)
    assert rev is not None
    return rev.content


# --------------------------------------------------------------------------- conflicts


def compute_conflicts(
    session: Session, call: Call, *, actor_id: int | None = None, now: dt.datetime | None = None
) -> dict[str, int]:
    """Recompute the computed conflicts of a call (declared ones are kept).

    Sources: ``team`` (the reviewer is on the team, also in distributed review
    where applicants review each other), ``institution`` (same institution by
    ROR id or normalised name), ``coauthor`` (declared co-authorship or
    advising, or a team member among the authors of the reviewer's publications,
    within ``coauthor_years``), ``personal`` (declared by either side).
    """
    t0 = time.perf_counter()
    now = now or utcnow()
    rs = review_settings(call.review_settings)
    # every reviewing role: panel reviewers and technical reviewers alike
    reviewers = q.reviewing_users_of_call(session, call)
    proposals = q.proposals_for_review(session, call)
    session.execute(
        delete(Conflict).where(
            Conflict.call_id == call.id,
            Conflict.source.in_(("team", "institution", "coauthor", "personal")),
        )
    )
    insts = {i.id: i for i in session.scalars(select(Institution))}
    relations = q.relations(session)
    pubs = q.publications_by_user(session, [r.id for r in reviewers])
    people = [q.person_facts(r, pubs.get(r.id, ())) for r in reviewers]
    found: dict[tuple[int, int, str], str] = {}
    _held = load_revisions(session, proposals)  # held: revision_content reads them
    # only the people who share a fact with a team are tested against it (not P x R pairs)
    index = ConflictIndex(people, relations)
    for p in proposals:
        team = q.team_facts(p, revision_content(session, p), insts)
        for person, sources in index.sources(team, coauthor_years=rs.coauthor_years, year=now.year):
            for source, detail in sources.items():
                found[(p.id, person.user_id, source)] = detail
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
        inputs={"proposals": [p.id for p in proposals], "reviewers": [r.id for r in reviewers]},
        parameters={"coauthor_years": rs.coauthor_years},
        seed=0,
        status="ok",
        wall_s=time.perf_counter() - t0,
        summary={"by_source": counts, "assignments_removed": removed},
        actor_id=actor_id,
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
    """A reviewer declares a conflict before reading: the assignment is removed, the reason kept."""
    if assignment.reviewer_id != reviewer.id:
        raise DomainError("Not found", code="not_found")
    if assignment.status == "submitted":
        raise DomainError("This review was already submitted.")
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
    _audit_assignment(session, "conflict.declared", assignment, actor_id=reviewer.id, reason=reason)
    return c


# --------------------------------------------------------------------------- affinity


def _reviewer_texts(session: Session, reviewers: list[User], call: Call) -> list[str]:
    """Each reviewer's expertise profile (keywords, statement, up to 50 publications,
    newest first) and up to 5 of their own proposals to other calls (the first 5 by id),
    read for all reviewers in a few queries."""
    past: dict[int, list[str]] = {r.id: [] for r in reviewers}
    pubs: dict[int, list[str]] = {r.id: [] for r in reviewers}
    ids = list(past)
    keywords: dict[int, str] = {}
    for i in range(0, len(ids), 5000):
        chunk = ids[i : i + 5000]
        rows = session.execute(
            select(Proposal.pi_user_id, Proposal.title, Proposal.abstract)
            .where(Proposal.pi_user_id.in_(chunk), Proposal.call_id != call.id)
            .order_by(Proposal.id)
        )
        for uid, title, abstract in rows:
            if uid is not None and len(past[uid]) < 5:
                past[uid].append(f"{title}. {abstract}")
        for prof in session.scalars(
            select(ExpertiseProfile).where(ExpertiseProfile.user_id.in_(chunk))
        ):
            keywords[prof.user_id] = prof.keywords
        for pub in session.scalars(
            select(ReviewerPublication)
            .where(ReviewerPublication.user_id.in_(chunk))
            .order_by(ReviewerPublication.year.desc().nulls_last(), ReviewerPublication.id.desc())
        ):
            if len(pubs[pub.user_id]) < 50:
                pubs[pub.user_id].append(f"{pub.title}. {pub.abstract}")
    return [
        " ".join(x for x in [keywords.get(r.id, ""), r.expertise, *pubs[r.id], *past[r.id]] if x)
        or r.name
        for r in reviewers
    ]


def _reviewer_text(session: Session, reviewer: User, call: Call) -> str:
    return _reviewer_texts(session, [reviewer], call)[0]


def _proposal_text(content: dict[str, Any]) -> str:
    return " ".join(
        [
            content.get("title", ""),
            content.get("abstract", ""),
            content.get("keywords", ""),
            content.get("science_case", ""),
        ]
    )


def run_affinity(
    session: Session,
    call: Call,
    *,
    method: str = "tfidf",
    actor_id: int | None = None,
    progress: Progress = _noop,
) -> SolverRun:
    from opencall.optim import affinity as aff

    t0 = time.perf_counter()
    reviewers = q.reviewers_of_call(session, call)
    proposals = q.proposals_for_review(session, call)
    if not reviewers or not proposals:
        raise DomainError("Affinity needs reviewers and proposals under review.")
    progress(10, "reading texts")
    rtexts = _reviewer_texts(session, reviewers, call)
    _held = load_revisions(session, proposals)  # held: revision_content reads them
    ptexts = [_proposal_text(revision_content(session, p)) for p in proposals]
    progress(30, f"scoring {len(ptexts)} proposals x {len(rtexts)} reviewers")
    # above AFFINITY_TOP_K reviewers only each proposal's best AFFINITY_TOP_K are kept and
    # stored (a pair not stored has affinity 0 for the assignment); memory and rows grow
    # with the proposals, not with proposals x reviewers
    top_k = AFFINITY_TOP_K if len(rtexts) > AFFINITY_TOP_K else None
    if method == "embeddings":
        try:
            res = aff.embedding_affinity(rtexts, ptexts, top_k=top_k)
        except aff.EmbeddingsUnavailable as exc:
            raise DomainError(str(exc)) from exc
    elif method == "tfidf":
        res = aff.tfidf_affinity(rtexts, ptexts, top_k=top_k)
    else:
        raise DomainError("Affinity method must be 'tfidf' or 'embeddings'.", field="method")
    problems = res.check((len(ptexts), len(rtexts)))
    if problems:
        raise DomainError("Affinity result failed its check: " + "; ".join(problems))
    progress(70, "storing scores")
    session.execute(delete(AffinityScore).where(AffinityScore.call_id == call.id))
    run = record_run(
        session,
        call,
        "affinity",
        inputs={"r": rtexts, "p": ptexts},
        parameters={"method": method} if top_k is None else {"method": method, "top_k": top_k},
        seed=0,
        status="ok",
        wall_s=time.perf_counter() - t0,
        summary={
            "proposals": len(ptexts),
            "reviewers": len(rtexts),
            "vocabulary": res.vocabulary_size,
        },
        actor_id=actor_id,
    )
    rids = [r.id for r in reviewers]
    rows: list[dict[str, Any]] = []
    for i, p in enumerate(proposals):
        if res.is_sparse:
            lo, hi = int(res.matrix.indptr[i]), int(res.matrix.indptr[i + 1])
            pairs: Iterable[tuple[int, float]] = zip(
                res.matrix.indices[lo:hi].tolist(), res.matrix.data[lo:hi].tolist(), strict=True
            )
        else:
            pairs = enumerate(res.matrix[i].tolist())
        rows.extend(
            {
                "call_id": call.id,
                "proposal_id": p.id,
                "reviewer_id": rids[j],
                "score": v,
                "run_id": run.id,
            }
            for j, v in pairs
        )
        if len(rows) >= 20000 or i == len(proposals) - 1:
            session.execute(insert(AffinityScore), rows)
            rows = []
    session.flush()
    progress(100, "affinity done")
    return run


# --------------------------------------------------------------------------- assignment


#: above this many reviewers, the affinity keeps each proposal's best this many reviewers
AFFINITY_TOP_K = 100


def _country_regions(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Country.iso3, Country.un_region)).all())


def build_assignment_problem(
    session: Session, call: Call, *, objective: str = "total", seed: int = 0
) -> tuple[Any, list[Proposal], list[User], dict[str, Any]]:
    from opencall.optim.assignment import AssignmentProblem, Grouping

    rs = review_settings(call.review_settings)
    reviewers = q.reviewers_of_call(session, call)
    proposals = q.proposals_for_review(session, call)
    if rs.mode == "distributed":
        # applicants review each other: every accepted team member with an account reviews
        seen: dict[int, User] = {}
        for p in proposals:
            for m in p.members:
                if m.status == "accepted" and m.user_id and m.user_id not in seen:
                    member_user = session.get(User, m.user_id)
                    assert member_user is not None
                    seen[member_user.id] = member_user
        reviewers = sorted(seen.values(), key=lambda u: u.id)
    if not reviewers or not proposals:
        raise DomainError("Assignment needs reviewers and proposals under review.")
    pidx = {p.id: i for i, p in enumerate(proposals)}
    ridx = {r.id: j for j, r in enumerate(reviewers)}
    A = np.zeros((len(proposals), len(reviewers)), dtype=np.float64)
    # the stored scores as columns (not ORM rows: a conference keeps millions); ids are
    # translated to matrix positions with sorted lookups, pairs of other people skipped
    pid_sorted = np.array(sorted(pidx), dtype=np.int64)
    pos_p = np.array([pidx[i] for i in pid_sorted.tolist()], dtype=np.int64)
    rid_sorted = np.array(sorted(ridx), dtype=np.int64)
    pos_r = np.array([ridx[i] for i in rid_sorted.tolist()], dtype=np.int64)
    scores = session.execute(
        select(AffinityScore.proposal_id, AffinityScore.reviewer_id, AffinityScore.score)
        .where(AffinityScore.call_id == call.id)
        .order_by(AffinityScore.id)
        .execution_options(yield_per=50000)
    )
    for part in scores.partitions():
        cols = np.array(part, dtype=np.float64).reshape(-1, 3)
        sp_, sr = cols[:, 0].astype(np.int64), cols[:, 1].astype(np.int64)
        ip = np.minimum(np.searchsorted(pid_sorted, sp_), max(len(pid_sorted) - 1, 0))
        ir = np.minimum(np.searchsorted(rid_sorted, sr), max(len(rid_sorted) - 1, 0))
        ok = (pid_sorted[ip] == sp_) & (rid_sorted[ir] == sr)
        A[pos_p[ip[ok]], pos_r[ir[ok]]] = cols[ok, 2]
    conflicts = sorted(
        (pidx[p], ridx[r]) for p, r in q.conflict_pairs(session, call) if p in pidx and r in ridx
    )
    if rs.mode == "distributed":
        # one's own proposals, and those of anyone one shares a team with
        teams = {p.id: {m.user_id for m in p.members if m.user_id} for p in proposals}
        collaborators: dict[int, set[int]] = {}
        for members in teams.values():
            for uid in members:
                collaborators.setdefault(uid, set()).update(members)
        for p in proposals:
            for uid, j in ridx.items():
                if teams[p.id] & collaborators.get(uid, {uid}):
                    conflicts.append((pidx[p.id], j))
    forced, forbidden = [], []
    for a in session.scalars(select(ReviewAssignment).where(ReviewAssignment.call_id == call.id)):
        if a.proposal_id not in pidx or a.reviewer_id not in ridx:
            continue
        pair = (pidx[a.proposal_id], ridx[a.reviewer_id])
        if a.status in ("removed", "declined"):
            forbidden.append(pair)
        elif a.source == "manual" or a.status in ("accepted", "submitted"):
            forced.append(pair)
    regions = _country_regions(session)
    inst_labels: dict[object, int] = {}
    region_labels: dict[str, int] = {}
    inst_of = []
    region_of = []
    for r in reviewers:
        key = r.institution_id if r.institution_id is not None else f"none-{r.id}"
        inst_of.append(inst_labels.setdefault(key, len(inst_labels)))
        reg = regions.get(r.country_iso3 or "", f"none-{r.id}")
        region_of.append(region_labels.setdefault(reg, len(region_labels)))
    k = min(rs.reviewers_per_proposal, len(reviewers))
    # each reviewer's own limit, declared when accepting the invitation to review
    declared = q.declared_max_loads(session, call)
    max_loads = np.array(
        [max(min(rs.max_load, declared.get(r.id, rs.max_load)), rs.min_load) for r in reviewers],
        dtype=np.int64,
    )
    groupings = (
        Grouping(labels=np.array(inst_of), cap=rs.max_same_institution, name="institution"),
        Grouping(labels=np.array(region_of), cap=rs.max_same_region, name="UN region"),
    )
    problem = AssignmentProblem(
        n_proposals=len(proposals),
        n_reviewers=len(reviewers),
        affinity=A,
        k=k,
        min_load=rs.min_load,
        max_load=max_loads if declared else rs.max_load,
        conflicts=np.array(sorted(set(conflicts)) or np.zeros((0, 2)), dtype=np.int64).reshape(
            -1, 2
        ),
        forced=np.array(forced or np.zeros((0, 2)), dtype=np.int64).reshape(-1, 2),
        forbidden=np.array(forbidden or np.zeros((0, 2)), dtype=np.int64).reshape(-1, 2),
        groupings=groupings,
        objective="fair" if objective == "fair" else "total",
        seed=seed,
    )
    params = {
        "k": k,
        "min_load": rs.min_load,
        "max_load": rs.max_load,
        "objective": objective,
        "max_same_institution": rs.max_same_institution,
        "max_same_region": rs.max_same_region,
        "mode": rs.mode,
    }
    if declared:
        params["declared_max_loads"] = {str(k): v for k, v in sorted(declared.items())}
    return problem, proposals, reviewers, params


def run_assignment(
    session: Session,
    call: Call,
    *,
    objective: str = "total",
    seed: int = 0,
    actor_id: int | None = None,
    progress: Progress = _noop,
) -> SolverRun:
    from opencall.optim.assignment import InfeasibleAssignment, solve_assignment

    t0 = time.perf_counter()
    progress(5, "building the assignment problem")
    try:
        problem, proposals, reviewers, params = build_assignment_problem(
            session, call, objective=objective, seed=seed
        )
    except ValueError as exc:
        raise DomainError(f"The assignment problem is malformed: {exc}") from exc
    progress(20, "solving")
    try:
        res = solve_assignment(problem)
    except InfeasibleAssignment as exc:
        raise DomainError(f"No assignment satisfies the rules: {exc}") from exc
    problems = res.check(problem)
    if problems:
        raise DomainError("The assignment failed its check: " + "; ".join(problems[:5]))
    progress(80, "storing the assignment")
    run = record_run(
        session,
        call,
        "assignment",
        inputs=None,
        hashed_inputs=inputs_hash_with_rows(
            {"params": params, "conflicts": np.asarray(problem.conflicts).tolist()},
            "A",
            (row.round(6).tolist() for row in problem.affinity),
        ),
        parameters=params,
        seed=seed,
        status="ok",
        wall_s=time.perf_counter() - t0,
        objective=res.total_affinity,
        bound=res.upper_bound,
        gap=res.gap,
        summary={
            "certified": res.certified,
            "method": res.method,
            "min_proposal_affinity": res.min_proposal_affinity,
            "pairs": int(len(res.proposals)),
        },
        actor_id=actor_id,
    )
    existing = {
        (a.proposal_id, a.reviewer_id): a
        for a in session.scalars(
            select(ReviewAssignment).where(ReviewAssignment.call_id == call.id)
        )
    }
    chosen = set()
    A = problem.affinity
    for pi, rj in zip(res.proposals.tolist(), res.reviewers.tolist(), strict=True):
        p, r = proposals[pi], reviewers[rj]
        chosen.add((p.id, r.id))
        a = existing.get((p.id, r.id))
        if a is None:
            session.add(
                ReviewAssignment(
                    call_id=call.id,
                    proposal_id=p.id,
                    reviewer_id=r.id,
                    status="assigned",
                    source="solver",
                    score=float(A[pi, rj]),
                    run_id=run.id,
                )
            )
        else:
            a.score = float(A[pi, rj])
            if a.status in ("removed", "declined"):
                raise DomainError("The solver chose a forbidden pair; refusing the result.")
    # solver assignments no longer chosen and not yet started are dropped
    for key, a in existing.items():
        if key not in chosen and a.source == "solver" and a.status == "assigned":
            session.delete(a)
    session.flush()
    progress(100, "assignment done")
    return run


def add_assignment(
    session: Session, call: Call, proposal: Proposal, reviewer: User, *, actor_id: int | None = None
) -> ReviewAssignment:
    """A chair's manual assignment: refused when conflicted or over the reviewer's load."""
    rs = review_settings(call.review_settings)
    if proposal.call_id != call.id:
        raise DomainError("Not found", code="not_found")
    if q.is_conflicted(session, proposal.id, reviewer.id):
        raise DomainError(
            "This reviewer is conflicted with this proposal; the pair is refused.", code="conflict"
        )
    if (
        reviewer.id not in {r.id for r in q.reviewers_of_call(session, call)}
        and rs.mode != "distributed"
    ):
        raise DomainError("This person is not a reviewer of this call.")
    if any(m.user_id == reviewer.id for m in proposal.members):
        # the same words as any conflict, so that a refusal does not tell who is on the team
        raise DomainError(
            "This reviewer is conflicted with this proposal; the pair is refused.", code="conflict"
        )
    active = q.assignments_of_reviewer(session, reviewer.id)
    if sum(1 for a in active if a.call_id == call.id) >= rs.max_load:
        raise DomainError(f"This reviewer already has the maximum load of {rs.max_load}.")
    existing = session.scalar(
        select(ReviewAssignment).where(
            ReviewAssignment.proposal_id == proposal.id, ReviewAssignment.reviewer_id == reviewer.id
        )
    )
    score = session.scalar(
        select(AffinityScore.score).where(
            AffinityScore.proposal_id == proposal.id, AffinityScore.reviewer_id == reviewer.id
        )
    )
    if existing is not None:
        if existing.status in ("assigned", "accepted", "submitted"):
            raise DomainError("This reviewer is already assigned to this proposal.")
        existing.status = "assigned"
        existing.source = "manual"
        a = existing
    else:
        a = ReviewAssignment(
            call_id=call.id,
            proposal_id=proposal.id,
            reviewer_id=reviewer.id,
            status="assigned",
            source="manual",
            score=score,
        )
        session.add(a)
    session.flush()
    auditlog.record(
        session, "assignment.added", "review_assignment", a.id, actor_id=actor_id, call_id=call.id
    )
    return a


def _audit_assignment(
    session: Session,
    action: str,
    assignment: ReviewAssignment,
    *,
    actor_id: int | None,
    reason: str = "",
) -> None:
    """Flush the change to ``assignment``, then log ``action`` on it in its call's log."""
    session.flush()
    auditlog.record(
        session,
        action,
        "review_assignment",
        assignment.id,
        actor_id=actor_id,
        call_id=assignment.call_id,
        reason=reason,
    )


def remove_assignment(
    session: Session, assignment: ReviewAssignment, *, actor_id: int | None = None, reason: str = ""
) -> None:
    if assignment.status == "submitted":
        raise DomainError("A submitted review cannot be unassigned.")
    assignment.status = "removed"
    _audit_assignment(session, "assignment.removed", assignment, actor_id=actor_id, reason=reason)


# --------------------------------------------------------------------------- reviews


def respond_to_assignment(
    session: Session, assignment: ReviewAssignment, reviewer: User, *, accept: bool
) -> ReviewAssignment:
    if assignment.reviewer_id != reviewer.id:
        raise DomainError("Not found", code="not_found")
    if assignment.status != "assigned":
        raise DomainError(f"This invitation was already {assignment.status}.")
    assignment.status = "accepted" if accept else "declined"
    _audit_assignment(
        session,
        "assignment.accepted" if accept else "assignment.declined",
        assignment,
        actor_id=reviewer.id,
    )
    return assignment


def submit_review(
    session: Session,
    assignment: ReviewAssignment,
    reviewer: User,
    *,
    grade: float,
    confidence: int = 3,
    comments_to_applicants: str = "",
    comments_to_panel: str = "",
    final: bool = True,
) -> Review:
    if assignment.reviewer_id != reviewer.id or assignment.status in ("removed", "declined"):
        raise DomainError("Not found", code="not_found")
    if q.is_conflicted(session, assignment.proposal_id, reviewer.id):
        raise DomainError("Not found", code="not_found")
    call = session.get(Call, assignment.call_id)
    assert call is not None
    g = _checked_review(
        call, grade, confidence, comments_to_applicants, comments_to_panel, final=final
    )
    review = q.review_of(session, assignment.id)
    if review is None:
        review = Review(assignment_id=assignment.id, grade=g)
        session.add(review)
    _fill_review(
        review, assignment, g, confidence, comments_to_applicants, comments_to_panel, final
    )
    _audit_assignment(
        session, "review.submitted" if final else "review.saved", assignment, actor_id=reviewer.id
    )
    return review


def _checked_review(
    call: Call,
    grade: float,
    confidence: int,
    comments_to_applicants: str,
    comments_to_panel: str,
    *,
    final: bool,
) -> float:
    """The grade as a float, once the call's state and the review's fields are checked."""
    rs = review_settings(call.review_settings)
    if call.status not in ("closed", "review"):
        raise DomainError("Reviews are accepted only while the call is in review.")
    try:
        g = float(grade)
    except (TypeError, ValueError) as exc:
        raise DomainError("The grade must be a number.", field="grade") from exc
    if not rs.grade_min <= g <= rs.grade_max or g != g:
        raise DomainError(
            f"The grade must lie between {rs.grade_min:g} and {rs.grade_max:g}.", field="grade"
        )
    if confidence not in (1, 2, 3, 4, 5):
        raise DomainError("Confidence is 1 (low) to 5 (high).", field="confidence")
    for name, text in (
        ("comments_to_applicants", comments_to_applicants),
        ("comments_to_panel", comments_to_panel),
    ):
        if len(text) > 20000:
            raise DomainError("Comments are limited to 20,000 characters.", field=name)
    if final and not comments_to_applicants.strip():
        raise DomainError(
            "Please write comments to the applicants.", field="comments_to_applicants"
        )
    return g


def _fill_review(
    review: Review,
    assignment: ReviewAssignment,
    g: float,
    confidence: int,
    comments_to_applicants: str,
    comments_to_panel: str,
    final: bool,
) -> None:
    review.grade = g
    review.confidence = confidence
    review.comments_to_applicants = comments_to_applicants
    review.comments_to_panel = comments_to_panel
    review.updated_at = utcnow()
    if final:
        review.submitted_at = utcnow()
        assignment.status = "submitted"
    elif assignment.status == "assigned":
        assignment.status = "accepted"


@dataclass(frozen=True)
class ReviewInput:
    """One review for :func:`submit_reviews`: the arguments of :func:`submit_review`."""

    assignment: ReviewAssignment
    reviewer: User
    grade: float
    confidence: int = 3
    comments_to_applicants: str = ""
    comments_to_panel: str = ""


def submit_reviews(
    session: Session, items: Sequence[ReviewInput], *, final: bool = True
) -> list[Review]:
    """:func:`submit_review` for many assignments, in order: the same checks (the first
    failure is raised and nothing is written), the same rows and audit events in the same
    order, in a handful of statements instead of several per review (the conflicts and
    existing reviews are read once, the audit chain is extended in one go)."""
    if not items:
        return []
    pairs = {(it.assignment.proposal_id, it.assignment.reviewer_id) for it in items}
    conflicted = q.conflicted_among(session, pairs)
    ids = [it.assignment.id for it in items]
    if len(set(ids)) != len(ids):
        raise ValueError("submit_reviews: an assignment appears twice")
    existing = q.reviews_of(session, ids)
    grades = []
    for it in items:
        a = it.assignment
        if a.reviewer_id != it.reviewer.id or a.status in ("removed", "declined"):
            raise DomainError("Not found", code="not_found")
        if (a.proposal_id, a.reviewer_id) in conflicted:
            raise DomainError("Not found", code="not_found")
        call = session.get(Call, a.call_id)
        assert call is not None
        grades.append(
            _checked_review(
                call,
                it.grade,
                it.confidence,
                it.comments_to_applicants,
                it.comments_to_panel,
                final=final,
            )
        )
    out = []
    for it, g in zip(items, grades, strict=True):
        review = existing.get(it.assignment.id)
        if review is None:
            review = Review(assignment_id=it.assignment.id, grade=g)
            session.add(review)
        _fill_review(
            review,
            it.assignment,
            g,
            it.confidence,
            it.comments_to_applicants,
            it.comments_to_panel,
            final,
        )
        out.append(review)
    session.flush()
    auditlog.record_many(
        session,
        [
            auditlog.EventInput(
                "review.submitted" if final else "review.saved",
                "review_assignment",
                it.assignment.id,
                actor_id=it.reviewer.id,
                call_id=it.assignment.call_id,
            )
            for it in items
        ],
    )
    return out


def submit_technical_review(
    session: Session,
    proposal: Proposal,
    reviewer: User,
    *,
    verdict: str,
    amount_needed: float | None = None,
    notes_to_panel: str = "",
    notes_to_applicants: str = "",
) -> TechnicalReview:
    if verdict not in ("feasible", "feasible_with_changes", "not_feasible"):
        raise DomainError(
            "Verdict is feasible, feasible with changes or not feasible.", field="verdict"
        )
    if amount_needed is not None and not amount_needed >= 0:
        raise DomainError("The amount judged necessary cannot be negative.", field="amount_needed")
    if proposal.id in policies.conflicted_proposal_ids(session, reviewer, [proposal]) or any(
        m.user_id == reviewer.id or m.email == reviewer.email for m in proposal.members
    ):
        raise DomainError(
            "This reviewer is conflicted with this proposal; the pair is refused.", code="conflict"
        )
    tr = session.scalar(select(TechnicalReview).where(TechnicalReview.proposal_id == proposal.id))
    if tr is None:
        tr = TechnicalReview(proposal_id=proposal.id, reviewer_id=reviewer.id, verdict=verdict)
        session.add(tr)
    tr.reviewer_id = reviewer.id
    tr.verdict = verdict
    tr.amount_needed = amount_needed
    tr.notes_to_panel = notes_to_panel
    tr.notes_to_applicants = notes_to_applicants
    session.flush()
    auditlog.record(
        session,
        "technical_review.saved",
        "proposal",
        proposal.id,
        actor_id=reviewer.id,
        call_id=proposal.call_id,
        data={"verdict": verdict},
    )
    return tr


# --------------------------------------------------------------------------- calibration


def run_calibration(
    session: Session,
    call: Call,
    *,
    seed: int = 0,
    n_bootstrap: int = 200,
    fit_scale: bool = True,
    actor_id: int | None = None,
    progress: Progress = _noop,
) -> SolverRun:
    from opencall.optim.calibration import GradeScale, GradeSet, calibrate

    t0 = time.perf_counter()
    rs = review_settings(call.review_settings)
    pairs = q.submitted_reviews(session, call)
    if not pairs:
        raise DomainError("No submitted reviews to calibrate yet.")
    prop_ids = sorted({a.proposal_id for a, _ in pairs})
    rev_ids = sorted({a.reviewer_id for a, _ in pairs})
    pidx = {p: i for i, p in enumerate(prop_ids)}
    ridx = {r: j for j, r in enumerate(rev_ids)}
    gs = GradeSet(
        proposal_idx=np.array([pidx[a.proposal_id] for a, _ in pairs], dtype=np.int64),
        reviewer_idx=np.array([ridx[a.reviewer_id] for a, _ in pairs], dtype=np.int64),
        grade=np.array([r.grade for _, r in pairs], dtype=np.float64),
        n_proposals=len(prop_ids),
        n_reviewers=len(rev_ids),
        scale=GradeScale(rs.grade_min, rs.grade_max, rs.lower_is_better),
        confidence=np.array([max(1, r.confidence) for _, r in pairs], dtype=np.float64),
    )
    correction: dict[str, Any] | None = None
    if rs.bias_correction:
        progress(10, "testing reviewer-group x applicant-group effects")
        gs, correction = _bias_corrected(session, gs, prop_ids, rev_ids, rs.bias_alpha)
        correction["rank_before"] = calibrate(
            correction.pop("raw_grades"),
            fit_scale=fit_scale and len(pairs) >= 5 * len(rev_ids),
            n_bootstrap=0,
            seed=seed,
        ).rank.tolist()
    progress(20, f"calibrating {len(pairs)} grades")
    res = calibrate(
        gs,
        fit_scale=fit_scale and len(pairs) >= 5 * len(rev_ids),
        n_bootstrap=n_bootstrap,
        seed=seed,
    )
    problems = res.check(gs)
    if problems:
        raise DomainError("Calibration failed its check: " + "; ".join(problems[:5]))
    # proposals to discuss: rank interval straddles the capacity line
    cutoff = _capacity_cutoff(
        session, call, [pidx_inv for pidx_inv in prop_ids], res.order().tolist()
    )
    discuss = set(res.discuss(cutoff).tolist()) if 0 < cutoff < len(prop_ids) else set()
    run = record_run(
        session,
        call,
        "calibration",
        inputs={"grades": [(a.proposal_id, a.reviewer_id, r.grade) for a, r in pairs]},
        parameters={
            "n_bootstrap": n_bootstrap,
            "fit_scale": fit_scale,
            "level": res.level,
            "bias_correction": rs.bias_correction,
        },
        seed=seed,
        status="ok",
        wall_s=time.perf_counter() - t0,
        summary={
            "proposals": len(prop_ids),
            "reviewers": len(rev_ids),
            "grades": len(pairs),
            "cutoff": cutoff,
            "discuss": len(discuss),
            "converged": res.converged,
            **({"bias_correction": _rank_changes(correction, prop_ids, res)} if correction else {}),
        },
        actor_id=actor_id,
    )
    if correction is not None:
        bc = run.summary["bias_correction"]
        auditlog.record(
            session,
            "ranking.bias_corrected",
            "call",
            call.id,
            actor_id=actor_id,
            call_id=call.id,
            data={
                "run_id": run.id,
                "cells": [c["sentence"] for c in bc["cells"]],
                "reviews_changed": bc["reviews_changed"],
                "ranks_changed": bc["ranks_changed"],
                "max_rank_shift": bc["max_rank_shift"],
            },
        )
    for i, pid in enumerate(prop_ids):
        session.add(
            RankedProposal(
                call_id=call.id,
                run_id=run.id,
                proposal_id=pid,
                raw_mean=float(res.raw_mean[i]),
                score=float(res.consensus[i]),
                score_lo=float(res.consensus_lo[i]),
                score_hi=float(res.consensus_hi[i]),
                rank=int(res.rank[i]),
                rank_lo=int(res.rank_lo[i]),
                rank_hi=int(res.rank_hi[i]),
                discuss=i in discuss,
            )
        )
    session.flush()
    progress(100, "calibration done")
    return run


def _bias_corrected(
    session: Session, gs: Any, prop_ids: list[int], rev_ids: list[int], alpha: float
) -> tuple[Any, dict[str, Any]]:
    """The call's grades with the flagged reviewer-group x applicant-group effects removed
    (``optim.bias``), and what was removed.  The grade scale is widened symmetrically (its
    orientation is unchanged) when a corrected grade leaves it."""
    from opencall.optim.bias import BiasData, correct_grades, interaction_model
    from opencall.optim.calibration import GradeScale, GradeSet

    reviewer_groups, applicant_groups = q.bias_groups(session, prop_ids, rev_ids)
    sign = -1.0 if gs.scale.lower_is_better else 1.0
    data = BiasData(
        proposal_idx=gs.proposal_idx,
        reviewer_idx=gs.reviewer_idx,
        grade=sign * np.asarray(gs.grade, dtype=np.float64),
        n_proposals=gs.n_proposals,
        n_reviewers=gs.n_reviewers,
        reviewer_groups=reviewer_groups,
        applicant_groups=applicant_groups,
    )
    model = interaction_model(data, alpha=alpha)
    corr = correct_grades(data, model)
    grade = sign * corr.grade
    lo, hi = gs.scale.min, gs.scale.max
    spill = max(0.0, lo - float(grade.min()), float(grade.max()) - hi)
    scale = gs.scale
    if spill > 0:
        scale = GradeScale(lo - spill - 1e-9, hi + spill + 1e-9, gs.scale.lower_is_better)
    corrected = GradeSet(
        proposal_idx=gs.proposal_idx,
        reviewer_idx=gs.reviewer_idx,
        grade=grade,
        n_proposals=gs.n_proposals,
        n_reviewers=gs.n_reviewers,
        scale=scale,
        confidence=gs.confidence,
    )
    info = {
        "raw_grades": gs,
        "alpha": alpha,
        "tested": len(model.interactions),
        "flagged": len(model.flagged),
        "mdb": model.mdb_summary(),
        "cells": [
            {
                "reviewer_cut": c.reviewer_cut,
                "reviewer_group": c.reviewer_group,
                "applicant_cut": c.applicant_cut,
                "applicant_group": c.applicant_group,
                "reference_group": c.reference_group,
                "estimate": c.estimate,
                "removed": b,
                "sentence": c.describe(),
            }
            for c, b in zip(corr.cells, corr.joint_estimates, strict=True)
        ],
        "reviews_changed": corr.n_changed,
    }
    return corrected, info


def _rank_changes(correction: dict[str, Any], prop_ids: list[int], res: Any) -> dict[str, Any]:
    before = correction.pop("rank_before")
    changes = [
        [pid, int(b), int(a)]
        for pid, b, a in zip(prop_ids, before, res.rank.tolist(), strict=True)
        if int(b) != int(a)
    ]
    return {
        **correction,
        "ranks_changed": len(changes),
        "max_rank_shift": max((abs(b - a) for _, b, a in changes), default=0),
        "rank_changes": changes,
    }


def _capacity_cutoff(session: Session, call: Call, prop_ids: list[int], order: list[int]) -> int:
    """How many of the best-ranked proposals fit in the call's capacity (the funding line)."""
    capacity = sum(cp.amount for cp in call.pools)
    asked: dict[int, float] = {pid: 0.0 for pid in prop_ids}
    for i in range(0, len(prop_ids), 5000):  # the amounts asked, in one query per 5000
        for pid, amount in session.execute(
            select(Request.proposal_id, Request.amount).where(
                Request.proposal_id.in_(prop_ids[i : i + 5000])
            )
        ):
            asked[pid] += amount
    used = 0.0
    n = 0
    for i in order:
        used += asked[prop_ids[i]]
        if used > capacity:
            break
        n += 1
    return n


def freeze_ranking(session: Session, call: Call, *, actor_id: int | None = None) -> Call:
    if q.latest_run(session, call, "calibration") is None:
        raise DomainError("Calibrate the grades before freezing the ranking.")
    call.ranking_frozen_at = utcnow()
    session.flush()
    auditlog.record(session, "ranking.frozen", "call", call.id, actor_id=actor_id, call_id=call.id)
    return call


def latest_run_or_fail(session: Session, call: Call, kind: str) -> SolverRun:
    run = q.latest_run(session, call, kind)
    if run is None:
        raise DomainError(f"No {kind} run for this call yet.")
    return run
