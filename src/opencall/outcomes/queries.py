"""Who benefits: assembles a call's outcomes from the database and computes
them with the pure statistics of ``outcomes.domain`` (reads only).

A record per proposal that reached submission, seen from its PI's country:
applied, eligible, technically feasible, calibrated grade and rank, awarded,
amount requested, awarded and scheduled."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.allocation.models import Award, Decision
from opencall.calls.models import Call
from opencall.calls.schemas import review_settings
from opencall.outcomes import after_award_data
from opencall.outcomes import domain as od
from opencall.people.models import Country, User
from opencall.proposals.models import Proposal
from opencall.reference import loader
from opencall.reviews import queries as rq
from opencall.scheduling.models import ScheduleEntry

APPLIED = ("submitted", "under_review", "accepted", "rejected")
GROUPINGS: tuple[od.GroupBy, ...] = ("income_group", "un_region", "ldc", "host")


def applicant_records(session: Session, call: Call) -> list[od.ApplicantRecord]:
    countries = {c.iso3: c for c in session.scalars(select(Country))}
    host = call.provider.country_iso3
    ranking = {r.proposal_id: r for r in rq.ranking(session, call)}
    tech = rq.technical_reviews(session, call)
    decisions = {
        d.proposal_id: d
        for d in session.scalars(select(Decision).where(Decision.call_id == call.id))
    }
    awarded: dict[int, float] = defaultdict(float)
    for a in session.scalars(select(Award).where(Award.call_id == call.id)):
        awarded[a.proposal_id] += a.amount
    scheduled: dict[int, float] = defaultdict(float)
    for e in session.scalars(select(ScheduleEntry).where(ScheduleEntry.call_id == call.id)):
        scheduled[e.proposal_id] += e.amount
    out = []
    stmt = select(Proposal).where(Proposal.call_id == call.id, Proposal.status.in_(APPLIED))
    for p in session.scalars(stmt.order_by(Proposal.id)):
        pi = next((m for m in p.members if m.role == "pi"), None)
        c = countries.get(pi.country_iso3 or "") if pi else None
        d = decisions.get(p.id)
        tr = tech.get(p.id)
        r = ranking.get(p.id)
        eligible = p.eligible is not False and p.status != "withdrawn"
        out.append(
            od.ApplicantRecord(
                proposal_id=str(p.id),
                country_iso3=c.iso3 if c else "",
                income_group=(c.income_group or "unknown") if c else "unknown",
                un_region=c.un_region if c else "unknown",
                ldc=bool(c and c.ldc),
                host=bool(c and c.iso3 == host),
                applied=True,
                eligible=eligible,
                feasible=eligible and (tr is None or tr.verdict != "not_feasible"),
                calibrated_grade=r.score if r else None,
                rank=r.rank if r else None,
                awarded=bool(d and d.outcome.startswith("awarded")),
                amount_requested=float(sum(x.amount for x in p.requests)),
                amount_awarded=awarded.get(p.id, 0.0),
                amount_scheduled=scheduled.get(p.id, 0.0),
            )
        )
    return out


def review_records(
    session: Session,
    call: Call,
    by: od.GroupBy = "un_region",
    records: list[od.ApplicantRecord] | None = None,
) -> list[od.ReviewRecord]:
    """Each submitted review with the reviewer's and the applicant's group, and the consensus.

    ``records`` are the call's applicant records when the caller already has them."""
    countries = {c.iso3: c for c in session.scalars(select(Country))}
    ranking = {r.proposal_id: r for r in rq.ranking(session, call)}
    by_id = {
        r.proposal_id: r
        for r in (records if records is not None else applicant_records(session, call))
    }
    pairs = rq.submitted_reviews(session, call)
    reviewers = {
        u.id: u
        for u in session.scalars(select(User).where(User.id.in_({a.reviewer_id for a, _ in pairs})))
    }
    out = []
    for a, review in pairs:
        rank = ranking.get(a.proposal_id)
        rec = by_id.get(str(a.proposal_id))
        reviewer = reviewers.get(a.reviewer_id)
        if rank is None or rec is None or reviewer is None:
            continue
        rc = countries.get(reviewer.country_iso3 or "")
        if by == "income_group":
            rgroup = (rc.income_group if rc else "") or "unknown"
        else:
            rgroup = rc.un_region if rc else "unknown"
        out.append(
            od.ReviewRecord(
                reviewer_id=str(a.reviewer_id),
                proposal_id=str(a.proposal_id),
                reviewer_group=rgroup,
                applicant_group=od.group_of(rec, by),
                grade=review.grade,
                consensus=rank.score,
            )
        )
    return out


