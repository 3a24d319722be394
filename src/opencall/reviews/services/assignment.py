"""Assignment of reviewers to proposals: the optimiser's (``optim.assignment``, with
the call's loads, conflicts and diversity caps) and the chair's by hand (added or
removed), each change audited in the call's log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.calls.models import Call
from opencall.calls.schemas import review_settings
from opencall.errors import DomainError
from opencall.people.models import Country, User
from opencall.proposals.models import Proposal
from opencall.proposals.policies import require_not_on_team
from opencall.reviews import queries as q
from opencall.reviews.domain import conflicted_pair
from opencall.reviews.models import AffinityScore, ReviewAssignment
from opencall.runs import Progress, Solve, SolverRun, inputs_hash_with_rows, record_run
from opencall.runs import no_progress as _noop

if TYPE_CHECKING:  # scipy is imported where it is used: `opencall serve` starts without it
    import scipy.sparse as sp


def _country_regions(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Country.iso3, Country.un_region)).all())


def affinity_matrix(
    n_proposals: int,
    n_reviewers: int,
    p: npt.NDArray[np.int64],
    r: npt.NDArray[np.int64],
    score: npt.NDArray[np.float64],
) -> sp.csr_matrix:
    """The affinity as a CSR matrix: ``score[i]`` at ``(p[i], r[i])``, 0 elsewhere; a pair
    given twice keeps its last score (as assigning into a dense matrix would)."""
    import scipy.sparse as sp

    key = p * n_reviewers + r
    # the last of equal keys: a stable sort of the reversed arrays keeps it first
    rev = np.argsort(key[::-1], kind="stable")
    key_r = key[::-1][rev]
    first = np.ones(len(key_r), bool)
    first[1:] = key_r[1:] != key_r[:-1]
    pick = (len(key) - 1 - rev)[first]
    return sp.csr_matrix(
        (score[pick], (p[pick], r[pick])), shape=(n_proposals, n_reviewers), dtype=np.float64
    )


def affinity_rows(A: sp.csr_matrix) -> Iterator[bytes]:
    """Each row of ``A``'s dense matrix rounded to 6 decimals, as the JSON of its list (the
    rows the inputs hash has always taken from the dense matrix, the same bytes), written
    from the stored entries: a row is all "0.0" but for its few stored scores, each
    written as ``json.dumps`` writes a float (``float.__repr__``). ``A`` has no duplicate
    entries (``affinity_matrix``)."""
    zeros = ["0.0"] * A.shape[1]
    values = np.round(A.data, 6)
    indptr = A.indptr.tolist()
    for lo, hi in zip(indptr[:-1], indptr[1:], strict=True):
        row = zeros.copy()
        for c, v in zip(A.indices[lo:hi].tolist(), values[lo:hi].tolist(), strict=True):
            row[c] = float.__repr__(v)
        yield ("[" + ",".join(row) + "]").encode()


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
    # a deactivated account (a reviewer who left mid-review) is given no new proposals;
    # the grades it submitted stay
    reviewers = [u for u in reviewers if u.is_active]
    if not reviewers or not proposals:
        raise DomainError("Assignment needs reviewers and proposals under review.")
    pidx = {p.id: i for i, p in enumerate(proposals)}
    ridx = {r.id: j for j, r in enumerate(reviewers)}
    # the stored scores as columns (not ORM rows: a conference keeps millions); ids are
    # translated to matrix positions with sorted lookups, pairs of other people skipped. The
    # solver takes them as a sparse matrix: a pair not stored has affinity 0, and above
    # AFFINITY_TOP_K reviewers only each proposal's best are stored, so the dense P x R
    # matrix (1 GiB at conference scale) is never built
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
    rows_p: list[npt.NDArray[np.int64]] = []
    rows_r: list[npt.NDArray[np.int64]] = []
    values: list[npt.NDArray[np.float64]] = []
    for part in scores.partitions():
        cols = np.array(part, dtype=np.float64).reshape(-1, 3)
        sp_, sr = cols[:, 0].astype(np.int64), cols[:, 1].astype(np.int64)
        ip = np.minimum(np.searchsorted(pid_sorted, sp_), max(len(pid_sorted) - 1, 0))
        ir = np.minimum(np.searchsorted(rid_sorted, sr), max(len(rid_sorted) - 1, 0))
        ok = (pid_sorted[ip] == sp_) & (rid_sorted[ir] == sr)
        rows_p.append(pos_p[ip[ok]])
        rows_r.append(pos_r[ir[ok]])
        values.append(cols[ok, 2])
    A = affinity_matrix(
        len(proposals),
        len(reviewers),
        np.concatenate([np.zeros(0, np.int64), *rows_p]),
        np.concatenate([np.zeros(0, np.int64), *rows_r]),
        np.concatenate([np.zeros(0, np.float64), *values]),
    )
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


def _refuse_infeasible(problem: Any, proposals: list[Proposal], params: dict[str, Any]) -> None:
    """The two infeasibilities a real call meets, said in the chair's terms (proposal codes,
    the call's settings) with what to change; the solver's own diagnosis speaks of matrix
    positions. Both are necessary conditions, so a feasible problem is never refused."""
    n_p, n_r, k = problem.n_proposals, problem.n_reviewers, int(problem.k)
    loads = np.broadcast_to(np.asarray(problem.max_load, dtype=np.int64), (n_r,))
    needed = k * n_p
    if int(loads.sum()) < needed:
        raise DomainError(
            "No assignment satisfies the rules: the capacity of %(reviewers)s reviewers is "
            "%(capacity)s reviews (maximum load %(max_load)s each), but %(proposals)s "
            "proposals need %(needed)s (%(k)s each). Raise the maximum load to at least "
            "%(load)s, invite more reviewers or lower the reviewers per proposal.",
            reviewers=n_r,
            capacity=int(loads.sum()),
            max_load=params["max_load"],
            proposals=n_p,
            needed=needed,
            k=k,
            load=-(-needed // n_r),
        )
    banned = np.concatenate([problem.conflicts, problem.forbidden]).reshape(-1, 2)
    pairs = np.unique(banned[:, 0] * n_r + banned[:, 1])
    free = n_r - np.bincount(pairs // n_r, minlength=n_p)
    none = np.flatnonzero(free <= 0)
    if len(none) and k > 0:
        # fewer reviewers per proposal cannot help these: say what can
        raise DomainError(
            "No assignment satisfies the rules: these proposals have no reviewer free of "
            "conflicts (and not declined or removed): %(list)s. Fewer reviewers per proposal "
            "would not help: invite reviewers without a conflict with them, or assign "
            "reviewers to the other proposals by hand and, before the release, resolve "
            "these as short of reviews.",
            list=", ".join(f"{proposals[i].code} (0)" for i in none.tolist()),
        )
    short = np.flatnonzero(free < k)
    if len(short):
        raise DomainError(
            "No assignment satisfies the rules: these proposals have fewer reviewers free of "
            "conflicts (and not declined or removed) than the %(k)s each needs: %(list)s. "
            "Invite reviewers without a conflict with them, or lower the reviewers per "
            "proposal.",
            k=k,
            list=", ".join(f"{proposals[i].code} ({int(free[i])})" for i in short.tolist()),
        )


def run_assignment(
    session: Session,
    call: Call,
    *,
    objective: str = "total",
    seed: int = 0,
    actor_id: int | None = None,
    progress: Progress = _noop,
) -> SolverRun:
    from opencall.optim.assignment import (
        InfeasibleAssignment,
        affinity_of_pairs,
        solve_assignment,
    )

    solve = Solve(seed, actor_id)
    progress(5, "building the assignment problem")
    try:
        problem, proposals, reviewers, params = build_assignment_problem(
            session, call, objective=objective, seed=seed
        )
    except ValueError as exc:
        raise DomainError("The assignment problem is malformed: %(error)s", error=exc) from exc
    _refuse_infeasible(problem, proposals, params)
    progress(20, "solving")
    try:
        res = solve_assignment(problem)
    except InfeasibleAssignment as exc:
        raise DomainError("No assignment satisfies the rules: %(error)s", error=exc) from exc
    problems = res.check(problem)
    if problems:
        raise DomainError(
            "The assignment failed its check: %(problems)s", problems="; ".join(problems[:5])
        )
    progress(80, "storing the assignment")
    run = record_run(
        session,
        call,
        "assignment",
        solve,
        inputs=None,
        hashed_inputs=inputs_hash_with_rows(
            {"params": params, "conflicts": np.asarray(problem.conflicts).tolist()},
            "A",
            affinity_rows(problem.affinity),
        ),
        parameters=params,
        objective=res.total_affinity,
        bound=res.upper_bound,
        gap=res.gap,
        summary={
            "certified": res.certified,
            "method": res.method,
            "min_proposal_affinity": res.min_proposal_affinity,
            "pairs": int(len(res.proposals)),
        },
    )
    existing = {
        (a.proposal_id, a.reviewer_id): a
        for a in session.scalars(
            select(ReviewAssignment).where(ReviewAssignment.call_id == call.id)
        )
    }
    chosen = set()
    scores = affinity_of_pairs(problem, res.proposals, res.reviewers).tolist()
    for pi, rj, score in zip(res.proposals.tolist(), res.reviewers.tolist(), scores, strict=True):
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
                    score=score,
                    run_id=run.id,
                )
            )
        else:
            a.score = score
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
    require_not_on_team(proposal, actor_id)
    if not reviewer.is_active:
        raise DomainError("This account is deactivated; it cannot be given proposals.")
    if q.is_conflicted(session, proposal.id, reviewer.id):
        raise conflicted_pair()
    if (
        reviewer.id not in {r.id for r in q.reviewers_of_call(session, call)}
        and rs.mode != "distributed"
    ):
        raise DomainError("This person is not a reviewer of this call.")
    if any(m.user_id == reviewer.id for m in proposal.members):
        # the same words as any conflict, so that a refusal does not tell who is on the team
        raise conflicted_pair()
    active = q.assignments_of_reviewer(session, reviewer.id)
    if sum(1 for a in active if a.call_id == call.id) >= rs.max_load:
        raise DomainError("This reviewer already has the maximum load of %(n)s.", n=rs.max_load)
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
    proposal = session.get(Proposal, assignment.proposal_id)
    if proposal is not None:
        require_not_on_team(proposal, actor_id)
    assignment.status = "removed"
    _audit_assignment(session, "assignment.removed", assignment, actor_id=actor_id, reason=reason)
