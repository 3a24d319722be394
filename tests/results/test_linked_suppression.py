"""The public after-award page shows two tables of the same awards: by income group and
by UN region. The awarded list names each PI's country, so a reader knows how many awards
each (income group, region) pair holds. Each table alone hides its small cells so that
none can be worked out from it; together they must not let a reader subtract one from the
other (a region that is all of one income group repeats that group's counts)."""

from __future__ import annotations

import itertools
import random
from typing import Any

import numpy as np
from scipy import optimize

from opencall.outcomes import after_award as aa
from tests.web.conftest import Web

BYS = ("income_group", "un_region")


def _rows(spec: list[tuple[str, str, int, int]]) -> list[aa.AfterAwardRow]:
    """(income group, region, awards used, awards not used) per kind of country."""
    rows = []
    for inc, reg, used, unused in spec:
        for i in range(used + unused):
            rows.append(
                aa.AfterAwardRow(f"{inc}-{reg}-{i}", {BYS[0]: inc, BYS[1]: reg}, used=i < used)
            )
    return rows


def pinned_value(
    v: np.ndarray, a_eq: list, b_eq: list, a_ub: list | None = None, b_ub: list | None = None
) -> int | None:
    """The one value that the sum ``v`` of the unknown cells (non-negative integers) can
    take under ``a_eq x = b_eq`` and ``a_ub x <= b_ub`` (integer programs), else None."""
    lo, hi = (
        optimize.linprog(
            sign * v,
            A_eq=np.array(a_eq),
            b_eq=np.array(b_eq),
            A_ub=np.array(a_ub) if a_ub else None,
            b_ub=np.array(b_ub) if b_ub else None,
            integrality=np.ones(len(v)),
            bounds=(0, None),
            method="highs",
        )  # fmt: skip
        for sign in (1, -1)
    )
    assert lo.status == 0 and hi.status == 0
    return round(lo.fun) if round(lo.fun) == round(-hi.fun) else None


def told(table: Any, key: tuple[str, str], v: np.ndarray, into: tuple[list, ...]) -> bool:
    """What the entry ``key`` of a suppressed table tells a reader about the sum ``v``
    (added to the constraints ``into``: a_eq, b_eq, a_ub, b_ub): its value where
    published, "<5" under five, "x" five or more. True for an inner cell shown "<5"."""
    a_eq, b_eq, a_ub, b_ub = into
    value = table.values[key]
    if value is not None:
        a_eq.append(v)
        b_eq.append(value)
        return False
    if key in table.primary:
        a_ub.append(v)
        b_ub.append(table.min_cell - 1)
        return "__total__" not in key
    a_ub.append(-v)
    b_ub.append(-table.min_cell)
    return False


def pinned(rows: list[aa.AfterAwardRow], tables: dict[str, list[dict]]) -> list[tuple]:
    """Hidden stage counts (by, group, stage) that a reader can work out exactly from every
    published count of both tables and the awards of each (income group, region) pair:
    integer programs over the awards of each pair in each state (an attacker's audit,
    written apart from the product's). A group of every award is the "All" row, which is
    published: it is not counted as given away."""
    atoms = sorted({tuple(r.groups[b] for b in BYS) for r in rows})
    states = sorted({aa._state(r) for r in rows})
    idx = {k: i for i, k in enumerate(itertools.product(atoms, states))}
    a_eq, b_eq = [], []
    for a in atoms:
        v = np.zeros(len(idx))
        for s in states:
            v[idx[(a, s)]] = 1
        a_eq.append(v)
        b_eq.append(sum(1 for r in rows if tuple(r.groups[b] for b in BYS) == a))
    hidden = []
    for i, by in enumerate(BYS):
        for r in tables[by]:
            v = np.zeros(len(idx))
            for a in atoms:
                if r["group"] == "all" or a[i] == r["group"]:
                    for s in states:
                        if aa._in_stage(s, r["stage"]):
                            v[idx[(a, s)]] = 1
            if r["count"] is None and r["awarded"] < len(rows):
                hidden.append(((by, r["group"], r["stage"]), v))
            elif r["count"] is not None:
                a_eq.append(v)
                b_eq.append(r["count"])
    out = []
    for key, v in hidden:
        value = pinned_value(v, a_eq, b_eq)
        if value is not None:
            out.append((key, value))
    return out


