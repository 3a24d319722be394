import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.demo import world
from opencall.proposals.models import Proposal
from opencall.proposals.queries import anonymity_findings


def test_demo_proposals_are_clean_and_planted_identifiers_are_found(db: Session) -> None:
    world.build(db, seed=5, anchor=dt.date(2026, 11, 29), scale=0.3)
    proposals = db.scalars(select(Proposal)).all()
    assert len(proposals) > 100
    flagged = {p.code: anonymity_findings(p) for p in proposals}
    assert {k: v for k, v in flagged.items() if v} == {}
    p = proposals[0]
    pi = next(m for m in p.members if m.role == "pi")
    surname = pi.name.split()[-1]
    p.science_case += (
        f" As we showed in {surname} et al. (2021), our group at {pi.institution_name} "
        f"measured this; contact {pi.email} or see https://www.example-lab.org/team."
    )
    kinds = {f.kind for where, f in anonymity_findings(p) if where == "science_case"}
    assert {"self_citation", "institution", "email", "url", "phrase"} <= kinds
