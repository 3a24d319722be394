"""The outcomes report as people read it: labels, sentences, tables, charts and
the PDF, in the reader's language (used by the report page, its downloads and
``opencall report``). The figures themselves come from
:func:`opencall.outcomes.queries.report`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opencall.allocation.presenters import DECLINE_REASON_LABELS
from opencall.facilities.domain import unit_label
from opencall.inputs import decimal_symbol, local_decimal, local_general, local_number
from opencall.outcomes import queries
from opencall.outcomes.after_award import MIN_JUDGED_AWARDS
from opencall.outcomes.after_award_data import CHANGE_BYS
from opencall.outcomes.stats import MIN_TEST_N
from opencall.results.labels import CHOICE_LABELS, FIELD_LABELS
from opencall.web.i18n import N_
from opencall.web.labels import group_label

STAGE_LABELS = {
    "applied": N_("Applied"),
    "triage": N_("Not set aside at triage"),
    "eligible": N_("Eligible"),
    "feasible": N_("Technically feasible"),
    "reviewed": N_("Reviewed"),
    "ranked": N_("Ranked in the funded range"),
    "awarded": N_("Awarded"),
    "scheduled": N_("Scheduled"),
}
FUNNEL_TITLES = {
    "income_group": N_("Through the stages, by income group"),
    "un_region": N_("Through the stages, by UN region"),
    "ldc": N_("Through the stages: least developed countries and others"),
    "host": N_("Through the stages: host country and international applicants"),
}
CROSSTAB_TITLES = {
    "un_regionxincome_group": N_(
        "Reviewers by UN region (rows), applicants by income group (columns)"
    ),
    "income_groupxun_region": N_(
        "Reviewers by income group (rows), applicants by UN region (columns)"
    ),
    "un_regionxun_region": N_("Reviewers by UN region (rows), applicants by UN region (columns)"),
}
CONTEXT_TITLES = {
    "income_group": N_("Context: shares of the world's research capacity, by income group"),
    "un_region": N_("Context: shares of the world's research capacity, by UN region"),
}
CONTEXT_LABELS = {
    "researchers": N_("Share of the world's researchers"),
    "rd_spending": N_("Share of the world's R&D spending"),
    "articles": N_("Share of the world's scientific articles"),
}
FLAG_LABELS = {
    "lower": N_("Lower than the rest"),
    "higher": N_("Higher than the rest"),
    "tested": N_("No clear difference"),
    "too few": N_("Too few to judge"),
    "no data": N_("No data"),
}
Tr = Callable[..., str]
#: a figure written in a language (``_pct``, ``_pts``)
Fmt = Callable[[float | None, str], str]


def chart_alt(title: str, table: dict[str, Any]) -> str:
    """A chart's alt text: its title and the data it shows, read from the chart's
    data table (translated headers and figures), one group per clause."""
    cols = table.get("columns", [])[1:]
    clauses = [
        f"{row[0]}: " + ", ".join(f"{c} {v}" for c, v in zip(cols, row[1:], strict=False))
        for row in table.get("rows", [])
    ]
    return f"{title}. " + "; ".join(clauses) if clauses else title


def _pct(v: float | None, lang: str = "en") -> str:
    """A share as a percentage in ``lang``'s numbers ("12 %", "4.5 %"; "4,5 %" in French)."""
    if v is None:
        return "–"
    return f"{local_decimal(100 * v, lang, 1 if 0 < v < 0.095 else 0)} %"


def _pts(v: float | None, lang: str = "en") -> str:
    return "–" if v is None else local_decimal(100 * v, lang, 0, signed=True)


def _num(v: float | None, lang: str = "en") -> str:
    return "–" if v is None else local_decimal(v, lang, 2, signed=True)


def _dec(v: float | None, lang: str = "en", decimals: int = 2) -> str:
    return "–" if v is None else local_decimal(v, lang, decimals)


def _interval(lo: str, hi: str, lang: str = "en") -> str:
    """An interval's two ends in brackets: "[2.90, 3.60]", but "[2,90; 3,60]" where the
    language's decimal sign is a comma (French, Spanish), so that the ends stay apart."""
    return f"[{lo}{'; ' if decimal_symbol(lang) == ',' else ', '}{hi}]"


def _main_unit(data: dict[str, Any]) -> str:
    """The unit the share of awards is shown in: the one with the most awarded share
    statements (the call's main pool), the first alphabetically on a tie."""
    units = [x["unit"] for x in data["differences"] if x["measure"] == "award_share"]
    return max(sorted(set(units)), key=units.count) if units else ""


def _amount(v: float, tr: Tr | None = None) -> str:
    """An amount as the reader's language writes numbers (``tr``'s; English without
    one), with at most two decimals as the awards list writes it ("56 500" in French,
    "2,5" in Spanish, "6.25" mm²). Before trialfac22 it was whole from 10 up and one
    decimal below: a 6.25 mm² award read "6.2", 15.25 read "15"."""
    return local_number(v, _lang(tr) if tr is not None else "en")


def _group(tr: Tr, g: str) -> str:
    return group_label(tr, g)


def _lang(tr: Tr) -> str:
    """The language ``tr`` translates into: a ``Translator`` or a page's ``_``."""
    owner = getattr(tr, "__self__", tr)
    lang = getattr(owner, "lang", "en")
    return lang if isinstance(lang, str) else "en"


def _unit(tr: Tr, u: str, data: dict[str, Any] | None = None, amount: float | None = None) -> str:
    """A unit in the reader's language: the words a resource names for its own unit
    (``call.unit_labels``), else the built-in unit's (the presets' keys included)."""
    own = (data or {}).get("call", {}).get("unit_labels", {}).get(u)
    return unit_label(u, own, amount, _lang(tr))


def _measure(tr: Tr, x: dict[str, Any]) -> str:
    m = x["measure"]
    if m == "award_rate":
        return tr(N_("Award rate"))
    if m == "mean_grade":
        return tr(N_("Mean calibrated grade"))
    if m == "award_share":
        return tr(N_("Share of awarded %(unit)s"), unit=_unit(tr, x["unit"]))
    if m.startswith("pass:"):
        key = m.split(":", 1)[1]
        return tr(N_("Passed: %(stage)s"), stage=tr(STAGE_LABELS.get(key, key)))
    return tr(N_("Grades relative to other reviewers"))


def _is_rate(x: dict[str, Any]) -> bool:
    return x["family"] in ("rate", "stage", "share")


def _who(tr: Tr, x: dict[str, Any]) -> str:
    if x["family"] == "crosstab":
        return tr(
            N_("Reviewers from %(reviewers)s, applicants from %(applicants)s"),
            reviewers=_group(tr, x["reviewer_group"]),
            applicants=_group(tr, x["group"]),
        )
    return _group(tr, x["group"])


def _value_cell(x: dict[str, Any], lang: str = "en") -> str:
    if x["family"] == "crosstab" or x["value"] is None:
        return "–"
    lo, hi = x["value_low"], x["value_high"]
    if _is_rate(x):
        if lo is None:
            return _pct(x["value"], lang)
        low, high = local_decimal(100 * lo, lang, 0), local_decimal(100 * hi, lang, 0)
        return f"{_pct(x['value'], lang)} [{low}–{high} %]"
    return _dec(x["value"], lang) + (
        "" if lo is None else " " + _interval(_dec(lo, lang), _dec(hi, lang), lang)
    )


