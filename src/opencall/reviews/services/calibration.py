"""Calibration and ranking: the submitted grades calibrated for reviewer leniency and
scale (``optim.calibration``, optionally corrected for group effects by ``optim.bias``),
ranked with intervals and a discussion band at the capacity line; then frozen."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.calls.models import Call
from opencall.calls.schemas import allocation_policy, review_settings
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.proposals.domain import counted_choices
from opencall.proposals.models import Proposal, Request
from opencall.proposals.services import lock_call_for_close
from opencall.reviews import queries as q
from opencall.reviews.models import RankedProposal
from opencall.runs import Progress, Solve, SolverRun, inputs_hash, record_run
from opencall.runs import no_progress as _noop


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
    from opencall.optim.calibration import GradeScale, GradeSet, calibrate, leniency_shrinkage
    from opencall.optim.calibration.ordinal import label_scores

    if call.ranking_frozen_at is not None:
        # the frozen ranking is what the allocation reads (and, in a dual-anonymous call,
        # what was ranked before the chair saw the teams): a new run would replace it
        raise DomainError(
            "The ranking is frozen; calibrating again would change the ranking the allocation uses."
        )
    solve = Solve(seed, actor_id)
    rs = review_settings(call.review_settings)
    pairs, excluded = _counted(session, call)
    if not pairs:
        raise DomainError("No submitted reviews to calibrate yet.")
    prop_ids = sorted({a.proposal_id for a, _ in pairs})
    rev_ids = sorted({a.reviewer_id for a, _ in pairs})
    pidx = {p: i for i, p in enumerate(prop_ids)}
    ridx = {r: j for j, r in enumerate(rev_ids)}
    given = np.array([r.grade for _, r in pairs], dtype=np.float64)
    # a letter or word scale: the labels' ordered-probit scores (higher is better), not
    # their positions a fixed step apart (``optim.calibration.ordinal``)
    scores = label_scores(given, len(rs.grade_labels)) if rs.grade_labels else None
    gs = GradeSet(
        proposal_idx=np.array([pidx[a.proposal_id] for a, _ in pairs], dtype=np.int64),
        reviewer_idx=np.array([ridx[a.reviewer_id] for a, _ in pairs], dtype=np.int64),
        grade=given if scores is None else scores[given.astype(np.int64) - 1],
        n_proposals=len(prop_ids),
        n_reviewers=len(rev_ids),
        scale=_latent_scale(scores)
        if scores is not None
        else GradeScale(rs.grade_min, rs.grade_max, rs.lower_is_better),
        confidence=np.array([max(1, r.confidence) for _, r in pairs], dtype=np.float64),
    )
    correction: dict[str, Any] | None = None
    if rs.bias_correction:
        progress(10, "testing reviewer-group x applicant-group effects")
        gs, correction = _bias_corrected(session, gs, prop_ids, rev_ids, rs.bias_alpha)
        raw_grades = correction.pop("raw_grades")
        correction["rank_before"] = calibrate(
            raw_grades,
            fit_scale=fit_scale and len(pairs) >= 5 * len(rev_ids),
            leniency_shrinkage=leniency_shrinkage(raw_grades),
            n_bootstrap=0,
            seed=seed,
        ).rank.tolist()
    progress(20, f"calibrating {len(pairs)} grades")
    # the leniency ridge as a mixed model would set it from these grades: very harsh or
    # very lenient reviewers corrected fully, reviewers who barely differ shrunk as before
    ridge = leniency_shrinkage(gs)
    res = calibrate(
        gs,
        fit_scale=fit_scale and len(pairs) >= 5 * len(rev_ids),
        leniency_shrinkage=ridge,
        n_bootstrap=n_bootstrap,
        seed=seed,
    )
    if scores is not None:
        # checked on the scale it was fitted on, then said on the labels' (monotone)
        problems = res.check(gs)
        if problems:
            raise DomainError(
                "Calibration failed its check: %(problems)s", problems="; ".join(problems[:5])
            )
        res = _on_labels(res, scores, gs, given)
    # the scores stored on the call's grade scale: the calibration clips to the scale it
    # was given; a bias correction widened that one, so clip again to the call's (what
    # the wider one clipped lies outside the call's and is counted here)
    outside = (res.consensus < rs.grade_min) | (res.consensus > rs.grade_max)
    clipped = int(np.count_nonzero(outside)) if correction else int(res.params["clipped_to_scale"])
    res = replace(
        res,
        consensus=np.clip(res.consensus, rs.grade_min, rs.grade_max),
        consensus_lo=np.clip(res.consensus_lo, rs.grade_min, rs.grade_max),
        consensus_hi=np.clip(res.consensus_hi, rs.grade_min, rs.grade_max),
    )
    problems = res.check(gs) if scores is None else []
    if problems:
        raise DomainError(
            "Calibration failed its check: %(problems)s", problems="; ".join(problems[:5])
        )
    # the panel's consensus grades, recorded at its meeting, rank their proposals in place
    # of the calibrated scores
    panel = q.panel_grades(session, call)
    calibrated = res  # the bias correction's rank changes are the calibration's alone
    if panel:
        res = _with_panel_grades(res, prop_ids, panel, rs.lower_is_better)
    # proposals to discuss: rank interval straddles the capacity line
    cutoff = _capacity_cutoff(
        session, call, [pidx_inv for pidx_inv in prop_ids], res.order().tolist()
    )
    discuss = set(res.discuss(cutoff).tolist()) if 0 < cutoff < len(prop_ids) else set()
    run = record_run(
        session,
        call,
        "calibration",
        solve,
        inputs=_grades([(a.proposal_id, a.reviewer_id, r.grade) for a, r in pairs], panel),
        parameters={
            "n_bootstrap": n_bootstrap,
            "fit_scale": fit_scale,
            "level": res.level,
            "bias_correction": rs.bias_correction,
            "leniency_shrinkage": ridge,
            **(
                {"grade_labels": rs.grade_labels, "label_scores": scores.tolist()}
                if scores is not None
                else {}
            ),
        },
        summary={
            "proposals": len(prop_ids),
            "reviewers": len(rev_ids),
            "grades": len(pairs),
            "cutoff": cutoff,
            "discuss": len(discuss),
            "converged": res.converged,
            "scores_clipped": clipped,
            **({"panel_grades": len(panel)} if panel else {}),
            **({"flat_reviewers": flat} if (flat := _flat_reviewers(pairs)) else {}),
            **({"conflicted_grades_excluded": excluded} if excluded else {}),
            **(
                {"bias_correction": _rank_changes(correction, prop_ids, calibrated)}
                if correction
                else {}
            ),
        },
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


def _latent_scale(scores: np.ndarray) -> Any:
    """The scale the labels' scores span (higher is better), a little wider than the
    scores so that none lies on its end (the calibration clips to the scale)."""
    from opencall.optim.calibration import GradeScale

    pad = 1e-6 * float(scores[0] - scores[-1])
    return GradeScale(float(scores[-1]) - pad, float(scores[0]) + pad, False)


def _on_labels(res: Any, scores: np.ndarray, gs: Any, given: np.ndarray) -> Any:
    """A calibration on the labels' scores said on the labels' scale: positions, 1 the
    first (best) label, lower is better (an interval's ends swap); the raw mean is the
    mean of the positions the reviewers gave."""
    from opencall.optim.calibration.ordinal import on_label_scale

    n = np.bincount(gs.proposal_idx, minlength=gs.n_proposals)
    raw = np.bincount(gs.proposal_idx, weights=given, minlength=gs.n_proposals) / n
    return replace(
        res,
        consensus=on_label_scale(res.consensus, scores),
        consensus_lo=on_label_scale(res.consensus_hi, scores),
        consensus_hi=on_label_scale(res.consensus_lo, scores),
        raw_mean=raw,
        lower_is_better=True,
    )


def _counted(session: Session, call: Call) -> tuple[list[tuple[Any, Any]], int]:
    """The submitted reviews whose grade ranks, and how many were left out: a conflict
    found after the grade was given (a co-authorship declared late, say) keeps the review,
    but its grade does not rank the proposal."""
    pairs = q.submitted_reviews(session, call)
    conflicted = q.conflict_pairs(session, call)
    # a proposal withdrawn in review keeps its reviews, unranked
    ranked = set(
        session.scalars(
            select(Proposal.id).where(
                Proposal.call_id == call.id, Proposal.status.in_(q.REVIEWABLE)
            )
        )
    )
    pairs = [(a, r) for a, r in pairs if a.proposal_id in ranked]
    kept = [(a, r) for a, r in pairs if (a.proposal_id, a.reviewer_id) not in conflicted]
    return kept, len(pairs) - len(kept)


def _flat_reviewers(pairs: list[tuple[Any, Any]]) -> int:
    """How many reviewers gave at least three counted grades, all the same: grades that
    rank nothing, which the chair is told of (the calibration fits each reviewer's
    spread, so they do not distort the ranking)."""
    given: dict[int, list[float]] = {}
    for a, r in pairs:
        given.setdefault(a.reviewer_id, []).append(r.grade)
    return sum(1 for g in given.values() if len(g) >= 3 and len(set(g)) == 1)


def _grades(grades: list[tuple[int, int, Any]], panel: dict[int, float]) -> dict[str, Any]:
    """The calibration's inputs (their hash is the run's ``inputs_hash``): the counted
    (proposal, reviewer, grade), and the panel's consensus grades when there are any (a
    run before any was recorded hashes as before)."""
    return {"grades": grades, "panel": sorted(panel.items())} if panel else {"grades": grades}


def _with_panel_grades(
    res: Any, prop_ids: list[int], panel: dict[int, float], lower_is_better: bool
) -> Any:
    """``res`` with each panel grade as its proposal's score (an interval of the grade
    alone), ranked again by score (ties in the calibrated order); a rank interval widened
    to hold its new rank."""
    consensus = res.consensus.copy()
    lo, hi = res.consensus_lo.copy(), res.consensus_hi.copy()
    for i, pid in enumerate(prop_ids):
        if pid in panel:
            consensus[i] = lo[i] = hi[i] = panel[pid]
    merit = consensus if not lower_is_better else -consensus
    order = np.lexsort((res.rank, -merit))  # best first; the calibrated rank breaks ties
    rank = np.empty(len(prop_ids), dtype=np.int64)
    rank[order] = np.arange(1, len(prop_ids) + 1)
    return replace(
        res,
        consensus=consensus,
        consensus_lo=lo,
        consensus_hi=hi,
        rank=rank,
        rank_lo=np.minimum(res.rank_lo, rank),
        rank_hi=np.maximum(res.rank_hi, rank),
    )


def ranking_is_current(session: Session, call: Call) -> bool:
    """Whether the counted grades are still those the latest calibration ranked (not
    when a grade changed or was added since, or a conflict found since keeps one out).
    True before a first calibration."""
    run = q.latest_run(session, call, "calibration")
    return run is None or _grades_hash(session, call) == run.inputs_hash


_GRADES_READ = "opencall.grades_read"


def _grades_hash(session: Session, call: Call) -> str:
    """The hash of the call's counted grades (a calibration's ``inputs_hash``), read again
    only when the call's audit log moved since this session last read them. Every write
    that changes the counted grades (a review submitted, a conflict declared or computed,
    an assignment removed) records an event of the call in its own transaction, under the
    audit chain's lock, and the events' ids follow the order of those commits: the mark
    (the call's last event, read before the grades) unchanged means no such write has
    committed since the grades were read, and a write committed after the mark moves it.
    This is what lets the freeze read a large call's grades before it takes the chain's
    lock (``freeze_ranking``) and check them under it with one statement."""
    mark = auditlog.last_event_of_call(session, call.id)
    held = session.info.get(_GRADES_READ)
    if held is not None and held[:2] == (call.id, mark):
        return str(held[2])
    # the columns (fresh values, no ORM rows: a review loaded earlier in the session
    # would keep its old grade), as _grades(_counted(...)) gives them to the calibration
    conflicted = q.conflict_pairs(session, call)
    grades = [(p, r, g) for p, r, g in q.ranked_grades(session, call) if (p, r) not in conflicted]
    digest = inputs_hash(_grades(grades, q.panel_grades(session, call)))
    session.info[_GRADES_READ] = (call.id, mark, digest)
    return digest


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
        # what the model did not test and why (one applicant group, too few reviewers), as
        # messages the chair's page says in the reader's language
        "skipped": list(model.skipped_messages),
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
    requests: dict[int, list[tuple[float, str | None]]] = {pid: [] for pid in prop_ids}
    for i in range(0, len(prop_ids), 5000):  # the amounts asked, in one query per 5000
        for pid, amount, bundle in session.execute(
            select(Request.proposal_id, Request.amount, Request.bundle)
            .where(Request.proposal_id.in_(prop_ids[i : i + 5000]))
            .order_by(Request.proposal_id, Request.position)
        ):
            requests[pid].append((amount, bundle))
    # under a cap of k awards per PI a proposal asks for k of its choices, not every
    # alternative it lists (an "any node" application, a preferred and an acceptable cohort)
    cap = allocation_policy(call.allocation_policy).pi_cap_awards
    asked: dict[int, float] = {}
    for pid, reqs in requests.items():
        counted = counted_choices([b for _a, b in reqs], cap)
        asked[pid] = sum(a for (a, _b), n in zip(reqs, counted, strict=True) if n)
    used = 0.0
    n = 0
    for i in order:
        used += asked[prop_ids[i]]
        if used > capacity:
            break
        n += 1
    return n


def freeze_ranking(session: Session, call: Call, *, actor_id: int | None = None) -> Call:
    # the call's row exclusively (SQLite: the write lock), the freeze read again, and the
    # grades read (the long part on a large call) before the audit chain's lock, which
    # every audited write of the site waits for; then the chain's lock, and the grades
    # checked under it: read again only if a write of the call was audited meanwhile
    # (``_grades_hash``), so the check sees every review committed before; a review still
    # to come holds the chain's lock after this commit and finds the ranking frozen
    # (``submit_review`` checks again under it)
    lock_call_for_close(session, call)
    session.refresh(call, ["ranking_frozen_at"])
    if q.latest_run(session, call, "calibration") is None:
        raise DomainError("Calibrate the grades before freezing the ranking.")
    if call.ranking_frozen_at is not None:
        return call  # already frozen: the first freeze (its time and audit event) stands
    _grades_hash(session, call)
    auditlog.chain_head(session)
    session.refresh(call, ["ranking_frozen_at"])
    if call.ranking_frozen_at is not None:
        return call
    if not ranking_is_current(session, call):
        raise DomainError(
            "The grades changed since the last calibration; calibrate again before freezing "
            "the ranking."
        )
    call.ranking_frozen_at = utcnow()
    session.flush()
    auditlog.record(session, "ranking.frozen", "call", call.id, actor_id=actor_id, call_id=call.id)
    return call


def unfreeze_refusal(session: Session, call: Call) -> DomainError | None:
    """Why the call's ranking cannot be unfrozen now (None: it can), for the service and
    for the page that offers the step."""
    if call.ranking_frozen_at is None:
        return DomainError("The ranking is not frozen.")
    if call.anonymity == "dual":
        # the freeze showed the teams to the chair: undone, the ranking could be made
        # again knowing them (more reviewers, a step back to review)
        return DomainError(
            "In a dual-anonymous call the freeze showed the teams to the chair; it cannot "
            "be undone."
        )
    if call.decisions_released_at is not None:
        return DomainError(
            "Decisions were already released; the ranking can no longer be unfrozen."
        )
    if q.latest_run(session, call, "allocation") is not None:
        return DomainError(
            "The allocation has already run on the frozen ranking; it can no longer be "
            "unfrozen (its decisions read that ranking)."
        )
    return None


def unfreeze_ranking(
    session: Session, call: Call, *, reason: str, actor_id: int | None = None
) -> Call:
    """Undo a freeze made too early, so that the chair can calibrate again: a reason is
    required and audited (``ranking.unfrozen``, with the time of the freeze undone). Only
    before the allocation has run on the frozen ranking, and never after the release."""
    reason = reason.strip()
    if not reason:
        raise DomainError("Give the reason for unfreezing the ranking.", field="reason")
    if len(reason) > 2000:
        raise DomainError("The reason is limited to 2,000 characters.", field="reason")
    refusal = unfreeze_refusal(session, call)
    if refusal is not None:
        raise refusal
    frozen_at = call.ranking_frozen_at
    call.ranking_frozen_at = None
    session.flush()
    auditlog.record(
        session,
        "ranking.unfrozen",
        "call",
        call.id,
        actor_id=actor_id,
        call_id=call.id,
        reason=reason,
        data={"frozen_at": frozen_at.isoformat() if frozen_at else None},
    )
    return call
