"""Two releases of the public after-award page: a reader who saved the March page and
reads the June page must not work out a count that either page hides.

Between two releases the awards of a call stay the same (the awarded list names them),
and an award only moves forward: an award used stays used, a result once recorded stays.
A reader who knows that can follow the awards of each (income group, region) pair from
one page to the next (any award of a state may move to a state at least as far on), and
subtract: a cell hidden in March and published in June, where nothing around it moved,
was the same in March. The attacker here is written apart from the product's audit."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from scipy import optimize

from opencall.outcomes import after_award as aa
from opencall.outcomes import domain as od

BYS = ("income_group", "un_region")
COUNTRIES = [
    ("high", "Europe"), ("upper-middle", "Europe"), ("high", "Asia"),
    ("lower-middle", "Asia"), ("low", "Africa"), ("lower-middle", "Africa"),
    ("upper-middle", "Americas"),
]  # fmt: skip
FLAGS = {state: key for key, state in aa.STATES.items()}


def forward(before: str, after: str) -> bool:
    """The attacker's own rule: no flag is taken back."""
    return all(a <= b for a, b in zip(FLAGS[before], FLAGS[after], strict=True))


def release_pins(
    releases: list[tuple[list[aa.AfterAwardRow], dict[str, list[dict[str, Any]]]]],
) -> list[tuple[int, tuple[str, str, str], int]]:
    """Hidden stage counts (release, (by, group, stage), value) that a reader pins from
    every published count of every release, each pair's awards in each release, and
    awards moving only forward between releases; a group of every award (the "All" row)
    is not counted. Integer programs over each pair's awards in each state of each
    release and the moves between consecutive releases."""
    states = list(aa.STATES.values())
    atoms = sorted({tuple(r.groups[b] for b in BYS) for rows, _ in releases for r in rows})
    names: list[tuple] = []
    for n in range(len(releases)):
        names += [("x", n, a, s) for a in atoms for s in states]
    for n in range(1, len(releases)):
        names += [("f", n, a, s, t) for a in atoms for s in states for t in states if forward(s, t)]
    idx = {k: i for i, k in enumerate(names)}
    a_eq: list[np.ndarray] = []
    b_eq: list[float] = []

    def vec(pairs: list[tuple]) -> np.ndarray:
        v = np.zeros(len(idx))
        for k in pairs:
            v[idx[k]] = 1
        return v

    for n, (rows, _tables) in enumerate(releases):
        for a in atoms:
            a_eq.append(vec([("x", n, a, s) for s in states]))
            b_eq.append(sum(1 for r in rows if tuple(r.groups[b] for b in BYS) == a))
    for n in range(1, len(releases)):
        for a in atoms:
            for s in states:  # every award of March's state s is somewhere in June
                v = vec([("f", n, a, s, t) for t in states if forward(s, t)])
                v[idx[("x", n - 1, a, s)]] = -1
                a_eq.append(v)
                b_eq.append(0)
            for t in states:
                v = vec([("f", n, a, s, t) for s in states if forward(s, t)])
                v[idx[("x", n, a, t)]] = -1
                a_eq.append(v)
                b_eq.append(0)
    hidden = []
    for n, (rows, tables) in enumerate(releases):
        for i, by in enumerate(BYS):
            for r in tables[by]:
                v = vec(
                    [
                        ("x", n, a, s)
                        for a in atoms
                        if r["group"] == "all" or a[i] == r["group"]
                        for s in states
                        if aa._in_stage(s, r["stage"])
                    ]
                )
                if r["count"] is None and r["awarded"] < len(rows):
                    hidden.append((n, (by, r["group"], r["stage"]), v))
                elif r["count"] is not None:
                    a_eq.append(v)
                    b_eq.append(r["count"])
    out = []
    for n, key, v in hidden:
        lo, hi = (
            optimize.linprog(
                sign * v,
                A_eq=np.array(a_eq),
                b_eq=np.array(b_eq),
                integrality=np.ones(len(v)),
                bounds=(0, None),
                method="highs",
            )  # fmt: skip
            for sign in (1, -1)
        )
        assert lo.status == 0 and hi.status == 0
        if round(lo.fun) == round(-hi.fun):
            out.append((n, key, round(lo.fun)))
    return out


def random_call(rnd: random.Random) -> tuple[list[aa.AfterAwardRow], list[aa.AfterAwardRow]]:
    """March's awards and June's: the same awards, one to three of them a step further."""
    march = []
    for inc, reg in rnd.sample(COUNTRIES, rnd.randint(2, 4)):
        for i in range(rnd.choice([1, 2, 3, 5, 6, 8, 12])):
            used = rnd.random() < 0.5
            march.append(
                aa.AfterAwardRow(
                    f"{inc}-{reg}-{i}",
                    {BYS[0]: inc, BYS[1]: reg},
                    used=used,
                    completed=used and rnd.random() < 0.4,
                    produced_results=rnd.random() < 0.3,
                )
            )
    june = list(march)
    for k in rnd.sample(range(len(june)), min(len(june), rnd.randint(1, 3))):
        r = june[k]
        step = rnd.choice(["used", "completed", "produced_results"])
        if step == "used" or not r.used:
            june[k] = aa.AfterAwardRow(
                r.proposal_id, r.groups, True, r.completed, r.produced_results
            )
        elif step == "completed":
            june[k] = aa.AfterAwardRow(r.proposal_id, r.groups, True, True, r.produced_results)
        else:
            june[k] = aa.AfterAwardRow(r.proposal_id, r.groups, r.used, r.completed, True)
    return march, june


