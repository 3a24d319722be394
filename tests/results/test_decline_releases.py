"""Two releases of the declines table of the public figures page (awards declined, by
income group and reason): a reader who saved the March page and reads the June page must
not work out a count that either page hides.

A reader knows each income group's number of declines on each page (the figures count a
declined award as awarded, the list of awarded programmes leaves it out), and that a
decline keeps its reason: a new decline only adds one to its group's row. Subtracting
the saved page from the new one can then give the new decline's reason away, or pin a
count that March hid. The attacker here is written apart from the product's audit."""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from opencall.outcomes import figures as of
from opencall.outcomes.domain import TOTAL, SuppressedTable
from tests.results.test_linked_suppression import pinned_value

REASONS = ("visa", "funding", "dates", "other")
GROUPS = ("low", "lower-middle", "upper-middle", "high")
Counts = dict[str, dict[str, int]]


def pins(releases: list[tuple[Counts, SuppressedTable]]) -> list[tuple[int, str, str, int]]:
    """Hidden inner cells (release, group, reason, value) that a reader pins from every
    number shown on every page ("<5" is 0 to 4, "x" is 5 or more), each group's known
    number of declines on each page, and declines keeping their reason (new ones join).
    Integer programs over each page's groups x reasons."""
    groups = sorted({g for counts, _t in releases for g in counts})
    names = [("x", n, g, r) for n in range(len(releases)) for g in groups for r in REASONS]
    names += [("new", n, g, r) for n in range(1, len(releases)) for g in groups for r in REASONS]
    idx = {k: i for i, k in enumerate(names)}
    a_eq: list[np.ndarray] = []
    b_eq: list[float] = []
    a_ub: list[np.ndarray] = []
    b_ub: list[float] = []

    def vec(keys: list[tuple]) -> np.ndarray:
        v = np.zeros(len(idx))
        for k in keys:
            v[idx[k]] = 1
        return v

    for n, (counts, _t) in enumerate(releases):
        for g in groups:
            a_eq.append(vec([("x", n, g, r) for r in REASONS]))
            b_eq.append(sum(counts.get(g, {}).values()))
    for n in range(1, len(releases)):
        for g in groups:
            for r in REASONS:  # June's = March's + the new ones, reason for reason
                v = vec([("x", n, g, r)])
                v[idx[("x", n - 1, g, r)]] -= 1
                v[idx[("new", n, g, r)]] -= 1
                a_eq.append(v)
                b_eq.append(0)
    hidden = []
    for n, (_counts, table) in enumerate(releases):
        for (row, col), value in table.values.items():
            v = vec(
                [
                    ("x", n, g, r)
                    for g in groups
                    if row == TOTAL or g == row
                    for r in (REASONS if col == TOTAL else [col])
                ]
            )
            if value is not None:
                a_eq.append(v)
                b_eq.append(value)
            elif str(table.display(row, col)).startswith("<"):
                a_ub.append(v)
                b_ub.append(table.min_cell - 1)
            else:
                a_ub.append(-v)
                b_ub.append(-table.min_cell)
            if value is None and TOTAL not in (row, col):
                hidden.append((n, row, col, v))
    out = []
    for n, row, col, v in hidden:
        value = pinned_value(v, a_eq, b_eq, a_ub, b_ub)
        if value is not None:
            out.append((n, row, col, value))
    return out


def new_pins(march: Counts, june: Counts, tables: list[SuppressedTable]) -> list[tuple]:
    """What the two pages pin together that neither pins alone."""
    both = pins([(march, tables[0]), (june, tables[1])])
    alone = {(0, *p[1:]) for p in pins([(march, tables[0])])}
    alone |= {(1, *p[1:]) for p in pins([(june, tables[1])])}
    return [p for p in both if p not in alone]


def declined(counts: Counts) -> list[tuple[int, str, str | None, str | None, bool | None]]:
    rows: list[tuple[int, str, str | None, str | None, bool | None]] = []
    for g, cells in counts.items():
        for reason, n in cells.items():
            rows += [(len(rows) + 1, reason, g, None, None) for _ in range(n)]
    return rows


