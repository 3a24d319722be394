"""outcomes16: the public after-award page by LDC status, audited with the releases kept
before it had that table (their atoms are income group x region only)."""

from __future__ import annotations

import csv
import html
import io

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.outcomes import after_award as aa
from opencall.outcomes import queries as oq
from opencall.proposals.models import Proposal
from opencall.results import queries as rq
from opencall.results import services as res
from tests import factories as F
from tests.results.awards_world import awarded_samples_call, telescope_cycles
from tests.web.conftest import Web

LOAN = {"sample": "x", "mass_mg": 5, "shipped_on": "2027-06-01", "received_on": "2027-06-05"}

BYS2 = ("income_group", "un_region")
BYS3 = ("income_group", "un_region", "ldc")
FLAGS = {state: key for key, state in aa.STATES.items()}
LDC = {"low": "LDC", "high": "non-LDC"}


def _rows(spec: list[tuple[str, str, str, int]]) -> list[aa.AfterAwardRow]:
    rows = []
    for inc, reg, state, n in spec:
        used, completed, produced = FLAGS[state]
        groups = {"income_group": inc, "un_region": reg, "ldc": LDC[inc]}
        rows += [
            aa.AfterAwardRow(f"{inc}-{state}-{i}", groups, used, completed, produced)
            for i in range(n)
        ]
    return rows


def march_and_june() -> tuple[list[aa.AfterAwardRow], list[aa.AfterAwardRow]]:
    """tests/results/test_release_suppression.py's attack: March hides low and high
    income's "used"; in June one used low income award has a result and nobody newly
    used one (the "All" row's 27 again)."""
    march = _rows(
        [
            ("low", "Africa", "used", 7), ("low", "Africa", "used_results", 4),
            ("low", "Africa", "none", 6), ("high", "Europe", "used", 10),
            ("high", "Europe", "used_results", 6), ("high", "Europe", "none", 7),
        ]
    )  # fmt: skip
    june = list(march)
    k = next(i for i, r in enumerate(june) if r.groups["income_group"] == "low" and r.used)
    june[k] = aa.AfterAwardRow(june[k].proposal_id, june[k].groups, True, False, True)
    return march, june


def used(tables: dict, by: str) -> dict:
    return {r["group"]: r["count"] for r in tables[by] if r["stage"] == "used"}


def test_june_with_the_ldc_table_is_audited_with_march_kept_without_it() -> None:
    # March was kept before the page had an LDC table (atoms: income group x region);
    # June adds it. Before outcomes16 the audit could not read the shorter atoms
    # (KeyError 'ldc'); published alone June gives March's hidden "used" away.
    march, june = march_and_june()
    first = aa.public_release(march, BYS2)
    assert used(aa.funnel_rows(march, BYS2, first), "income_group")["low"] is None
    alone = aa.public_funnels(june, BYS3)
    assert used(alone, "income_group")["low"] == 11  # the attack, had March been forgotten
    after = aa.public_funnels(june, BYS3, earlier=[first])
    for by, group in (("income_group", "low"), ("income_group", "high"), ("ldc", "LDC")):
        assert used(after, by)[group] is None, (by, group)
    assert used(after, "ldc")["all"] == 27


def test_an_award_that_left_since_the_shorter_release_is_still_counted() -> None:
    # a declined award leaves the list: March's atom counts it, June's has one fewer
    march, june = march_and_june()
    first = aa.public_release(march, BYS2)
    june = [r for r in june if r.proposal_id != "high-none-0"]
    after = aa.public_funnels(june, BYS3, earlier=[first])
    assert {r["group"] for r in after["ldc"]} == {"LDC", "non-LDC", "all"}
    assert used(after, "ldc")["all"] == 27


# --------------------------------------------------------------------------- the page


def _ldc_call(web: Web) -> tuple[str, list[str]]:
    """Ethiopia and Nepal are least developed (6 and 2 awards), Kenya and Germany not."""
    with web.factory() as s:
        call, props = awarded_samples_call(s, ["ETH"] * 6 + ["NPL"] * 2 + ["KEN"] * 6 + ["DEU"] * 6)
        year = rq.awarded_on(call).year + 1
        for i, p in enumerate(props):
            res.add_record(s, p, "loan", LOAN, actor_id=None)
            if i % 2:
                res.add_output(s, p, {"title": f"Paper {i}", "year": year}, actor_id=None)
        s.commit()
        secrets = [p.code for p in props] + [p.title for p in props]
        secrets += [m.name for p in props for m in p.members]
        secrets += [m.email for p in props for m in p.members if m.email]
        return call.slug, secrets


def test_the_public_page_and_its_csv_count_by_ldc_status(web: Web) -> None:
    # before outcomes16 the page and its CSV had income group and UN region tables only
    slug, secrets = _ldc_call(web)
    oq.PUBLIC_AFTER_AWARD.clear()
    client = web.client("en")
    page = client.get(f"/calls/{slug}/after-award")
    assert page.status_code == 200
    assert "Least developed countries" in page.text and "Non-LDC countries" in page.text
    r = client.get(f"/calls/{slug}/after-award?format=csv")
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    ldc = {(x["group"], x["measure"]): x["value"] for x in rows if x["grouping"] == "ldc"}
    assert ldc[("LDC", "awarded")] == "8" and ldc[("non-LDC", "awarded")] == "12"
    assert ldc[("all", "used")] == "20"
    assert {(x["table"], x["grouping"]) for x in rows} >= {
        ("after_award", "ldc"),
        ("access", "ldc"),
    }
    assert not [x for x in rows if x["value"] in ("1", "2", "3", "4")]
    for text in (page.text, r.text):
        assert not [w for w in secrets if w and w in text]
    fr = web.client("fr").get(f"/calls/{slug}/after-award")
    assert "Pays les moins avancés" in fr.text and "Pays non PMA" in fr.text