def _group_map(by: od.GroupBy) -> dict[str, str]:
    out = {}
    for iso3, c in loader.countries().items():
        if by == "income_group":
            out[iso3] = c.income_group or "unknown"
        elif by == "un_region":
            out[iso3] = c.un_region or "unknown"
        elif by == "ldc":
            out[iso3] = od.LDC_LABELS[0] if c.ldc else od.LDC_LABELS[1]
    return out


def divide(by: od.GroupBy, year: int) -> od.DivideContext:
    ind = loader.indicators()

    def series(code: str) -> dict[str, dict[int, float]]:
        return {iso: s for (iso, c), s in ind.items() if c == code}

    return od.divide_context(
        series("SP.POP.SCIE.RD.P6"),
        series("SP.POP.TOTL"),
        series("IP.JRN.ARTC.SC"),
        _group_map(by),
        window=(year - 10, year),
    )


def report(session: Session, call: Call, *, q: float = 0.05, seed: int = 0) -> dict[str, Any]:
    """The whole outcomes report of a call as plain data (JSON-ready)."""
    rs = review_settings(call.review_settings)
    records = applicant_records(session, call)
    year = call.closes_at.year
    out: dict[str, Any] = {
        "call": {
            "id": call.id,
            "code": call.code,
            "title": call.title,
            "status": call.status,
            "facility": call.facility.name,
            "cycle": call.cycle,
        },
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "n_applications": len(records),
        "attribution": loader.ATTRIBUTION,
        "funnels": {},
        "tests": {},
        "suppressed": {},
        "access_ratios": {},
        "reviewer_bias": {},
    }
    for by in GROUPINGS:
        out["funnels"][by] = [
            dataclasses.asdict(r) for r in od.funnel(records, by, include_total=True)
        ]
        tests = []
        for stage in ("eligible", "feasible", "awarded"):
            tests += [dataclasses.asdict(t) for t in od.difference_tests(records, by, stage, q=q)]
        tests += [
            dataclasses.asdict(t)
            for t in od.difference_tests(records, by, "awarded", base_stage="applied", q=q)
        ]
        out["tests"][by] = tests
        out["suppressed"][by] = od.suppressed_funnel_counts(records, by)
    divide_by: tuple[od.GroupBy, ...] = ("income_group", "un_region", "ldc")
    contexts = {g: divide(g, year) for g in divide_by}
    for by in divide_by:
        ctx = contexts[by]
        awarded = od.shares(od.awarded_by(records, by))
        applied = od.shares(
            {
                g: float(sum(1 for r in records if od.group_of(r, by) == g))
                for g in {od.group_of(r, by) for r in records}
            }
        )
        ratios = od.access_ratios(awarded, ctx.researcher_share)
        out["access_ratios"][by] = [
            {
                **dataclasses.asdict(a),
                "application_share": applied.get(a.key, 0.0),
                "article_share": ctx.article_share.get(a.key),
            }
            for a in ratios
        ]
    awarded_c = od.awarded_by(records, lambda r: r.country_iso3)
    researchers = {k: v.value for k, v in contexts["income_group"].researchers.items()}
    out["country_access_ratios"] = [
        dataclasses.asdict(a)
        for a in od.country_access_ratios(awarded_c, researchers)
        if a.awarded_share > 0
    ]
    for by in ("un_region", "income_group"):
        reviews = review_records(session, call, by, records)
        out["reviewer_bias"][by] = [
            {**dataclasses.asdict(c), "sentence": c.describe()}
            for c in od.reviewer_group_bias(
                reviews, higher_is_better=not rs.lower_is_better, q=q, seed=seed
            )
        ]
    out["trend"] = trend(session, call, contexts["income_group"], records)
    out["after_award"] = after_award_data.section(session, call, records, applicant_records, divide)
    return out


def trend(
    session: Session,
    call: Call,
    ctx: od.DivideContext | None = None,
    records: list[od.ApplicantRecord] | None = None,
) -> list[dict[str, Any]]:
    """Access ratios by income group across the cycles (calls) of the same facility."""
    calls = session.scalars(
        select(Call).where(Call.facility_id == call.facility_id).order_by(Call.opens_at)
    ).all()
    ctx = ctx or divide("income_group", call.closes_at.year)
    by_cycle = [
        (
            c.cycle,
            od.awarded_by(
                records
                if c.id == call.id and records is not None
                else applicant_records(session, c),
                "income_group",
            ),
        )
        for c in calls
    ]
    return [
        {"cycle": t.cycle, "ratios": [dataclasses.asdict(a) for a in t.ratios]}
        for t in od.access_ratio_trend(by_cycle, ctx.researcher_share)
    ]


def report_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, default=str, ensure_ascii=False)


