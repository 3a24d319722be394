from typing import Any

from sqlalchemy import select

from opencall.proposals.models import Proposal
from opencall.proposals.queries import anonymity_findings
from tests.conftest import RUN_ONCE


# run once: the scan is of the texts in Python; the world is the bias-correction and
# reviewer-effects tests' (both backends)
@RUN_ONCE
def test_demo_proposals_are_clean_and_planted_identifiers_are_found(demo: Any) -> None:
    # the demo world of seed 2 at scale 0.45 (180 proposals): the one the bias-correction
    # and reviewer-effects tests start from, built once per run and copied here (this
    # test built its own world of seed 5 at scale 0.3 through the services: ~5 s a backend)
    with demo(2, 0.45)() as db:
        proposals = db.scalars(select(Proposal).order_by(Proposal.id)).all()
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
