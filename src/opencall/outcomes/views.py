"""Public results of a call (awarded programmes, who applied and who was
awarded by country group) and the applicant's own outcome page."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from opencall.allocation import presenters as allocation_views
from opencall.allocation.models import DECLINE_REASONS, Award, Decision
from opencall.allocation.presenters import DECLINE_REASON_LABELS, OUTCOME_LABELS, policy_lines
from opencall.calls import policies as call_policies
from opencall.calls.access import visible_call
from opencall.calls.presenters import joint_providers
from opencall.calls.queries import unit_words
from opencall.facilities.labels import unit_labels, unit_text
from opencall.facilities.models import CapacityPool
from opencall.inputs import local_number
from opencall.outcomes import queries, services
from opencall.outcomes.domain import TOTAL
from opencall.outcomes.figures import (
    APPLIED_STATES,
    MIN_CELL,
    declines_release,
    figures_by_group,
    published_declines,
)
from opencall.outcomes.report import STAGE_LABELS
from opencall.proposals.access import outcome_for
from opencall.results import policies as result_policies
from opencall.reviews import queries as review_queries
from opencall.scheduling import presenters as schedule_presenters
from opencall.scheduling.queries import own_outcome
from opencall.web.i18n import N_, country_name
from opencall.web.labels import GROUP_LABELS, INCOME_LABELS, REGION_LABELS
from opencall.web.pages import Page, get_page

router = APIRouter()

INCOME = {**INCOME_LABELS, "": N_("Not classified")}
REGIONS = {**REGION_LABELS, "": N_("Not classified")}
# a decision's outcome, and the proposal statuses older decisions carried
OUTCOMES = {
    **OUTCOME_LABELS,
    "accepted": OUTCOME_LABELS["awarded"],
    "rejected": OUTCOME_LABELS["not_awarded"],
}
# disjoint columns (so that row totals mean something): the row total is "Applied"
COLUMNS = {"awarded": STAGE_LABELS["awarded"], "not_awarded": N_("Not awarded")}


@router.get("/calls/{slug}/awarded", response_class=HTMLResponse)
def awarded(slug: str, page: Page = Depends(get_page)) -> Response:
    call = visible_call(page, slug)
    rows: list[dict[str, Any]] = []
    if call_policies.results_are_public(call):
        # columns, not ORM rows: a provider's call has thousands of decisions and awards
        priorities: dict[int, str] = {
            pid: priority
            for pid, priority in page.db.execute(
                select(Decision.proposal_id, Decision.priority).where(Decision.call_id == call.id)
            )
        }
        # {proposal: {unit: {resource: amount}}}
        totals: dict[int, dict[str, dict[str, float]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(float))
        )
        labels = unit_words(call)  # a unit's words: the resource's own, if it names them
        for a_pid, name, unit, amount in page.db.execute(
            select(Award.proposal_id, CapacityPool.name, CapacityPool.unit, Award.amount)
            .join(CapacityPool, CapacityPool.id == Award.pool_id)
            .where(Award.call_id == call.id)
        ):
            totals[a_pid][unit][name] += amount
        # a unit the call offers of several resources (a beamline's two machine modes, two
        # growth chambers): an award of it names its resource, even a proposal's only one
        offered = Counter(cp.pool.unit for cp in call.pools)

        def said(unit: str, v: float) -> str:
            return f"{local_number(v, page.lang)} {unit_text(page, unit, labels.get(unit), v)}"

        programmes = queries.awarded_programmes(page.db, call.id)
        # a renewal of an earlier award says so (outcomes19): one programme, not a new one
        continued = queries.continued_awards(page.db, call.id)
        for pid, amounts in totals.items():
            code, title, country = programmes[pid]
            rows.append(
                {
                    "code": code,
                    "title": title,
                    "country": country_name(page.lang, country.iso2, country.name)
                    if country
                    else "",
                    # a unit's total; or, when the proposal holds it of several
                    # resources, each resource's (700 W on each of two flights is not
                    # 1400 W: a rate such as power is not added up over resources)
                    "amount": "; ".join(
                        page._("%(resource)s: %(amount)s", resource=name, amount=said(u, v))
                        for name, u, v in sorted(
                            (name, u, v) for u, by in amounts.items() for name, v in by.items()
                        )
                        if round(v, 2) > 0
                    )
                    if any(len(by) > 1 or offered[u] > 1 for u, by in amounts.items())
                    else ", ".join(
                        said(u, v)
                        for u, v in sorted((u, sum(by.values())) for u, by in amounts.items())
                        if round(v, 2) > 0
                    ),
                    "priority": priorities.get(pid, ""),
                    "continues": pid in continued,
                    "continues_award": continued.get(pid),
                }
            )
        rows.sort(key=lambda r: (r["priority"] or "~", r["code"]))
    return page.render_public(
        "outcomes/awarded.html",
        {
            "call": call,
            "providers": joint_providers(page, call),
            "rows": rows,
            "public": call_policies.results_are_public(call),
            "policy_lines": policy_lines(page._, call, page.lang),
        },
    )


def _declines_release(
    page: Page, call_id: int, declined: list[tuple[int, str, str | None, str | None, bool | None]]
) -> Any:
    """The release of the declines table split by reason, audited with the page's earlier
    releases and kept before a reader sees it (``outcomes.services.record_releases``), so
    that a new decline cannot be subtracted from a saved page. Two readers who meet a
    change at once compute the same release number: the second one's insert breaks the
    unique key, and its release is computed again over the first one's."""
    for _attempt in range(5):
        kept = queries.releases(page.db, [call_id], queries.FIGURES_DECLINES_PAGE).get(call_id, [])
        release = declines_release(declined, DECLINE_REASONS, [r for _n, r in kept])
        if release is None or (kept and kept[-1][1] == release):
            return release
        try:
            services.record_releases(
                page.db,
                queries.FIGURES_DECLINES_PAGE,
                {call_id: {"number": len(kept) + 1, "body": release.to_data()}},
            )
            page.commit()
            return release
        except IntegrityError:
            page.db.rollback()
    raise RuntimeError("could not record a release of the figures page")