def _diff_cell(tr: Tr, x: dict[str, Any]) -> str:
    """The difference (percentage points for rates and shares) with its interval."""
    if x["difference"] is None:
        return "–"
    f = _pts if _is_rate(x) else _num
    lang = _lang(tr)
    text = f(x["difference"], lang)
    if x["low"] is not None:
        text += " " + _interval(f(x["low"], lang), f(x["high"], lang), lang)
    return text


def _flag(tr: Tr, x: dict[str, Any]) -> str:
    if x["flagged"]:
        return tr(FLAG_LABELS[x["direction"]])
    return tr(FLAG_LABELS[x["status"]])


def finding_sentence(tr: Tr, x: dict[str, Any]) -> str:
    """A flagged statement in plain language, with its difference and interval."""
    if x["family"] == "crosstab":
        key = (
            N_(
                "Reviewers from %(reviewers)s grade applicants from %(applicants)s %(d)s points "
                "less favourably than they grade other applicants, relative to the other "
                "reviewers of the same proposals (95 %% interval %(lo)s to %(hi)s, %(n)s reviews)."
            )
            if x["difference"] < 0
            else N_(
                "Reviewers from %(reviewers)s grade applicants from %(applicants)s %(d)s points "
                "more favourably than they grade other applicants, relative to the other "
                "reviewers of the same proposals (95 %% interval %(lo)s to %(hi)s, %(n)s reviews)."
            )
        )
        return tr(
            key,
            reviewers=_group(tr, x["reviewer_group"]),
            applicants=_group(tr, x["group"]),
            d=_dec(abs(x["difference"]), _lang(tr)),
            lo=_num(x["low"], _lang(tr)),
            hi=_num(x["high"], _lang(tr)),
            n=x["n"],
        )
    key = (
        N_(
            "%(group)s: %(measure)s is lower than for the rest, %(value)s against %(rest)s "
            "(difference %(d)s, 95 %% interval %(lo)s to %(hi)s; %(n)s applications)."
        )
        if x["difference"] < 0
        else N_(
            "%(group)s: %(measure)s is higher than for the rest, %(value)s against %(rest)s "
            "(difference %(d)s, 95 %% interval %(lo)s to %(hi)s; %(n)s applications)."
        )
    )
    rate, lang = _is_rate(x), _lang(tr)
    fmt = _pct if rate else _dec
    dfmt: Callable[[float | None, str], str] = (
        (lambda v, lang: tr(N_("%(d)s points"), d=_pts(v, lang))) if rate else _num
    )
    return tr(
        key,
        group=_group(tr, x["group"]),
        measure=_measure(tr, x),
        value=fmt(x["value"], lang),
        rest=fmt(x["rest"], lang),
        d=dfmt(x["difference"], lang),
        lo=dfmt(x["low"], lang),
        hi=dfmt(x["high"], lang),
        n=x["n"],
    )


def summary(tr: Tr, data: dict[str, Any]) -> list[str]:
    """The report's findings in plain language (first thing a reader sees)."""
    out = [
        tr(
            N_(
                "%(n)s applications. %(t)s comparisons were tested together (one false-discovery "
                "family, q = %(q)s); groups of fewer than %(min)s are too few to judge."
            ),
            n=data["n_applications"],
            t=data["n_tested"],
            q=local_number(data["method"]["fdr_q"], _lang(tr), 3),
            min=data["method"]["min_test_n"],
        )
    ]
    if data["findings"]:
        out += [finding_sentence(tr, x) for x in data["findings"]]
    else:
        out.append(tr(N_("No difference between groups is clear after allowing for chance.")))
    return out


FINDINGS_COLUMNS = (
    N_("Group"),
    N_("Measure"),
    N_("n"),
    N_("Rate [95 % interval]"),
    N_("Difference from the rest [95 % interval]"),
    N_("Flag"),
)


def findings_rows(tr: Tr, data: dict[str, Any]) -> list[list[str]]:
    """Flagged statements first, then each group's award rate (every grouping)."""
    flagged = sorted(data["findings"], key=lambda x: x["p_adjusted"])
    rest = sorted(
        (
            x
            for x in data["differences"]
            if x["measure"] == "award_rate" and not x["flagged"] and x["status"] != "no data"
        ),
        key=lambda x: (x["grouping"] != "income_group", -x["n"]),
    )
    return [
        [
            _who(tr, x),
            _measure(tr, x),
            str(x["n"]),
            _value_cell(x, _lang(tr)),
            _diff_cell(tr, x),
            _flag(tr, x),
        ]
        for x in [*flagged, *rest]
    ]


def funnel_table(tr: Tr, data: dict[str, Any], by: str) -> dict[str, Any]:
    stages = [s for s in data["stages"] if s["dropped"] is None]
    rows = [r for r in data["funnels"][by]]
    groups = list(dict.fromkeys(r["group"] for r in rows))
    cols = [tr(N_("Group")), tr(N_("Applied"))] + [
        tr(STAGE_LABELS.get(s["key"], s["label"])) for s in stages
    ]
    out = []
    for g in sorted(
        groups, key=lambda g: (g == "all", -next(r["applied"] for r in rows if r["group"] == g))
    ):
        at = {r["stage"]: r for r in rows if r["group"] == g}
        applied = next(r["applied"] for r in rows if r["group"] == g)
        cells = [_group(tr, g), str(applied)]
        for s in stages:
            r = at[s["key"]]
            text = f"{r['count']} ({_pct(r['rate'], _lang(tr))})"
            amounts = {u: v for u, v in r["amounts"].items() if v > 0}
            if s["amount_kind"] in ("awarded", "scheduled") and amounts:
                text += "; " + ", ".join(
                    f"{_amount(v, tr)} {_unit(tr, u, data, v)}".strip()
                    for u, v in sorted(amounts.items())
                )
            cells.append(text)
        out.append(cells)
    dropped = [
        tr(STAGE_LABELS.get(s["key"], s["label"]))
        for s in data["stages"]
        if s["dropped"] == "everyone passed"
    ]
    notes = (
        [tr(N_("Every application passed: %(stages)s."), stages=", ".join(dropped))]
        if dropped
        else []
    )
    money = data.get("call", {}).get("money_units") or []
    if money:  # trialop20: the grants' amounts are under "Awarded", never "Scheduled"
        notes.append(
            tr(
                N_("Amounts in %(units)s are money: paid, not scheduled, and given under Awarded."),
                units=", ".join(_unit(tr, u, data, 2) for u in money),
            )
        )
    return {
        "title": tr(FUNNEL_TITLES[by]),
        "columns": cols,
        "rows": out,
        "note": " ".join(notes),
    }


def resource_table(tr: Tr, data: dict[str, Any]) -> dict[str, Any] | None:
    """Who benefits at each resource the requests name (a node of a network, a flight),
    by income group: applications that asked for it, and those awarded with what they
    were awarded of it. None when the requests name one resource or none."""
    rows = [r for r in data.get("resources", []) if r["grouping"] == "income_group"]
    if len({r["resource"] for r in rows}) < 2:
        return None
    out = []
    for r in rows:
        awarded = str(r["awarded"])
        if r["amount_awarded"] > 0:
            v = r["amount_awarded"]
            awarded += f"; {_amount(v, tr)} {_unit(tr, r['unit'], data, v)}".rstrip()
        out.append([r["resource"], _group(tr, r["group"]), str(r["applied"]), awarded])
    return {
        "title": tr(N_("Each resource its requests name, by income group")),
        "columns": [tr(N_("Resource")), tr(N_("Group")), tr(N_("Applied")), tr(N_("Awarded"))],
        "rows": out,
        "note": "",
    }


