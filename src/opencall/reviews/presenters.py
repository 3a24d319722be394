"""What the managers' pages and API of later features (allocation, scheduling)
show of the review: the labels of an assignment's status, a technical verdict
and a conflict's source, the cycle's steps a chair runs as jobs, proposal rows
with identities only where this person may see them, and the call a chair runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from opencall.calls.access import call_list, signed_in_call_api
from opencall.calls.models import Call
from opencall.calls.presenters import status_labels
from opencall.facilities import domain as fac_domain
from opencall.facilities.models import CapacityPool
from opencall.inputs import local_number
from opencall.people.models import User
from opencall.proposals.labels import ROWS, SCALARS
from opencall.proposals.models import Proposal
from opencall.reviews import policies
from opencall.reviews.models import Conflict, ReviewAssignment
from opencall.reviews.policies import identities
from opencall.web.api import Api
from opencall.web.i18n import N_
from opencall.web.pages import Page

ASSIGNMENT_STATUS = {
    "assigned": N_("invited"),
    "accepted": N_("accepted"),
    "declined": N_("declined"),
    "submitted": N_("review submitted"),
    "removed": N_("removed"),
}
VERDICTS = {
    "feasible": N_("feasible"),
    "feasible_with_changes": N_("feasible with changes"),
    "not_feasible": N_("not feasible"),
}
#: a safety review's decisions (``reviews.domain.SAFETY_DECISIONS``; trialfac24)
SAFETY_DECISION_LABELS = {
    "pending": N_("classed, no approval given"),
    "approved": N_("approved"),
    "refused": N_("refused"),
}
CONFLICT_SOURCES = {
    "team": N_("member of the team"),
    "institution": N_("same institution"),
    "coauthor": N_("recent co-author or advisor"),
    "personal": N_("personal"),
    "declared_reviewer": N_("declared by the reviewer"),
    "declared_applicant": N_("declared by the applicant"),
    "own_proposal": N_("own proposal"),
}
CONFLICT_MASKED = N_("conflict of interest")
# The labels of the cycle's steps a chair runs as jobs (``cycle.services.STEPS`` says
# when each may run).
STEP_LABELS: dict[str, str] = {
    "conflicts": N_("Detect conflicts"),
    "affinity": N_("Compute affinity"),
    "assignment": N_("Assign reviewers"),
    "calibration": N_("Calibrate and rank"),
    "allocation": N_("Allocate capacity"),
    "scheduling": N_("Schedule"),
}


def labels(page: Page) -> dict[str, Any]:
    return {
        "a_status_label": lambda s: page._(ASSIGNMENT_STATUS.get(s) or s),
        "verdict_label": lambda s: page._(VERDICTS.get(s) or s),
        "decision_label": lambda s: page._(SAFETY_DECISION_LABELS.get(s) or s),
        **status_labels(page),
    }


def _identity_rows(
    db: Session,
    user: User | None,
    lang: str,
    call: Call,
    proposals: list[Proposal],
    row_of: Callable[[Proposal], dict[str, Any]],
) -> dict[int, dict[str, Any]]:
    """Each proposal's ``row_of`` by id, with — only where ``user`` may see the call's
    identities — its PI, institution and country (country names in ``lang``)."""
    show = policies.may_see_identities(db, user, call)
    who = identities(db, lang, proposals) if show else {}  # the countries in one query
    out: dict[int, dict[str, Any]] = {}
    for p in proposals:
        row = row_of(p)
        if show:
            row.update(who[p.id])
        out[p.id] = row
    return out


def proposal_rows(page: Page, call: Call, proposals: list[Proposal]) -> dict[int, dict[str, str]]:
    """Code, title and — only where identities may be seen — PI, institution, country."""
    return _identity_rows(
        page.db, page.user, page.lang, call, proposals, lambda p: {"code": p.code, "title": p.title}
    )


def staff_pairs_query(
    model: type[ReviewAssignment] | type[Conflict], call: Call, user: User | None
) -> Select[Any, str, str, str]:
    """The reviewer-proposal rows of ``call`` (its assignments or its conflicts) with
    each proposal's code and status and each reviewer's name, for the lists of the
    call's staff: without the rows of the proposals withheld from ``user``
    (:func:`policies.withheld_query`: a proposal of their own team, or one they are
    conflicted with, has its reviewers seen by another member of the staff)."""
    return (
        select(model, Proposal.code, Proposal.status, User.name)
        .join(Proposal, Proposal.id == model.proposal_id)
        .join(User, User.id == model.reviewer_id)
        .where(
            model.call_id == call.id,
            model.proposal_id.not_in(policies.withheld_query(user, call)),
        )
    )


def chair_call(api: Api, slug: str) -> Call:
    return signed_in_call_api(api, slug, policies.may_chair)


#: A route's dependency: the call ``slug`` its chair asks a list of (its proposals,
#: assignments, ranking, decisions, schedule, conflicts, reviewer pool), else 401 or not
#: found, looked up only once the slug and the paging are valid (else 422)
chair_list = call_list(policies.may_chair)


def open_assignment(api: Api, assignment_id: int) -> ReviewAssignment:
    """The assignment the API's user may open (their own), or not found."""
    user = api.require_user()
    a = api.db.get(ReviewAssignment, assignment_id)
    if a is None or not policies.may_open_assignment(api.db, user, a):
        raise api.not_found()
    return a


