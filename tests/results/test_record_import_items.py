"""trialop19: the records file keeps the rule the forms and the API keep: an item (a
glider's serial number, ``LoanData.item``) is out on one loan at a time, and a lost one
is never lent again, whether the other loan is stored already or on an earlier line of
the same file. Before, the import stored every row: two teams held the same glider at
once. A bad row is named by its line; nothing is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.errors import DomainError
from opencall.people import services as people_services
from opencall.results import services as res
from opencall.results.models import PostAwardRecord
from tests import factories as F
from tests.results.awards_world import awarded_samples_call

HEADER = "award,kind,sample,item,shipped_on,received_on,due_on,returned_on,condition,lost_on\n"


def _office(db: Session, provider_id: int) -> F.User:  # type: ignore[name-defined]
    office = F.user(db)
    people_services.grant_role(db, office.id, "call_manager", provider_id=provider_id)
    return office


def test_an_item_out_on_an_earlier_line_or_lost_is_refused_by_line(db: Session) -> None:
    call, (ken, uga, deu) = awarded_samples_call(db, ["KEN", "UGA", "DEU"])
    office = _office(db, call.provider_id)
    text = HEADER + (
        f"{ken.code},loan,Glider,SG-1,2027-06-01,,2027-07-01,,,\n"  # line 2: out
        f"{uga.code},loan,Glider,sg-1,2027-06-10,,2027-07-10,,,\n"  # line 3: still out
        f"{deu.code},loan,Glider,SG-2,2027-06-01,,2027-07-01,,lost,2027-06-20\n"  # 4: lost
        f"{ken.code},loan,Glider,SG-2,2027-07-01,,2027-08-01,,,\n"  # line 5: lost before
        f"{uga.code},loan,Glider,SG-3,2027-06-01,,,2027-06-20,good,\n"  # line 6: back
        f"{deu.code},loan,Glider,SG-3,2027-07-01,,2027-08-01,,,\n"  # line 7: free again
    )
    counts = F.table_counts(db)
    with pytest.raises(DomainError) as err:
        res.import_call_records(db, call, office, "loans.csv", text)
    said = err.value.message
    assert "2 entries were refused" in said, said
    assert "line 3" in said and "still out" in said and ken.code in said, said
    assert "line 5" in said and "lost" in said and deu.code in said, said
    for fine in ("line 2", "line 4", "line 6", "line 7"):
        assert fine not in said, (fine, said)
    assert F.table_counts(db) == counts


def test_an_item_out_on_a_stored_loan_is_refused_and_a_returned_one_lent(db: Session) -> None:
    call, (ken, uga) = awarded_samples_call(db, ["KEN", "UGA"])
    office = _office(db, call.provider_id)
    res.add_record(db, ken, "loan", {"sample": "Glider", "item": "SG-9",
                                     "shipped_on": "2027-06-01"}, actor_id=office.id)  # fmt: skip
    db.flush()
    row = f"{uga.code},loan,Glider,SG-9,2027-06-10,,2027-07-10,,,\n"
    with pytest.raises(DomainError, match=r"line 2.*SG-9 is still out"):
        res.import_call_records(db, call, office, "loans.csv", HEADER + row)
    assert len(db.scalars(select(PostAwardRecord)).all()) == 1
    # its return, then the file's loan of it is stored
    out = db.scalars(select(PostAwardRecord)).one()
    res.update_record(db, out, {**out.data, "returned_on": "2027-06-05"}, actor_id=office.id)
    assert len(res.import_call_records(db, call, office, "loans.csv", HEADER + row)) == 1
