"""Institutions one account can make without end, read by every call's conflicts step
(trialcrowd16). An institution's row is made for each new name typed (the account page,
registration, a team invitation), and nothing bounds their number: an account saving its
page with a new institution each time adds a row a request. The conflicts step of every
call read the whole table into memory to find the ROR ids of the teams' institutions, so
one account's rows slowed every call's step. Now the step reads only the institutions that
have a ROR id (an operator's records; nobody's typing sets one)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call
from opencall.people.models import Institution
from opencall.reviews.services.conflicts import compute_conflicts
from tests.review_cycle import Cycle


def test_the_conflicts_step_reads_no_institution_typed_by_a_stranger(
    cycle: Cycle, factory: sessionmaker[Session]
) -> None:
    """Before the fix the step loaded all 150 of them (the assertion failed)."""
    with factory() as s:
        country = s.scalar(select(Institution.country_iso3).limit(1))
        assert country
        junk = [
            Institution(
                name=f"Junk institute {i}", name_key=f"junk institute {i}", country_iso3=country
            )
            for i in range(150)
        ]
        s.add_all(junk)
        s.commit()
        junk_ids = {i.id for i in junk}
    loaded: list[int] = []

    def on_load(target: Institution, _ctx: Any) -> None:
        loaded.append(target.id)

    event.listen(Institution, "load", on_load)
    try:
        with factory() as s:
            call = s.get(Call, cycle.ids["call"])
            assert call is not None
            compute_conflicts(s, call)
            s.rollback()
    finally:
        event.remove(Institution, "load", on_load)
    assert not junk_ids & set(loaded), len(junk_ids & set(loaded))
