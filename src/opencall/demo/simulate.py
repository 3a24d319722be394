"""Simulated reviewer behaviour for the demo world (clearly labelled as such).

Each proposal gets a latent quality and each reviewer a leniency, so the
demo's calibration has something real to correct."""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.calls.schemas import review_settings
from opencall.people.models import User
from opencall.reviews import queries as rq
from opencall.reviews import services as rs

COMMENTS = [
    "The science case is clear and the request is well justified; the target list could be prioritised.",
    "A sound proposal. The technical justification should state the sensitivity reached per target.",
    "Interesting goals, but the link between the observations and the key question is not fully argued.",
    "Strong team and a feasible plan; the expected results would be of broad interest.",
    "The proposal would benefit from a clearer comparison with existing data.",
]


def simulate_reviews(session: Session, call: Call, *, seed: int = 0, fraction: float = 1.0) -> int:
    """Submit simulated reviews for the call's assignments; returns how many."""
    rng = random.Random(seed)
    settings = review_settings(call.review_settings)
    lo, hi = settings.grade_min, settings.grade_max
    quality: dict[int, float] = {}
    leniency: dict[int, float] = {}
    items: list[rs.ReviewInput] = []
    assignments = rq.assignments_of_call(session, call)
    # the reviewers in one query (session.get below then finds them in the session)
    _held = list(
        session.scalars(select(User).where(User.id.in_({a.reviewer_id for a in assignments})))
    )
    for a in assignments:
        if a.status == "submitted" or rng.random() > fraction:
            continue
        q = quality.setdefault(a.proposal_id, rng.gauss(0, 1))
        b = leniency.setdefault(a.reviewer_id, rng.gauss(0, 0.6))
        raw = (lo + hi) / 2 + (hi - lo) / 5 * (q + b + rng.gauss(0, 0.5))
        if settings.lower_is_better:
            raw = lo + hi - raw
        grade = round(min(hi, max(lo, raw)) * 2) / 2
        reviewer = session.get(User, a.reviewer_id)
        assert reviewer is not None
        items.append(
            rs.ReviewInput(
                a,
                reviewer,
                grade=grade,
                confidence=rng.randint(2, 5),
                comments_to_applicants=rng.choice(COMMENTS),
                comments_to_panel="(simulated demo review)",
            )
        )
    # submitted together (the same rows and audit events as one submit_review each)
    for i in range(0, len(items), 2000):
        rs.submit_reviews(session, items[i : i + 2000])
    return len(items)
