"""The countries of the people trained after a course, and the demonstration sites'
yields with their units (outcomes22).

A juncao or hybrid-rice course trains people from developing countries, who train
others at home. A follow-up report now says where the people its participant trained
come from (``trained_countries``: ISO 3166 alpha-3 code -> people), so that the report
can say how many were trained from low-income countries, from LDCs and from each UN
region; and the yield of a participant's demonstration sites (or a demonstration
package's) beside the local check carries its unit (``yield_unit``: t/ha for rice,
kg/m2 for a mushroom bed). Every figure is checked against a count made here from the
raw reports."""

from __future__ import annotations

import statistics
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.errors import DomainError
from opencall.outcomes import queries as oq
from opencall.outcomes import report as rp
from opencall.people import services as people_services
from opencall.proposals.models import Proposal
from opencall.reference.loader import countries
from opencall.results import domain as rd
from opencall.results import services as rs
from opencall.results.models import PostAwardRecord
from opencall.results.schemas import validate_record
from opencall.web.i18n import Translator
from tests import factories as F
from tests.authz.test_workspace_matrix import session_client
from tests.results.course_world import course_world
from tests.results.test_outcomes_everywhere import pdf_text
from tests.results.test_public_suppression import tables
from tests.web.conftest import Web

#: PI country: [(participant, reported on, people trained, {trainees' country: people},
#: (yield, local check, unit) or None)]; Abebe's first report is replaced by his later one
REPORTS: dict[str, list[tuple[str, str, int, dict[str, int], tuple[float, float, str] | None]]] = {
    "ETH": [
        ("Abebe", "2028-01-10", 12, {"ETH": 12}, None),
        ("Abebe", "2028-05-01", 30, {"ETH": 20, "KEN": 10}, (14.0, 8.0, "kg/m2")),
        ("Almaz", "2028-05-02", 40, {}, (10.0, 8.0, "kg/m2")),
    ],
    "NPL": [("Sita", "2028-05-03", 10, {"NPL": 6, "BGD": 4}, (9.0, 6.0, "t/ha"))],
    "DEU": [("Jonas", "2028-05-04", 5, {"DEU": 5}, (7.5, 7.5, "t/ha"))],
}
BYS = ("income_group", "un_region", "ldc")


def _trainee_group(iso3: str, by: str) -> str:
    c = countries()[iso3]
    if by == "income_group":
        return c.income_group or "unknown"
    if by == "un_region":
        return c.un_region or "unknown"
    return "LDC" if c.ldc else "non-LDC"


def _latest() -> dict[str, tuple[str, str, int, dict[str, int], Any]]:
    """Each participant's latest report (a later one gives the figures to its date)."""
    out: dict[str, tuple[str, str, int, dict[str, int], Any]] = {}
    for iso3, reports in REPORTS.items():
        for r in reports:
            if r[0] not in out or r[1] >= out[r[0]][1]:
                out[r[0]] = (iso3, *r[1:])  # type: ignore[assignment]
    return out


def _want_trained(by: str) -> dict[str, int]:
    """People trained by the trainees' group, counted here from the raw reports."""
    want: dict[str, int] = {}
    for _iso3, _on, people, where, _y in _latest().values():
        if not where:
            want["not_recorded"] = want.get("not_recorded", 0) + people
        for c, n in where.items():
            g = _trainee_group(c, by)
            want[g] = want.get(g, 0) + n
        want["all"] = want.get("all", 0) + people
    return want


def _report(db: Session, props: dict[str, Proposal]) -> None:
    for iso3, reports in REPORTS.items():
        seen: set[str] = set()
        for who, on, people, where, yld in reports:
            if who not in seen:
                rs.add_record(db, props[iso3], "course", {"participant": who, "attended": True,
                                                          "completed": True}, actor_id=None)  # fmt: skip
                seen.add(who)
            data: dict[str, Any] = {"participant": who, "followed_up_on": on,
                                    "people_trained": people}  # fmt: skip
            if where:
                data["trained_countries"] = where
            if yld is not None:
                data.update(yield_t_ha=yld[0], baseline_t_ha=yld[1], yield_unit=yld[2])
            rs.add_record(db, props[iso3], "followup", data, actor_id=None)


