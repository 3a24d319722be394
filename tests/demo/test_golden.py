"""The demo cycles' results are the same before and after a refactor.

The small demo world (seed 2, scale 0.12, anchored on ``DEMO_ANCHOR``) is run the way
``opencall demo build --cycles`` runs it: every closed call goes through
:func:`opencall.demo.cycle.run_cycle` (simulated reviews), then each current call gets
its earlier, archived cycle (:func:`opencall.demo.past.build_past_cycles`). Post-award
records and the report's "after the award" section are dated on the anchor, not on the
real date, so the digest does not change from one day to the next.

:func:`digest` reduces every result to plain data keyed by natural keys (call codes,
proposal codes, e-mails, pool names; never row ids or creation timestamps), floats
rounded to 6 decimals, lists sorted; each part is stored as its SHA-256 and its size
in ``golden_demo_cycles.json`` next to this file. A failure names the parts that
changed.

Regenerate the golden file (only when a change of results is intended, and say so in
the commit)::

    OPENCALL_UPDATE_GOLDEN=1 .venv/bin/pytest -q -p no:xdist tests/demo/test_golden.py

On PostgreSQL (``OPENCALL_TEST_POSTGRES_URL``) the same digest must come out.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.allocation.models import Award, Decision
from opencall.calls.models import Call
from opencall.demo.cycle import run_cycle
from opencall.demo.past import build_past_cycles
from opencall.demo.postaward import record_postaward
from opencall.facilities.models import CapacityPool
from opencall.outcomes import after_award_data
from opencall.outcomes import queries as outcomes
from opencall.people.models import RoleGrant, User
from opencall.proposals.models import Proposal, Request, TeamMember
from opencall.results.models import PostAwardRecord, ResearchOutput
from opencall.reviews.models import RankedProposal, Review, ReviewAssignment
from opencall.scheduling.models import ScheduleEntry
from tests.conftest import DEMO_ANCHOR

GOLDEN = Path(__file__).with_name("golden_demo_cycles.json")
SEED, SCALE = 2, 0.12
UPDATE = "OPENCALL_UPDATE_GOLDEN"


def _plain(value: Any) -> Any:
    """Canonical plain data: floats rounded, ids and timestamps of creation left out."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        r = round(value, 6)
        return 0.0 if r == 0 else r
    if isinstance(value, dict):
        return {
            str(k): _plain(v)
            for k, v in value.items()
            if k not in ("id", "generated_at") and not str(k).endswith("_id")
        }
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


# what an entry keeps only to say its English sentence in another language: the English
# ``explanation`` and label stay in the digest, these copies of them do not
PRESENTATION_KEYS = {"detail_msg", "detail_params", "label_msg", "label_params"}


def _results_only(details: dict[str, Any] | None) -> dict[str, Any] | None:
    if not details:
        return details
    return {k: v for k, v in details.items() if k not in PRESENTATION_KEYS}


def _rows(rows: list[Any]) -> list[Any]:
    return sorted((_plain(r) for r in rows), key=lambda r: json.dumps(r, sort_keys=True))


def run_demo_cycles(s: Session) -> None:
    """What ``opencall demo build --cycles`` does after the build, dated on the anchor."""
    for call in s.scalars(select(Call).where(Call.status == "closed").order_by(Call.id)):
        run_cycle(s, call, seed=SEED, postaward=False)
        record_postaward(s, call, seed=SEED, today=DEMO_ANCHOR)
    build_past_cycles(s, seed=SEED, today=DEMO_ANCHOR)
    s.flush()


