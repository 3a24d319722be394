import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from opencall.calls.queries import call_by_slug
from opencall.outcomes import queries as oq
from opencall.outcomes import report as oa
from opencall.outcomes import stats as ost
from opencall.web.i18n import Translator
from tests.outcomes.test_report_stats import cross, planted_world, rec
from tests.test_pipeline import _cycle


@pytest.fixture
def small_world(demo: Any) -> Iterator[Session]:
    """The demo world of seed 2 at scale 0.12 that tests/test_pipeline.py and the golden
    digest start from (built once per run, copied here; this file built its own worlds of
    seed 4 through the services on each backend)."""
    with demo(2, 0.12)() as s:
        yield s


def test_report_of_a_run_call(small_world: Session) -> None:
    db = small_world
    call = _cycle(db, "trench-2027")
    data = oq.report(db, call)
    assert data["n_applications"] == len(oq.applicant_records(db, call))
    shown = [s["key"] for s in data["stages"] if s["dropped"] is None]
    assert "awarded" in shown and "applied" not in shown  # the denominator is no row
    for by in ("income_group", "un_region", "ldc", "host"):
        assert data["funnels"][by]
        assert {r["stage"] for r in data["funnels"][by]} == set(shown)
        # public counts never show a cell under 5
        for row in data["suppressed"][by].values():
            assert all(v is None or v == 0 or v >= 5 for v in row.values())
    # amounts carry their units (berths and dives on the trench call)
    units = {u for r in data["funnels"]["income_group"] for u in r["amounts"]}
    assert {"berths", "dives"} <= units
    assert set(data["call"]["units"]) >= {"berths", "dives"}
    # one family: every tested statement has an adjusted p-value, the others none
    for x in data["differences"] + [c for cs in data["crosstabs"].values() for c in cs]:
        assert (x["p_adjusted"] is not None) == (x["status"] == "tested")
        if x["status"] == "too few":
            assert min(x["n"], x["n_rest"]) < ost.MIN_TEST_N and not x["flagged"]
    assert set(data["crosstabs"]) == {
        "un_regionxincome_group",
        "income_groupxun_region",
        "un_regionxun_region",
    }
    researchers = data["context"]["by"]["income_group"]["researchers"]["groups"]
    assert abs(sum(g["share"] for g in researchers) - 1) < 1e-9
    for g in researchers:
        assert 0 <= g["low"] <= g["share"] <= g["high"] <= 1
    json.loads(oq.report_json(data))
    csv_text = oq.report_csv(data)
    assert csv_text.startswith("grouping,group,stage")
    pdf = oa.report_pdf(data, Translator("en"))
    assert pdf.startswith(b"%PDF")


def test_report_amounts_are_per_unit_never_added_over_units(small_world: Session) -> None:
    """The trench call awards berths and dives: the report (the API's JSON) gives each
    row's requested, awarded and scheduled amounts per unit, and no total that adds
    berths to dives (mend9b)."""
    data = oq.report(small_world, _cycle(small_world, "trench-2027"))
    assert len(data["call"]["units"]) > 1
    rows = data["funnels"]["income_group"]
    awarded = [r for r in rows if r["stage"] == "awarded"]
    assert any(sum(r["amounts_awarded"].values()) > 0 for r in awarded)
    for r in rows:
        for kind in ("requested", "awarded", "scheduled"):
            assert r[f"amount_{kind}"] is None, (kind, r)
            assert set(r[f"amounts_{kind}"]) <= set(data["call"]["units"])
        if r["amount_kind"]:
            assert r["amounts"] == r[f"amounts_{r['amount_kind']}"]
    by_unit = {u: sum(r["amounts_awarded"].get(u, 0.0) for r in awarded if r["group"] != "all")
               for u in data["call"]["units"]}  # fmt: skip
    all_row = next(r for r in awarded if r["group"] == "all")
    assert by_unit == pytest.approx({u: all_row["amounts_awarded"].get(u, 0.0) for u in by_unit})
    csv_text = oq.report_csv(data)
    head = csv_text.splitlines()[0].split(",")
    line = next(x.split(",") for x in csv_text.splitlines()[1:] if ",awarded," in x)
    assert line[head.index("amount_awarded")] == ""


def test_open_call_report_has_no_awards(demo: Any) -> None:
    # the seed-2 world at scale 0.05 that tests/outcomes/test_report_cache.py starts from
    with demo(2, 0.05)() as db:
        call = call_by_slug(db, "fast-2027")
        data = oq.report(db, call)
    rows = data["funnels"]["income_group"]
    assert rows and all(r["amount_awarded"] == 0 for r in rows)
    assert data["findings"] == []


def test_every_flagged_statement_has_a_difference_and_an_interval() -> None:
    """The report's JSON parts built from a world with a planted reviewer effect and
    a planted award-rate gap: findings exist, each with its difference and interval."""
    records = [rec(f"l{i}", "low", awarded=i < 8) for i in range(60)]
    records += [rec(f"h{i}", "high", awarded=i < 36) for i in range(60)]
    boot = ost.TwoWayBootstrap([r.proposal_id for r in records], {}, n=400)
    statements = ost.group_differences(records, ["income_group"], boot)
    statements += cross(planted_world(1))
    part = oq.statements_json(statements)
    assert len(part["findings"]) >= 2
    assert {"rate", "share", "crosstab"} <= {f["family"] for f in part["findings"]}
    for f in part["findings"]:
        assert f["difference"] is not None and f["low"] is not None and f["high"] is not None
        assert f["low"] <= f["difference"] <= f["high"]
        assert f["low"] > 0 or f["high"] < 0  # a flagged interval excludes 0 here
        assert f["p_adjusted"] <= 0.05
    text = oa.finding_sentence(Translator("en"), part["findings"][0])
    assert "95 % interval" in text
    zh = oa.summary(
        Translator("zh"),
        {
            "n_applications": 120,
            "n_tested": part["n_tested"],
            "method": {"fdr_q": 0.05, "min_test_n": 20},
            "findings": part["findings"],
        },  # fmt: skip
    )
    assert "区间" in zh[1] and "lower-middle" not in " ".join(zh)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_document_reads_without_raw_codes(lang: str) -> None:
    records = [rec(f"l{i}", "lower-middle", awarded=i < 8) for i in range(30)]
    records += [rec(f"h{i}", "high", awarded=i < 20) for i in range(30)]
    boot = ost.TwoWayBootstrap([r.proposal_id for r in records], {}, n=200)
    part = oq.statements_json(ost.group_differences(records, ["income_group"], boot))
    rows = oa.findings_rows(Translator(lang), {**part})
    cells = " ".join(c for r in rows for c in r)
    assert "lower-middle" not in cells and "award_rate" not in cells
    assert ("Lower-middle income" if lang == "en" else "中等偏下收入") in cells


def test_undefined_estimates_are_json_null() -> None:
    from opencall.outcomes.queries import _finite

    got = _finite({"a": float("nan"), "b": [1.0, float("inf")], "c": (2020, 2024)})
    assert got == {"a": None, "b": [1.0, None], "c": [2020, 2024]}
    json.dumps(got, allow_nan=False)
