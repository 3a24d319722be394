"""The call's policy switch ``review_settings.bias_correction``: off, calibration is untouched;
on, flagged reviewer-group x applicant-group effects are removed from the grades before
ranking, the rank changes are kept with the run, and an audit event records it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.auditlog import AuditEvent
from opencall.calls.queries import call_by_slug
from opencall.calls.schemas import review_settings
from opencall.calls.services import update_call
from opencall.cycle.services import transition_call
from opencall.demo.simulate import simulate_reviews
from opencall.errors import DomainError
from opencall.proposals.services import close_call
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.models import RankedProposal
from tests import factories as f


def test_the_policy_switch_is_validated_and_off_by_default(db: Session) -> None:
    assert review_settings({}).bias_correction is False
    assert review_settings({"bias_correction": True}).bias_correction is True
    for bad in ({"bias_correction": "perhaps"}, {"bias_alpha": 0}, {"bias_alpha": 0.7}):
        with pytest.raises(DomainError):
            review_settings(bad)
    call = f.fast_call(db, status="draft")
    update_call(db, call, {"review_settings": {"bias_correction": True}})
    assert call.review_settings["bias_correction"] is True
    before = dict(call.review_settings)
    with pytest.raises(DomainError):
        update_call(db, call, {"review_settings": {"bias_alpha": "lots"}})
    assert call.review_settings == before


def _reviewed_call(s: Session) -> tuple:
    call = call_by_slug(s, "fast-2027")
    assert call is not None
    close_call(s, call, reason="test")
    transition_call(s, call, "review")
    rv.compute_conflicts(s, call)
    rv.run_affinity(s, call)
    rv.run_assignment(s, call, seed=0)
    simulate_reviews(s, call, seed=0)
    return call


def _plant(s: Session, call) -> tuple[str, set[int]]:
    """Reviewers of the largest region grade low- and lower-middle-income PIs 2 points lower."""
    pairs = rq.submitted_reviews(s, call)
    pids = sorted({a.proposal_id for a, _ in pairs})
    rids = sorted({a.reviewer_id for a, _ in pairs})
    rgroups, agroups = rq.bias_groups(s, pids, rids)
    region_of = dict(zip(rids, rgroups["un_region"], strict=True))
    lmic_of = dict(zip(pids, agroups["lmic"], strict=True))
    regions = [g for g in rgroups["un_region"] if g != "unknown"]
    biased = max(sorted(set(regions)), key=regions.count)
    victims = {p for p, g in lmic_of.items() if g == "low or lower-middle"}
    rs = review_settings(call.review_settings)
    for a, review in pairs:
        if region_of[a.reviewer_id] == biased and a.proposal_id in victims:
            review.grade = max(rs.grade_min, review.grade - 2.0)
    s.flush()
    return biased, victims


def _ranks(s: Session, run_id: int) -> dict[int, int]:
    rows = s.scalars(select(RankedProposal).where(RankedProposal.run_id == run_id))
    return {r.proposal_id: r.rank for r in rows}


@pytest.fixture
def reviewed(demo: Any) -> Iterator[Session]:
    """The demo world of seed 2 at scale 0.45 (built once per session, copied here)."""
    with demo(2, 0.45)() as s:
        yield s


def test_correction_removes_a_planted_effect_shows_rank_changes_and_is_audited(
    reviewed: Session,
) -> None:
    s = reviewed
    call = _reviewed_call(s)
    biased, victims = _plant(s, call)

    # policy off: a plain calibration, nothing about bias in the run or the audit log
    off = rv.run_calibration(s, call, seed=0, n_bootstrap=20)
    assert "bias_correction" not in off.summary
    assert off.parameters["bias_correction"] is False
    audit = select(AuditEvent).where(AuditEvent.action == "ranking.bias_corrected")
    assert s.scalars(audit).all() == []
    ranks_off = _ranks(s, off.id)

    # policy on (as the call would have been configured before it opened)
    call.review_settings = {**call.review_settings, "bias_correction": True}
    s.flush()
    on = rv.run_calibration(s, call, seed=0, n_bootstrap=20)
    bc = on.summary["bias_correction"]
    assert bc["flagged"] >= 1 and bc["tested"] >= bc["flagged"]
    assert bc["mdb"]["min"] is not None and bc["mdb"]["min"] > 0
    planted = [
        c
        for c in bc["cells"]
        if c["reviewer_cut"] == "un_region"
        and c["reviewer_group"] == biased
        and c["applicant_group"] in ("low", "lower-middle", "low or lower-middle", "LDC")
    ]
    assert planted, bc["cells"]
    assert all(c["removed"] < -0.5 for c in planted)
    assert bc["reviews_changed"] > 0

    # the rank changes are those between the uncorrected and the corrected ranking
    ranks_on = _ranks(s, on.id)
    assert bc["ranks_changed"] == len(bc["rank_changes"]) > 0
    for pid, before, after in bc["rank_changes"]:
        assert ranks_on[pid] == after
        assert before == ranks_off[pid]
    unchanged = {pid for pid, _, _ in bc["rank_changes"]} ^ set(ranks_on)
    assert all(ranks_on[p] == ranks_off[p] for p in unchanged)
    # the victims move up on average
    v = [p for p in ranks_on if p in victims]
    assert sum(ranks_on[p] for p in v) < sum(ranks_off[p] for p in v)

    events = s.scalars(audit).all()
    assert len(events) == 1
    ev = events[0]
    assert ev.call_id == call.id and ev.data["run_id"] == on.id
    assert ev.data["ranks_changed"] == bc["ranks_changed"]
    assert any(biased in sentence for sentence in ev.data["cells"])


def test_correction_on_without_any_flag_changes_nothing(reviewed: Session) -> None:
    s = reviewed
    call = _reviewed_call(s)
    off = rv.run_calibration(s, call, seed=0, n_bootstrap=0)
    call.review_settings = {**call.review_settings, "bias_correction": True}
    s.flush()
    on = rv.run_calibration(s, call, seed=0, n_bootstrap=0)
    bc = on.summary["bias_correction"]
    assert bc["flagged"] == 0 and bc["cells"] == [] and bc["reviews_changed"] == 0
    assert bc["ranks_changed"] == 0
    assert _ranks(s, on.id) == _ranks(s, off.id)
    # still recorded: the ranking was produced under the correction policy
    assert s.scalars(select(AuditEvent).where(AuditEvent.action == "ranking.bias_corrected")).one()
