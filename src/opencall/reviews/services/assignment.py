"""Assignment of reviewers to proposals: the optimiser's (``optim.assignment``, with
the call's loads, conflicts and diversity caps) and the chair's by hand (added or
removed), each change audited in the call's log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.calls.models import Call
from opencall.calls.schemas import review_settings
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.people.models import Country, User
from opencall.proposals.models import Proposal
from opencall.reviews import queries as q
from opencall.reviews.domain import collusion_cycles, conflicted_pair, reviewing_collusion
from opencall.reviews.models import (
    AffinityScore,
    Conflict,
    ReviewAssignment,
    ReviewDeadlineExtension,
)
from opencall.reviews.policies import require_hands_off
from opencall.reviews.policies import withheld as withheld_from
from opencall.reviews.services.apart import solve_apart
from opencall.reviews.services.common import lock_assignment, require_reason_fits
from opencall.runs import Progress, Solve, SolverRun, inputs_hash_with_rows, record_run
from opencall.runs import no_progress as _noop

if TYPE_CHECKING:  # scipy is imported where it is used: `opencall serve` starts without it
    import scipy.sparse as sp


def _country_regions(session: Session, reviewers: Sequence[User]) -> dict[str, str]:
    """The UN region of each reviewer's country: the countries the reviewers name, not
    the reference data's 250 on every run (scale20)."""
    isos = sorted({r.country_iso3 for r in reviewers if r.country_iso3})
    if not isos:
        return {}
    return dict(
        session.execute(select(Country.iso3, Country.un_region).where(Country.iso3.in_(isos))).all()
    )


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
    if not proposals:
        raise DomainError("Assignment needs reviewers and proposals under review.")
    # no reviewer (all left, or none accepted yet): the run still goes, every proposal
    # short and listed ("Only 0 reviewers are free of conflicts"), and the unanswered
    # invitations of reviewers who left are withdrawn, as with any reviewer who leaves
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
    for part in scores.partitions() if reviewers else ():
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
    invited: list[tuple[float, int, tuple[int, int]]] = []
    banned = set(conflicts)
    for a in session.scalars(select(ReviewAssignment).where(ReviewAssignment.call_id == call.id)):
        if a.proposal_id not in pidx or a.reviewer_id not in ridx:
            continue
        pair = (pidx[a.proposal_id], ridx[a.reviewer_id])
        if pair in banned:
            # a conflict found after the reviewer accepted or submitted: the pair is not
            # kept (its grade no longer ranks: ``queries.submitted_grades``), so the run
            # gives the proposal another reviewer, free of conflicts. Before, it was
            # forced and conflicted at once, and every later run of the call failed
            continue
        if a.status in ("removed", "declined"):
            forbidden.append(pair)
        elif a.source == "manual" or a.status in ("accepted", "submitted"):
            forced.append(pair)
        elif a.status == "assigned":
            invited.append((-(a.score or 0.0), a.id, pair))
    # the reviewers who declared the languages they review in are not given a proposal
    # stated in another (trialrev18): a generic forbidden pair to the solver; a pair the
    # call keeps (accepted, submitted, by hand) stays
    kept_pairs = set(forced)
    unreadable = [
        pair for pair in q.unreadable_pairs(session, proposals, reviewers) if pair not in kept_pairs
    ]
    forbidden += unreadable
    regions = _country_regions(session, reviewers)
    inst_labels: dict[object, int] = {}
    region_labels: dict[str, int] = {}
    inst_of = []
    region_of = []
    for r in reviewers:
        key = r.institution_id if r.institution_id is not None else f"none-{r.id}"
        inst_of.append(inst_labels.setdefault(key, len(inst_labels)))
        reg = regions.get(r.country_iso3 or "", f"none-{r.id}")
        region_of.append(region_labels.setdefault(reg, len(region_labels)))
    # never capped at the number of reviewers: a call with fewer reviewers than the reviews
    # each proposal needs gives each what it can and lists them short (``_shortfall``:
    # "Only N reviewers are free of conflicts"), so that the chair is told to recruit
    k = rs.reviewers_per_proposal
    # each reviewer's own limit, declared when accepting the invitation to review
    declared = q.declared_max_loads(session, call)
    max_loads = np.array(
        [max(min(rs.max_load, declared.get(r.id, rs.max_load)), rs.min_load) for r in reviewers],
        dtype=np.int64,
    )
    # and their own limit across calls (trialrev17): what it leaves once the reviews they
    # still write in the other calls in review are counted; never below the pairs this
    # call keeps for them (accepted, submitted, by hand), which would make the run fail
    left = {u: n for u, n in q.load_left(session, call).items() if u in ridx}
    # and their limit per calendar year (trialrev18), counted the same way
    per_year = {u: n for u, n in q.year_left(session, call).items() if u in ridx}
    shown_left = dict(left)
    for uid, n in per_year.items():
        left[uid] = min(left.get(uid, n), n)
    min_loads: int | npt.NDArray[np.int64] = rs.min_load
    if left:
        kept = np.bincount(
            np.array([r for _p, r in forced], dtype=np.int64), minlength=len(reviewers)
        )
        for uid, n in left.items():
            j = ridx[uid]
            max_loads[j] = min(max_loads[j], max(n, int(kept[j])))
        min_loads = np.minimum(rs.min_load, max_loads)
    groupings = (
        Grouping(
            labels=np.array(inst_of, dtype=np.int64),
            cap=rs.max_same_institution,
            name="institution",
        ),
        Grouping(
            labels=np.array(region_of, dtype=np.int64), cap=rs.max_same_region, name="UN region"
        ),
    )
    forced += _kept_invitations(
        invited,
        forced,
        set(conflicts),
        k,
        max_loads,
        ((inst_of, rs.max_same_institution), (region_of, rs.max_same_region)),
    )
    problem = AssignmentProblem(
        n_proposals=len(proposals),
        n_reviewers=len(reviewers),
        affinity=A,
        k=k,
        min_load=min_loads,
        max_load=max_loads if declared or left else rs.max_load,
        conflicts=np.array(sorted(set(conflicts)) or np.zeros((0, 2)), dtype=np.int64).reshape(
            -1, 2
        ),
        forced=np.array(forced or np.zeros((0, 2)), dtype=np.int64).reshape(-1, 2),
        forbidden=np.array(forbidden or np.zeros((0, 2)), dtype=np.int64).reshape(-1, 2),
        groupings=groupings,
        objective="fair" if objective == "fair" else "total",
        seed=seed,
        # a proposal no reviewer free of conflicts (or with room) can take is left short
        # and reported (``uncovered_proposals``); the rest are assigned, optimally
        allow_short=True,
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
    if shown_left:
        params["load_left"] = {str(k): v for k, v in sorted(shown_left.items())}
    if per_year:
        params["year_left"] = {str(k): v for k, v in sorted(per_year.items())}
    if unreadable:
        params["language_forbidden"] = len(unreadable)
    return problem, proposals, reviewers, params


def _kept_invitations(
    invited: list[tuple[float, int, tuple[int, int]]],
    forced: list[tuple[int, int]],
    conflicts: set[tuple[int, int]],
    k: int,
    max_loads: npt.NDArray[np.int64],
    caps: tuple[tuple[list[int], int], ...],
) -> list[tuple[int, int]]:
    """The solver's earlier pairs not yet answered, kept in a new run: their reviewers
    were invited by e-mail, so a new run fills the gaps (new proposals, a declined or
    removed pair, a reviewer gone) and moves no one. Kept best score first while they fit
    the call's rules as they are now (k, the loads, the diversity caps, the conflicts),
    after the pairs forced anyway (by hand, accepted, submitted); the others may go."""
    per_p: dict[int, int] = {}
    per_r: dict[int, int] = {}
    per_g: dict[tuple[int, int, int], int] = {}

    def take(p: int, r: int) -> None:
        per_p[p] = per_p.get(p, 0) + 1
        per_r[r] = per_r.get(r, 0) + 1
        for i, (labels, _cap) in enumerate(caps):
            key = (i, p, labels[r])
            per_g[key] = per_g.get(key, 0) + 1

    for p, r in forced:
        take(p, r)
    kept = []
    for _score, _id, (p, r) in sorted(invited):
        if (p, r) in conflicts or per_p.get(p, 0) >= k or per_r.get(r, 0) >= max_loads[r]:
            continue
        if any(per_g.get((i, p, lab[r]), 0) >= cap for i, (lab, cap) in enumerate(caps)):
            continue
        take(p, r)
        kept.append((p, r))
    return kept


def _shortfall(
    problem: Any, res: Any, unreadable: list[tuple[int, int]] | None = None
) -> list[dict[str, Any]]:
    """The proposals the solver left short, each with why, in the chair's terms: the call
    has fewer reviewers than it needs ("pool"); fewer
    reviewers free of conflicts (not declined or removed) than it needs ("conflicts"); the
    diversity rules leave it too few ("diversity"); else the reviewers free of conflicts
    have no room left ("capacity"). "language": the reviewers free of conflicts would be
    enough but too few of them review in its language (``unreadable``, the pairs of
    reviewers who do not). Positions, not ids (``run_assignment`` maps them)."""
    short = np.asarray(res.short, np.int64)
    if not short.any():
        return []
    n_p, n_r = problem.n_proposals, problem.n_reviewers
    k = np.broadcast_to(np.asarray(problem.k, np.int64), (n_p,))
    loads = np.broadcast_to(np.asarray(problem.max_load, np.int64), (n_r,))
    banned = np.concatenate([problem.conflicts, problem.forbidden]).reshape(-1, 2)
    keys = np.unique(banned[:, 0] * n_r + banned[:, 1])
    free = n_r - np.bincount(keys // n_r, minlength=n_p)
    lang = np.array(sorted(unreadable or ()), np.int64).reshape(-1, 2)
    lang_keys = np.intersect1d(keys, lang[:, 0] * n_r + lang[:, 1])
    unread = np.bincount(lang_keys // n_r, minlength=n_p)
    out = []
    for i in np.flatnonzero(short).tolist():
        allowed = np.ones(n_r, bool)
        allowed[keys[keys // n_r == i] % n_r] = False
        reason = "capacity"
        if n_r < int(k[i]):
            reason = "pool"  # too few reviewers in all, conflicts or not
        elif int(free[i]) < int(k[i]):
            reason = "language" if int(free[i] + unread[i]) >= int(k[i]) else "conflicts"
        elif int((allowed & (loads > 0)).sum()) >= int(k[i]):
            for g in problem.groupings:
                lab = np.asarray(g.labels)[allowed & (loads > 0)]
                if int(np.minimum(np.bincount(lab), g.cap).sum()) < int(k[i]):
                    reason = "diversity"
        out.append(
            {
                "position": i,
                "needed": int(k[i]),
                "assigned": int(k[i] - short[i]),
                "free": int(free[i]),
                "reason": reason,
            }
        )
    return out


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
    )

    solve = Solve(seed, actor_id)
    progress(5, "building the assignment problem")
    try:
        problem, proposals, reviewers, params = build_assignment_problem(
            session, call, objective=objective, seed=seed
        )
    except ValueError as exc:
        raise DomainError("The assignment problem is malformed: %(error)s", error=exc) from exc
    progress(20, "solving")
    teams = q.review_teams(session, call)
    try:
        problem, res, apart = solve_apart(problem, proposals, reviewers, teams)
    except InfeasibleAssignment as exc:
        raise DomainError("No assignment satisfies the rules: %(error)s", error=exc) from exc
    problems = res.check(problem)
    if problems:
        raise DomainError(
            "The assignment failed its check: %(problems)s", problems="; ".join(problems[:5])
        )
    uncovered = _shortfall(problem, res, q.unreadable_pairs(session, proposals, reviewers))
    for row in uncovered:
        row["proposal_id"] = proposals[row.pop("position")].id
    short_reviews = int(np.asarray(res.short).sum())
    loads = np.broadcast_to(np.asarray(problem.max_load, np.int64), (problem.n_reviewers,))
    progress(80, "storing the assignment")
    # The reviewers answered while the solver worked (reviews saved or submitted,
    # invitations declined or accepted): the call's assignments are read again, locked
    # until the commit (a reviewer's answer locks its assignment first:
    # ``common.lock_answer``), before anything is written, so no answer is lost.
    existing = {
        (a.proposal_id, a.reviewer_id): a
        for a in session.scalars(
            select(ReviewAssignment)
            .where(ReviewAssignment.call_id == call.id)
            .order_by(ReviewAssignment.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    forbidden = {
        (proposals[pi].id, reviewers[rj].id) for pi, rj in np.asarray(problem.forbidden).tolist()
    }
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
            # pairs kept apart so that no reviewers review each other (``apart.solve_apart``),
            # and the cycles made of pairs the run could not undo (by hand, answered)
            "collusion_avoided": apart["avoided"],
            "collusion_kept": apart["kept"],
            # the proposals left short of reviewers, and why (``uncovered_proposals``)
            "short_reviews": short_reviews,
            "uncovered": uncovered,
            # the maximum load that would give the capacity every proposal needs
            "load_to_cover": -(
                -int(np.broadcast_to(np.asarray(problem.k), (problem.n_proposals,)).sum())
                // max(problem.n_reviewers, 1)
            ),
            "capacity": int(loads.sum()),
        },
    )
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
            if (p.id, r.id) in forbidden:
                raise DomainError("The solver chose a forbidden pair; refusing the result.")
            if a.status not in ("removed", "declined"):  # not declined during the solve
                a.score = score
    # solver assignments no longer chosen and still unanswered (read under the lock) are dropped
    for key, a in existing.items():
        if key not in chosen and a.source == "solver" and a.status == "assigned":
            session.delete(a)
    session.flush()
    progress(100, "assignment done")
    return run


@dataclass(frozen=True)
class Uncovered:
    """A proposal short of suitable reviewers after the last automatic assignment."""

    proposal_id: int
    needed: int
    assigned: int  # its active assignments now
    #: "pool" (the call has fewer reviewers than it needs), "conflicts" (fewer
    #: reviewers free of conflicts than it needs), "capacity" (those
    #: reviewers have no room left), "diversity" (the institution and region rules leave
    #: too few), "language" (too few of the reviewers free of conflicts review in its
    #: language), "no_expertise" (covered, but no reviewer has any affinity with it) or
    #: "withdrawn" (a reviewer declined, declared a conflict or was removed since) or
    #: "overdue" (a reviewer invited or accepted is silent past their review deadline)
    reason: str
    free: int  # reviewers free of conflicts (not declined or removed) at the run
    load_to_cover: int  # the maximum load that would give every proposal its reviewers


def uncovered_proposals(
    session: Session,
    call: Call,
    *,
    withheld: frozenset[int] = frozenset(),
    now: dt.datetime | None = None,
) -> list[Uncovered]:
    """What the chair must still recruit for: the proposals the last automatic assignment
    left short, that are still short now (a hand assignment may have covered one), those
    that lost a reviewer since (declined, conflicted, removed) and are short for it, and
    the proposals whose every reviewer has no affinity with them (when the call has
    affinity scores), and those left short by reviewers silent past their review deadline
    (the call's, or their extension; judged at ``now``): invited or accepted, nothing
    submitted ("overdue"). ``withheld``: proposals the reader may not see
    (``policies.withheld``), left out."""
    run = q.latest_run(session, call, "assignment")
    summary = run.summary if run is not None else {}
    load = int(summary.get("load_to_cover", 0))
    # a review whose reviewer was found conflicted with the proposal since does not count
    conflicted = (
        select(Conflict.id)
        .where(
            Conflict.proposal_id == ReviewAssignment.proposal_id,
            Conflict.reviewer_id == ReviewAssignment.reviewer_id,
        )
        .exists()
    )
    active = ReviewAssignment.status.in_(("assigned", "accepted", "submitted")) & ~conflicted
    in_review = select(Proposal.id).where(
        Proposal.call_id == call.id, Proposal.status.in_(q.REVIEWABLE)
    )
    # aggregates in SQL: the assignment page reads this on each of its pages, and a
    # conference call has tens of thousands of assignments (never all loaded here)
    listed = {int(row["proposal_id"]): row for row in summary.get("uncovered", [])}
    out: dict[int, Uncovered] = {}
    ids = sorted(listed.keys() - withheld)
    for lo in range(0, len(ids), 5000):
        part = ids[lo : lo + 5000]
        counts = dict(
            session.execute(
                select(ReviewAssignment.proposal_id, func.count(ReviewAssignment.id))
                .where(ReviewAssignment.proposal_id.in_(part), active)
                .group_by(ReviewAssignment.proposal_id)
            ).all()
        )
        still = session.scalars(in_review.where(Proposal.id.in_(part)))
        for pid in still:
            row, have = listed[pid], int(counts.get(pid, 0))
            if have < int(row["needed"]):
                out[pid] = Uncovered(
                    pid, int(row["needed"]), have, row["reason"], row["free"], load
                )
    # a proposal that lost a reviewer since (declined, a conflict declared, removed) and
    # has fewer than it needs: listed as "withdrawn" until a new run or a hand assignment.
    # What it needs is what the last run gave each proposal (its parameters' k), not the
    # settings' k now (changed since, the run would be short or over by the difference)
    params = run.parameters if run is not None and run.parameters else {}
    k = int(params.get("k") or review_settings(call.review_settings).reviewers_per_proposal)
    lost = (
        select(ReviewAssignment.proposal_id)
        .where(
            ReviewAssignment.call_id == call.id,
            or_(ReviewAssignment.status.in_(("declined", "removed")), conflicted),
            ReviewAssignment.proposal_id.in_(in_review),
        )
        .distinct()
    )
    for pid, n in session.execute(
        select(Proposal.id, func.count(ReviewAssignment.id))
        .outerjoin(ReviewAssignment, (ReviewAssignment.proposal_id == Proposal.id) & active)
        .where(Proposal.id.in_(lost))
        .group_by(Proposal.id)
    ).all():
        if pid not in withheld and pid not in listed and int(n) < k:
            out[pid] = Uncovered(pid, k, int(n), "withdrawn", -1, load)
    for pid, n, late in _overdue(session, call, in_review, now or utcnow()):
        if pid not in withheld and pid not in out and int(n) - late < k:
            out[pid] = Uncovered(pid, k, int(n) - late, "overdue", -1, load)
    scored = session.scalar(
        select(AffinityScore.id)
        .where(AffinityScore.call_id == call.id, AffinityScore.score > 0)
        .limit(1)
    )
    if scored is not None:
        unskilled = session.execute(
            select(ReviewAssignment.proposal_id, func.count(ReviewAssignment.id))
            .where(
                ReviewAssignment.call_id == call.id,
                active,
                ReviewAssignment.proposal_id.in_(in_review),
            )
            .group_by(ReviewAssignment.proposal_id)
            .having(func.max(func.coalesce(ReviewAssignment.score, 0.0)) <= 0)
        ).all()
        for pid, n in unskilled:
            if pid not in withheld and pid not in out:
                out[pid] = Uncovered(pid, k, int(n), "no_expertise", -1, load)
    return [out[pid] for pid in sorted(out)]


def _overdue(
    session: Session, call: Call, in_review: Any, now: dt.datetime
) -> list[tuple[int, int, int]]:
    """The proposals of ``call`` with a reviewer silent past their review deadline (the
    call's, or the chair's extension for them): invited or accepted, not submitted at
    ``now``. Each with its active assignments and how many of those are overdue."""
    deadline = review_settings(call.review_settings).review_deadline
    if deadline is None:
        return []
    if deadline.tzinfo is None:
        deadline = deadline.replace(tzinfo=dt.UTC)
    # counted in SQL (a conference call has tens of thousands of assignments): late are
    # those whose extension passed, and those without one once the call's deadline did
    ext = ReviewDeadlineExtension
    is_late = ext.until <= now
    if now >= deadline:
        is_late = or_(ext.until.is_(None), is_late)
    late = dict(
        session.execute(
            select(ReviewAssignment.proposal_id, func.count(ReviewAssignment.id))
            .outerjoin(
                ext,
                (ext.call_id == ReviewAssignment.call_id)
                & (ext.reviewer_id == ReviewAssignment.reviewer_id),
            )
            .where(
                ReviewAssignment.call_id == call.id,
                ReviewAssignment.status.in_(("assigned", "accepted")),
                ReviewAssignment.proposal_id.in_(in_review),
                is_late,
            )
            .group_by(ReviewAssignment.proposal_id)
        ).all()
    )
    if not late:
        return []
    ids = sorted(late)
    counts: dict[int, int] = {}
    for lo in range(0, len(ids), 5000):  # bound parameters per statement, as above
        rows = session.execute(
            select(ReviewAssignment.proposal_id, func.count(ReviewAssignment.id))
            .where(
                ReviewAssignment.proposal_id.in_(ids[lo : lo + 5000]),
                ReviewAssignment.status.in_(("assigned", "accepted", "submitted")),
            )
            .group_by(ReviewAssignment.proposal_id)
        ).all()
        counts.update((int(pid), int(n)) for pid, n in rows)
    return [(pid, int(counts.get(pid, 0)), int(n)) for pid, n in sorted(late.items())]


def add_assignment(
    session: Session, call: Call, proposal: Proposal, reviewer: User, *, actor_id: int | None = None
) -> ReviewAssignment:
    """A chair's manual assignment: refused when conflicted or over the reviewer's load."""
    rs = review_settings(call.review_settings)
    if proposal.call_id != call.id:
        raise DomainError("Not found", code="not_found")
    require_hands_off(session, proposal, actor_id)
    if not reviewer.is_active:
        raise DomainError("This account is deactivated; it cannot be given proposals.")
    if q.is_conflicted(session, proposal.id, reviewer.id):
        raise conflicted_pair()
    reviewers = {r.id for r in q.reviewers_of_call(session, call)}
    # the teams of the call's proposals: the distributed mode's ties and the collusion check
    teams = q.review_teams(session, call)
    if rs.mode == "distributed":
        # applicants review each other (as the automatic assignment draws them): an
        # account with no proposal in review here, nor the call's reviewing role, is no
        # reviewer of it; nor is anyone who shares a team with a member of this proposal
        own = [t for t in teams.values() if reviewer.id in t]
        ties = {reviewer.id}.union(*own)
        if reviewer.id not in reviewers and not own:
            raise DomainError("This person is not a reviewer of this call.")
        if ties & teams.get(proposal.id, set()):
            raise conflicted_pair()  # the words of any conflict, as below
    elif reviewer.id not in reviewers:
        raise DomainError("This person is not a reviewer of this call.")
    if any(m.user_id == reviewer.id for m in proposal.members):
        # the same words as any conflict, so that a refusal does not tell who is on the team
        raise conflicted_pair()
    # no reviewers who review each other's proposals, directly or round a ring of up to five
    # (the automatic assignment's rule, ``apart.solve_apart``). The reviewers of a proposal
    # withheld from the chair are left out: a refusal would tell who reviews it
    pair = (proposal.id, reviewer.id)
    hidden = withheld_from(session, session.get(User, actor_id) if actor_id else None, call)
    pairs = [(p, r) for p, r in q.active_pairs(session, call) if p not in hidden]
    cycles = collusion_cycles([*pairs, pair], teams)
    if any(pair in cycle for cycle in cycles):
        raise reviewing_collusion()
    if q.unreadable_pairs(session, [proposal], [reviewer]):
        # the reviewer declared the languages they review in, and not this proposal's
        raise DomainError(
            "This reviewer does not review in the language of this proposal (%(lang)s).",
            lang=proposal.language,
        )
    active = q.assignments_of_reviewer(session, reviewer.id)
    # the call's maximum, or the fewer the reviewer accepted when invited (as the
    # automatic assignment holds them to)
    limit = min(rs.max_load, q.declared_max_loads(session, call).get(reviewer.id, rs.max_load))
    if sum(1 for a in active if a.call_id == call.id) >= limit:
        raise DomainError("This reviewer already has the maximum load of %(n)s.", n=limit)
    # and the reviewer's own limit across calls: the reviews they still have to write in
    # every call in review, this one included (a count, never which calls or proposals)
    at_once = q.reviews_at_once(session, reviewer_id=reviewer.id).get(reviewer.id)
    if at_once is not None and at_once[1] >= at_once[0]:
        raise DomainError(
            "This reviewer reviews at most %(n)s proposals at once across calls, and has"
            " that many to review already.",
            n=at_once[0],
        )
    # and their limit per calendar year (trialrev18): a count, naming no call or proposal
    this_year = q.reviews_this_year(session, reviewer_id=reviewer.id).get(reviewer.id)
    if this_year is not None and this_year[1] >= this_year[0]:
        raise DomainError(
            "This reviewer takes at most %(n)s reviews a year across calls, and has been"
            " given that many this year already.",
            n=this_year[0],
        )
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
        if existing.status == "declined":
            # they said no to this very proposal: never offered it again (the automatic
            # assignment forbids the pair too); a removed pair the chair may restore
            raise DomainError(
                "This reviewer declined this proposal: it is not offered to them again."
            )
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
    session: Session,
    assignment: ReviewAssignment,
    *,
    actor_id: int | None = None,
    reason: str = "",
    submitted_review: bool = False,
) -> None:
    """Take ``assignment`` from its reviewer. A submitted review only when the chair
    asked for that very thing (``submitted_review``: a reviewer's grades set aside after
    misconduct, say; a removal meant for an unsubmitted assignment is refused when the
    review came in meanwhile), with a reason kept on record, and only before the ranking
    is frozen: its grade then no longer counts, the ranking is no longer current (the
    chair calibrates again) and its comments are not shown to the applicants. A reason
    over :data:`~opencall.reviews.services.common.MAX_REASON` is refused, not cut."""
    require_reason_fits(reason.strip())
    lock_assignment(session, assignment)  # a review submitted meanwhile is seen
    submitted = assignment.status == "submitted"
    if submitted and not submitted_review:
        raise DomainError("A submitted review cannot be unassigned.")
    if submitted_review and not submitted:
        raise DomainError("This review is not submitted: remove the assignment instead.")
    call = session.get(Call, assignment.call_id)
    if submitted:
        if not reason.strip():
            raise DomainError(
                "A submitted review is removed only with a reason, which is kept on record.",
                field="reason",
            )
        _unfrozen(call)
    proposal = session.get(Proposal, assignment.proposal_id)
    if proposal is not None:
        require_hands_off(session, proposal, actor_id)
    assignment.status = "removed"
    action = "review.removed" if submitted else "assignment.removed"
    _audit_assignment(session, action, assignment, actor_id=actor_id, reason=reason.strip())
    if submitted and call is not None:
        # checked again under the audit chain's lock, which the freeze holds too: a
        # freeze committed since the first check is seen here
        session.refresh(call, ["ranking_frozen_at"])
        _unfrozen(call)


#: an assignment whose review is still to be written (a withdrawal takes these)
OPEN_ASSIGNMENT = ("assigned", "accepted")


def remove_open_assignments(session: Session, proposal: Proposal) -> int:
    """Take ``proposal``'s reviews still to be written from their reviewers (status
    ``removed``), as its withdrawal in review does (``proposals.services.withdraw``, which
    calls it through ``WITHDRAWAL_STEPS``); reviews already written are kept, unread. The
    reviewer then sees it as any removal: gone from their list, its page not found, a
    review sent meanwhile refused with the reason (410). Returns the number taken."""
    result = session.execute(
        update(ReviewAssignment)
        .where(
            ReviewAssignment.proposal_id == proposal.id,
            ReviewAssignment.status.in_(OPEN_ASSIGNMENT),
        )
        .values(status="removed")
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _unfrozen(call: Call | None) -> None:
    """Refuse the removal of a submitted review once the call's ranking is frozen."""
    if call is not None and call.ranking_frozen_at is not None:
        raise DomainError("The ranking is frozen: a submitted review can no longer be removed.")
