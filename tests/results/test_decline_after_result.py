"""An award whose team has listed a result cannot be declined by its PI (outcomes21).

A PI abroad whose first report is a dataset (no record of use) could still decline
("return") the award: the awards were removed and the dataset, the team's report,
counted nowhere any more (not in "produced results", the results by kind or the
funder's export), while a record of use refused the decline. A result is a report as
a record is (``results.queries.reported_clause``): either refuses it, and the office
ends such an award."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from opencall.errors import DomainError
from opencall.outcomes import queries as oq
from opencall.results import declines
from opencall.results import services as rs
from tests import factories as F
from tests.results.decline_world import build, get_call, get_proposal


@pytest.mark.parametrize("kind", ["dataset", "patent"])
def test_an_award_with_a_result_cannot_be_declined(db: Session, kind: str) -> None:
    w = build(db)
    first = get_proposal(db, w.awarded[0])
    out = {"kind": kind, "title": "Juncao yields at the Fuzhou site", "year": 2027}
    if kind == "patent":
        out["number"] = "CN 112345678 A"
    rs.add_output(db, first, out, actor_id=w.ids["pi"])
    db.flush()
    before = oq.report(db, get_call(db, w))["after_award"]["results"]
    counts = F.table_counts(db)
    with pytest.raises(DomainError, match="already in use"):
        declines.decline_award(db, first, reason="visa", actor_id=w.ids["pi"])
    assert F.table_counts(db) == counts
    assert oq.report(db, get_call(db, w))["after_award"]["results"] == before
