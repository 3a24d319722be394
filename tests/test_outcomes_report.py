import datetime as dt
import json

from sqlalchemy.orm import Session

from opencall.calls.queries import call_by_slug
from opencall.demo import world
from opencall.outcomes import queries as oq
from tests.test_pipeline import _cycle

ANCHOR = dt.date(2026, 11, 29)


def test_report_of_a_run_call(db: Session) -> None:
    world.build(db, seed=4, anchor=ANCHOR, scale=0.12)
    call = _cycle(db, "trench-2027")
    data = oq.report(db, call)
    assert data["n_applications"] == len(oq.applicant_records(db, call))
    for by in ("income_group", "un_region", "ldc", "host"):
        assert data["funnels"][by]
        # public counts never show a cell under 5
        for row in data["suppressed"][by].values():
            assert all(v is None or v == 0 or v >= 5 for v in row.values())
    shares = [a["awarded_share"] for a in data["access_ratios"]["income_group"]]
    assert abs(sum(shares) - 1) < 1e-9
    json.loads(oq.report_json(data))
    csv_text = oq.report_csv(data)
    assert csv_text.startswith("grouping,group,stage")
    pdf = oq.report_pdf(data)
    assert pdf.startswith(b"%PDF")


def test_open_call_report_has_no_awards(db: Session) -> None:
    world.build(db, seed=4, anchor=ANCHOR, scale=0.05)
    call = call_by_slug(db, "fast-2027")
    data = oq.report(db, call)
    rows = data["funnels"]["income_group"]
    assert rows and all(r["amount_awarded"] == 0 for r in rows)
