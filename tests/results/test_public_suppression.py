"""The public after-award page names no small group's results: the awarded list is
public (each award with its PI's country), so a group of one or two awards is a group
of named people. Their counts are hidden, and no hidden count can be worked out from
the others (the "All" row, the other groups, the cycle table)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from opencall.outcomes import queries as oq
from opencall.outcomes.after_award_views import MIN_CELL
from opencall.results import services
from tests.results.awards_world import awarded_samples_call
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


class _Tables(HTMLParser):
    """Every table of a page as rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> list[list[list[str]]]:
    p = _Tables()
    p.feed(html)
    return p.tables


def count(cell: str) -> int | None:
    """A published count (the number before its share), None when hidden."""
    m = re.fullmatch(r"(\d+)(?: · .*)?", cell)
    return int(m.group(1)) if m else None


def after_award_page(web: Web, countries: list[str], used: list[int]) -> str:
    """The public after-award page of a samples call with an award per country, the
    awards at the indices ``used`` having received their loan."""
    with web.factory() as s:
        call, props = awarded_samples_call(s, countries)
        for i in used:
            services.add_record(
                s, props[i], "loan",
                {"sample": "x", "mass_mg": 5, "shipped_on": "2027-06-01",
                 "received_on": "2027-06-05"},
                actor_id=None,
            )  # fmt: skip
        s.commit()
        slug = call.slug
    oq.PUBLIC_AFTER_AWARD.clear()
    page = web.client("en").get(f"/calls/{slug}/after-award")
    assert page.status_code == 200
    return page.text


def test_a_small_group_s_results_are_neither_shown_nor_derivable(web: Web) -> None:
    # eight awards in Germany (high income) used their loans; two in Ethiopia (low
    # income, both named on the public awarded list) did not
    page = after_award_page(web, ["DEU"] * 8 + ["ETH"] * 2, list(range(8)))
    income = tables(page)[0]
    rows = {r[0]: r for r in income[1:]}
    assert set(rows) >= {"High income", "Low income", "All"}, rows
    small = rows["Low income"]
    others = [r for g, r in rows.items() if g not in ("Low income", "All")]
    everyone = count(rows["All"][1])
    for col in range(2, len(small)):  # used, completed, produced results
        if count(rows["All"][col]) in (0, everyone):
            continue  # nobody, or everybody, of the call: no group's figure says more
        assert count(small[col]) is None, (col, small)  # "0" named both awardees' use
        derivable = count(rows["All"][col]) is not None and all(
            count(r[col]) is not None for r in others
        )
        assert not derivable, (col, income)
    # the cycle table repeats the call's figures: it may not publish what the funnel hid
    cycles = tables(page)[-1]
    produced_all = count(rows["All"][4])
    for r in cycles[1:]:
        if produced_all is None:
            assert count(r[2]) is None, r
    assert MIN_CELL == 5


def test_one_group_or_none_is_published_without_error() -> None:
    """Every award in one group (its row is the "All" row), or no award at all: the
    funnel is published, the group's own cells hidden where small."""
    from opencall.outcomes import after_award as aa

    rows = [aa.AfterAwardRow(str(i), {"income_group": "low"}, used=i < 2) for i in range(7)]
    out = aa.public_funnel(rows, "income_group", ["low"])
    low = {r["stage"]: r["count"] for r in out if r["group"] == "low"}
    everyone = {r["stage"]: r["count"] for r in out if r["group"] == "all"}
    assert low["used"] is None and everyone["used"] == 2
    assert aa.public_funnel([], "income_group") == [
        r for r in aa.public_funnel([], "income_group") if r["group"] == "all"
    ]


def test_random_calls_never_publish_a_small_or_derivable_group_count() -> None:
    """Seeded random calls (2-6 groups, 1-40 awards each): no group of fewer than five
    awards has a published count that says more than the whole call does, and no stage
    leaves exactly one group hidden beside a published "All"."""
    import random

    from opencall.outcomes import after_award as aa

    rnd = random.Random(7)
    for _ in range(25):
        rows = []
        for g in range(rnd.randint(2, 6)):
            for i in range(rnd.choice([1, 2, 3, 6, 12, 40])):
                used = rnd.random() < 0.7
                rows.append(
                    aa.AfterAwardRow(
                        f"{g}-{i}",
                        {"income_group": f"g{g}"},
                        used=used,
                        completed=used and rnd.random() < 0.5,
                        produced_results=rnd.random() < 0.4,
                    )
                )
        out = aa.public_funnel(rows, "income_group")
        for stage in aa.AFTER_STAGES:
            cells = {r["group"]: r for r in out if r["stage"] == stage}
            everyone = cells.pop("all")
            assert everyone["count"] is not None
            if everyone["count"] in (0, everyone["awarded"]):
                continue  # a fact of the whole call
            hidden = [g for g, r in cells.items() if r["count"] is None]
            assert len(hidden) != 1, (stage, cells)
            for g, r in cells.items():
                if r["awarded"] < MIN_CELL:
                    assert r["count"] is None, (stage, g, r)


def test_june_s_page_does_not_give_away_what_march_s_hid(web: Web) -> None:
    """The page keeps each release it shows (``public_releases``) and audits the next one
    with them: a reader who saved March's page cannot subtract it from June's. Ethiopia's
    (low income) 17 awards: 7 used, 4 used with results, 6 not used; Germany's (high) 23:
    10, 6 and 7. March hides both groups' "used"; in June one more Ethiopian award that
    was used has a result, nobody newly used one, and June's page, suppressed alone,
    published both groups' "used" (11 and 16): March's hidden counts, since the "All"
    row's 27 did not move (tests/results/test_release_suppression.py has the attack)."""
    from sqlalchemy import select

    from opencall.outcomes.models import PublicRelease
    from tests.results.test_release_suppression import BYS, march_and_june, new_pins

    loan = {"sample": "x", "mass_mg": 5, "shipped_on": "2027-06-01", "received_on": "2027-06-05"}
    paper = {"title": "Ages", "year": 2028}
    with web.factory() as s:
        call, props = awarded_samples_call(s, ["ETH"] * 17 + ["DEU"] * 23)
        for base, used, with_results in ((0, 7, 4), (17, 10, 6)):
            for i in range(used + with_results):
                services.add_record(s, props[base + i], "loan", loan, actor_id=None)
            for i in range(used, used + with_results):
                services.add_output(s, props[base + i], paper, actor_id=None)
        s.commit()
        slug, call_id, first_used = call.slug, call.id, props[0]
    oq.PUBLIC_AFTER_AWARD.clear()
    client = web.client("en")
    assert client.get(f"/calls/{slug}/after-award").status_code == 200
    with web.factory() as s:
        march_page = oq.public_after_award(s, s.get(type(call), call_id))["funnels"]
        services.add_output(s, s.get(type(first_used), first_used.id), paper, actor_id=None)
        s.commit()
    assert client.get(f"/calls/{slug}/after-award").status_code == 200
    with web.factory() as s:
        june_page = oq.public_after_award(s, s.get(type(call), call_id))["funnels"]
        kept = list(s.scalars(select(PublicRelease.number).where(PublicRelease.call_id == call_id)))
    assert sorted(kept) == [1, 2]
    march, june = march_and_june()  # the same awards, as plain rows
    income = {(r["group"], r["stage"]): r["count"] for r in march_page[BYS[0]]}
    assert income[("low", "used")] is None and income[("all", "used")] == 27
    assert new_pins(march, june, march_page, june_page) == []