AFTER_TITLES = {
    "income_group": N_("After the award, by income group"),
    "un_region": N_("After the award, by UN region"),
    "ldc": N_("After the award: least developed countries and others"),
}
#: The use figures (``results.domain.use_figures``) shown, in order; ``awarded:<unit>``,
#: ``used:<unit>``, ``lost_hours:<reason>`` and ``participants:<gender>`` are labelled
#: from their parts.
USE_LABELS = {
    "loans": N_("Loans"),
    "loans_returned_on_time": N_("Returned on time"),
    "loans_returned_late": N_("Returned late"),
    "loans_overdue": N_("Overdue"),
    "loans_consumed": FIELD_LABELS["consumed"],
    "samples_taken": FIELD_LABELS["samples_taken"],
    "participants": N_("Participants"),
    "attended": FIELD_LABELS["attended"],
    "completed": FIELD_LABELS["completed"],
}
#: a record's reasons for lost hours, in the words of its own page
LOST_LABELS = {k: CHOICE_LABELS[k] for k in ("weather", "rfi", "fault", "other")}
GENDER_LABELS = {"female": N_("women"), "male": N_("men"), "other": CHOICE_LABELS["other"]}


def use_label(tr: Tr, key: str, data: dict[str, Any] | None = None) -> str:
    """A use figure's column heading in the reader's language."""
    head, _, part = key.partition(":")
    if head == "awarded":
        return tr(N_("Awarded (%(unit)s)"), unit=_unit(tr, part, data))
    if head == "used":
        return tr(N_("Used (%(unit)s)"), unit=_unit(tr, part, data))
    if head == "returned":  # an award the user office ended gave it back (outcomes22)
        return tr(N_("Returned by an ended award (%(unit)s)"), unit=_unit(tr, part, data))
    if key == "ended":
        return tr(N_("Awards ended by the office (returned)"))
    if head == "lost_hours":
        return tr(N_("Hours lost: %(reason)s"), reason=tr(LOST_LABELS.get(part, part)))
    if key == "lost_weeks:outage":  # a lost item's weeks after its loss (outcomes18)
        return tr(N_("Weeks lost: item lost (outage)"))
    if head == "participants" and part:
        return tr(N_("Participants: %(gender)s"), gender=tr(GENDER_LABELS.get(part, part)))
    return tr(USE_LABELS[key]) if key in USE_LABELS else key


def use_keys(rows: list[dict[str, Any]]) -> list[str]:
    """The figures worth a column: those not zero for everyone, awarded beside used."""
    every: dict[str, float] = next((r["figures"] for r in rows if r["group"] == "all"), {})
    keys = [k for k, v in every.items() if v]
    units = sorted({k.partition(":")[2] for k in keys if k.startswith(("awarded:", "used:"))})
    paired = [x for u in units for x in (f"awarded:{u}", f"used:{u}")]
    rest = [k for k in keys if k not in paired and not k.startswith("mass_consumed")]
    return paired + sorted(rest, key=lambda k: (k.partition(":")[0] not in USE_LABELS, k))


def after_award_table(tr: Tr, data: dict[str, Any], by: str) -> dict[str, Any]:
    """One grouping's funnel after the award (the report's ``after_award`` section, the
    numbers the page, the JSON and the CSV carry): awards, used, completed and produced
    results, each with its share of the awarded."""
    stages = data["after_award"]["funnels"][by]
    cols = [tr(N_("Group")), tr(N_("Awarded"))]
    cols += [tr(N_("Used")), tr(N_("Completed")), tr(N_("Produced results"))]
    rows = []
    for g in dict.fromkeys(r["group"] for r in stages):
        at = {r["stage"]: r for r in stages if r["group"] == g}
        cells = [_group(tr, g), str(at["used"]["awarded"])]
        cells += [f"{at[k]['count']} ({_pct(at[k]['rate'], _lang(tr))})" for k in AFTER_STAGE_KEYS]
        rows.append(cells)
    return {
        "title": tr(AFTER_TITLES[by]),
        "columns": cols,
        "rows": rows,
        "note": tr(OFFICE_ONLY) if by == "income_group" else "",
    }


def use_table(tr: Tr, data: dict[str, Any], by: str) -> dict[str, Any]:
    """One grouping's use of the awards (``after_award.use``, summed from each award's
    ``results.domain.use_figures``): what was awarded and used by unit, hours lost by
    reason, loans returned on time, late, overdue and consumed, samples taken, course
    participants (by gender where collected), and publications per award."""
    use = data["after_award"].get("use", {}).get(by, [])
    keys = use_keys(use)
    cols = [tr(N_("Group")), tr(N_("Awarded")), tr(N_("Publications per award"))]
    cols += [use_label(tr, k, data) for k in keys]
    rows = []
    for u in use:
        ppa = u["publications_per_award"]
        cells = [_group(tr, u["group"]), str(u["awarded"]), _dec(ppa, _lang(tr))]
        cells += [_amount(u["figures"].get(k, 0.0), tr) for k in keys]
        rows.append(cells)
    return {"title": tr(USE_TITLES[by]), "columns": cols, "rows": rows, "note": ""}


RESULT_SHARE_TITLES = {
    "income_group": N_("Share of the results beside share of the awards, by income group"),
    "un_region": N_("Share of the results beside share of the awards, by UN region"),
    "ldc": N_("Share of the results beside share of the awards: least developed countries"),
}


def _span(
    v: float | None, lo: float | None, hi: float | None, signed: bool = False, lang: str = "en"
) -> str:
    if v is None:
        return "–"

    def f(x: float) -> str:
        return local_decimal(100 * x, lang, 0, signed=signed)

    text = f(v) if signed else f"{f(v)} %"
    return text if lo is None or hi is None else f"{text} {_interval(f(lo), f(hi), lang)}"


def _judged(tr: Tr, x: dict[str, Any], higher: str, lower: str) -> str:
    """A difference's judgement: too few to judge, ``higher`` or ``lower`` where its 95 %
    interval excludes zero, else no clear difference."""
    if not x["judged"]:
        return tr(FLAG_LABELS["too few"])
    if x["difference_low"] is not None and x["difference_low"] > 0:
        return tr(higher)
    if x["difference_high"] is not None and x["difference_high"] < 0:
        return tr(lower)
    return tr(FLAG_LABELS["tested"])


