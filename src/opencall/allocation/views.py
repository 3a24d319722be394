"""The chair's decisions page: outcomes with their explanations, awards,
overrides with a required reason, and the release of decisions and feedback
(e-mailed to each team member in their language, after commit)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from opencall.allocation import policies, services
from opencall.allocation.models import Award
from opencall.calls.access import staff_call
from opencall.calls.models import Call
from opencall.facilities.labels import unit_text
from opencall.web.labels import UNITS
from opencall.errors import DomainError
from opencall.facilities.domain import unit_label
from opencall.facilities.models import CapacityPool
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.reviews import queries as rq
from opencall.reviews.presenters import labels, proposal_rows
from opencall.web.csv import csv_response, wants_csv
from opencall.web.i18n import N_, Translator
from opencall.web.mail import mail_text, queue_mail
from opencall.web.pages import Page, get_page

router = APIRouter()

OUTCOMES = {
    "awarded": N_("awarded"),
    "partial": N_("partly awarded"),
    "awarded_partially": N_("partly awarded"),
    "waitlisted": N_("waiting list"),
    "not_awarded": N_("not awarded"),
}
SUBJECT_DECISION = N_("The decision on your proposal %(code)s")
POLICY_WHOLE = N_("Awards are whole: a request is awarded in full or not at all.")
POLICY_PARTIAL = N_("Awards may be partial, down to %(pct)s of a request.")
POLICY_BUNDLE = N_(
    "Requests a proposal marks as one bundle are awarded all together, in full, or not at all."
)
POLICY_PI_AWARDS = N_("At most %(n)s awards per principal investigator.")
POLICY_PI_AMOUNT = N_("At most %(amount)s per principal investigator.")
POLICY_PI_AMOUNT_POOL = N_("At most %(amount)s of %(resource)s per principal investigator.")
POLICY_THRESHOLD = N_("Only proposals graded at least %(grade)s can be awarded.")
POLICY_THRESHOLD_LOW = N_(
    "Only proposals graded %(grade)s or better (lower is better) can be awarded."
)
POLICY_SHARE = N_("At least %(share)s of the capacity goes to the group %(group)s when it can.")
POLICY_SHARE_Q = N_(
    "At least %(share)s of the capacity goes to the group %(group)s when it can, counting "
    "only proposals graded at least %(grade)s."
)
POLICY_SHARE_Q_LOW = N_(
    "At least %(share)s of the capacity goes to the group %(group)s when it can, counting "
    "only proposals graded %(grade)s or better (lower is better)."
)
POLICY_LIMIT_PROPOSAL = N_("%(resource)s: at most %(amount)s per proposal.")
POLICY_LIMIT_TOTAL = N_("%(resource)s: at most %(amount)s awarded in total.")
POLICY_BLIND = N_("Nationality-blind: no group derived from nationality is used.")
# Messages calls.schemas.check_policy composes in English (refused policies), catalogued for
# Translator.message (templates are looked up across every catalogue)
POLICY_MESSAGES = (
    N_(
        "Invalid allocation policy: %(field)s: %(value)s lies outside the grade scale "
        "%(low)s-%(high)s."
    ),
    N_("Invalid allocation policy: %(field)s: resource %(key)s is not offered by this call."),
    N_(
        "Invalid allocation policy: %(field)s: %(value)s is more than the %(amount)s that "
        "%(resource)s offers."
    ),
    N_(
        "Invalid allocation policy: pi_cap_amount: the call's resources have different units; "
        "give the cap per resource ({pool id: amount})."
    ),
)


def policy_lines(t: Any, call: Call) -> list[str]:
    """The call's allocation policy as translated sentences (``t`` is ``page._``)."""
    from opencall.calls.schemas import allocation_policy, review_settings

    ap = allocation_policy(call.allocation_policy)
    low = review_settings(call.review_settings).lower_is_better
    pools = {str(cp.pool_id): cp.pool for cp in call.pools}
    unit = call.pools[0].pool.unit if call.pools else ""

    def amount(value: float, u: str) -> str:
        return f"{value:g} {t(UNITS[u]) if u in UNITS else u}"

    lines = [
        t(POLICY_PARTIAL, pct=f"{ap.min_fraction:.0%}")
        if ap.award_mode == "partial"
        else t(POLICY_WHOLE),
        t(POLICY_BUNDLE),
    ]
    if ap.pi_cap_awards is not None:
        lines.append(t(POLICY_PI_AWARDS, n=ap.pi_cap_awards))
    if isinstance(ap.pi_cap_amount, dict):
        for key, value in ap.pi_cap_amount.items():
            pool = pools.get(key)
            if pool is not None:
                lines.append(
                    t(POLICY_PI_AMOUNT_POOL, amount=amount(value, pool.unit), resource=pool.name)
                )
    elif ap.pi_cap_amount is not None:
        lines.append(t(POLICY_PI_AMOUNT, amount=amount(ap.pi_cap_amount, unit)))
    if ap.quality_threshold is not None:
        lines.append(
            t(POLICY_THRESHOLD_LOW if low else POLICY_THRESHOLD, grade=f"{ap.quality_threshold:g}")
        )
    for g in ap.group_shares:
        share = f"{g.min_share:.0%}"
        if g.min_quality is None:
            lines.append(t(POLICY_SHARE, share=share, group=g.group))
        else:
            lines.append(
                t(
                    POLICY_SHARE_Q_LOW if low else POLICY_SHARE_Q,
                    share=share,
                    group=g.group,
                    grade=f"{g.min_quality:g}",
                )
            )
    for key, lim in ap.resource_limits.items():
        pool = pools.get(key)
        if pool is None:
            continue
        if lim.max_per_proposal is not None:
            lines.append(
                t(
                    POLICY_LIMIT_PROPOSAL,
                    resource=pool.name,
                    amount=amount(lim.max_per_proposal, pool.unit),
                )
            )
        if lim.max_total is not None:
            lines.append(
                t(POLICY_LIMIT_TOTAL, resource=pool.name, amount=amount(lim.max_total, pool.unit))
            )
    if ap.nationality_blind:
        lines.append(t(POLICY_BLIND))
    return lines


