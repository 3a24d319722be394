"""First and repeat access on the public after-award page: the office report's table of
awards to a PI new to the facility and to one awarded before, by income group and UN
region, published with its small counts hidden as the page's funnel hides them
(``after_award.public_access``: ``domain.suppress_linked`` over the disjoint
groups x (first time, repeat) tables, whose totals, the awards of each group, are
public); no PI is named."""

from __future__ import annotations

import random

from sqlalchemy import select

from opencall.outcomes import after_award as aa
from opencall.outcomes import domain as od
from opencall.outcomes import queries as oq
from opencall.people.models import User
from opencall.proposals.models import Proposal
from tests.results.test_first_access import _cycles
from tests.results.test_public_suppression import tables
from tests.web.conftest import Web

BYS = ("income_group", "un_region")


def _rows(groups: list[tuple[str, str]], firsts: list[bool]) -> tuple[list, dict]:
    rows = [
        aa.AfterAwardRow(str(i), {"income_group": ig, "un_region": ur})
        for i, (ig, ur) in enumerate(groups)
    ]
    return rows, {str(i): (f, None) for i, f in enumerate(firsts)}


def _check(out: dict, rows: list, first: dict) -> None:
    """No group's published count in 1..4 (the "All" row, the whole call, is published
    as the funnel's is, and the page shows "<5" for it); a group's first-time and repeat
    counts hidden together (their sum is public); no column with a single hidden cell
    (the "All" row would give it away); what is published is the truth."""
    for by in BYS:
        table = out[by]
        truth = {r.group: r for r in aa.access_by_group(rows, first, by)}
        for r in table:
            if r["first_time"] is None or r["repeat"] is None:  # hidden together
                assert 0 in (r["first_time"], r["repeat"]) or r["first_time"] == r["repeat"], r
            assert r["awarded"] == truth[r["group"]].awarded
            for col in ("first_time", "repeat"):
                v = r[col]
                assert v is None or v == getattr(truth[r["group"]], col), r
                if r["group"] == "all":
                    assert v is not None, r
                    continue
                assert v is None or v == 0 or v >= oq.PUBLIC_MIN_CELL, r
        for col in ("first_time", "repeat"):
            assert sum(r[col] is None for r in table) != 1, (by, col, table)


def test_small_first_or_repeat_counts_are_hidden_and_not_derivable() -> None:
    # 9 awards in Germany (6 first time), 2 in Ethiopia (1 first): Ethiopia's split
    # and so Germany's are hidden; the whole call's is published
    groups = [("high", "Europe")] * 9 + [("low", "Africa")] * 2
    rows, first = _rows(groups, [True] * 6 + [False] * 3 + [True, False])
    out = aa.public_access(rows, first, BYS, {"income_group": od.INCOME_GROUPS}, 5)
    _check(out, rows, first)
    income = {r["group"]: r for r in out["income_group"]}
    assert income["low"]["first_time"] is None and income["high"]["first_time"] is None
    assert (income["all"]["first_time"], income["all"]["repeat"]) == (7, 4)
    # a first cycle: nobody is a repeat (the zeros are known, not suppressed; the
    # single column is suppressed as the funnel's would be)
    rows, first = _rows(groups, [True] * 11)
    out = aa.public_access(rows, first, BYS, {}, 5)
    _check(out, rows, first)
    income = {r["group"]: r for r in out["income_group"]}
    assert income["low"]["repeat"] == income["high"]["repeat"] == 0
    assert income["all"]["first_time"] == 11


def test_random_calls_never_publish_a_small_or_derivable_access_count() -> None:
    rnd = random.Random(14)
    regions = {"low": "Africa", "lower_middle": "Asia", "high": "Europe", "upper_middle": "Asia"}
    for _ in range(30):
        groups = [
            (ig, regions[ig] if rnd.random() < 0.8 else "Americas")
            for ig in rnd.choices(list(regions), k=rnd.randrange(1, 60))
        ]
        rows, first = _rows(groups, [rnd.random() < 0.6 for _ in groups])
        _check(aa.public_access(rows, first, BYS, {}, 5), rows, first)


def test_the_public_page_shows_first_and_repeat_access_naming_nobody(web: Web) -> None:
    with web.factory() as s:
        calls = _cycles(s)
        s.commit()
        slug = calls[-1].slug
        office = oq.report(s, calls[-1])["after_award"]["access"]
        pis = s.execute(
            select(User.email, User.name).join(Proposal, Proposal.pi_user_id == User.id)
        ).all()
    oq.PUBLIC_AFTER_AWARD.clear()
    page = web.client("en").get(f"/calls/{slug}/after-award")
    assert page.status_code == 200
    assert "First and repeat access" in page.text
    income = next(
        t
        for t in tables(page.text)
        if t[0][-2:] == ["First award at the facility", "Returning awardees"]
    )
    rows = {r[0]: r for r in income[1:]}
    truth = {r["group"]: r for r in office["income_group"]}
    # four awards in cycle three, two of them repeats: every group is under five
    assert rows["All"][1] == "<5"
    assert rows["All"][2:] == ["<5", "<5"]
    for g, r in rows.items():
        if g != "All":
            assert r[2] in ("x", "0") and r[3] in ("x", "0"), r
    assert truth["all"]["first_time"] == 2
    assert pis
    for email, name in pis:  # aggregates only: no PI is named
        assert email not in page.text and name not in page.text
