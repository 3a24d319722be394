"""First access when a programme passed through another facility of the provider
(outcomes20). The rule, one for the report's first and repeat access, the allocation's
share group ``first_time`` and the report's trend of programmes begun: an award is a
repeat access at a facility when its programme (the chain of awards it continues, at any
facility) had an award in an earlier cycle of this facility; a programme whose earlier
awards were all at other facilities of the provider is new here (its first award here is
a first access and begins a programme in the trend). Before, the report and the share
group looked at the one award continued alone: a programme of this facility continued
at a sister facility and brought back (to a new PI) counted as a first access here."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from opencall.allocation import services as alloc
from opencall.outcomes import after_award_data as aad
from opencall.outcomes import queries as oq
from tests import factories as F
from tests.results.awards_world import telescope_cycles


def _sister(db: Session, here: Any, there: Any) -> None:
    """``there``'s facility becomes a facility of ``here``'s provider."""
    there.facility.provider_id = here.facility.provider_id
    db.flush()


def test_a_programme_back_from_a_sister_facility_is_a_repeat_access(db: Session) -> None:
    amina, sara, nima = (F.user(db, country=c) for c in ("KEN", "ETH", "NPL"))
    (a0c, (x,)), (a1c, (z, n1)) = telescope_cycles(
        db, [[(amina, True)], [(sara, True), (nima, True)]], first_year=2024
    )
    ((b0c, (y,)),) = telescope_cycles(db, [[(amina, True)]], first_year=2025)
    _sister(db, a0c, b0c)
    y.continues_id = x.id  # Amina's programme went on at the sister facility
    z.continues_id = y.id  # and came back here, handed to Sara
    db.flush()
    firsts = aad.first_access(db, [a0c, a1c])[a1c.id]
    assert firsts[str(z.id)][0] is False, firsts  # the programme had access here
    assert firsts[str(n1.id)][0] is True
    assert alloc._groups_of(db, a1c, [z, n1])["first_time"] == {str(n1.id)}
    trend = oq.report(db, a1c)["after_award"]["trend"]
    cycle = f"{a1c.code} ({a1c.cycle})"
    assert sum(r["programmes"] for r in trend if r["cycle"] == cycle) == 1, trend


def test_a_programme_from_a_sister_facility_is_new_here(db: Session) -> None:
    amina, sara = F.user(db, country="KEN"), F.user(db, country="ETH")
    ((b0c, (y,)),) = telescope_cycles(db, [[(amina, True)]], first_year=2024)
    ((a0c, (z,)),) = telescope_cycles(db, [[(sara, True)]], first_year=2025)
    _sister(db, a0c, b0c)
    z.continues_id = y.id
    db.flush()
    assert aad.first_access(db, [a0c])[a0c.id][str(z.id)][0] is True
    assert alloc._groups_of(db, a0c, [z])["first_time"] == {str(z.id)}
    trend = oq.report(db, a0c)["after_award"]["trend"]
    assert sum(r["programmes"] for r in trend) == 1, trend
