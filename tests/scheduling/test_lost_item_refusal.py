"""A loan of an item lost on another team's loan (trialcrowd20b). The refusal named the
award that lost it ("CH-7 was lost on the loan of <code>") and was shown to whoever
recorded the new loan: the award's team may record on their own award and may not see
another team's. Now a loan of another award is said without its code; the office's
file of loans (which it may read whole) and the team's own loans keep the code."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from opencall.allocation.models import Award
from opencall.errors import DomainError
from opencall.proposals.models import Proposal
from opencall.results import services as res
from tests.scheduling.conftest import SlotWorld
from tests.scheduling.test_lost_item_outage import _krios_b
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def test_a_loan_refused_for_another_teams_loss_does_not_name_its_award(
    web: Web, stored: SlotWorld
) -> None:
    b, award_id, rows = _krios_b(web, stored)
    first = rows[0][2]
    other = next(p for _i, _t, p in rows if p != first)
    day = rows[0][1].date().isoformat()
    loan = {"sample": "Cryo holder", "item": "CH-7", "shipped_on": day}
    with web.factory() as s:
        res.add_node_record(s, s.get_one(Award, award_id), "loan", loan, actor_id=None)
        s.commit()
    with web.factory() as s:
        code = s.get_one(Proposal, first).code
        theirs = s.get_one(Proposal, other)
        out = {**loan, "shipped_on": rows[-1][1].date().isoformat()}
        with pytest.raises(DomainError) as still_out:
            res.add_record(s, theirs, "loan", out, actor_id=None)
        # the own team's loan names its own award
        rec = s.scalars(
            select(res.PostAwardRecord).where(res.PostAwardRecord.proposal_id == first)
        ).one()
        res.update_record(s, rec, {**loan, "condition": "lost", "lost_on": day}, actor_id=None)
        s.commit()
    with web.factory() as s:
        theirs = s.get_one(Proposal, other)
        with pytest.raises(DomainError) as lost:
            res.add_record(s, theirs, "loan", out, actor_id=None)
        with pytest.raises(DomainError) as own:
            res.add_record(s, s.get_one(Proposal, first), "loan", out, actor_id=None)
    for refused in (still_out, lost):
        said = str(refused.value)
        assert "CH-7" in said and code not in said, said
    assert "lost" in str(lost.value) and code in str(own.value), str(own.value)
