"""Public figures after the award (``/calls/{slug}/after-award``): per country
group, how many awards were used, completed and produced results, the time to a
first result and the facility's trend over cycles. Aggregates only; award counts
under ``MIN_CELL`` are shown as "<5", a count that could single out a small group is
hidden as "x" (``outcomes.after_award.public_funnel``), and shares of fewer than
``MIN_CELL`` are not shown."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import IntegrityError

from opencall.calls.access import visible_call
from opencall.calls.presenters import joint_providers
from opencall.outcomes import after_award_data as aad
from opencall.outcomes import queries as oq
from opencall.outcomes import services
from opencall.outcomes.report import CHANGE_MEASURE_LABELS, points
from opencall.results import policies as result_policies
from opencall.web import labels
from opencall.web.csv import csv_response, wants_csv
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
        waves = data.get("new_wave_releases") or {}
        if not data["new_releases"] and not waves:
            return data
        try:
            services.record_releases(page.db, oq.AFTER_AWARD_PAGE, data["new_releases"])
            # the follow-up waves' (outcomes18), the people trained by country (outcomes22b)
            for wave, new in sorted(waves.items()):
                services.record_releases(page.db, wave, new)
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
    for by in oq.PUBLIC_BYS:
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
        for by in oq.PUBLIC_BYS
    }
    follow_up_response = {
        by: [
            {
                "group": label(r["group"]),
                "months": r["months"],
                "due": shown(r["due"]),
                "answered": shown(r["answered"]),
                "not_answered": shown(r["not_answered"]),
                "share": share(r["answered"], r["due"], r["rate_low"], r["rate_high"]),
            }
            for r in rows
        ]
        for by, rows in data.get("follow_up_response", {}).items()
        if rows
    }
    trained_from = {
        by: [
            {
                "group": page._(N_("Country not recorded"))
                if r["group"] == "not_recorded"
                else label(r["group"]),
                "people_trained": shown(r["people_trained"]),
            }
            for r in rows
        ]
        for by, rows in data.get("trained_from", {}).items()
    }
    measures = CHANGE_MEASURE_LABELS
    change = {
        by: [
            {
                "group": label(r["group"]),
                "measure": page._(measures[r["measure"]]),
                "now": page._("%(k)s of %(n)s", k=shown(r["count"]), n=shown(r["total"])),
                "now_share": points(r["share"]).lstrip("+"),
                "earlier": page._(
                    "%(k)s of %(n)s", k=shown(r["earlier_count"]), n=shown(r["earlier_total"])
                )
                if r["earlier_cycles"]
                else "–",
                "earlier_share": points(r["earlier_share"]).lstrip("+"),
                "difference": f"{points(r['difference'])} ({points(r['difference_low'])}"
                f" – {points(r['difference_high'])})"
                if r["shown"]
                else "",
            }
            for r in rows
        ]
        for by, rows in oq.public_change(call, data, public).items()
    }
    return {
        "funnels": funnels,
        "times": times,
        "cycles": cycles,
        "access": access,
        "change": change,
        "follow_up_response": follow_up_response,
        "trained_from": trained_from,
    }


#: the public CSV's columns: a table of the page, its grouping, a group (its code; a
#: cycle's code and number in the cycles table), a measure and the page's cell
CSV_HEADER = ("table", "grouping", "group", "measure", "value")


def public_csv_rows(page: Page, call: Any) -> list[tuple[str, str, str, str, str]]:
    """The page's tables as rows of :data:`CSV_HEADER`, each cell as the page shows it
    (:func:`shown`: "<5", "x" where hidden; a median only where the page shows one), from
    the same release: a funder's spreadsheet holds what the page publishes and nothing
    more (no share is repeated: the page computes them from these counts)."""
    data = published_after_award(page, call)
    rows: list[tuple[str, str, str, str, str]] = []
    for by in oq.PUBLIC_BYS:
        seen: set[str] = set()
        for x in data["funnels"][by]:
            if x["group"] not in seen:
                seen.add(x["group"])
                rows.append(("after_award", by, x["group"], "awarded", shown(x["awarded"])))
            rows.append(("after_award", by, x["group"], x["stage"], shown(x["count"])))
    for t in data["times"]:
        median = f"{t['median_days']:.0f}" if t["shown"] else ""
        rows.append(("time_to_first_result", "income_group", t["group"], "median_days", median))
    for by in oq.PUBLIC_BYS:
        for r in data["access"][by]:
            for measure in ("awarded", "first_time", "repeat"):
                rows.append(("access", by, r["group"], measure, shown(r[measure])))
    for by, waves in data.get("follow_up_response", {}).items():
        for r in waves:
            for measure in ("due", "answered", "not_answered"):
                value = shown(r[measure])
                rows.append(
                    ("follow_up_response", by, r["group"], f"{r['months']}:{measure}", value)
                )
    for by, trained in data.get("trained_from", {}).items():  # outcomes22
        for r in trained:
            rows.append(("trained_from", by, r["group"], "people_trained",
                         shown(r["people_trained"])))  # fmt: skip
    public = {
        c.id for c in aad.facility_cycles(page.db, call) if result_policies.may_see_aggregates(c)
    }
    for c in data["cycles"]:
        if c["call_id"] in public:
            for measure in ("awarded", "produced", "low_awarded", "low_produced"):
                rows.append(("cycles", "", c["cycle"], measure, shown(c[measure])))
    for by, changes in oq.public_change(call, data, public).items():
        for r in changes:
            m = r["measure"]
            for key in ("count", "total", "earlier_count", "earlier_total"):
                rows.append(("change", by, r["group"], f"{m}:{key}", shown(r[key])))
            for key in ("difference", "difference_low", "difference_high"):
                value = "" if r[key] is None else f"{r[key]:.3f}"
                rows.append(("change", by, r["group"], f"{m}:{key}", value))
    return rows


@router.get("/calls/{slug}/after-award", response_class=HTMLResponse)
def after_award(slug: str, page: Page = Depends(get_page)) -> Response:
    """The page, or with ``?format=csv`` its tables as one CSV (``public_csv_rows``), with
    ``?format=json`` the same rows as JSON objects (outcomes24): a 404 where the call's
    results are not public."""
    call = visible_call(page, slug)
    public = result_policies.may_see_aggregates(call)
    as_json = page.request.query_params.get("format") == "json"
    if wants_csv(page) or as_json:
        if not public:
            page.not_found()
        rows = public_csv_rows(page, call)
        if as_json:
            return JSONResponse(
                {
                    "call": call.slug,
                    "min_cell": MIN_CELL,
                    "rows": [dict(zip(CSV_HEADER, r, strict=True)) for r in rows],
                }
            )
        return csv_response(f"{call.slug}-after-award.csv", CSV_HEADER, rows)
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