def test_a_region_that_is_one_income_group_does_not_give_away_the_other_region() -> None:
    # Africa's 12 awards are all low income (7 used); Europe's 7 are two high-income and
    # five upper-middle (3 used). Alone, the region table hides both regions' "used";
    # beside it the income table showed low income's 7, which is Africa's, and Europe's
    # 3 followed from the "All" row's 10.
    rows = _rows(
        [("low", "Africa", 7, 5), ("high", "Europe", 1, 1), ("upper-middle", "Europe", 2, 3)]
    )
    tables = aa.public_funnels(rows, BYS)
    region = {(r["group"], r["stage"]): r["count"] for r in tables["un_region"]}
    assert region[("Europe", "used")] is None
    assert pinned(rows, tables) == []
    # each table is still the one its own grouping gives when shown alone, or hides more
    for by in BYS:
        alone = aa.public_funnel(rows, by)
        for mine, single in zip(tables[by], alone, strict=True):
            assert single["count"] is None or mine["count"] in (None, single["count"])


def test_random_calls_publish_nothing_the_two_tables_give_away_together() -> None:
    countries = [
        ("high", "Europe"), ("upper-middle", "Europe"), ("high", "Asia"),
        ("lower-middle", "Asia"), ("low", "Africa"), ("lower-middle", "Africa"),
        ("upper-middle", "Americas"),
    ]  # fmt: skip
    rnd = random.Random(11)
    for _ in range(40):
        spec = []
        for inc, reg in rnd.sample(countries, rnd.randint(2, 5)):
            n = rnd.choice([1, 2, 3, 5, 6, 8, 12, 20])
            used = sum(rnd.random() < 0.6 for _ in range(n))
            spec.append((inc, reg, used, n - used))
        rows = _rows(spec)
        tables = aa.public_funnels(rows, BYS)
        assert pinned(rows, tables) == [], spec
        everyone = {r["stage"]: r["count"] for r in tables[BYS[0]] if r["group"] == "all"}
        assert everyone["used"] == sum(s[2] for s in spec)


def test_the_public_page_does_not_give_away_europe_through_the_income_table(web: Web) -> None:
    # the first world, through the services and the page: Ethiopia (low income, Africa)
    # 12 awards, 7 used; Germany (high, Europe) 2, 1 used; Serbia (upper-middle, Europe)
    # 5, 2 used. The list of awarded programmes names each country.
    from tests.results.test_public_suppression import after_award_page, count, tables

    page = after_award_page(web, ["ETH"] * 12 + ["DEU"] * 2 + ["SRB"] * 5, [*range(7), 12, 14, 15])
    income, region = ({r[0]: r for r in t[1:]} for t in tables(page)[:2])
    assert {"Low income", "All"} <= set(income) and {"Africa", "Europe", "All"} <= set(region)
    assert count(region["Europe"][2]) is None  # three of seven named awards
    # Africa is Ethiopia is low income: its count is low income's, and Europe's is the
    # "All" row's less Africa's
    africa = count(region["Africa"][2])
    if africa is None:
        africa = count(income["Low income"][2])
    assert africa is None or count(region["All"][2]) is None


def _declines_pinned(declined: list[tuple], reasons: list[str]) -> list[tuple[str, str, int]]:
    """Hidden (group, reason) cells of the public declines table by income group that a
    reader pins (integer programs), knowing every published number and each group's
    number of declines: the figures page counts a declined award as awarded and the list
    of awarded programmes leaves it out, so a group's declines are the one less the
    other (and the list kept from before the decline names who left it)."""
    from opencall.outcomes.domain import TOTAL
    from opencall.outcomes.figures import declines_table

    table = declines_table(declined, "income", reasons)
    assert table is not None
    keys = [(r, c) for r in table.rows for c in table.columns]
    ix = {k: i for i, k in enumerate(keys)}

    def vec(row: str, col: str) -> np.ndarray:
        v = np.zeros(len(keys))
        for r, c in keys:
            if row in (TOTAL, r) and col in (TOTAL, c):
                v[ix[(r, c)]] = 1
        return v

    a_eq, b_eq, a_ub, b_ub, hidden = [], [], [], [], []
    for r, c in table.values:
        v = vec(r, c)
        if c == TOTAL and r != TOTAL:  # known whatever the page shows
            a_eq.append(v)
            b_eq.append(sum(1 for d in declined if d[2] == r))
        elif told(table, (r, c), v, (a_eq, b_eq, a_ub, b_ub)):
            hidden.append((r, c, v))
    out = []
    for r, c, v in hidden:
        value = pinned_value(v, a_eq, b_eq, a_ub, b_ub)
        if value is not None:
            out.append((r, c, value))
    return out