def digest(s: Session) -> dict[str, Any]:
    """Every result of the demo world and its cycles, as plain data per part."""
    email = dict(s.execute(select(User.id, User.email)).all())
    pcode = dict(s.execute(select(Proposal.id, Proposal.code)).all())
    pool = dict(s.execute(select(CapacityPool.id, CapacityPool.name)).all())
    code = dict(s.execute(select(Call.id, Call.code)).all())
    assignment = {
        a.id: (pcode[a.proposal_id], email[a.reviewer_id])
        for a in s.scalars(select(ReviewAssignment))
    }
    request = {r.id: (pcode[r.proposal_id], r.position) for r in s.scalars(select(Request))}
    parts: dict[str, Any] = {
        "users": _rows(
            [
                [u.email, u.name, u.country_iso3, u.language, u.expertise, u.is_site_admin]
                for u in s.scalars(select(User))
            ]
        ),
        "roles": _rows(
            [
                [email[g.user_id], g.role, code.get(g.call_id or 0), g.provider_id is not None]
                for g in s.scalars(select(RoleGrant))
            ]
        ),
        "pools": _rows(
            [[p.name, p.pool_type, p.amount, p.attributes] for p in s.scalars(select(CapacityPool))]
        ),
        "calls": _rows(
            [
                [c.code, c.slug, c.status, c.opens_at, c.closes_at]
                # released "now" by run_cycle, dated back only for the archived cycles
                + [c.decisions_released_at if c.status == "archived" else None]
                + [c.decisions_released_at is not None]
                for c in s.scalars(select(Call))
            ]
        ),
        "proposals": _rows(
            [
                [
                    p.code,
                    code[p.call_id],
                    email[p.pi_user_id],
                    p.title,
                    hashlib.sha256((p.abstract + p.science_case).encode()).hexdigest(),
                    p.keywords,
                    p.area,
                    p.status,
                    p.submitted_at,
                ]
                for p in s.scalars(select(Proposal))
            ]
        ),
        "team": _rows(
            [
                [pcode[m.proposal_id], m.email, m.role, m.status, m.country_iso3]
                for m in s.scalars(select(TeamMember))
            ]
        ),
        "requests": _rows(
            [
                [pcode[r.proposal_id], r.position, r.kind, r.amount, pool.get(r.pool_id or 0)]
                + [r.details]
                for r in s.scalars(select(Request))
            ]
        ),
        "assignments": _rows(
            [
                [*assignment[a.id], a.status, a.source, a.score]
                for a in s.scalars(select(ReviewAssignment))
            ]
        ),
        "reviews": _rows(
            [
                [*assignment[r.assignment_id], r.grade, r.confidence, r.comments_to_applicants]
                for r in s.scalars(select(Review))
            ]
        ),
        "ranking": _rows(
            [
                [pcode[r.proposal_id], r.raw_mean, r.score, r.score_lo, r.score_hi]
                + [r.rank, r.rank_lo, r.rank_hi, r.discuss]
                for r in s.scalars(select(RankedProposal))
            ]
        ),
        "decisions": _rows(
            [
                [pcode[d.proposal_id], d.outcome, d.priority, d.explanation, d.override_reason]
                for d in s.scalars(select(Decision))
            ]
        ),
        "awards": _rows(
            [
                [*request[a.request_id], pool[a.pool_id], a.amount, a.fraction]
                for a in s.scalars(select(Award))
            ]
        ),
        "schedule": _rows(
            [
                [pcode[e.proposal_id], pool.get(e.pool_id or 0), e.kind, e.label]
                + [e.start, e.end, e.amount, _results_only(e.details)]
                for e in s.scalars(select(ScheduleEntry))
            ]
        ),
        "postaward": _rows(
            [
                [pcode[r.proposal_id], r.kind, r.data, r.award_id is not None]
                for r in s.scalars(select(PostAwardRecord))
            ]
            + [
                [pcode[o.proposal_id], o.kind, o.doi, o.title, o.year, o.published_on]
                + [o.authors, o.countries, o.acknowledges, o.source]
                for o in s.scalars(select(ResearchOutput))
            ]
        ),
    }
    for call in s.scalars(select(Call).order_by(Call.code)):
        if call.status not in ("published", "archived"):
            continue
        report = outcomes.report(s, call)
        report.pop("after_award")  # dated on the real date: recomputed on the anchor
        # what the bias model did not test (outscale14) is listed beside the figures,
        # not one of them: the figures' digest stays the one before it
        report.get("reviewer_effects", {}).pop("skipped", None)
        records = outcomes.applicant_records(s, call)
        report["after_award_on_anchor"] = after_award_data.section(
            s, call, records, outcomes.applicant_records, today=DEMO_ANCHOR
        )
        # the change across cycles (outcomes16) is computed from the trend's rows, added
        # beside the figures: the digest stays the one before it (tests/results/test_public_ldc.py)
        report["after_award_on_anchor"].pop("share_change", None)
        # results per award with their intervals (outcomes18) are computed from the same
        # rows' credits as the share of results, added beside the figures: digest unchanged
        report["after_award_on_anchor"].pop("results_per_award", None)
        # results listed by several awards (outcomes18): a list for the office, no figure
        report["after_award_on_anchor"].pop("shared_results", None)
        parts[f"report {call.code}"] = _plain(report)
    return parts


def summarise(parts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, data in sorted(parts.items()):
        text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        size = len(data) if isinstance(data, list) else len(text)
        out[name] = {"sha256": hashlib.sha256(text.encode()).hexdigest(), "size": size}
    return out


def test_demo_cycles_results_match_the_golden_digest(demo) -> None:
    with demo(SEED, SCALE)() as s:
        run_demo_cycles(s)
        got = summarise(digest(s))
        s.rollback()
    assert {p for p in got if p.startswith("report ")}, "no call was published"
    if os.environ.get(UPDATE):
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    want = json.loads(GOLDEN.read_text())
    changed = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
    assert not changed, (
        f"demo results changed in: {', '.join(changed)} "
        f"(intended? regenerate with {UPDATE}=1, see this module's docstring)"
    )
