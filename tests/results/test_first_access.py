"""First-time and repeat access after many cycles: each award of a call counted as its
PI's first at the facility or a repeat (an award in an earlier cycle of the same
facility), and its PI's institution likewise, by income group, UN region and LDC status;
in the report's JSON, its CSV and its page and PDF tables, the same counts."""

from __future__ import annotations

import csv
import io

from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.outcomes import after_award as aa
from opencall.outcomes import queries as oq
from opencall.outcomes import report as orep
from opencall.people.models import User
from tests import factories as F
from tests.results.awards_world import telescope_cycles

#: three cycles of one facility, oldest first: each award named by its PI (the same
#: key is the same person), their country and institution from ``PEOPLE``
PEOPLE = {
    "amina": ("KEN", "University of Nairobi"),
    "jonas": ("DEU", "Universität Heidelberg"),
    "sara": ("ETH", "Addis Ababa University"),
    "tesfaye": ("ETH", "Addis Ababa University"),  # Sara's institution, later
    "nima": ("NPL", "Tribhuvan University"),
}
CYCLES = [["amina", "jonas"], ["amina", "sara"], ["amina", "tesfaye", "nima", "jonas"]]


def _cycles(s: Session) -> list[Call]:
    people: dict[str, User] = {
        k: F.user(s, country=iso3, institution=inst) for k, (iso3, inst) in PEOPLE.items()
    }
    built = telescope_cycles(s, [[(people[who], True) for who in pis] for pis in CYCLES])
    return [call for call, _props in built]


def _by(rows: list[dict], group: str) -> dict:
    return next(r for r in rows if r["group"] == group)


def test_first_time_and_repeat_awards_by_group_over_three_cycles(db: Session) -> None:
    calls = _cycles(db)
    first = oq.report(db, calls[0])["after_award"]["access"]
    assert _by(first["ldc"], "all")["first_time"] == 2  # everyone is new in cycle one
    data = oq.report(db, calls[2])
    access = data["after_award"]["access"]
    # cycle three: Amina (KEN) and Jonas (DEU) come back; Tesfaye (ETH) and Nima (NPL)
    # are new, Tesfaye from an institution awarded before (Sara's), Nima's is new
    every = _by(access["ldc"], "all")
    assert (every["awarded"], every["first_time"], every["repeat"]) == (4, 2, 2)
    assert every["institution_first_time"] == 1 and every["institution_known"] == 4
    ldc = _by(access["ldc"], "LDC")  # ETH and NPL
    assert (ldc["awarded"], ldc["first_time"], ldc["repeat"]) == (2, 2, 0)
    assert ldc["institution_first_time"] == 1
    other = _by(access["ldc"], "non-LDC")
    assert (other["first_time"], other["repeat"]) == (0, 2)
    low = _by(access["income_group"], "low")  # ETH
    assert (low["awarded"], low["first_time"], low["institution_first_time"]) == (1, 1, 0)
    assert low["first_time_rate"] == 1.0 and 0 < low["first_time_low"] < 1
    # the CSV carries the same counts
    rows = list(csv.reader(io.StringIO(oq.report_csv(data))))
    got = {(r[0], r[1], r[2]): r[3] for r in rows[1:]}
    assert got[("ldc", "LDC", "access:first_time")] == "2"
    assert got[("ldc", "all", "access:repeat")] == "2"
    assert got[("ldc", "LDC", "access:institution_first_time")] == "1"
    # the page's and the PDF's tables (one per grouping), the same counts
    doc = orep.report_document(data, lambda m, **kw: m % kw if kw else m)
    table = next(t for t in doc["access"] if "Least developed" in t["title"])
    assert table["rows"][0][1:5] == ["2", "2", "0", "1"]  # LDC first, as in every table


def test_first_access_counts_each_award_by_its_pi() -> None:
    rows = [
        aa.AfterAwardRow(proposal_id=str(i), groups={"ldc": g})
        for i, g in enumerate(["LDC", "LDC", "non-LDC"])
    ]
    first = {"0": (True, True), "1": (False, None), "2": (True, False)}
    got = {r.group: r for r in aa.access_by_group(rows, first, "ldc", ["LDC", "non-LDC"])}
    assert (got["LDC"].first_time, got["LDC"].repeat, got["LDC"].institution_known) == (1, 1, 1)
    assert (got["all"].first_time, got["all"].institution_first_time) == (2, 1)


def test_allocation_and_report_agree_on_first_time_pis(db: Session) -> None:
    """One rule of a first-time PI: the share rule's group ``first_time`` (allocation) and
    the report's first access name the same PIs, even when a later cycle has released its
    decisions already (Sara, awarded in cycle three, is still new in cycle two)."""
    from opencall.allocation import services as alloc
    from opencall.outcomes import after_award_data as aad

    people = {k: F.user(db, country=iso3, institution=inst) for k, (iso3, inst) in PEOPLE.items()}
    built = telescope_cycles(
        db,
        [
            [(people["amina"], True)],
            [(people["amina"], True), (people["sara"], True)],
            [(people["sara"], True), (people["jonas"], True)],
        ],
    )
    for call, props in built:
        firsts = aad.first_access(db, aad.facility_cycles(db, call))[call.id]
        repeat = alloc.repeat_pis(db, call)
        by_report = {p.pi_user_id for p in props if firsts[str(p.id)][0]}
        by_allocation = {p.pi_user_id for p in props if p.pi_user_id not in repeat}
        assert by_allocation == by_report
    middle = {
        p.pi_user_id for p in built[1][1] if p.pi_user_id not in alloc.repeat_pis(db, built[1][0])
    }
    assert middle == {people["sara"].id}