def _tables(page: Page, call_id: int) -> dict[str, Any]:
    """PIs of submitted proposals and of awarded ones, by income group and by region (an
    award declined by its applicant counted as awarded: the decision stood), and the
    declined awards by group and reason."""
    applied = queries.applied_pis(page.db, call_id, APPLIED_STATES)
    declined = queries.declined_pis(page.db, call_id)
    awarded_ids = queries.awarded_proposal_ids(page.db, call_id) | {d[0] for d in declined}
    out: dict[str, Any] = {}
    reasons = [(r, page._(DECLINE_REASON_LABELS[r])) for r in DECLINE_REASONS]
    ldc = {"LDC": GROUP_LABELS["LDC"], "non-LDC": N_("Other countries")}
    labels = dict(reasons) | {TOTAL: page._("Declined")}
    release = _declines_release(page, call_id, declined)
    published = published_declines(declined, DECLINE_REASONS, release) or {}
    for key, names in (("income", INCOME), ("region", REGIONS), ("ldc", ldc)):
        if key not in published:
            break
        shown, columns = published[key]
        out[f"declined_{key}"] = {
            "rows": [(g, page._(names.get(g, g)) if g else page._("Unknown")) for g in shown.rows]
            + [(TOTAL, page._("Total"))],
            "columns": [(c, labels[c]) for c in columns],
            "table": shown,
        }
    for key, names in (("income", INCOME), ("region", REGIONS)):
        rows, table = figures_by_group(applied, awarded_ids, key, names)
        out[key] = {
            "rows": [(g, page._(names.get(g, g))) for g in rows] + [(TOTAL, page._("Total"))],
            "columns": [(c, page._(COLUMNS[c])) for c in ("awarded", "not_awarded")]
            + [(TOTAL, page._("Applied"))],
            "table": table,
        }
    return out


@router.get("/calls/{slug}/figures", response_class=HTMLResponse)
def figures(slug: str, page: Page = Depends(get_page)) -> Response:
    call = visible_call(page, slug)
    public = call_policies.results_are_public(call)
    return page.render_public(
        "outcomes/figures.html",
        {
            "call": call,
            "providers": joint_providers(page, call),
            "public": public,
            "tables": _tables(page, call.id) if public else {},
            "min_cell": MIN_CELL,
        },
    )


@router.get("/proposals/{proposal_id}/outcome", response_class=HTMLResponse)
def outcome(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    return page.render("outcomes/outcome.html", _outcome(page, outcome_for(page, proposal_id)))


@router.get("/proposals/{proposal_id}/outcome.txt")
def outcome_letter(proposal_id: int, page: Page = Depends(get_page)) -> Response:
    """The outcome page as a letter to keep (plain text, UTF-8): the same context, so the
    same words, figures and times in the reader's language and zone, and nothing more."""
    proposal = outcome_for(page, proposal_id)
    return page.render_letter(
        "outcomes/outcome.txt",
        {**_outcome(page, proposal), "page_url": page.settings.base_url.rstrip("/")},
        f"{proposal.code}-decision.txt",
    )


def _outcome(page: Page, proposal: Any) -> dict[str, Any]:
    """What the applicant's outcome page and letter say (the team's view: the feedback
    to applicants, never the panel's remarks nor who reviewed)."""
    own = own_outcome(page.db, proposal.id)
    decision, declined = own.decision, own.declined
    # a zero amount is no award: no "0 hours" row
    awards = [(a, pool) for a, pool in own.awards if round(a.amount, 2) > 0]
    return {
        "p": proposal,
        "decision": decision,
        "declined": declined,
        "declined_reason": page._(DECLINE_REASON_LABELS[declined.reason]) if declined else "",
        "may_decline": declined is None
        and result_policies.may_decline(page.db, page.user, proposal),
        "outcome_label": (
            page._(OUTCOMES[decision.outcome])
            if decision and decision.outcome in OUTCOMES
            else (decision.outcome if decision else "")
        ),
        "awards": awards,
        "schedule": own.schedule,
        # the site's time zone of each resource that has one (times shown beside UTC)
        "zones": {cp.pool_id: cp.pool.time_zone for cp in proposal.call.pools if cp.pool.time_zone},
        "entry_label": lambda e: schedule_presenters.label(page.t, e),
        # why an entry is where it is: an entry without dates says so ("no dates: the
        # resource has no calendar", or why a slot could not be placed)
        "explain": lambda e: schedule_presenters.explanation(page.t, e.details or {}),
        "feedback": review_queries.feedback_for(page.db, proposal.id),
        # the panel's consensus comment, recorded by the chair at the meeting
        "panel_comment": review_queries.panel_comment_for(page.db, proposal.id),
        "technical_notes": review_queries.technical_notes_for(page.db, proposal.id),
        "explanation": allocation_views.explain(page.t, decision, unit_words(proposal.call))
        if decision
        else "",
        **unit_labels(page),
    }