def result_share_table(tr: Tr, data: dict[str, Any], by: str) -> dict[str, Any]:
    """A grouping's share of the results (publications, datasets, software) beside its
    share of the awards (``after_award.result_shares``), with 95 % intervals and the
    judgement: a difference is stated only where both the group and the rest hold
    enough awards and the interval excludes zero."""
    rows, lang = [], _lang(tr)
    for x in data["after_award"].get("result_shares", {}).get(by, []):
        flag = _judged(
            tr,
            x,
            N_("More than its share of the awards"),
            N_("Less than its share of the awards"),
        )
        rows.append(
            [
                _group(tr, x["group"]),
                str(x["awards"]),
                _span(x["award_share"], x["award_share_low"], x["award_share_high"], lang=lang),
                # a result of k awards credited 1/k to each (``after_award.result_credits``)
                local_number(x["results"], lang, 1),
                _span(x["result_share"], x["result_share_low"], x["result_share_high"], lang=lang),
                _span(x["difference"], x["difference_low"], x["difference_high"], True, lang),
                flag,
            ]
        )
    return {
        "title": tr(RESULT_SHARE_TITLES[by]),
        "columns": [
            tr(N_("Group")),
            tr(N_("Awarded")),
            tr(N_("Share of awards")),
            tr(N_("Results")),
            tr(N_("Share of results")),
            tr(N_("Difference (points)")),
            tr(N_("Judgement")),
        ],
        "rows": rows,
        "note": tr(
            N_(
                "95 %% intervals: Wilson for the share of awards; for the share of results "
                "and the difference, a bootstrap that resamples awards (an award's results "
                "are not independent). No judgement where the group or the rest has fewer "
                "than %(n)s awards."
            ),
            n=MIN_JUDGED_AWARDS,
        )
        + " "
        + tr(
            N_(
                "A result of several awards counts as a part of one for each (a half for "
                "two), so that the groups' results add up to the call's."
            )
        ),
    }


RESULTS_PER_AWARD_TITLES = {
    "income_group": N_("Results per award, by income group"),
    "un_region": N_("Results per award, by UN region"),
    "ldc": N_("Results per award: least developed countries"),
}


def results_per_award_table(tr: Tr, data: dict[str, Any], by: str) -> dict[str, Any]:
    """A grouping's results per award with 95 % intervals and the difference from the
    rest of the call (``after_award.results_per_award``, outcomes18), judged as the share
    of results is."""
    rows, lang = [], _lang(tr)

    def dec(v: float | None, lo: float | None, hi: float | None) -> str:
        if v is None:
            return "–"
        text = _dec(v, lang)
        return (
            text
            if lo is None or hi is None
            else f"{text} {_interval(_dec(lo, lang), _dec(hi, lang), lang)}"
        )

    for x in data["after_award"].get("results_per_award", {}).get(by, []):
        flag = (
            ""
            if x["group"] == "all"
            else _judged(
                tr,
                x,
                N_("More results per award than the rest"),
                N_("Fewer results per award than the rest"),
            )
        )
        rows.append(
            [
                _group(tr, x["group"]),
                str(x["awards"]),
                local_number(x["results"], lang, 1),
                dec(x["per_award"], x["per_award_low"], x["per_award_high"]),
                dec(x["difference"], x["difference_low"], x["difference_high"]),
                flag,
            ]
        )
    return {
        "title": tr(RESULTS_PER_AWARD_TITLES[by]),
        "columns": [
            tr(N_("Group")),
            tr(N_("Awarded")),
            tr(N_("Results")),
            tr(N_("Results per award")),
            tr(N_("Difference from the rest")),
            tr(N_("Judgement")),
        ],
        "rows": rows,
        "note": tr(
            N_(
                "Results (publications, datasets, software, patents) per award, a result of "
                "several awards counting as a part of one for each; 95 %% intervals from a "
                "bootstrap that resamples awards. No judgement where the group or the rest "
                "has fewer than %(n)s awards."
            ),
            n=MIN_JUDGED_AWARDS,
        ),
    }


USE_TITLES = {
    "income_group": N_("What the awards used, by income group"),
    "un_region": N_("What the awards used, by UN region"),
    "ldc": N_("What the awards used: least developed countries and others"),
}
AFTER_STAGE_KEYS = ("used", "completed", "produced_results")


#: The page's headings of each grouping of the after-award tables.
AFTER_HEADINGS = {
    "income_group": N_("By World Bank income group"),
    "un_region": N_("By UN region"),
    "ldc": N_("Least developed countries"),
}


