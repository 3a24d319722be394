"""A result dated before its award cannot have come from it: a paper of 2019 linked to an
award of 2027 made the award "produced results" with zero days to its first result, and
raised the call's share of awards with results. It is refused with a clear error (typed
in, one award's file, the office's file for the call), and nothing is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall.errors import DomainError
from opencall.results import queries as rq
from opencall.results import services as res
from opencall.results.models import ResearchOutput
from tests.results.awards_world import awarded_samples_call
from tests.results.test_call_import import bib, office_of


def stored(s: Session) -> int:
    return s.scalar(select(func.count()).select_from(ResearchOutput)) or 0


def test_a_result_published_before_the_award_is_refused(db: Session) -> None:
    call, props = awarded_samples_call(db, ["KEN"])
    day0 = rq.awarded_on(call)
    before = {"title": "Earlier", "year": day0.year, "published_on": day0.replace(day=1)}
    with pytest.raises(DomainError, match="before the award"):
        res.add_output(db, props[0], {**before, "published_on": str(before["published_on"])},
                       actor_id=None)  # fmt: skip
    with pytest.raises(DomainError, match="before the award"):  # a year, no day
        res.add_output(db, props[0], {"title": "Old", "year": day0.year - 1}, actor_id=None)
    assert stored(db) == 0
    # the award's own day and its year without a day are the award's
    res.add_output(
        db, props[0], {"title": "Same day", "year": day0.year, "published_on": str(day0)},
        actor_id=None,
    )  # fmt: skip
    res.add_output(db, props[0], {"title": "That year", "year": day0.year}, actor_id=None)
    assert stored(db) == 2


def test_files_with_a_result_before_the_award_store_nothing_and_name_it(db: Session) -> None:
    call, props = awarded_samples_call(db, ["KEN", "DEU"])
    day0 = rq.awarded_on(call)
    a, b = (p.code for p in props)
    text = bib("fine", a) + bib("old", b, year=str(day0.year - 3), title="Old work")
    with pytest.raises(DomainError) as err:
        res.import_call_outputs(db, call, office_of(db, call), "cycle.bib", text)  # type: ignore[arg-type]
    assert "Old work" in str(err.value) and "before the award" in str(err.value)
    with pytest.raises(DomainError, match="before the award"):
        res.import_outputs(db, props[1], "mine.bib", bib("old", b, year=str(day0.year - 3)),
                           actor_id=None)  # fmt: skip
    assert stored(db) == 0