def proposal_dicts(api: Api, call: Call, proposals: list[Proposal]) -> dict[int, dict[str, Any]]:
    """:func:`proposal_rows` for the API: id, code, title and status, the identities
    where they may be seen (country names in English)."""
    return _identity_rows(
        api.db,
        api.user,
        "en",
        call,
        proposals,
        lambda p: {"id": p.id, "code": p.code, "title": p.title, "status": p.status},
    )


def with_units(page: Page, content: dict[str, Any]) -> dict[str, Any]:
    """A reviewer's view of a proposal's requests in the visitor's language: each
    request's amount with its resource's own unit (``unit``), and a custom resource's
    details under its fields' labels (``rows``) rather than their keys."""
    requests = []
    for r in content.get("requests", []):
        pool = page.db.get(CapacityPool, r["pool_id"]) if r.get("pool_id") else None
        if pool is not None:
            unit = fac_domain.unit_label(pool.unit, pool.unit_labels, r["amount"], page.lang)
        else:  # FAST: hours over LST
            unit = fac_domain.unit_label("h", {}, r["amount"], page.lang)
        labels: dict[str, str] = {}
        if pool is not None and pool.request_fields:
            labels = {
                f.key: f.label(page.lang) for f in fac_domain.parse_fields(pool.request_fields)
            }
        details = r.get("details") or {}
        if r.get("kind") in SCALARS and not labels:
            rows = _builtin_rows(page, r["kind"], details)
        else:
            rows = [(labels.get(k, k), v) for k, v in details.items()]
        requests.append({**r, "unit": unit, "rows": rows})
    return {**content, "requests": requests}


def _shown(page: Page, value: Any) -> str:
    """A detail's value as its reader writes it: a number in their digits and signs,
    a flag as yes or no, text as typed."""
    if isinstance(value, bool):
        return page._("yes") if value else page._("no")
    if isinstance(value, int | float):
        return local_number(value, page.lang, decimals=6)
    return str(value)


def _builtin_rows(page: Page, kind: str, details: dict[str, Any]) -> list[tuple[str, str]]:
    """A built-in kind's details under the labels of the applicant's form, in the
    reader's language (trialrev21: they were shown under their keys, a seat's site as a
    Python mapping and a dive's sites as a list): the scalar fields, a site's
    (``site.place``) one by one, none left blank; then a line for each row of its table
    (a dive's sites), its first column first and the others named."""
    rows: list[tuple[str, str]] = []
    for col in SCALARS[kind]:
        value: Any = details
        for part in col.name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None and value != "":
            rows.append((page._(col.label), _shown(page, value)))
    if kind in ROWS and kind != "fast":  # FAST's targets: their own table (_request_details)
        rows_name, _model, cols = ROWS[kind]
        first, rest = cols[0], cols[1:]
        for i, line in enumerate(details.get(rows_name) or [], start=1):
            if not isinstance(line, dict):
                continue
            parts = [_shown(page, line.get(first.name, ""))] + [
                f"{page._(c.label)}: {_shown(page, line[c.name])}"
                for c in rest
                if line.get(c.name) is not None
            ]
            rows.append((f"{page._(first.label)} {i}", " · ".join(parts)))
    return rows
