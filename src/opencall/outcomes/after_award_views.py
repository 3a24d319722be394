"""Public figures after the award (``/calls/{slug}/after-award``): per country
group, how many awards were used, completed and produced results, the time to a
first result and the facility's trend over cycles. Aggregates only; award counts
under ``MIN_CELL`` are shown as "<5", a count that could single out a small group is
hidden as "x" (``outcomes.after_award.public_funnel``), and shares of fewer than
``MIN_CELL`` are not shown."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.exc import IntegrityError

from opencall.calls.access import visible_call
from opencall.calls.presenters import joint_providers
from opencall.outcomes import after_award_data as aad
from opencall.outcomes import queries as oq
from opencall.outcomes import services
from opencall.results import policies as result_policies
from opencall.web import labels
from opencall.web.i18n import N_
from opencall.web.pages import Page, get_page

router = APIRouter()
MIN_CELL = oq.PUBLIC_MIN_CELL
# the report's group names, with a shorter one for the total row
GROUP_LABELS = {**labels.GROUP_LABELS, "all": N_("All")}


def shown(n: int | None) -> str:
    """An award count ("<5" when small), or a hidden count ("x": it could single out a
    small group, ``after_award.public_funnel``)."""
    if n is None:
        return "x"
    return f"<{MIN_CELL}" if 0 < n < MIN_CELL else str(n)


def share(k: int | None, n: int, lo: float | None, hi: float | None) -> str:
    if k is None or lo is None or hi is None:
        return ""
    if k < MIN_CELL or n < MIN_CELL or n - k < MIN_CELL and k != n:
        return ""
    return f"{round(100 * k / n)} % ({round(100 * lo)}–{round(100 * hi)})"


def published_after_award(page: Page, call: Any) -> dict[str, Any]:
    """The page's figures, each release kept before a reader sees it
    (``outcomes.services.record_releases``), so that the next is audited with it. Two
    readers who meet a change at once both compute the same release number: the second
    one's insert breaks the unique key, and its figures are computed again over the
    first one's release. The figures are computed again after a release is kept (they
    read the releases), so that the next reader finds them kept."""
    for _attempt in range(5):
        data = oq.public_after_award(page.db, call)
        if not data["new_releases"]:
            return data
        try:
            services.record_releases(page.db, oq.AFTER_AWARD_PAGE, data["new_releases"])
            page.commit()
        except IntegrityError:
            page.db.rollback()
        # computed again over the release kept (the same figures, a row they read
        # changed): kept for the next reader
    raise RuntimeError("could not record a release of the after-award page")


def public_tables(page: Page, call: Any) -> dict[str, Any]:
    """The page's tables in the reader's language, from the figures computed once
    (``outcomes.queries.public_after_award``); small cells suppressed."""
    data = published_after_award(page, call)

    def label(g: str) -> str:
        return page._(GROUP_LABELS[g]) if g in GROUP_LABELS else g

    funnels = {}
    for by in ("income_group", "un_region"):
        table = []
        stage_rows = data["funnels"][by]
        for g in dict.fromkeys(r["group"] for r in stage_rows):
            cells = [r for r in stage_rows if r["group"] == g]
            table.append(
                {
                    "group": label(g),
                    "awarded": shown(cells[0]["awarded"]),
                    "stages": [
                        (
                            shown(c["count"]),
                            share(c["count"], c["awarded"], c["rate_low"], c["rate_high"]),
                        )
                        for c in cells
                    ],
                }
            )
        funnels[by] = table
    times = [
        {
            "group": label(t["group"]),
            "median": f"{t['median_days']:.0f}" if t["shown"] else "–",
        }
        for t in data["times"]
    ]
    public = {
        c.id for c in aad.facility_cycles(page.db, call) if result_policies.may_see_aggregates(c)
    }
    cycles = [
        {
            "cycle": c["cycle"],
            "awarded": shown(c["awarded"]),
            "produced": shown(c["produced"]),
            "low_awarded": shown(c["low_awarded"]),
            "low_produced": shown(c["low_produced"]),
        }
        for c in data["cycles"]
        if c["call_id"] in public
    ]
    access = {
        by: [
            {
                "group": label(r["group"]),
                "awarded": shown(r["awarded"]),
                "first_time": shown(r["first_time"]),
                "repeat": shown(r["repeat"]),
                "share": share(
                    r["first_time"], r["awarded"], r["first_time_low"], r["first_time_high"]
                ),
            }
            for r in data["access"][by]
        ]
        for by in ("income_group", "un_region")
    }
    return {"funnels": funnels, "times": times, "cycles": cycles, "access": access}


@router.get("/calls/{slug}/after-award", response_class=HTMLResponse)
def after_award(slug: str, page: Page = Depends(get_page)) -> Response:
    call = visible_call(page, slug)
    public = result_policies.may_see_aggregates(call)
    return page.render_public(
        "outcomes/after_award.html",
        {
            "call": call,
            "providers": joint_providers(page, call),
            "public": public,
            "t": public_tables(page, call) if public else {},
            "min_cell": MIN_CELL,
        },
    )
