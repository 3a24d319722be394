"""The chair's decisions page: outcomes with their explanations, awards,
overrides with a required reason, and the release of decisions and feedback
(e-mailed to each team member in their language, after commit)."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from opencall import jobs
from opencall.allocation import policies, services
from opencall.allocation.models import Award
from opencall.calls.access import staff_call
from opencall.calls.models import Call
from opencall.facilities.labels import unit_text
from opencall.web.labels import UNITS
from opencall.errors import DomainError
from opencall.facilities.domain import unit_label
from opencall.facilities.models import CapacityPool
from opencall.optim.allocation import readable
from opencall.proposals.models import Proposal
from opencall.proposals.views import KINDS
from opencall.reviews import queries as rq
from opencall.reviews.presenters import labels, proposal_rows
from opencall.web.csv import csv_response, wants_csv
from opencall.web.i18n import N_, Translator
from opencall.web.mail import mail_text, queue_mail
from opencall.web.pages import Page, get_page
from opencall.web.paging import paginate

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

#: Decisions shown on one page (the CSV has them all); a large call's page was 251 KB.
PER_PAGE = 50


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
        if round(a.amount, 2) > 0:  # a zero amount is no award: no "0 hours" row
            out[a.proposal_id].append((a, pool))
    return out


# The allocation's explanations (composed in English by opencall.optim.allocation and
# stored with the decision), catalogued so that :func:`explain` shows them translated.
EXPLANATIONS = (
    N_("the request did not pass the eligibility check"),
    N_("not feasible: %(why)s"),
    N_("technical or suitability review"),
    N_("merit %(merit)s is below the quality threshold %(threshold)s"),
    N_("merit %(merit)s is worse than the quality threshold %(threshold)s"),
    N_(
        "awarded %(f)s because the minimum share rule for %(groups)s bound; "
        "on merit alone it would have received %(f0)s"
    ),
    N_("awarded in full"),
    N_("awarded %(f)s of the request (minimum %(lo)s)"),
    N_("awarded %(f)s of the request (minimum %(lo)s); pool(s) %(pools)s full"),
    N_("the PI already holds %(k)s award(s), the cap"),
    N_("the PI already holds %(amount)s of the %(cap)s cap"),
    N_("pool(s) %(pools)s exhausted by the best combination of awards, including %(why)s"),
    N_("awards made under the minimum share rule for %(rules)s"),
    N_("lower-ranked requests that fit the remaining capacity better"),
    N_("capacity remained, but the solver stopped within its optimality-gap tolerance"),
    N_("overridden by the chair: %(reason)s"),
)
MSG_EXHAUSTED = N_("pool(s) exhausted by higher-ranked requests: %(names)s")
MSG_LEFT = N_("%(pool)s (%(left)s of %(cap)s %(unit)s left)")
_LEFT = re.compile(r"([^,;:()]+?) \(([-+\d.e]+) of ([-+\d.e]+) (\S+) left\)")
_KIND_SPLIT = re.compile(r"; (?=(?:fast|berth|dive|sample|seat|package): )")
_EXHAUSTED_EN = "pool(s) exhausted by higher-ranked requests: "


def explain(t: Translator, text: str) -> str:
    """A decision's explanation in the reader's language: one sentence per request
    (prefixed by its kind when the proposal has several), amounts rounded as people
    read them and units named in the reader's language."""
    if not text:
        return text

    def left(m: re.Match[str]) -> str:
        unit = m.group(4)
        return t.gettext(
            MSG_LEFT,
            pool=m.group(1),
            left=readable(float(m.group(2))),
            cap=readable(float(m.group(3))),
            unit=t.gettext(UNITS[unit]) if unit in UNITS else unit,
        )

    def one(sentence: str) -> str:
        if sentence.startswith(_EXHAUSTED_EN):
            return t.gettext(MSG_EXHAUSTED, names=_LEFT.sub(left, sentence[len(_EXHAUSTED_EN) :]))
        return t.message(sentence)

    out = []
    for part in _KIND_SPLIT.split(text):
        kind, sep, rest = part.partition(": ")
        if sep and kind in KINDS:
            out.append(f"{t.gettext(KINDS[kind])}: {one(rest)}")
        else:
            out.append(one(part))
    return "; ".join(out)


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
    shown, pager = paginate(
        [d for d in decisions if d.proposal_id in rows],
        page.request.query_params,
        PER_PAGE,
        "#decisions",
    )
    return page.render(
        "allocation/decisions.html",
        {
            "call": call,
            "decisions": shown,
            "pager": pager,
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
            "explain": lambda text: explain(page.t, text),
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
        notify = None if already else notify_decisions(page, call)
        page.commit()
    except DomainError as exc:
        page.db.rollback()
        return _decisions_page(page, call, 400, errors={0: page.t.message(exc.message)})
    if notify is not None:
        _send_inline(page, notify.id)
    return page.redirect(f"/manage/calls/{call.slug}/decisions", "saved")


def notify_decisions(page: Page, call: Call) -> jobs.Job:
    """Queue the decision e-mails as one job (``allocation.notify``, run by the worker
    after the release commits): one e-mail per accepted team member, in their language."""
    return jobs.enqueue(
        page.db,
        "allocation.notify",
        {"call_id": call.id, "base_url": page.settings.base_url},
        call_id=call.id,
        created_by=page.user.id,
    )


def _send_inline(page: Page, job_id: int) -> None:
    """The demo (``inline_jobs``) runs a request's jobs right after it: the e-mails the
    notification job queued go out too, all of them."""
    if not page.settings.inline_jobs:
        return
    page.db.expire_all()
    job = page.db.get(jobs.Job, job_id)
    mails = [int(i) for i in (job.payload.get("mails", []) if job else [])]
    if mails:
        app = page.request.app
        jobs.run_pending(app.state.sessions, app.state.jobs, limit=len(mails), ids=mails)


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
