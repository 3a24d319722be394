"""Public pages of calls: home, the open calls with capacity, one call's rules."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from opencall.calls import policies, queries
from opencall.calls.access import visible_call as visible_call
from opencall.calls.domain import parse_cutoffs
from opencall.calls.presenters import call_labels, joint_providers
from opencall.calls.schemas import TITLE_MAX_CHARS, allocation_policy, call_form
from opencall.db import utcnow
from opencall.facilities.domain import open_windows
from opencall.facilities.labels import unit_labels
from opencall.web.labels import ANONYMITY as ANONYMITY
from opencall.web.labels import group_label
from opencall.web.pages import Page, get_page
from opencall.web.paging import paginate_query

router = APIRouter()

# a site's history of calls is long (years of cycles, each call with its resources):
# the list of calls is paged, the home page names the latest results (scale18)
CALLS_PER_PAGE = 25
LATEST_RESULTS = 20
# the spans a resource runs, listed on the call's page (a weekly closure over a year gives
# fifty; the rest are counted)
WINDOWS_SHOWN = 12


def labels(page: Page) -> dict[str, object]:
    return {**call_labels(page), **unit_labels(page)}


@router.get("/", response_class=HTMLResponse)
def home(page: Page = Depends(get_page)) -> Response:
    now = utcnow()
    calls = [c for c in queries.list_calls(page.db, statuses=("open",)) if c.closes_at > now]
    published = queries.latest_call_names(
        page.db, statuses=policies.RESULTS_STATES, limit=LATEST_RESULTS
    )
    # a joint call names every provider, as its own page and the list of calls do
    joint = {c.id: joint_providers(page, c) for c in calls}
    return page.render_public(
        "calls/home.html",
        {"calls": calls, "joint": joint, "published": published, **labels(page)},
    )


@router.get("/calls", response_class=HTMLResponse)
def calls_list(page: Page = Depends(get_page)) -> Response:
    calls, pager = paginate_query(
        page.db,
        queries.calls_query(statuses=policies.PUBLIC_STATES),
        page.request.query_params,
        CALLS_PER_PAGE,
    )
    joint = {c.id: joint_providers(page, c) for c in calls}
    return page.render_public(
        "calls/list.html", {"calls": calls, "joint": joint, "pager": pager, **labels(page)}
    )


@router.get("/calls/{slug}", response_class=HTMLResponse)
def call_detail(slug: str, page: Page = Depends(get_page)) -> Response:
    call = visible_call(page, slug)
    now = utcnow()
    return page.render_public(
        "calls/detail.html",
        {
            "call": call,
            "providers": joint_providers(page, call),
            "form": call_form(call.form),
            # a call stored with a limit above the bound is held to it
            "title_max": min(call_form(call.form).title_max_chars, TITLE_MAX_CHARS),
            "anonymity": page._(ANONYMITY.get(call.anonymity, ANONYMITY["dual"])),
            # who may apply, by the PI's country's income group (trialfac23b)
            "eligible_groups": [
                group_label(page._, g) for g in call.eligibility.get("income_groups") or []
            ],
            "can_apply": policies.may_apply_to_call(page.user, call, now),
            # an urgent call's rule, as its published policy says it (trialfac24b)
            "preempts": allocation_policy(call.allocation_policy).preempts,
            "is_open": call.status == "open" and call.opens_at <= now < call.closes_at,
            "results": policies.results_are_public(call),
            # a continuous call: its next cut-off and its batches the public may see
            "next_cutoff": queries.next_cutoff_of(call) if call.status == "open" else None,
            "cutoffs": parse_cutoffs(call.cutoffs),
            "batches": [
                b for b in queries.batches_of(page.db, call) if b.status in policies.PUBLIC_STATES
            ],
            "parent": call.parent if call.parent_id is not None else None,
            # when each offered resource runs (its period less its closures), so that an
            # applicant choosing between a beamline's machine modes sees each mode's blocks
            "windows": {
                cp.pool_id: open_windows(
                    cp.pool.period_start,
                    cp.pool.period_end,
                    cp.pool.day_start_hour,
                    cp.pool.time_zone or "",
                    [(u.starts_at, u.ends_at) for u in cp.pool.unavailable],
                )
                for cp in call.pools
            },
            "windows_shown": WINDOWS_SHOWN,
            # the upload form's own limit (proposals' editor), said in the rules
            "max_upload_bytes": page.settings.max_upload_bytes,
            **labels(page),
        },
    )