def _world(web: Web) -> str:
    with web.factory() as db:
        call, props = course_world(db, REPORTS)
        _report(db, props)
        office = F.user(db, email="office@example.org", language="fr")
        people_services.grant_role(db, office.id, "call_manager", provider_id=call.provider_id)
        db.commit()
        return call.slug


def _call(db: Session, slug: str) -> Call:
    call = db.scalar(select(Call).where(Call.slug == slug))
    assert call is not None
    return call


def test_people_trained_are_counted_by_their_own_country_group(web: Web) -> None:
    slug = _world(web)
    assert _want_trained("ldc") == {"LDC": 30, "not_recorded": 40, "non-LDC": 15, "all": 85}
    with web.factory() as db:
        data = oq.report(db, _call(db, slug))
    aa = data["after_award"]
    for by in BYS:
        got = {r["group"]: r["people_trained"] for r in aa["trained_from"][by]}
        assert got == _want_trained(by), by
    # the CSV: one row a trainees' group
    cells = {(r[0], r[1], r[2]): r[3] for r in oq.after_award_csv_rows(aa)}
    for by in BYS:
        for g, n in _want_trained(by).items():
            assert cells[(by, g, "trained_from:people_trained")] == n, (by, g)
    # the office's table (page and PDF), translated
    for lang in ("en", "fr"):
        tr = Translator(lang).gettext
        doc = rp.report_document(data, tr)
        table = next(
            t for t in doc["trained_from"] if t["title"].endswith(tr("Least developed countries"))
        )
        rows = {r[0]: r[1] for r in table["rows"]}
        assert rows[rp._group(tr, "LDC")] == "30"
        assert rows[rp._group(tr, "all")] == "85"
    # the page shows the same cells
    client, _ = session_client(web, "office@example.org")
    page = client.get(f"/manage/calls/{slug}/report")
    assert page.status_code == 200
    fr = Translator("fr").gettext
    trained = [t for t in tables(page.text) if t[0][1:] == [fr("People trained")]]
    assert trained, "no table of people trained by their country on the page"
    assert {r[0]: r[1] for r in trained[-1][1:]}[rp._group(fr, "all")] == "85"
    # the award's page writes the countries as its form takes them
    with web.factory() as db:
        pid = db.scalar(select(Proposal.id).where(Proposal.title == "Juncao in ETH"))
    award = client.get(f"/awards/{pid}")
    assert award.status_code == 200 and "ETH 20, KEN 10" in award.text
    assert "{&#39;ETH&#39;" not in award.text and "{'ETH'" not in award.text
    # and the PDF prints both tables
    text = " ".join(pdf_text(client.get(f"/manage/calls/{slug}/report.pdf").content).split())
    assert fr("People trained, by their own country") in text
    assert fr("Demonstration-site yields") in text


def test_site_yields_are_reported_by_unit(web: Web) -> None:
    slug = _world(web)
    want: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for iso3, _on, _p, _w, yld in _latest().values():
        if yld is None:
            continue
        g = "low" if iso3 == "ETH" else ("lower-middle" if iso3 == "NPL" else "high")
        for group in (g, "all"):
            want.setdefault((group, yld[2]), []).append((yld[0], yld[1]))
    with web.factory() as db:
        data = oq.report(db, _call(db, slug))
    got = {(r["group"], r["unit"]): r for r in data["after_award"]["site_yields"]["income_group"]}
    assert set(got) == set(want)
    for key, pairs in want.items():
        r = got[key]
        assert r["sites"] == len(pairs), key
        assert r["mean_yield"] == pytest.approx(statistics.mean(y for y, _ in pairs)), key
        assert r["mean_baseline"] == pytest.approx(statistics.mean(b for _, b in pairs)), key
        assert r["median_ratio"] == pytest.approx(statistics.median(y / b for y, b in pairs)), key
    cells = {(r[0], r[1], r[2]): r for r in oq.after_award_csv_rows(data["after_award"])}
    row = cells[("income_group", "low", "site_yield:kg/m2")]
    assert row[3] == 2 and row[5] == pytest.approx(12.0)
    tr = Translator("fr").gettext
    table = rp.report_document(data, tr)["site_yields"][0]
    assert any(r[1] == "kg/m²" and r[2] == "2" and r[3] == "12,00" for r in table["rows"])