MSG_INVALID = N_("This value is not valid.")


def _call(page: Page, slug: str) -> Call:
    call = staff_call(page, slug)
    if not policies.may_see_decisions(page.db, page.user, call):
        page.not_found()
    return call


def _awards(page: Page, call: Call) -> dict[int, list[tuple[Award, CapacityPool]]]:
    out: dict[int, list[tuple[Award, CapacityPool]]] = defaultdict(list)
    for a, pool in page.db.execute(
        select(Award, CapacityPool)
        .join(CapacityPool, CapacityPool.id == Award.pool_id)
        .where(Award.call_id == call.id)
        .order_by(Award.id)
    ):
        out[a.proposal_id].append((a, pool))
    return out


def _decisions_page(page: Page, call: Call, status: int = 200, **extra: Any) -> Response:
    decisions = services.decisions(page.db, call)
    proposals = rq.proposals_for_review(page.db, call)
    rows = proposal_rows(page, call, proposals)
    awards = _awards(page, call)
    rank = {r.proposal_id: r for r in rq.ranking(page.db, call)}
    if wants_csv(page):
        return csv_response(
            f"{call.slug}-decisions.csv",
            [
                "proposal",
                "title",
                "rank",
                "outcome",
                "priority",
                "awarded",
                "explanation",
                "override_reason",
            ],
            (
                (
                    rows[d.proposal_id]["code"],
                    rows[d.proposal_id]["title"],
                    rank[d.proposal_id].rank if d.proposal_id in rank else "",
                    d.outcome,
                    d.priority,
                    "; ".join(
                        f"{pool.name}: {a.amount:g} "
                        f"{unit_label(pool.unit, pool.unit_labels, a.amount, 'en')}"
                        for a, pool in awards[d.proposal_id]
                    ),
                    d.explanation,
                    d.override_reason,
                )
                for d in decisions
                if d.proposal_id in rows
            ),
        )
    decisions.sort(key=lambda d: rank[d.proposal_id].rank if d.proposal_id in rank else 10**9)
    used: dict[int, float] = defaultdict(float)
    for lst in awards.values():
        for a, _pool in lst:
            used[a.pool_id] += a.amount
    return page.render(
        "allocation/decisions.html",
        {
            "call": call,
            "decisions": [d for d in decisions if d.proposal_id in rows],
            "rows": rows,
            "rank": rank,
            "awards": awards,
            "used": used,
            "run": rq.latest_run(page.db, call, "allocation"),
            "may_override": policies.may_override(page.db, page.user, call),
            "may_release": policies.may_release(page.db, page.user, call)
            and call.decisions_released_at is None
            and bool(decisions),
            "outcome_label": lambda o: page._(OUTCOMES.get(o) or o),
            "policy_lines": policy_lines(page._, call),
            "errors": extra.pop("errors", {}),
            **labels(page),
            "unit_label": lambda u, labels=None, amount=None: unit_text(page, u, labels, amount),
        },
        status=status,
    )


