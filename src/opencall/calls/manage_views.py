"""The user office's call pages: the calls one manages, creating and
configuring a call, offering pools, job status pages and the audit log (the
CSV helper every manager table uses is ``opencall.web.csv``).

The cycle's cockpit (steps, transitions, assignment, ranking) lives in
``reviews.views``; decisions in ``allocation.views``; the timetable in
``scheduling.views``: each feature shows what it owns.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from opencall import jobs
from opencall.calls import partners, policies, services
from opencall.calls.access import office_call
from opencall.calls.models import Call, CallPartner
from opencall.calls.notify import mail_partner_invited
from opencall.calls.presenters import date_error as _date_error
from opencall.calls.presenters import parse_when as _parse_when
from opencall.calls.presenters import status_labels
from opencall.calls.queries import (
    call_by_slug,
    calls_query,
    offerable_pools,
    open_invitations,
    partner_by_slug,
)
from opencall.calls.schemas import MAX_CUTOFFS
from opencall.errors import DomainError
from opencall.facilities import policies as fac_policies
from opencall.facilities.models import CapacityPool, Facility
from opencall.facilities.queries import facilities_of_site, providers_where
from opencall.inputs import finite_number, time_zone_name
from opencall.optim import wallclock
from opencall.web.forms import MSG_NUMBER, MSG_REQUIRED
from opencall.web.i18n import N_
from opencall.web.pages import Page, get_page
from opencall.web.paging import paginate_query

router = APIRouter()


MSG_CUTOFFS = N_("A call has at most %(max)s review cut-offs; this list has %(n)s.")


# ---------------------------------------------------------------- helpers shared by managers' pages


# ---------------------------------------------------------------- the calls one manages


MANAGED_CALLS_PER_PAGE = 25


@router.get("/manage", response_class=HTMLResponse)
def manage_home(page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    # the calls one may manage and the providers one may create calls for, each in one
    # query (a role query a call was a statement per call of the whole site)
    # paged (a site's administrator runs every call of its history), without the
    # calls' resources, which the list does not show (scale18)
    calls, pager = paginate_query(
        page.db,
        calls_query(where=policies.managed_calls_clause(user), resources=False),
        page.request.query_params,
        MANAGED_CALLS_PER_PAGE,
    )
    providers = providers_where(page.db, fac_policies.call_creating_providers_clause(user))
    return page.render(
        "manage/home.html",
        {
            "calls": calls,
            "pager": pager,
            # the invitations into other providers' joint calls this office answers
            "invitations": open_invitations(page.db, policies.invitations_clause(user)),
            "providers": providers,
            "may_create_provider": fac_policies.may_create_provider(user),
            **status_labels(page),
        },
    )


# ---------------------------------------------------------------- creating a call


def _facilities(page: Page) -> list[Facility]:
    return [
        f
        for f in facilities_of_site(page.db)
        if fac_policies.may_create_calls(page.db, page.user, f.provider)
    ]


def _options(facilities: list[Facility]) -> list[tuple[str, str]]:
    return [(str(f.id), f"{f.name} ({f.provider.name})") for f in facilities]


def _offer_fields(facilities: list[Facility], chosen: str = "") -> tuple[str, ...]:
    """The offer fields (``services.OFFER_FIELDS``) the new-call page shows: those of the
    chosen facility's kind, or, before one is chosen, of any kind among ``facilities``."""
    kinds = {f.kind for f in facilities if str(f.id) == chosen} or {f.kind for f in facilities}
    return tuple(
        n for n in services.OFFER_FIELDS if any(n in services.offer_fields(k) for k in kinds)
    )


def _num(raw: str, kind: type = float) -> Any:
    raw = raw.strip()
    if raw == "":
        return None
    return kind(raw)


def form_shares(text: str) -> list[dict[str, Any]] | None:
    """The share rules typed on the call form (``low_lmic:0.2, ldc:0.1``; the group
    ``countries`` with its list in brackets, ``countries(KEN NPL PHL):0.25``, since
    trialfac23c: without it a policy set through the API lost its list on the form and
    could no longer be saved there); None when a share is not a number."""
    shares: list[dict[str, Any]] = []
    for part in text.split(","):
        if not part.strip():
            continue
        group, _, share = part.rpartition(":")
        group, _, listed = group.partition("(")
        min_share = finite_number(share)
        if min_share is None:
            return None
        rule: dict[str, Any] = {"group": group.strip(), "min_share": min_share}
        if listed.strip():
            rule["countries"] = listed.rstrip(") ").split()
        shares.append(rule)
    return shares