def test_package_yields_count_with_their_unit() -> None:
    records = [
        ("package", {"site": "A", "planted_on": "2028-03-01", "yield_t_ha": 9.0,
                     "baseline_t_ha": 6.0}),
        ("package", {"site": "B", "planted_on": "2028-03-01", "yield_t_ha": 3.0,
                     "baseline_t_ha": 2.0, "yield_unit": "kg/m2"}),
        ("package", {"site": "C", "planted_on": "2028-03-01"}),
    ]  # fmt: skip
    assert sorted(rd.site_yields(records)) == [("kg/m2", 3.0, 2.0), ("t/ha", 9.0, 6.0)]


BAD = [
    ({"trained_countries": {"XXX": 10}}, "XXX"),
    ({"trained_countries": {"ETH": -2, "KEN": 12}}, "greater than or equal to 0"),
    ({"trained_countries": {"ETH": 4, "KEN": 4}}, "add up to 8"),
    ({"yield_t_ha": 9.0, "baseline_t_ha": 6.0, "yield_unit": "bushel/acre"}, "yield_unit"),
    ({"yield_t_ha": 900.0, "baseline_t_ha": 6.0, "yield_unit": "kg/m2"}, "at most 100"),
    ({"yield_t_ha": 9.0, "baseline_t_ha": 600.0, "yield_unit": "kg/m2"}, "at most 100"),
    ({"yield_unit": "kg/m2"}, "yield_unit needs a reported yield"),
]


@pytest.mark.parametrize(("extra", "words"), BAD)
def test_bad_countries_counts_and_units_are_refused(extra: dict[str, Any], words: str) -> None:
    data = {"participant": "Abebe", "followed_up_on": "2028-05-01", "people_trained": 10, **extra}
    with pytest.raises(DomainError) as exc:
        validate_record("followup", data)
    assert words in str(exc.value)


def test_a_refused_report_changes_nothing(web: Web) -> None:
    with web.factory() as db:
        _call_, props = course_world(db, ["ETH"])
        before = db.scalar(select(func.count(PostAwardRecord.id)))
        with pytest.raises(DomainError):
            rs.add_record(db, props["ETH"], "followup",
                          {"participant": "Abebe", "followed_up_on": "2028-05-01",
                           "people_trained": 10, "trained_countries": {"ETH": 4, "ZZZ": 6}},
                          actor_id=None)  # fmt: skip
        assert db.scalar(select(func.count(PostAwardRecord.id))) == before
    # a good one is stored as given, codes in capitals
    clean = validate_record("followup", {"participant": "A", "followed_up_on": "2028-05-01",
                                         "people_trained": 10,
                                         "trained_countries": {"eth": 4, "KEN": 6}})  # fmt: skip
    assert clean["trained_countries"] == {"ETH": 4, "KEN": 6}
    assert "yield_unit" not in validate_record(
        "followup", {"participant": "A", "followed_up_on": "2028-05-01"}
    )


def test_the_public_page_hides_small_counts_of_people_trained(web: Web) -> None:
    """The public after-award page and its CSV give the people trained by their own
    country's group with the public tables' rule: a count under 5 is hidden, and enough
    others that none can be worked out from the "All" row or another grouping; here
    Bangladesh's 4 (South Asia... with Nepal's 6: Asia 10) and Germany's 5 must not
    give away a small cell. Checked against integer programs over the published cells."""
    slug = _world(web)
    with web.factory() as db:
        _call(db, slug).status = "published"  # the call's results public
        db.commit()
    client = web.client()
    csv_page = client.get(f"/calls/{slug}/after-award?format=csv")
    assert csv_page.status_code == 200, csv_page.text[:300]
    rows = csv_page.text.splitlines()
    got: dict[tuple[str, str], str] = {}
    for line in rows[1:]:
        table, by, group, measure, value = line.split(",")
        if table == "trained_from":
            assert measure == "people_trained"
            got[(by, group)] = value
    assert got, "no people trained by their country on the public page"
    for by in BYS:
        want = _want_trained(by)
        for g, n in want.items():
            cell = got[(by, g)]
            if n < 5:
                assert cell in ("<5", "x"), (by, g, n, cell)  # never the count itself
            elif cell not in ("x",):
                assert cell == str(n), (by, g)
        # no table with exactly one hidden cell among its groups (the "All" row would give
        # it away)
        hidden = [g for g in want if g != "all" and got[(by, g)] in ("<5", "x")]
        assert len(hidden) != 1 or got[(by, "all")] in ("<5", "x"), (by, hidden)
    page = client.get(f"/calls/{slug}/after-award")
    assert page.status_code == 200
    assert "People trained, by their own country" in page.text
    assert "Abebe" not in page.text and "Almaz" not in page.text
    # outcomes22b: kept as a release of their own page; one more report later, the
    # cells the saved page hid stay hidden, and the first release stays as it was
    with web.factory() as db:
        kept = oq.releases(db, [_call(db, slug).id], oq.TRAINED_PAGE)
        assert [n for n, _r in next(iter(kept.values()))] == [1]
        eth = db.scalar(select(Proposal).where(Proposal.title == "Juncao in ETH"))
        assert eth is not None
        rs.add_record(db, eth, "followup", {"participant": "Abebe", "followed_up_on": "2029-03-01",
                      "people_trained": 40, "trained_countries": {"ETH": 40}}, actor_id=None)  # fmt: skip
        db.commit()
    again = client.get(f"/calls/{slug}/after-award?format=csv").text.splitlines()
    later = {(r.split(",")[1], r.split(",")[2]): r.split(",")[4] for r in again[1:]
             if r.startswith("trained_from,")}  # fmt: skip
    assert later != got  # the new report is published
    for key, cell in got.items():
        if cell in ("<5", "x") and key[1] != "all":
            assert later[key] in ("<5", "x"), key
    with web.factory() as db:
        kept = oq.releases(db, [_call(db, slug).id], oq.TRAINED_PAGE)
        assert [n for n, _r in next(iter(kept.values()))] == [1, 2]