def report_csv(data: dict[str, Any]) -> str:
    """The funnel tables as one CSV (grouping, group, stage, counts, rates, amounts)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "grouping",
            "group",
            "stage",
            "count",
            "applied",
            "rate",
            "rate_low",
            "rate_high",
            "mean_grade",
            "mean_rank",
            "amount_requested",
            "amount_awarded",
            "amount_scheduled",
        ]
    )
    for by, rows in data["funnels"].items():
        for r in rows:
            w.writerow(
                [
                    by,
                    r["group"],
                    r["stage"],
                    r["count"],
                    r["applied"],
                    r["rate"],
                    r["rate_low"],
                    r["rate_high"],
                    r["mean_grade"],
                    r["mean_rank"],
                    r["amount_requested"],
                    r["amount_awarded"],
                    r["amount_scheduled"],
                ]
            )
    return buf.getvalue()


LABELS = {
    "low": "Low income",
    "lower-middle": "Lower-middle income",
    "upper-middle": "Upper-middle income",
    "high": "High income",
    "unknown": "Not classified",
    "applied": "Applied",
    "eligible": "Eligible",
    "feasible": "Technically feasible",
    "awarded": "Awarded",
}


def report_charts(
    data: dict[str, Any], tr: Callable[[str], str] = lambda s: s
) -> list[dict[str, str]]:
    """The report's charts as SVG; ``tr`` translates labels and titles (the page's gettext)."""
    from opencall.outcomes import charts

    def lab(key: str) -> str:
        return tr(LABELS.get(key, key))

    rows = [r for r in data["funnels"]["income_group"] if r["group"] != od.TOTAL]
    groups = list(dict.fromkeys(r["group"] for r in rows))
    stages = list(od.STAGES)
    counts = {
        lab(g): [
            next((r["count"] for r in rows if r["group"] == g and r["stage"] == s), 0)
            for s in stages
        ]
        for g in groups
    }
    awarded = [r for r in rows if r["stage"] == "awarded"]
    ratios = data["access_ratios"]["income_group"]
    return [
        {
            "title": "Applications through the stages, by income group",
            "svg": charts.funnel_chart(
                counts, [lab(s) for s in stages], title=tr("Applications by stage and income group")
            ),
        },
        {
            "title": "Success rate by income group (Wilson 95 % interval)",
            "svg": charts.success_rate_chart(
                [lab(r["group"]) for r in awarded],
                [r["rate"] for r in awarded],
                [r["rate_low"] for r in awarded],
                [r["rate_high"] for r in awarded],
                title=tr("Success rate by income group"),
            ),
        },
        {
            "title": "Access ratio: awarded share over share of the world's researchers",
            "svg": charts.access_ratio_chart(
                [lab(a["key"]) for a in ratios],
                [a["ratio"] for a in ratios],
                title=tr("Access ratio by income group"),
            ),
        },
    ]


def report_pdf(data: dict[str, Any]) -> bytes:
    from opencall.outcomes.report_pdf import render_report_pdf

    def table(by: str) -> dict[str, Any]:
        return {
            "title": f"Funnel by {by.replace('_', ' ')}",
            "columns": ["group", "stage", "count", "rate", "95 % interval", "awarded"],
            "rows": [
                [
                    r["group"],
                    r["stage"],
                    r["count"],
                    "" if r["rate"] is None else f"{r['rate']:.0%}",
                    f"{r['rate_low']:.0%}-{r['rate_high']:.0%}",
                    f"{r['amount_awarded']:g}",
                ]
                for r in data["funnels"][by]
                if r["group"] != od.TOTAL
            ],
        }

    flagged = [t for ts in data["tests"].values() for t in ts if t["significant"]]
    bias = [c["sentence"] for cs in data["reviewer_bias"].values() for c in cs if c["significant"]]
    summary = (
        f"{data['n_applications']} applications. "
        + (
            f"{len(flagged)} group differences are significant after false-discovery-rate control. "
            if flagged
            else "No group difference is significant after false-discovery-rate control. "
        )
        + (
            " ".join(bias)
            if bias
            else "No reviewer group grades an applicant group differently from consensus."
        )
    )
    return render_report_pdf(
        {
            "title": f"Who benefits: {data['call']['title']}",
            "subtitle": f"{data['call']['facility']}, cycle {data['call']['cycle']}",
            "summary": summary,
            "funnel": table("income_group"),
            "access_ratios": {
                "title": "Access ratio by income group",
                "columns": ["group", "share of awards", "share of researchers", "access ratio"],
                "rows": [
                    [
                        a["key"],
                        f"{a['awarded_share']:.1%}",
                        "" if a["reference_share"] is None else f"{a['reference_share']:.1%}",
                        "" if a["ratio"] is None else f"{a['ratio']:.2f}",
                    ]
                    for a in data["access_ratios"]["income_group"]
                ],
            },
            "tables": [table("un_region"), table("ldc"), table("host")],
            "charts": report_charts(data),
            "attribution": data["attribution"],
        }
    )