# --------------------------------------------------------------- change across cycles


def _three_cycles(s: Session) -> list[Call]:
    """LDC (Ethiopia) awards 2 of 10, 3 of 10, then 5 of 10; every award of the last
    cycle has a result, of the earlier ones only Germany's."""
    apps = [
        [(F.user(s, country="ETH"), True) for _ in range(ldc)]
        + [(F.user(s, country="DEU"), True) for _ in range(other)]
        for ldc, other in [(2, 8), (3, 7), (5, 5)]
    ]
    built = telescope_cycles(s, apps)
    for k, (call, props) in enumerate(built):
        year = rq.awarded_on(call).year + 1
        for i, p in enumerate(props):
            if k == 2 or p.title.endswith("DEU"):
                res.add_output(s, p, {"title": f"Paper {k} {i}", "year": year}, actor_id=None)
    s.flush()
    return [c for c, _p in built]


def test_the_public_page_compares_this_cycle_s_shares_with_the_earlier_cycles(web: Web) -> None:
    # LDC awards (Ethiopia): 2 of 10, then 3 of 10, now 5 of 10; every award of the last
    # cycle has a result, of the earlier ones only Germany's (before outcomes16 the page
    # had no such table: the low income columns of the cycle table only, no share)
    with web.factory() as s:
        slug = _three_cycles(s)[-1].slug
        s.commit()
        props = s.scalars(select(Proposal)).all()
        secrets = [p.code for p in props] + [m.email for p in props for m in p.members if m.email]
    oq.PUBLIC_AFTER_AWARD.clear()
    client = web.client("en")
    r = client.get(f"/calls/{slug}/after-award?format=csv")
    change = {
        (x["grouping"], x["group"], x["measure"]): x["value"]
        for x in csv.DictReader(io.StringIO(r.text.lstrip("\ufeff")))
        if x["table"] == "change"
    }
    ldc = {m: v for (by, g, m), v in change.items() if (by, g) == ("ldc", "LDC")}
    assert (ldc["awards:count"], ldc["awards:total"]) == ("5", "10")
    assert (ldc["awards:earlier_count"], ldc["awards:earlier_total"]) == ("5", "20")
    assert ldc["awards:difference"] == "0.250"
    low, high = float(ldc["awards:difference_low"]), float(ldc["awards:difference_high"])
    assert low < 0.25 < high
    # results: 5 of 10 now; none of Ethiopia's earlier awards had one, but the first
    # cycle's page hides its two LDC awards' results: the pool is unknown ("x"), and
    # no change is stated
    assert (ldc["results:count"], ldc["results:total"]) == ("5", "10")
    assert ldc["results:earlier_count"] == "x" and ldc["results:difference"] == ""
    assert ("income_group", "low", "awards:count") in change
    assert not [v for v in change.values() if v in ("1", "2", "3", "4")]
    page = client.get(f"/calls/{slug}/after-award")
    assert "Change across cycles" in page.text and "+25 (" in page.text
    fr = web.client("fr").get(f"/calls/{slug}/after-award")
    assert "Évolution d'un cycle à l'autre" in html.unescape(fr.text)
    for text in (page.text, r.text, fr.text):
        assert not [w for w in secrets if w and w in text]


def test_the_office_report_gives_the_change_across_cycles_by_group(db: Session) -> None:
    # every count, however small (the office sees every award); before outcomes16 the
    # report had the cycle trend by income group only, and no earlier-cycles pool
    calls = _three_cycles(db)
    data = oq.report(db, calls[2])
    change = data["after_award"]["share_change"]
    ldc = {r["measure"]: r for r in change["ldc"] if r["group"] == "LDC"}
    assert (ldc["awards"]["count"], ldc["awards"]["total"]) == (5, 10)
    assert (ldc["awards"]["earlier_count"], ldc["awards"]["earlier_total"]) == (5, 20)
    assert ldc["awards"]["difference"] == pytest.approx(0.25)
    assert (ldc["results"]["earlier_count"], ldc["results"]["earlier_total"]) == (0, 15)
    assert ldc["results"]["difference"] == pytest.approx(0.5)
    low = {r["measure"]: r for r in change["income_group"] if r["group"] == "low"}
    assert low["awards"]["count"] == 5
    # the first cycle has nothing to compare with; a later cycle's awards are not earlier
    first = oq.report(db, calls[0])["after_award"]["share_change"]["ldc"]
    assert all(r["earlier_cycles"] == 0 and r["difference"] is None for r in first)
    middle = oq.report(db, calls[1])["after_award"]["share_change"]["ldc"]
    assert {r["earlier_total"] for r in middle if r["measure"] == "awards"} == {10}
    rows = list(csv.reader(io.StringIO(oq.report_csv(data))))
    got = {(r[0], r[1], r[2]): r[3:6] for r in rows[1:]}
    assert got[("ldc", "LDC", "change:awards")][:2] == ["5", "10"]
    assert got[("ldc", "LDC", "change:awards:earlier")][:2] == ["5", "20"]
    assert float(got[("ldc", "LDC", "change:awards:difference")][2]) == pytest.approx(0.25)