def call_document(
    page: Page, facility: Facility, f: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The create-call form as the ``CallCreate`` document, with errors per field."""
    errors: dict[str, str] = {}
    for name in ("slug", "code", "title", "cycle", "opens_at", "closes_at"):
        if not f.get(name, "").strip():
            errors[name] = page._(MSG_REQUIRED)
    # the zone the dates are typed in (the call's own; UTC when empty)
    zone = ""
    try:
        zone = time_zone_name(f.get("time_zone", "")) or ""
    except ValueError:
        errors["time_zone"] = page._(
            "Unknown time zone %(zone)s: give a name such as Africa/Kinshasa, Asia/Dhaka, "
            "America/La_Paz or Pacific/Apia, or leave it empty for UTC.",
            zone=repr(f.get("time_zone", "").strip()[:80]),
        )
    dates: dict[str, dt.datetime | None] = {}
    for name in ("opens_at", "closes_at", "review_deadline"):
        raw = f.get(name, "").strip()
        dates[name] = _parse_when(raw, zone, end_of_day=name == "review_deadline") if raw else None
        if raw and dates[name] is None:
            errors[name] = _date_error(page, zone)
    rs: dict[str, Any] = {"mode": f.get("review_mode", "panel")}
    ap: dict[str, Any] = {"award_mode": f.get("award_mode", "whole")}
    form: dict[str, Any] = {"requires_pdf": f.get("requires_pdf") == "on"}
    numeric = (
        (rs, "reviewers_per_proposal", int),
        (rs, "min_reviews", int),
        (rs, "max_load", int),
        (rs, "grade_min", float),
        (rs, "grade_max", float),
        (ap, "pi_cap_awards", int),
        (ap, "min_fraction", float),
        (ap, "quality_threshold", float),
        (form, "max_pdf_pages", int),
        (form, "title_max_chars", int),
        (form, "abstract_max_words", int),
        (form, "science_case_max_words", int),
        (form, "max_amount_per_proposal", float),
    )
    for target, name, kind in numeric:
        try:
            v = _num(f.get(name, ""), kind)
        except ValueError:
            errors[name] = page._(MSG_NUMBER)
            continue
        if v is not None:
            target[name] = v
    rs["lower_is_better"] = f.get("lower_is_better") == "on"
    labels = [g.strip() for g in f.get("grade_labels", "").splitlines() if g.strip()]
    if labels:  # a letter or word scale: the labels set the range and its direction
        rs["grade_labels"] = labels
        for name in ("grade_min", "grade_max", "lower_is_better"):
            rs.pop(name, None)
    elif f.get("grade_labels") is not None:
        rs["grade_labels"] = []  # emptied: a numeric scale again
    criteria = [c.strip()[:300] for c in f.get("review_criteria", "").splitlines() if c.strip()]
    if criteria:  # (only when given: a call saved before criteria existed keeps its settings)
        rs["criteria"] = criteria
    if f.get("review_guidance", "").strip():
        rs["guidance"] = f["review_guidance"].strip()
    if dates.get("review_deadline"):
        rs["review_deadline"] = dates["review_deadline"].isoformat()  # type: ignore[union-attr]
    ap["nationality_blind"] = f.get("nationality_blind") == "on"
    ap["preempts"] = f.get("preempts") == "on"  # an urgent call (trialfac24b)
    shares = form_shares(f.get("group_shares", ""))
    if shares is None:
        errors["group_shares"] = page._(MSG_NUMBER)
    ap["group_shares"] = shares or []
    caps = []
    for part in f.get("group_caps", "").split(","):
        if not part.strip():
            continue
        per, _, count = part.partition(":")
        try:
            caps.append({"per": per.strip(), "max_awards": int(count.strip())})
        except ValueError:
            errors["group_caps"] = page._(MSG_NUMBER)
    ap["group_caps"] = caps
    offered = services.offer_fields(facility.kind)
    for name in services.OFFER_FIELDS:  # a telescope's receivers and modes (empty: all)
        given = [x.strip() for x in f.get(name, "").split(",") if x.strip()]
        if name in offered:
            form[name] = given or list(facility.attributes.get(name, []))
        elif given:  # an input the kind's page does not show: said, nothing made
            errors[name] = page.t.error(services.not_offered(facility.kind, name))
    eligibility: dict[str, Any] = {}
    groups = [x.strip() for x in f.get("eligible_income_groups", "").split(",") if x.strip()]
    if groups:
        eligibility["income_groups"] = groups
    rolling: dict[str, Any] = {}
    if "mode" in f:  # the new-call page: a continuous call's cut-offs (set when it is made)
        rolling["mode"] = f.get("mode") if f.get("mode") in ("deadline", "continuous") else ""
        cutoffs = []
        lines = [x for x in f.get("cutoffs", "").replace(",", "\n").splitlines() if x.strip()]
        if len(lines) > MAX_CUTOFFS:  # said first, and no date beyond the limit is read
            errors["cutoffs"] = page._(MSG_CUTOFFS, max=MAX_CUTOFFS, n=len(lines))
            lines = []
        for raw in lines:
            when = _parse_when(raw, zone)
            if when is None:
                errors["cutoffs"] = _date_error(page, zone)
            else:
                cutoffs.append(when)
        rolling["cutoffs"] = cutoffs
        try:
            days = _num(f.get("decision_days", ""), int)
        except ValueError:
            errors["decision_days"] = page._(MSG_NUMBER)
        else:
            if days is not None:
                rolling["decision_days"] = days
    doc = {
        **rolling,
        "slug": f.get("slug", "").strip(),
        "code": f.get("code", "").strip(),
        "title": f.get("title", "").strip(),
        "cycle": f.get("cycle", "").strip(),
        "description": f.get("description", ""),
        "opens_at": dates["opens_at"],
        "closes_at": dates["closes_at"],
        "time_zone": zone,
        "anonymity": f.get("anonymity", "dual"),
        "review_settings": rs,
        "allocation_policy": ap,
        "form": form,
        "eligibility": eligibility,
    }
    return doc, errors


@router.get("/manage/calls/new", response_class=HTMLResponse)
def new_call_form(page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    facilities = _facilities(page)
    if not facilities:
        # a provider without a facility yet (a fresh install's first day, where /manage
        # links here): say what comes first rather than "Not found" (trialop22)
        providers = providers_where(page.db, fac_policies.call_creating_providers_clause(user))
        if not providers:
            page.not_found()
        return page.render("manage/new_call_first.html", {"providers": providers})
    chosen = page.request.query_params.get("facility_id", "")  # (a facility's own link)
    return page.render(
        "manage/new_call.html",
        {
            "facility_options": _options(facilities),
            "form": {"anonymity": "dual", "facility_id": chosen},
            "errors": {},
            "offer_fields": _offer_fields(facilities, chosen),
        },
    )


@router.post("/manage/calls/new", response_class=HTMLResponse)
def new_call(page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    facilities = {str(f.id): f for f in _facilities(page)}
    if not facilities:
        page.not_found()
    f = page.form
    facility = facilities.get(f.get("facility_id", ""))
    errors: dict[str, str] = {}
    if facility is None:
        errors["facility_id"] = page._(MSG_REQUIRED)
    else:
        doc, errors = call_document(page, facility, f)
        if not errors:
            with page.attempt() as refused:
                call = services.create_call(page.db, facility, doc, actor_id=user.id)
                if f.get("offer_all") == "on":
                    # what is left of each; a resource with none left is not offered
                    services.offer_every_pool(page.db, call, actor_id=user.id)
            if not refused:
                return page.redirect(f"/manage/calls/{call.slug}", "saved")
            errors[refused.field if refused.field in f else "form"] = refused.message
    return page.render(
        "manage/new_call.html",
        {
            "facility_options": _options(list(facilities.values())),
            "form": f,
            "errors": errors,
            "offer_fields": _offer_fields(list(facilities.values()), f.get("facility_id", "")),
        },
        status=400,
    )


# ---------------------------------------------------------------- editing a call

# Messages calls.services.update_call composes in English, catalogued for Translator.message.
SERVICE_MESSAGES = (
    N_(
        "The short name and code of a call cannot change "
        "(they are in its addresses and proposal codes)."
    ),
    N_("The call must close after it opens."),
    N_(
        "While the call is open only its title, description, closing date and word limits may "
        "change; %(fields)s cannot change, because applicants may already have relied on them."
    ),
    N_("The closing date cannot be moved to a moment already past (%(when)s UTC)."),
    N_(
        "Once a call has closed only its description may change (status: %(status)s); "
        "%(fields)s cannot change."
    ),
)
# document paths of update_call's errors -> the input beside which the error is shown
_INPUT_OF = {
    "review_settings.mode": "review_mode",
    "allocation_policy": "award_mode",
    "review_settings": "review_mode",
    "eligibility": "eligible_income_groups",
}
# optional settings shown on the form: an empty input clears them (other empty inputs keep
# the stored value, as the form is filled in with it)
_CLEARABLE = (
    ("review_settings", "review_deadline"),
    ("allocation_policy", "pi_cap_awards"),
    ("allocation_policy", "quality_threshold"),
    ("form", "max_amount_per_proposal"),
)


def share_countries(rule: dict[str, Any]) -> str:
    """A share rule's list of countries as the call form writes it, in brackets after the
    group (``countries(KEN NPL)``); empty for every other group."""
    listed = rule.get("countries") or []
    return f"({' '.join(listed)})" if listed else ""


def _when_text(d: dt.datetime | None, zone: str = "") -> str:
    """A date as the form shows it: on the clock of the call's ``zone`` (UTC when empty)."""
    if d is None:
        return ""
    d = d.astimezone(wallclock.zone(zone) if zone else dt.UTC)
    return d.strftime("%Y-%m-%d %H:%M:%S" if d.second else "%Y-%m-%d %H:%M")


def _text(v: Any) -> str:
    return "" if v is None else str(v)


def call_form_values(call: Call) -> dict[str, str]:
    """The call's current configuration as the inputs of the call form (round-trips)."""
    rs, ap, fm = call.review_settings, call.allocation_policy, call.form
    deadline = rs.get("review_deadline")
    values = {
        "title": call.title,
        "cycle": call.cycle,
        "description": call.description,
        "opens_at": _when_text(call.opens_at, call.time_zone or ""),
        "closes_at": _when_text(call.closes_at, call.time_zone or ""),
        "time_zone": call.time_zone or "",
        "eligible_income_groups": ", ".join(call.eligibility.get("income_groups", [])),
        "anonymity": call.anonymity,
        "review_mode": rs.get("mode", "panel"),
        "lower_is_better": "on" if rs.get("lower_is_better") else "",
        "grade_labels": "\n".join(rs.get("grade_labels", [])),
        "review_deadline": _when_text(dt.datetime.fromisoformat(deadline), call.time_zone or "")
        if deadline
        else "",
        "review_criteria": "\n".join(rs.get("criteria", [])),
        "review_guidance": rs.get("guidance", ""),
        "award_mode": ap.get("award_mode", "whole"),
        "nationality_blind": "on" if ap.get("nationality_blind") else "",
        "preempts": "on" if ap.get("preempts") else "",
        "group_shares": ", ".join(
            f"{g['group']}{share_countries(g)}:{g['min_share']}" for g in ap.get("group_shares", [])
        ),
        "group_caps": ", ".join(
            f"{c['per']}:{c['max_awards']}"
            for c in ap.get("group_caps", [])
            if c.get("max_awards") is not None
        ),
        "requires_pdf": "on" if fm.get("requires_pdf") else "",
        "receivers": ", ".join(fm.get("receivers", [])),
        "modes": ", ".join(fm.get("modes", [])),
    }
    for doc, names in (
        (rs, ("reviewers_per_proposal", "min_reviews", "max_load", "grade_min", "grade_max")),
        (ap, ("pi_cap_awards", "min_fraction", "quality_threshold")),
        (
            fm,
            (
                "max_pdf_pages",
                "title_max_chars",
                "abstract_max_words",
                "science_case_max_words",
                "max_amount_per_proposal",
            ),
        ),
    ):
        for name in names:
            values[name] = _text(doc.get(name))
    return values


def _edit_page(
    page: Page, call: Call, form: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    return page.render(
        "manage/edit_call.html",
        {
            "call": call,
            "form": form,
            "errors": errors,
            "editing": True,
            "office": True,
            "offer_fields": services.offer_fields(call.facility.kind),
            **status_labels(page),
        },
        status=status,
    )


@router.get("/manage/calls/{slug}/edit", response_class=HTMLResponse)
def edit_call_form(slug: str, page: Page = Depends(get_page)) -> Response:
    call = office_call(page, slug)
    return _edit_page(page, call, call_form_values(call), {})


@router.post("/manage/calls/{slug}/edit", response_class=HTMLResponse)
def edit_call(slug: str, page: Page = Depends(get_page)) -> Response:
    call = office_call(page, slug)
    f = {**page.form, "slug": call.slug, "code": call.code}
    doc, errors = call_document(page, call.facility, f)
    if not errors:
        for key, name in _CLEARABLE:
            if not f.get(name, "").strip():
                doc[key][name] = None
        ap = doc["allocation_policy"]
        ap["group_caps"] = kept_amount_caps(call.allocation_policy, ap["group_caps"])
        groups = doc["eligibility"].get("income_groups")
        eligibility = {k: v for k, v in call.eligibility.items() if k != "income_groups"}
        doc["eligibility"] = {**eligibility, **({"income_groups": groups} if groups else {})}
        with page.attempt() as refused:
            services.update_call(page.db, call, doc, actor_id=page.user.id)
        if not refused:
            return page.redirect(f"/manage/calls/{call.slug}", "saved")
        page.db.refresh(call)
        errors[_input_name(refused.field, f)] = refused.message
    return _edit_page(page, call, f, errors, status=400)


def kept_amount_caps(stored: dict[str, Any], caps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The form's caps of awards per group (``country:2``) with the amount caps the call's
    policy holds (set through the API; the form has no input for them) kept."""
    out = {c["per"]: dict(c) for c in caps}
    for cap in stored.get("group_caps", []):
        if cap.get("max_amount") is not None:
            out.setdefault(cap["per"], {"per": cap["per"]})["max_amount"] = cap["max_amount"]
    return list(out.values())


def _input_name(path: str | None, form: dict[str, str]) -> str:
    """The input of the call form that an error of ``update_call`` belongs beside."""
    if not path:
        return "form"
    if path in _INPUT_OF:
        return _INPUT_OF[path]
    name = path.rpartition(".")[2]
    if name in form:
        return name
    return _INPUT_OF.get(path.partition(".")[0], "form")


@router.post("/manage/calls/{slug}/pools", response_class=HTMLResponse)
def offer_pool(slug: str, page: Page = Depends(get_page)) -> Response:
    call = office_call(page, slug)
    raw = page.form.get("pool_id", "")
    pool = page.db.get(CapacityPool, int(raw)) if raw.isdecimal() and len(raw) < 10 else None
    if pool is None or pool.id not in {p.id for p in offerable_pools(page.db, call)}:
        page.not_found()
    try:
        amount = _num(page.form.get("amount", ""))
        cap = _num(page.form.get("max_per_request", ""))
        low = _num(page.form.get("min_per_request", ""))
        services.offer_pool(
            page.db, call, pool, amount, cap, min_per_request=low, actor_id=page.user.id
        )
        page.commit()
    except (DomainError, ValueError) as exc:
        page.db.rollback()
        return _error(page, exc if isinstance(exc, DomainError) else MSG_NUMBER)
    return page.redirect(f"/manage/calls/{call.slug}#pools", "saved")


@router.post("/manage/calls/{slug}/pools/change", response_class=HTMLResponse)
def change_offer(slug: str, page: Page = Depends(get_page)) -> Response:
    """The cockpit's "Change what the call offers" (trialfac23): a resource the call
    offers, and its new amount."""
    call = office_call(page, slug)
    raw = page.form.get("pool_id", "")
    pid = int(raw) if raw.isdecimal() and len(raw) < 10 else None
    cp = next((c for c in call.pools if c.pool_id == pid), None)
    if cp is None:
        page.not_found()
    try:
        amount = _num(page.form.get("amount", ""))
        if amount is None:
            raise ValueError(raw)
        services.change_offer(page.db, call, cp.pool, amount, actor_id=page.user.id)
        page.commit()
    except (DomainError, ValueError) as exc:
        page.db.rollback()
        return _error(page, exc if isinstance(exc, DomainError) else MSG_NUMBER)
    return page.redirect(f"/manage/calls/{call.slug}#offers", "saved")


# ---------------------------------------------------------------- a joint call's partner


def _answered_partner(page: Page, slug: str, provider: str) -> tuple[Call, CallPartner]:
    """The call and ``provider``'s invitation into it, when the signed-in person answers
    for that provider (its user office); else 404 (the call's own office withdraws a
    partner on the call's cockpit)."""
    user = page.require_user()
    call = call_by_slug(page.db, slug)
    partner = None if call is None else partner_by_slug(page.db, call, provider)
    if call is None or partner is None:
        page.not_found()
    if not policies.may_answer_for_partner(page.db, user, call, partner.provider_id):
        page.not_found()
    return call, partner


def _answer(page: Page, slug: str, provider: str, step: Any) -> Response:
    """Take ``step`` (a service: accept or withdraw) on the provider's invitation; a
    refusal changes nothing and says why."""
    call, partner = _answered_partner(page, slug, provider)
    try:
        step(page.db, partner, call, actor_id=page.user.id)
        page.commit()
    except DomainError as exc:
        page.db.rollback()
        return _error(page, exc)
    return page.redirect("/manage#invitations", "saved")


@router.post("/manage/calls/{slug}/partners/{provider}/accept", response_class=HTMLResponse)
def accept_partner(slug: str, provider: str, page: Page = Depends(get_page)) -> Response:
    """The invited provider's user office accepts to take part in a joint call."""
    return _answer(page, slug, provider, partners.accept_partner)


@router.post("/manage/calls/{slug}/partners/{provider}/decline", response_class=HTMLResponse)
def decline_partner(slug: str, provider: str, page: Page = Depends(get_page)) -> Response:
    """The invited provider's user office declines (or leaves, while nothing of its
    resources is offered)."""
    return _answer(page, slug, provider, partners.withdraw_partner)


@router.post("/manage/calls/{slug}/partners", response_class=HTMLResponse)
def invite_partner(slug: str, page: Page = Depends(get_page)) -> Response:
    """The call's user office invites another provider into the call (a joint call), as
    ``POST /api/v1/calls/{slug}/partners`` does: same refusals, same mail, audited."""
    call = office_call(page, slug)
    try:
        provider = partners.provider_to_invite(page.db, page.form.get("provider", ""))
        partners.invite_partner(page.db, call, provider, actor_id=page.user.id)
        mail_partner_invited(page.request, page.db, call, provider)
        page.commit()
    except DomainError as exc:
        page.db.rollback()
        return _error(page, exc)
    return page.redirect(f"/manage/calls/{call.slug}#partners", "saved")


@router.post("/manage/calls/{slug}/partners/{provider}/withdraw", response_class=HTMLResponse)
def withdraw_partner(slug: str, provider: str, page: Page = Depends(get_page)) -> Response:
    """The call's user office withdraws a partner (``DELETE /api/v1/calls/{slug}/partners/
    {provider}``); refused while the call offers any of its resources."""
    call = office_call(page, slug)
    partner = partner_by_slug(page.db, call, provider)
    if partner is None:
        page.not_found()
    try:
        partners.withdraw_partner(page.db, partner, call, actor_id=page.user.id)
        page.commit()
    except DomainError as exc:
        page.db.rollback()
        return _error(page, exc)
    return page.redirect(f"/manage/calls/{call.slug}#partners", "saved")


def _error(page: Page, message: str | DomainError) -> Response:
    text = page.t.error(message) if isinstance(message, DomainError) else page.t(message)
    return page.render("manage/message.html", {"message": text}, status=400)


# ---------------------------------------------------------------- jobs


@router.get("/manage/jobs/{job_id}", response_class=HTMLResponse)
def job_status(job_id: int, page: Page = Depends(get_page)) -> Response:
    """A job's progress; refreshes itself (meta refresh, no JavaScript) until it ends."""
    page.require_user()
    job = page.db.get(jobs.Job, job_id)
    call = page.db.get(Call, job.call_id) if job is not None and job.call_id else None
    if job is None or call is None or not policies.may_manage_call(page.db, page.user, call):
        page.not_found()
    return page.render(
        "manage/job.html",
        {
            "job": job,
            "call": call,
            "live": job.status in ("queued", "running"),
            "poll_ms": page.settings.job_poll_ms,
            "scripts": ["/static/poll.js"] if job.status in ("queued", "running") else [],
            **status_labels(page),
        },
    )


# ---------------------------------------------------------------- audit log
# The routes of the audit log page are in ``reviews.views.audit``: they leave out the
# events of a proposal withheld from the reader (``reviews.policies.withheld``).