def _pinned(published: dict[str, list[dict[str, Any]]], atoms: dict[tuple[str, ...], int],
            bys: tuple[str, ...]) -> list[tuple[str, str]]:  # fmt: skip
    """The hidden cells that the published ones determine, for a reader who knows only
    what the page shows (a hidden cell is 0 or more): integer programs over the atoms,
    written here apart from the product's audit."""
    import numpy as np
    from scipy import optimize

    keys = list(atoms)
    a_eq, b_eq, hidden = [], [], []
    for i, by in enumerate(bys):
        for r in published[by]:
            v = np.array([1.0 if r["group"] == "all" or k[i] == r["group"] else 0.0 for k in keys])
            if r["people_trained"] is None:
                hidden.append((by, r["group"], v))
            else:
                a_eq.append(v)
                b_eq.append(float(r["people_trained"]))
    out = []
    for by, g, v in hidden:
        ends = []
        for sign in (1.0, -1.0):
            res = optimize.linprog(sign * v, A_eq=np.array(a_eq) if a_eq else None,
                                   b_eq=np.array(b_eq) if b_eq else None,
                                   integrality=np.ones(len(keys)), bounds=(0, None),
                                   method="highs")  # fmt: skip
            ends.append(None if res.status == 3 else round(sign * res.fun))
        if ends[0] is not None and ends[0] == ends[1]:
            out.append((by, g))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_no_small_count_of_people_trained_can_be_worked_out(seed: int) -> None:
    """Seeded worlds of trainees from a handful of countries, some of them few: no
    published count is under 5, and no hidden one follows from the published ones."""
    import random

    from opencall.outcomes import after_award as aa
    from opencall.outcomes import after_award_data as aad

    rng = random.Random(seed)
    pool = ["ETH", "KEN", "NPL", "BGD", "DEU", "BRA", "HTI", "FJI", "VNM", "NGA"]
    trained = {
        str(i): {c: rng.choice([1, 2, 3, 4, 6, 9, 15]) for c in rng.sample(pool, rng.randint(1, 3))}
        for i in range(rng.randint(2, 6))
    }
    if seed % 3 == 0:
        trained["0"][""] = rng.choice([2, 7])  # a report that named no country
    codes = {c for w in trained.values() for c in w if c}
    where = aad.country_groups(codes)
    bys = ("income_group", "un_region", "ldc")
    out = aa.trained_rows(aa.trained_release(trained, where, bys, aad.ORDER, 5))
    atoms: dict[tuple[str, ...], int] = {}
    for w in trained.values():
        for c, n in w.items():
            key = tuple(where[c][by] if c else "not_recorded" for by in bys)
            atoms[key] = atoms.get(key, 0) + n
    for by in bys:
        true = {g: sum(n for k, n in atoms.items() if k[bys.index(by)] == g) for g in
                {k[bys.index(by)] for k in atoms}}  # fmt: skip
        true["all"] = sum(atoms.values())
        for r in out[by]:
            assert r["people_trained"] is None or r["people_trained"] == true[r["group"]]
            assert r["people_trained"] is None or r["people_trained"] >= 5, (by, r)
    assert _pinned(out, atoms, bys) == []