REASONS = ["visa", "funding", "dates", "other"]


def test_a_group_s_visa_refusals_are_not_pinned_by_its_known_number_of_declines() -> None:
    # four of lower-middle income's eight declines were visa refusals: "<5" on the
    # page, but with the group's 8 known (awarded less listed) and the other cells it
    # was exactly 4
    spec = {
        "lower-middle": ["visa"] * 4 + ["funding"] * 2 + ["dates"] * 2,
        "low": ["visa"],
        "high": ["visa"] * 4 + ["funding", "other"],
        "upper-middle": ["visa"] * 5 + ["dates"] * 2 + ["funding"],
    }
    declined = [
        (i, reason, group, "X", None)
        for i, (group, reason) in enumerate((g, r) for g, rs in spec.items() for r in rs)
    ]
    assert _declines_pinned(declined, REASONS) == []


def test_random_declines_tables_pin_no_small_cell_for_a_reader_who_knows_each_group_s_total() -> (
    None
):
    rnd = random.Random(5)
    for _ in range(60):
        declined = []
        for g in rnd.sample(["low", "lower-middle", "upper-middle", "high"], rnd.randint(2, 4)):
            for _i in range(rnd.choice([1, 1, 2, 3, 5, 6, 8])):
                declined.append(
                    (len(declined), rnd.choice(REASONS[: rnd.randint(1, 4)]), g, "X", None)
                )
        assert [p for p in _declines_pinned(declined, REASONS) if 0 < p[2] < 5] == [], declined


def _declines_linked_pinned(declined: list[tuple]) -> list[tuple[str, str, str, int]]:
    """Hidden (grouping, group, reason) cells of the figures page's three declines tables
    (income group, UN region, LDC status) that a reader pins, knowing every published
    number and each country's number of declines (the list of awarded programmes kept
    from before the decline names who left it): integer programs over the declines of
    each (income group, region, LDC) kind of country and reason."""
    from opencall.outcomes.figures import published_declines

    published = published_declines(declined, REASONS)
    assert published is not None
    atoms = sorted({(d[2], d[3], d[4]) for d in declined})
    idx = {k: i for i, k in enumerate(itertools.product(atoms, REASONS))}
    a_eq, b_eq, a_ub, b_ub, hidden = [], [], [], [], []
    for a in atoms:
        v = np.zeros(len(idx))
        for r in REASONS:
            v[idx[(a, r)]] = 1
        a_eq.append(v)
        b_eq.append(sum(1 for d in declined if (d[2], d[3], d[4]) == a))
    label = {"income": lambda a: a[0], "region": lambda a: a[1],
             "ldc": lambda a: "LDC" if a[2] else "non-LDC"}  # fmt: skip
    for key, (table, columns) in published.items():
        for g, c in table.values:
            if c not in columns:  # the page does not publish it
                continue
            v = np.zeros(len(idx))
            for a in atoms:
                if g in ("__total__", label[key](a)):
                    for r in REASONS:
                        if c in ("__total__", r):
                            v[idx[(a, r)]] = 1
            if told(table, (g, c), v, (a_eq, b_eq, a_ub, b_ub)):
                hidden.append((key, g, c, v))
    out = []
    for key, g, c, v in hidden:
        value = pinned_value(v, a_eq, b_eq, a_ub, b_ub)
        if value is not None and 0 < value < 5:
            out.append((key, g, c, value))
    return out


def test_the_three_declines_tables_together_pin_no_count_of_one_to_four() -> None:
    kinds = [
        ("low", "Africa", True), ("lower-middle", "Africa", False), ("low", "Asia", True),
        ("lower-middle", "Asia", False), ("high", "Europe", False), ("upper-middle", "Americas", False),
    ]  # fmt: skip
    rnd = random.Random(9)
    for _ in range(40):
        declined = []
        for inc, reg, ldc in rnd.sample(kinds, rnd.randint(2, 5)):
            for _i in range(rnd.choice([1, 2, 3, 5, 6, 8])):
                reason = rnd.choice(REASONS[: rnd.randint(1, 4)])
                declined.append((len(declined), reason, inc, reg, ldc))
        assert _declines_linked_pinned(declined) == [], declined
