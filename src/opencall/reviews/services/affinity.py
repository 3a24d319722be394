"""Reviewer-proposal affinity: each reviewer's expertise text against each proposal's
text (``optim.affinity``), stored as ``AffinityScore`` rows with a solver run."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.people.models import ExpertiseProfile, ReviewerPublication, User
from opencall.proposals.models import Proposal
from opencall.reviews import queries as q
from opencall.reviews.models import AffinityScore
from opencall.reviews.services.common import load_revisions, revision_content
from opencall.runs import Progress, Solve, SolverRun, record_run
from opencall.runs import no_progress as _noop

#: above this many reviewers, the affinity keeps each proposal's best this many reviewers
AFFINITY_TOP_K = 100


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

    solve = Solve(actor_id=actor_id)
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
            raise DomainError.composed(str(exc)) from exc
    elif method == "tfidf":
        res = aff.tfidf_affinity(rtexts, ptexts, top_k=top_k)
    else:
        raise DomainError("Affinity method must be 'tfidf' or 'embeddings'.", field="method")
    problems = res.check((len(ptexts), len(rtexts)))
    if problems:
        raise DomainError(
            "Affinity result failed its check: %(problems)s", problems="; ".join(problems)
        )
    progress(70, "storing scores")
    session.execute(delete(AffinityScore).where(AffinityScore.call_id == call.id))
    run = record_run(
        session,
        call,
        "affinity",
        solve,
        inputs={"r": rtexts, "p": ptexts},
        parameters={"method": method} if top_k is None else {"method": method, "top_k": top_k},
        summary={
            "proposals": len(ptexts),
            "reviewers": len(rtexts),
            "vocabulary": res.vocabulary_size,
        },
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