def _differenced(rel1: Any, rel2: Any, report: dict[str, int], where: Any, by: str) -> list[Any]:
    """Groups of the grouping ``by`` whose count the page hid before that a reader who
    saved the page before (``rel1``) and after (``rel2``) one follow-up report and knows
    what that report counted (its author: ``report``, {alpha-3: people}) can work out
    (``domain.recoverable_cells``): one table, groups x (before, the report), whose row
    totals are the counts after."""
    from opencall.outcomes.domain import TOTAL, recoverable_cells

    col = "people_trained"
    t1, t2 = rel1.tables[by], rel2.tables[by]
    rows = list(t2.rows)
    added: dict[str, int] = {}
    for c, n in report.items():
        g = where[c][by] if c else "not_recorded"
        added[g] = added.get(g, 0) + n
    true: dict[tuple[str, str], int] = {}
    for g in [*rows, TOTAL]:
        before = t1.values.get((g, col)) if (g, col) not in t1.primary | t1.complementary else None
        true[(g, "report")] = sum(added.values()) if g == TOTAL else added.get(g, 0)
        true[(g, TOTAL)] = _true_of(rel2, by, g)
        true[(g, "before")] = true[(g, TOTAL)] - true[(g, "report")]
        assert before is None or before == true[(g, "before")]
    prim, comp = [], []
    for t, column in ((t1, "before"), (t2, TOTAL)):
        for (g, _c), v in t.values.items():
            if v is None:
                key = (g, column)
                (prim if true[key] < t.min_cell else comp).append(key)
    pinned = recoverable_cells(rows, ["before", "report"], true, prim, comp, 5)
    # a group the first page published (or had not: nobody) was known before; the
    # reporter knows its own part: only a group the first page hid says more
    return [k for k in pinned if k[0] in t1.rows + (TOTAL,) and t1.values[(k[0], col)] is None]


def _true_of(rel: Any, by: str, g: str) -> int:
    from opencall.outcomes.domain import TOTAL

    i = ("income_group", "un_region", "ldc").index(by)
    return sum(n for k, n in rel.atoms.items() if g == TOTAL or k[i] == g)


@pytest.mark.parametrize("seed", range(16))
def test_no_hidden_count_of_people_trained_follows_from_two_saved_pages(seed: int) -> None:
    """outcomes22b: the tables are kept as releases. A reader saves the page, one more
    follow-up report comes (its author knows what it counted), and the reader saves it
    again: no count either page hid can be worked out from the two."""
    import random

    from opencall.outcomes import after_award as aa
    from opencall.outcomes import after_award_data as aad

    rng = random.Random(seed)
    pool = ["ETH", "KEN", "NPL", "BGD", "DEU", "BRA", "HTI", "FJI", "VNM", "NGA"]
    trained = {
        str(i): {c: rng.choice([1, 2, 3, 4, 6, 9, 15]) for c in rng.sample(pool, rng.randint(1, 3))}
        for i in range(rng.randint(2, 6))
    }
    report = {c: rng.choice([1, 2, 3, 6]) for c in rng.sample(pool, rng.randint(1, 2))}
    if seed % 4 == 0:
        report[""] = rng.choice([2, 6])  # a report that named no country
    codes = {c for w in [*trained.values(), report] for c in w if c}
    where = aad.country_groups(codes)
    bys = ("income_group", "un_region", "ldc")
    rel1 = aa.trained_release(trained, where, bys, aad.ORDER, 5)
    rel2 = aa.trained_release({**trained, "new": report}, where, bys, aad.ORDER, 5, [rel1])
    assert rel1 is not None and rel2 is not None
    # the same counts again are the same release (nothing to subtract)
    assert aa.trained_release(trained, where, bys, aad.ORDER, 5, [rel1]) is rel1
    for by in bys:
        assert _differenced(rel1, rel2, report, where, by) == [], by
        for (_g, _c), v in rel2.tables[by].values.items():
            assert v is None or v >= 5