def alone_pins(rows: list[aa.AfterAwardRow], tables: dict[str, list[dict[str, Any]]]) -> set:
    return {key for _n, key, _v in release_pins([(rows, tables)])}


def new_pins(
    march: list[aa.AfterAwardRow],
    june: list[aa.AfterAwardRow],
    before: dict[str, list[dict[str, Any]]],
    after: dict[str, list[dict[str, Any]]],
) -> list[tuple[int, tuple[str, str, str], int]]:
    """What the two pages give away together that neither gives alone."""
    own = [alone_pins(march, before), alone_pins(june, after)]
    return [p for p in release_pins([(march, before), (june, after)]) if p[1] not in own[p[0]]]


def _rows(spec: list[tuple[str, str, str, int]]) -> list[aa.AfterAwardRow]:
    """(income group, region, state, awards) per kind of award."""
    rows = []
    for inc, reg, state, n in spec:
        used, completed, produced = FLAGS[state]
        rows += [
            aa.AfterAwardRow(
                f"{inc}-{state}-{i}", {BYS[0]: inc, BYS[1]: reg}, used, completed, produced
            )
            for i in range(n)
        ]
    return rows


def march_and_june() -> tuple[list[aa.AfterAwardRow], list[aa.AfterAwardRow]]:
    """Low income's 4 used awards with results hide its "used" (and, with it, high
    income's) in March; in June one more used award of low income has a result: nobody
    new used an award (the "All" row's 27 again), and both groups' "used" are published."""
    march = _rows(
        [
            ("low", "Africa", "used", 7), ("low", "Africa", "used_results", 4),
            ("low", "Africa", "none", 6), ("high", "Europe", "used", 10),
            ("high", "Europe", "used_results", 6), ("high", "Europe", "none", 7),
        ]
    )  # fmt: skip
    june = list(march)
    k = next(i for i, r in enumerate(june) if r.groups[BYS[0]] == "low" and r.used)
    june[k] = aa.AfterAwardRow(june[k].proposal_id, june[k].groups, True, False, True)
    return march, june


def test_two_releases_each_suppressed_alone_give_march_s_hidden_counts_away() -> None:
    # the attack on pages suppressed each alone (as before this round): March hid both
    # groups' "used"; June publishes them, and the "All" row says no award was newly used
    march, june = march_and_june()
    before = aa.public_funnels(march, BYS)
    after = aa.public_funnels(june, BYS)
    used = {r["group"]: r["count"] for r in before[BYS[0]] if r["stage"] == "used"}
    assert used == {"high": None, "low": None, "all": 27}
    assert (0, ("income_group", "low", "used"), 11) in new_pins(march, june, before, after)


def test_june_audited_with_march_gives_nothing_away() -> None:
    march, june = march_and_june()
    first = aa.public_release(march, BYS)
    before = aa.funnel_rows(march, BYS, first)
    after = aa.public_funnels(june, BYS, earlier=[first])
    assert before == aa.public_funnels(march, BYS)  # March's page stands as published
    assert new_pins(march, june, before, after) == []
    used = {r["group"]: r["count"] for r in after[BYS[0]] if r["stage"] == "used"}
    assert used["all"] == 27 and used["low"] is None


def test_random_releases_audited_together_give_nothing_away() -> None:
    rnd = random.Random(3)
    for _ in range(6):
        march, june = random_call(rnd)
        first = aa.public_release(march, BYS)
        before = aa.funnel_rows(march, BYS, first)
        after = aa.public_funnels(june, BYS, earlier=[first])
        assert new_pins(march, june, before, after) == [], (march, june)
        everyone = {r["stage"]: r["count"] for r in after[BYS[0]] if r["group"] == "all"}
        assert everyone["used"] == sum(r.used for r in june)


def test_three_releases_are_audited_together() -> None:
    rnd = random.Random(17)
    for _ in range(3):
        march, june = random_call(rnd)
        autumn = list(june)
        for k in rnd.sample(range(len(autumn)), min(len(autumn), 2)):
            r = autumn[k]
            autumn[k] = aa.AfterAwardRow(r.proposal_id, r.groups, True, r.completed, True)
        first = aa.public_release(march, BYS)
        second = aa.public_release(june, BYS, earlier=[first])
        third = aa.public_release(autumn, BYS, earlier=[first, second])
        pages = [
            (march, aa.funnel_rows(march, BYS, first)),
            (june, aa.funnel_rows(june, BYS, second)),
            (autumn, aa.funnel_rows(autumn, BYS, third)),
        ]
        own = [alone_pins(rows, t) for rows, t in pages]
        assert [p for p in release_pins(pages) if p[1] not in own[p[0]]] == []


def test_a_release_round_trips_through_plain_data() -> None:
    march, _june = march_and_june()
    first = aa.public_release(march, BYS)
    again = od.Release.from_data(first.to_data())
    assert again == first
    assert again.published() == first.published()