def pages(march: Counts, june: Counts, audited: bool) -> list[SuppressedTable]:
    """The two pages' tables split by reason: each suppressed alone (the page before this
    change) or June's audited with March's release (the page now)."""
    first = of.declines_release(declined(march), REASONS)
    assert first is not None
    second = of.declines_release(declined(june), REASONS, [first] if audited else [])
    assert second is not None
    return [first.tables[of.REASONS_BY], second.tables[of.REASONS_BY]]


#: high income had six declines in March (visa), hidden with the whole row next to the
#: small groups; one more in June, for another reason, and June hides the row's small
#: cells only: its 6 visa declines are March's whole row, and the new one's reason is
#: the one cell that went from 0 to 1
MARCH = {
    "low": {"visa": 2, "funding": 1, "dates": 0, "other": 0},
    "high": {"visa": 6, "funding": 0, "dates": 0, "other": 0},
    "lower-middle": {"visa": 2, "funding": 2, "dates": 0, "other": 2},
    "upper-middle": {"visa": 6, "funding": 2, "dates": 8, "other": 3},
}
JUNE = {g: dict(cells) for g, cells in MARCH.items()}
JUNE["high"]["other"] += 1


def test_june_s_page_gives_away_a_new_decline_s_reason_when_suppressed_alone() -> None:
    found = new_pins(MARCH, JUNE, pages(MARCH, JUNE, audited=False))
    assert (1, "high", "other", 1) in found  # the new decline's reason
    assert (0, "high", "visa", 6) in found  # and what March hid


def test_june_s_page_audited_with_march_s_gives_nothing_away() -> None:
    assert new_pins(MARCH, JUNE, pages(MARCH, JUNE, audited=True)) == []


def test_the_same_declines_are_the_same_release() -> None:
    first = of.declines_release(declined(MARCH), REASONS)
    assert first is not None
    assert of.declines_release(declined(MARCH), REASONS, [first]) is first


def test_random_calls_two_releases_give_nothing_away() -> None:
    """Seeded random calls (the first of the same draws): one or two new declines between
    March and June. Suppressed alone, some pair of pages gives a count away; audited
    together, none does."""
    leaked = 0
    for seed in range(12):
        rnd = random.Random(seed)
        march = {
            g: {r: rnd.choice([0, 0, 1, 2, 3, 5, 6, 8]) for r in REASONS}
            for g in rnd.sample(GROUPS, rnd.randint(2, 4))
        }
        june = {g: dict(c) for g, c in march.items()}
        for _ in range(rnd.randint(1, 2)):
            june[rnd.choice(list(june))][rnd.choice(REASONS)] += 1
        leaked += bool(new_pins(march, june, pages(march, june, audited=False)))
        assert new_pins(march, june, pages(march, june, audited=True)) == [], seed
    assert leaked  # the attack works on pages suppressed alone


def test_the_figures_page_keeps_each_release_of_its_declines(web: Any) -> None:
    """The page keeps the declines table it shows before a reader sees it, once per
    change: shown again unchanged, no new release; a new decline, a second one (audited
    with the first)."""
    from sqlalchemy import select

    from opencall.calls.models import Call
    from opencall.outcomes.models import PublicRelease
    from tests.authz.test_workspace_matrix import session_client
    from tests.results.decline_world import build

    with web.factory() as s:
        w = build(s)
        call = s.get(Call, w.call_id)
        assert call is not None
        call.status = "published"
        s.commit()

    def kept() -> list[int]:
        with web.factory() as s:
            return list(
                s.scalars(
                    select(PublicRelease.number)
                    .where(
                        PublicRelease.call_id == w.call_id, PublicRelease.page == "figures_declines"
                    )
                    .order_by(PublicRelease.number)
                )
            )

    public = web.client()
    assert public.get(f"/calls/{w.slug}/figures").status_code == 200
    assert kept() == []  # no decline: nothing to keep
    for n, who in enumerate(("pi", "other_pi"), start=1):
        c, tok = session_client(web, w.emails[who])
        r = c.post(f"/awards/{w.awarded[n - 1]}/decline",
                   data={"csrf_token": tok, "reason": "visa", "confirm": "yes"})  # fmt: skip
        assert r.status_code == 303
        for _again in range(2):
            page = public.get(f"/calls/{w.slug}/figures")
            assert page.status_code == 200 and "&lt;5" in page.text
        assert kept() == list(range(1, n + 1))