def _after_rows(data: dict[str, Any], section: str, by: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = data.get("after_award", {}).get(section, {}).get(by, [])
    return rows


def results_table(tr: Tr, data: dict[str, Any], by: str) -> dict[str, Any]:
    """One grouping's results by kind (``after_award.results``), as the page has them."""
    rows = [
        [_group(tr, x["group"]), str(x["awarded"]), str(x["with_results"]),
         str(x["publications"]), str(x["datasets"]), str(x["software"]),
         str(x.get("patents", 0))]
        for x in _after_rows(data, "results", by)
    ]  # fmt: skip
    cols = [N_("Group"), N_("Awarded"), N_("With results"), N_("Publications"),
            N_("Datasets"), N_("Software"), N_("Patents")]  # fmt: skip
    return {
        "title": f"{tr(N_('Results by kind'))}: {tr(AFTER_HEADINGS[by])}",
        "columns": [tr(c) for c in cols],
        "rows": rows,
        "note": "",
    }


def access_table(tr: Tr, data: dict[str, Any], by: str) -> dict[str, Any]:
    """One grouping's first and repeat access (``after_award.access``): awards to a PI
    new to the facility (share and Wilson interval), to a returning one, and to a PI whose
    institution is new to it (of those whose institution is recorded)."""
    lang = _lang(tr)
    rows = [
        [_group(tr, x["group"]), str(x["awarded"]), str(x["first_time"]), str(x["repeat"]),
         str(x["institution_first_time"]), str(x["institution_known"]),
         f"{_pct(x['first_time_rate'], lang)} "
         f"{_interval(_pct(x['first_time_low'], lang), _pct(x['first_time_high'], lang), lang)}"
         if x["first_time_rate"] is not None else "–"]
        for x in _after_rows(data, "access", by)
    ]  # fmt: skip
    cols = [N_("Group"), N_("Awarded"), N_("First award at the facility"),
            N_("Returning awardees"), N_("First award to their institution"),
            N_("Institution recorded"), N_("Share of first awards")]  # fmt: skip
    note = N_(
        "A first award: the PI had no award in an earlier cycle of this facility; "
        "the institution likewise. Share with its Wilson 95 % interval."
    )
    return _by_table(tr, N_("First and repeat access"), by, cols, rows, note)


def _by_table(
    tr: Tr, title: str, by: str, cols: Sequence[str], rows: list[list[str]], note: str
) -> dict[str, Any]:
    """A table of one grouping (``by``) after the award: its title and the grouping's
    heading, its columns and note translated."""
    return {
        "title": f"{tr(title)}: {tr(AFTER_HEADINGS[by])}",
        "columns": [tr(c) for c in cols],
        "rows": rows,
        "note": tr(note),
    }


def women_trained(tr: Tr, f: Mapping[str, Any]) -> str:
    """The women among the people trained, with the people trained in the reports that
    counted them where some did not (outcomes21: "18 (of 30 counted)", not 18 beside 70
    people trained of whom 40 were never counted by gender)."""
    women = _amount(f["people_trained_women"], tr)
    counted = f.get("people_trained_gender_counted")
    if counted is None or counted >= f["people_trained"]:
        return women
    return tr(N_("%(women)s (of %(counted)s counted)"), women=women, counted=_amount(counted, tr))


def follow_up_table(tr: Tr, data: dict[str, Any], by: str) -> dict[str, Any]:
    """One grouping's course follow-up (``after_award.follow_up``): people trained, women
    among them, demonstration sites set up and still running a year and three years after
    the award (the participants reporting then), area and median yield ratio."""
    rows = []
    for f in _after_rows(data, "follow_up", by):
        ratio = f["median_yield_ratio"]
        rows.append(
            [_group(tr, f["group"]), str(f["awarded"]), str(f["reporting"]),
             _amount(f["people_trained"], tr), women_trained(tr, f),
             _amount(f["demo_sites"], tr), f"{_amount(f['sites_running_1y'], tr)} ({f['reporting_1y']})",
             f"{_amount(f['sites_running_3y'], tr)} ({f['reporting_3y']})", _amount(f["area_ha"], tr),
             _dec(ratio, _lang(tr))]
        )  # fmt: skip
    cols = [N_("Group"), N_("Awarded"), N_("Reporting"), N_("People trained"),
            N_("Of them, women"), N_("Demonstration sites set up"),
            N_("Still running a year after the award"),
            N_("Still running three years after the award"), N_("Area (ha)"),
            N_("Median yield ratio")]  # fmt: skip
    return {
        "title": f"{tr(N_('After the course'))}: {tr(AFTER_HEADINGS[by])}",
        "columns": [tr(c) for c in cols],
        "rows": rows,
        "note": "",
    }


#: a demonstration site's yield unit in words (outcomes22)
YIELD_UNIT_LABELS = {k: CHOICE_LABELS[k] for k in ("t/ha", "kg/m2", "kg/t")}


def trained_from_table(tr: Tr, data: dict[str, Any], by: str) -> dict[str, Any]:
    """One grouping's people trained after a course by the group of their own country
    (``after_award.trained_from``, outcomes22), those whose report named none apart."""
    rows = [
        [tr(N_("Country not recorded")) if f["group"] == "not_recorded" else _group(tr, f["group"]),
         _amount(f["people_trained"], tr)]
        for f in _after_rows(data, "trained_from", by)
    ]  # fmt: skip
    note = N_(
        "The people the course's participants trained, by the country each follow-up "
        "report gave for them (not the principal investigator's), from each "
        "participant's latest report."
    )
    cols = [N_("Group"), N_("People trained")]
    return _by_table(tr, N_("People trained, by their own country"), by, cols, rows, note)


def site_yields_table(tr: Tr, data: dict[str, Any], by: str) -> dict[str, Any]:
    """One grouping's demonstration-site yields by unit (``after_award.site_yields``,
    outcomes22): sites, mean yield and local check, median ratio."""
    lang = _lang(tr)
    rows = [
        [_group(tr, f["group"]), tr(YIELD_UNIT_LABELS.get(f["unit"], f["unit"])),
         str(f["sites"]), _dec(f["mean_yield"], lang), _dec(f["mean_baseline"], lang),
         _dec(f["median_ratio"], lang)]
        for f in _after_rows(data, "site_yields", by)
    ]  # fmt: skip
    cols = [N_("Group"), N_("Unit"), N_("Sites reporting a yield"), N_("Mean yield"),
            N_("Mean local check"), N_("Median yield ratio")]  # fmt: skip
    note = N_(
        "Each demonstration site's yield beside the local check of the same unit, from "
        "the demonstration packages and each participant's latest follow-up report; "
        "yields of different units are never averaged together."
    )
    return _by_table(tr, N_("Demonstration-site yields"), by, cols, rows, note)


def follow_up_response_table(tr: Tr, data: dict[str, Any], by: str) -> dict[str, Any]:
    """One grouping's answers to the course follow-up waves (``after_award.follow_up_response``):
    per group and wave, the participants due to report by the report's day, those who
    answered, and the rate with its Wilson 95 % interval (the office's report: every group,
    however small)."""
    lang = _lang(tr)
    rows = [
        [_group(tr, x["group"]), str(x["months"]), str(x["due"]), str(x["answered"]),
         f"{_pct(x['rate'], lang)} {_interval(_pct(x['rate_low'], lang), _pct(x['rate_high'], lang), lang)}"
         if x["rate"] is not None else "–"]
        for x in _after_rows(data, "follow_up_response", by)
    ]  # fmt: skip
    cols = [N_("Group"), N_("Months after the course"), N_("Participants due"),
            N_("Answered"), N_("Response rate")]  # fmt: skip
    heading = (N_("Follow-up response"), AFTER_HEADINGS[by])
    return _titled_table(tr, heading, cols, rows, FOLLOW_UP_RESPONSE_NOTE)


def _titled_table(
    tr: Tr, heading: tuple[str, str], cols: list[str], rows: list[list[str]], note: str
) -> dict[str, Any]:
    """A figure table of the document: its title ("table: grouping"), columns and note
    translated, its rows as given."""
    return {
        "title": f"{tr(heading[0])}: {tr(heading[1])}",
        "columns": [tr(c) for c in cols],
        "rows": rows,
        "note": tr(note),
    }


#: What the follow-up response tables count (the page's paragraph and the PDF's note).
FOLLOW_UP_RESPONSE_NOTE = N_(
    "Participants who completed a course on a recorded day are asked 6 and 12 months after "
    "it what they did with it; a follow-up report from 30 days before a wave answers it. "
    "Due: the participants whose wave fell due by the report's day. Rate with its Wilson 95 % "
    "interval."
)


#: The measures of the change across cycles (``after_award.CHANGE_MEASURES``), as the
#: office's report and the public page name them.
CHANGE_MEASURE_LABELS = {
    "awards": N_("Share of awards"),
    "results": N_("Share of awards with results"),
}


def points(x: float | None) -> str:
    """A share or its change in whole percentage points, signed ("+23", "-4"; "" for
    None): the office's change table and the public page's."""
    return "" if x is None else f"{100 * x:+.0f}"


def change_table(tr: Tr, data: dict[str, Any], by: str) -> dict[str, Any]:
    """One grouping's change across cycles (``after_award.share_change``): each group's
    share of this cycle's awards, and of its awards with results, beside its share over
    the facility's earlier cycles pooled, and the change in percentage points with its
    Newcombe 95 % interval. The office's report: every group, however small (the public
    page hides small counts)."""

    def count(k: Any, n: Any, share: float | None) -> str:
        text = tr(N_("%(k)s of %(n)s"), k="–" if k is None else k, n="–" if n is None else n)
        return f"{text} ({points(share).lstrip('+')} %)" if share is not None else text

    rows = [
        [_group(tr, r["group"]), tr(CHANGE_MEASURE_LABELS[r["measure"]]),
         count(r["count"], r["total"], r["share"]),
         count(r["earlier_count"], r["earlier_total"], r["earlier_share"])
         if r["earlier_cycles"] else "–",
         f"{points(r['difference'])} ({points(r['difference_low'])} – "
         f"{points(r['difference_high'])})" if r["difference"] is not None else "–"]
        for r in data.get("after_award", {}).get("share_change", {}).get(by, [])
    ]  # fmt: skip
    cols = [N_("Group"), N_("Measure"), N_("This cycle"), N_("Earlier cycles"), N_("Change")]
    return _titled_table(
        tr, (N_("Change across cycles"), AFTER_HEADINGS[by]), cols, rows, CHANGE_NOTE
    )


#: What the change tables show (the office's page and PDF).
CHANGE_NOTE = N_(
    "Each group's share of this call's awards, and of its awards with results, beside its "
    "share over the facility's earlier cycles together, in percent; the change in "
    "percentage points with its Newcombe 95 % interval. Every group is shown, however small."
)


def _rate(k: int, rate: float | None, lo: float | None, hi: float | None) -> str:
    """A count with its share and Wilson interval, as the page writes it (whole
    percentages: no decimal sign to write in the reader's language)."""
    if rate is None or lo is None or hi is None:
        return str(k)
    return f"{k} ({round(100 * rate)} %, {round(100 * lo)}–{round(100 * hi)})"


def time_table(tr: Tr, data: dict[str, Any]) -> dict[str, Any]:
    """The time from the award to a first result by income group (Kaplan-Meier median
    in days and its bootstrap 95 % interval)."""
    rows = []
    for x in _after_rows(data, "time_to_first_result", "income_group"):
        med, lo, hi = x["median_days"], x["median_low"], x["median_high"]
        cell = _dec(med, _lang(tr), 0)
        if med is not None and lo is not None:
            cell += f" ({_dec(lo, _lang(tr), 0)}–{'∞' if hi is None else _dec(hi, _lang(tr), 0)})"
        rows.append([_group(tr, x["group"]), str(x["awarded"]), str(x["with_result"]), cell])
    return {
        "title": tr(N_("Time from award to first result")),
        "columns": [
            tr(N_("Group")),
            tr(N_("Awarded")),
            tr(N_("With a result")),
            tr(N_("Median days")),
        ],  # fmt: skip
        "rows": rows,
        "note": "",
    }


#: what the trend's column of programmes begun counts (outcomes20)
TREND_PROGRAMMES_NOTE = N_(
    "Programmes begun: of the cycle's awards, those that began a programme. An award "
    "that continues a programme with an award in an earlier cycle of this facility (a "
    "renewal, a transfer) is an award of its cycle and no new programme."
)


def trend_programmes_note(tr: Tr, data: dict[str, Any]) -> str:
    """The note on the trend's programmes begun, in the reader's language; "" where no
    award of the cycles renews a programme (the table is then as it was)."""
    return tr(TREND_PROGRAMMES_NOTE) if queries.renews_in_trend(data.get("after_award", {})) else ""


def trend_table(tr: Tr, data: dict[str, Any]) -> dict[str, Any]:
    """Each cycle of the facility by income group (``after_award.trend``): applied,
    awarded and produced results with their shares, the share of the awards beside the
    share of the world's researchers."""
    rows, lang = [], _lang(tr)
    # the programmes begun in each cycle beside its awards, where one is renewed (outcomes20)
    begun = trend_programmes_note(tr, data)
    for r in data.get("after_award", {}).get("trend", []):
        aw, res = r["awarded_share"], r["researcher_share"]
        rows.append(
            [r["cycle"], _group(tr, r["group"]), str(r["applied"]),
             _rate(r["awarded"], r["award_rate"], r["award_rate_low"], r["award_rate_high"]),
             *([str(r["programmes"])] if begun else []),
             _rate(r["produced_results"], r["result_rate"], r["result_rate_low"],
                   r["result_rate_high"]),
             "" if aw is None else f"{_dec(100 * aw, lang, 1)} %",
             "" if res is None else f"{_dec(100 * res, lang, 1)} %"]
        )  # fmt: skip
    cols = [N_("Cycle"), N_("Group"), N_("Applied"), N_("Awarded"),
            *([N_("Programmes begun (first cycle)")] if begun else []), N_("Produced results"),
            N_("Share of awards"), N_("Share of researchers")]  # fmt: skip
    return {
        "title": tr(N_("Cycle over cycle")),
        "columns": [tr(c) for c in cols],
        "rows": rows,
        "note": " ".join(x for x in (income_rule(tr, data), begun) if x),
    }


def income_rule(tr: Tr, data: dict[str, Any]) -> str:
    """The rule by which the cycles count a country's income group, in the reader's
    language (the page and the PDF)."""
    fy = data.get("after_award", {}).get("income_classification_fy")
    return tr(
        N_(
            "Every cycle counts a country in its World Bank income group of the reference "
            "data in use (fiscal year %(fy)s): a country the World Bank reclassifies moves "
            "in every cycle at once, so the cycles compare the same countries."
        ),
        fy=fy or "–",
    )


#: The office's report is not suppressed: said under its after-award tables.
OFFICE_ONLY = N_(
    "For the user office: every group is shown, however small. For publication, use the "
    "call's public after-award page, where small groups are hidden."
)


def crosstab_table(tr: Tr, name: str, cells: list[dict[str, Any]]) -> dict[str, Any]:
    rb, ab = name.split("x")
    rgroups = sorted({c["reviewer_group"] for c in cells}, key=lambda g: _group(tr, g))
    agroups = sorted({c["group"] for c in cells}, key=lambda g: _group(tr, g))
    at = {(c["reviewer_group"], c["group"]): c for c in cells}
    rows = []
    for rg in rgroups:
        row = [_group(tr, rg)]
        for ag in agroups:
            c = at.get((rg, ag))
            if c is None or c["status"] == "no data":
                row.append("–")
            elif c["status"] == "too few":
                row.append(tr(N_("too few (%(n)s)"), n=c["n"]))
            else:
                row.append(_num(c["difference"], _lang(tr)) + (" *" if c["flagged"] else ""))
        rows.append(row)
    return {
        "title": tr(CROSSTAB_TITLES.get(name, name)),
        "columns": [""] + [_group(tr, g) for g in agroups],
        "rows": rows,
        "note": tr(
            N_(
                "Each cell: how much more (+) or less (-) favourably these reviewers grade these "
                "applicants than other applicants, in grade points, relative to the other "
                "reviewers of the same proposals. * flagged; too few: under %(min)s reviews."
            ),
            min=MIN_TEST_N,
        ),
    }


def _award_shares(data: dict[str, Any], by: str) -> dict[str, dict[str, Any]]:
    """The share of awards of each group of the grouping ``by``, in the report's main
    unit, by group."""
    unit = _main_unit(data)
    return {
        x["group"]: x
        for x in data["differences"]
        if x["grouping"] == by and x["measure"] == "award_share" and x["unit"] == unit
    }


def context_table(tr: Tr, data: dict[str, Any], by: str) -> dict[str, Any]:
    ctx = data["context"]["by"][by]
    shares = _award_shares(data, by)
    groups = [g for g in ctx["researchers"]["groups"] if g["high"] > 0]
    rows, lang = [], _lang(tr)
    for g in groups:
        row = [_group(tr, g["group"])]
        aw = shares.get(g["group"])
        row.append(_value_cell(aw, lang) if aw else "–")
        for key in ("researchers", "rd_spending", "articles"):
            x = next((y for y in ctx[key]["groups"] if y["group"] == g["group"]), None)
            if x is None:
                row.append("–")
                continue
            years = x["years"]
            row.append(
                f"{_pct(x['share'], lang)} [{_pct(x['low'], lang)}–{_pct(x['high'], lang)}]"
                + (
                    ""
                    if not years
                    else f", {years[0]}"
                    if years[0] == years[1]
                    else f", {years[0]}–{years[1]}"
                )
            )
        row.append(_pct(g["coverage"], lang))
        rows.append(row)
    # the call's groups the world's figures do not name (a PI's country without an income
    # group: "Not classified"): their share of the awards, so the shares add up
    named = {g["group"] for g in groups}
    for g, aw in shares.items():
        if g not in named:
            rows.append([_group(tr, g), _value_cell(aw, lang), "–", "–", "–", "–"])
    older = sorted({f"{iso} {y}" for g in ctx["researchers"]["groups"] for iso, y in g["older"]})
    return {
        "title": tr(CONTEXT_TITLES[by]),
        "columns": [
            tr(N_("Group")),
            tr(N_("Share of awards [95 % interval]"))
            + (
                f" ({_unit(tr, _main_unit(data), data)})"
                if len(set(data["call"]["units"])) > 1
                else ""
            ),
            tr(CONTEXT_LABELS["researchers"]),
            tr(CONTEXT_LABELS["rd_spending"]),
            tr(CONTEXT_LABELS["articles"]),
            tr(N_("Population with recent researcher figures")),
        ],
        "rows": rows,
        "note": tr(
            N_(
                "World Bank figures: the latest within %(w)s years of %(y)s; the interval covers "
                "countries with older or no figures. Researchers from figures older than the window: "
                "%(older)s."
            ),
            w=data["context"]["window_years"],
            y=data["context"]["year"],
            older=", ".join(older[:40]) or "–",
        ),
    }


def report_charts(
    data: dict[str, Any], tr: Tr = lambda s, **k: s % k if k else s
) -> list[dict[str, Any]]:
    """The report's charts as SVG, sorted by size, with bounded or log scales."""
    from opencall.outcomes import charts

    by, lang = "income_group", _lang(tr)
    rates = sorted(
        (x for x in data["differences"] if x["grouping"] == by and x["measure"] == "award_rate"),
        key=lambda x: -(x["value"] or 0),
    )
    diffs = sorted(
        (
            x
            for x in data["differences"]
            if x["measure"] == "award_rate" and x["difference"] is not None
        ),
        key=lambda x: x["difference"],
    )
    shown = [s for s in data["stages"] if s["dropped"] is None]
    funnel_rows = [r for r in data["funnels"][by] if r["group"] != "all"]
    groups = sorted(
        dict.fromkeys(r["group"] for r in funnel_rows),
        key=lambda g: -next(r["applied"] for r in funnel_rows if r["group"] == g),
    )
    stage_rates = {
        _group(tr, g): [
            next(
                (r["rate"] for r in funnel_rows if r["group"] == g and r["stage"] == s["key"]), None
            )
            for s in shown
        ]
        for g in groups
    }
    ctx = [g for g in data["context"]["by"][by]["researchers"]["groups"] if g["high"] > 0]
    shares = _award_shares(data, by)
    group_col = tr(N_("Income group"))
    low_col, high_col = tr(N_("95 % interval: low")), tr(N_("95 % interval: high"))
    stage_labels = [tr(STAGE_LABELS.get(s["key"], s["label"])) for s in shown]
    share_series = (tr(N_("Share of awards")), tr(CONTEXT_LABELS["researchers"]))

    def interval_table(
        label: str, items: list[dict[str, Any]], keys: tuple[str, str, str], fmt: Fmt
    ) -> dict[str, Any]:
        """A group's figure and its 95 % interval, a row a group."""
        return {
            "columns": [group_col, tr(label), low_col, high_col],
            "rows": [[_group(tr, x["group"]), *(fmt(x[k], lang) for k in keys)] for x in items],
        }

    tables = [
        interval_table(N_("Award rate"), rates, ("value", "value_low", "value_high"), _pct),
        interval_table(N_("Difference (points)"), diffs, ("difference", "low", "high"), _pts),
        {
            "columns": [group_col, *stage_labels],
            "rows": [[g, *(_pct(v, lang) for v in vs)] for g, vs in stage_rates.items()],
        },
        {
            "columns": [group_col, *share_series],
            "rows": [
                [
                    _group(tr, g["group"]),
                    _pct(shares[g["group"]]["value"], lang) if g["group"] in shares else "–",
                    _pct(g["share"], lang),
                ]
                for g in ctx
            ],
        },
    ]
    out: list[dict[str, Any]] = [
        {
            "title": tr(N_("Award rate by income group (95 % interval)")),
            "svg": charts.success_rate_chart(
                [_group(tr, x["group"]) for x in rates],
                [x["value"] for x in rates],
                [x["value_low"] or 0.0 for x in rates],
                [x["value_high"] or 1.0 for x in rates],
                title=tr(N_("Award rate by income group (95 % interval)")),
            ),
        },
        {
            "title": tr(N_("Difference in award rate from the rest (points, 95 % interval)")),
            "svg": charts.difference_chart(
                [f"{_group(tr, x['group'])}" for x in diffs],
                [100 * x["difference"] for x in diffs],
                [None if x["low"] is None else 100 * x["low"] for x in diffs],
                [None if x["high"] is None else 100 * x["high"] for x in diffs],
                title=tr(N_("Difference in award rate from the rest (points, 95 % interval)")),
                too_few=tr(N_("too few")),
            ),
        },
        {
            "title": tr(N_("Share of applicants reaching each stage, by income group")),
            "svg": charts.stage_chart(
                stage_rates,
                [tr(STAGE_LABELS.get(s["key"], s["label"])) for s in shown],
                title=tr(N_("Share of applicants reaching each stage, by income group")),
            ),
        },
        {
            "title": tr(N_("Share of awards and of the world's researchers, by income group")),
            "svg": charts.share_chart(
                [_group(tr, g["group"]) for g in ctx],
                {
                    tr(N_("Share of awards")): [
                        (
                            shares[g["group"]]["value"],
                            shares[g["group"]]["value_low"],
                            shares[g["group"]]["value_high"],
                        )
                        if g["group"] in shares and shares[g["group"]]["value"] is not None
                        else None
                        for g in ctx
                    ],
                    tr(CONTEXT_LABELS["researchers"]): [
                        (g["share"], g["low"], g["high"]) for g in ctx
                    ],
                },
                title=tr(N_("Share of awards and of the world's researchers, by income group")),
            ),
        },
    ]
    for chart, table in zip(out, tables, strict=True):
        chart["table"] = table  # the chart's data, shown beside it (for screen readers too)
    return out


DECLINE_TITLES = {
    "income_group": N_("Awards declined by the applicants, by income group"),
    "un_region": N_("Awards declined by the applicants, by UN region"),
    "ldc": N_("Awards declined by the applicants: least developed countries and others"),
}


def declines_table(tr: Tr, data: dict[str, Any], by: str) -> dict[str, Any]:
    """One grouping's awards declined by their applicants, by reason category, beside the
    group's awards (the decision stood: the declined are among the awarded). Every group,
    however small: the user office's report."""
    sec = data["declines"]
    cols = [tr(N_("Group")), tr(N_("Awarded")), tr(N_("Declined"))]
    cols += [tr(DECLINE_REASON_LABELS[k]) for k in sec["reasons"]]
    rows = [
        [_group(tr, r["group"]), str(r["awarded"]), str(r["declined"])]
        + [str(r["reasons"].get(k, 0)) for k in sec["reasons"]]
        for r in sec["by"][by]
    ]
    return {"title": tr(DECLINE_TITLES[by]), "columns": cols, "rows": rows, "note": ""}


def report_document(data: dict[str, Any], tr: Tr) -> dict[str, Any]:
    """Everything the page and the PDF show, translated, in reading order: findings first."""
    return {
        "n_flagged": len(data["findings"]),
        "summary": summary(tr, data),
        "findings": {
            "title": tr(N_("Findings")),
            "columns": [tr(c) for c in FINDINGS_COLUMNS],
            "rows": findings_rows(tr, data),
            "widths": (24, 15, 6, 23, 22, 18),
            "note": tr(
                N_(
                    "Differences are in percentage points for rates and shares, in grade points "
                    "for grades; intervals are 95 % bootstrap intervals (proposals and reviewers "
                    "resampled)."
                )
            ),
        },
        "funnels": [
            *(funnel_table(tr, data, by) for by in queries.GROUPINGS),
            *filter(None, [resource_table(tr, data)]),
        ],
        "crosstabs": [crosstab_table(tr, k, v) for k, v in data["crosstabs"].items()],
        "context": [context_table(tr, data, by) for by in ("income_group", "un_region")],
        "after_award": [
            make(tr, data, by)
            for by in ("income_group", "un_region", "ldc")
            if data.get("after_award", {}).get("funnels", {}).get(by)
            for make in (after_award_table, use_table)
        ],
        "declines": [
            declines_table(tr, data, by)
            for by in ("income_group", "un_region", "ldc")
            if data.get("declines", {}).get("by", {}).get(by)
        ],
        "result_shares": [
            result_share_table(tr, data, by)
            for by in ("ldc", "income_group", "un_region")
            if data.get("after_award", {}).get("result_shares", {}).get(by)
        ],
        "results_per_award": [
            results_per_award_table(tr, data, by)
            for by in ("ldc", "income_group", "un_region")
            if data.get("after_award", {}).get("results_per_award", {}).get(by)
        ],
        # the page's own tables after these (its template draws them from the JSON): the
        # PDF prints them from here
        "access": [
            access_table(tr, data, by)
            for by in ("ldc", "income_group", "un_region")
            if _after_rows(data, "access", by)
        ],
        "trained_from": [
            trained_from_table(tr, data, by)
            for by in ("income_group", "un_region", "ldc")
            if _after_rows(data, "trained_from", by)
        ],
        "site_yields": [
            site_yields_table(tr, data, by)
            for by in ("income_group", "un_region", "ldc")
            if _after_rows(data, "site_yields", by)
        ],
        "change": [
            change_table(tr, data, by)
            for by in CHANGE_BYS
            if data.get("after_award", {}).get("share_change", {}).get(by)
        ],
        "after_award_more": [
            *(
                make(tr, data, by)
                for make, section in (
                    (results_table, "results"),
                    (follow_up_table, "follow_up"),
                    (follow_up_response_table, "follow_up_response"),
                )
                for by in ("income_group", "un_region", "ldc")
                if _after_rows(data, section, by)
            ),
            *(
                [time_table(tr, data)]
                if _after_rows(data, "time_to_first_result", "income_group")
                else []
            ),
            *([trend_table(tr, data)] if data.get("after_award", {}).get("trend") else []),
        ],
    }


def _detectable_bias(tr: Tr, data: dict[str, Any]) -> str | None:
    """The reviewer effects' minimum detectable bias in the reader's language and numbers
    (the page's sentence); that none could be tested when too few reviews were, None
    without reviewer effects."""
    eff = data.get("reviewer_effects") or {}
    mdb = eff.get("mdb") or {}
    if not eff:
        return None
    if mdb.get("min") is None or mdb.get("median") is None:
        return tr(N_("No reviewer-group effect could be tested: too few reviews."))
    return tr(
        N_(
            "With these reviews, a bias of at least %(x)s points between a reviewer group and "
            "an applicant group would have been detected with 80 %% probability (the "
            "best-covered of the %(n)s pairs tested; %(m)s points for the median pair)."
        ),
        x=_dec(mdb["min"], _lang(tr)),
        n=eff.get("tested", 0),
        m=_dec(mdb["median"], _lang(tr)),
    )


EFFECT_LESS = N_(
    "Reviewers from %(reviewers)s grade applicants from %(applicants)s %(d)s points less "
    "favourably, relative to applicants from %(reference)s, than other reviewers do (95 %% "
    "interval %(lo)s to %(hi)s, adjusted p=%(p)s)."
)
EFFECT_MORE = N_(
    "Reviewers from %(reviewers)s grade applicants from %(applicants)s %(d)s points more "
    "favourably, relative to applicants from %(reference)s, than other reviewers do (95 %% "
    "interval %(lo)s to %(hi)s, adjusted p=%(p)s)."
)


def effects_findings(tr: Tr, data: dict[str, Any]) -> str | None:
    """The flagged reviewer-group effects as the PDF's summary says them, in the reader's
    language, from each cell's fields (``optim.bias.Interaction.describe``'s English
    sentence, kept in the JSON, is what the English report says); None without effects."""
    eff = data.get("reviewer_effects")
    if not eff:
        return None
    flagged = [c for c in eff["cells"] if c["significant"]]
    if not flagged:
        return tr(
            N_("No reviewer-group effect is significant among the %(n)s pairs tested."),
            n=eff["tested"],
        )
    lang = _lang(tr)
    if lang == "en":
        return " ".join(c["sentence"] for c in flagged)
    return ("" if lang == "zh" else " ").join(
        tr(
            EFFECT_LESS if c["estimate"] < 0 else EFFECT_MORE,
            reviewers=_group(tr, c["reviewer_group"]),
            applicants=_group(tr, c["applicant_group"]),
            reference=_group(tr, c["reference_group"]),
            d=local_decimal(abs(c["estimate"]), lang, 2),
            lo=local_decimal(c["ci_low"], lang, 2, signed=True),
            hi=local_decimal(c["ci_high"], lang, 2, signed=True),
            p=local_general(c["p_adjusted"], lang),
        )
        for c in flagged
    )


def report_pdf(
    data: dict[str, Any], tr: Tr = lambda s, **k: s % k if k else s, lang: str = "en"
) -> bytes:
    from opencall.outcomes.charts import text_as_paths
    from opencall.outcomes.report_pdf import cjk_font, render_report_pdf

    doc = report_document(data, tr)
    with text_as_paths():
        charts = report_charts(data, tr)
    findings = {**doc["findings"], "title": ""}  # under the summary's heading
    # reviewer-group effects (the interaction model) and the minimum detectable bias
    effects_summary, effects_tables = queries.reviewer_effects_pdf(
        data, _lang(tr), _detectable_bias(tr, data), effects_findings(tr, data)
    )
    tables = [
        findings,
        *doc["funnels"],
        *doc["crosstabs"],
        *effects_tables,
        *doc["context"],
        *doc["after_award"],
        *doc["declines"],
        *doc["result_shares"],
        *doc["results_per_award"],
        *doc["access"],
        *doc["after_award_more"],
        *doc["trained_from"],
        *doc["site_yields"],
        *doc["change"],
    ]
    return render_report_pdf(
        {
            "title": tr(N_("Who benefits: %(title)s"), title=data["call"]["title"]),
            "subtitle": f"{data['call']['facility']}, {data['call']['cycle']}",
            "summary_title": doc["findings"]["title"],
            "summary": "\n\n".join([*doc["summary"], effects_summary.strip()]),
            "tables": tables,
            "charts": [{"svg": c["svg"]} for c in charts],  # titles are in the SVGs
            "attribution": data["attribution"],
            "font_path": cjk_font() if lang == "zh" else None,
        }
    )