@router.get("/manage/calls/{slug}/decisions", response_class=HTMLResponse)
def decisions(slug: str, page: Page = Depends(get_page)) -> Response:
    return _decisions_page(page, _call(page, slug))


@router.post("/manage/calls/{slug}/decisions/{proposal_id}/override", response_class=HTMLResponse)
def override(slug: str, proposal_id: int, page: Page = Depends(get_page)) -> Response:
    call = _call(page, slug)
    if not policies.may_override(page.db, page.user, call):
        page.not_found()
    p = page.db.get(Proposal, proposal_id)
    if p is None or p.call_id != call.id:
        page.not_found()
    outcome = page.form.get("outcome", "")
    reason = page.form.get("reason", "")[:2000]
    try:
        services.override_decision(
            page.db, call, p, outcome=outcome, reason=reason, actor_id=page.user.id
        )
        page.commit()
    except DomainError as exc:
        page.db.rollback()
        return _decisions_page(page, call, 400, errors={p.id: page.t.message(exc.message)})
    return page.redirect(f"/manage/calls/{call.slug}/decisions#p{p.id}", "saved")


@router.post("/manage/calls/{slug}/release", response_class=HTMLResponse)
def release(slug: str, page: Page = Depends(get_page)) -> Response:
    call = _call(page, slug)
    if not policies.may_release(page.db, page.user, call):
        page.not_found()
    if page.form.get("confirm") != "yes":
        return _decisions_page(page, call, 400, errors={0: page._("Tick the box to confirm.")})
    try:
        already = call.decisions_released_at is not None
        services.release_decisions(page.db, call, actor_id=page.user.id)
        if not already:
            notify_decisions(page, call)
        page.commit()
    except DomainError as exc:
        page.db.rollback()
        return _decisions_page(page, call, 400, errors={0: page.t.message(exc.message)})
    return page.redirect(f"/manage/calls/{call.slug}/decisions", "saved")


def notify_decisions(page: Page, call: Call) -> int:
    """One e-mail per accepted team member: the decision is ready (read it on the site)."""
    n = 0
    base = page.settings.base_url.rstrip("/")
    for d in services.decisions(page.db, call):
        p = page.db.get(Proposal, d.proposal_id)
        if p is None:
            continue
        for m in p.members:
            if m.status != "accepted":
                continue
            user = page.db.get(User, m.user_id) if m.user_id else None
            lang = user.language if user else "en"
            body = mail_text(
                "allocation/mail_decision.txt",
                lang,
                {
                    "name": m.name,
                    "code": p.code,
                    "title": p.title,
                    "call": call.title,
                    "link": f"{base}/proposals/{p.id}/outcome",
                },
            )
            queue_mail(
                page.db, m.email, Translator(lang).gettext(SUBJECT_DECISION, code=p.code), body
            )
            n += 1
    return n


SERVICE_MESSAGES = (
    N_("An override needs a reason."),
    N_("Override to 'awarded' or 'not_awarded'."),
    N_("Decisions were already released; an override is no longer possible."),
    N_("Run the allocation before overriding it."),
    N_(
        "Awarding this proposal would overdraw capacity; free capacity first by "
        "overriding another award to 'not awarded'."
    ),
    N_("There are no decisions to release."),
    N_("Tick the box to confirm."),
)
