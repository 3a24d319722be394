"""The chair's ranking page reads the proposals of the ranking only: it read every
proposal under review of the call and their teams even before any ranking existed
(21,811 rows for a page of 2 KiB at the demo's scale 20, 4,476 proposals)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call
from opencall.proposals.models import Proposal
from opencall.reviews.models import RankedProposal, SolverRun
from tests.scale.test_page_queries import world
from tests.scale.test_paged_lists import _loaded
from tests.web.conftest import Web


def test_the_ranking_page_reads_only_the_ranked_proposals(
    web: Web, factory: sessionmaker[Session]
) -> None:
    def loaded_for(n: int, ranked: bool) -> tuple[int, int]:
        data = world(factory, n)
        if not ranked:
            with factory() as s:
                call = s.scalars(select(Call).where(Call.slug == data["slug"])).one()
                s.execute(delete(RankedProposal).where(RankedProposal.call_id == call.id))
                s.execute(delete(SolverRun).where(SolverRun.call_id == call.id))
                s.commit()
        c = web.login(data["chair"])
        path = f"/manage/calls/{data['slug']}/ranking"
        c.get(path)  # warm
        with _loaded(Proposal) as loaded:
            r = c.get(path)
        assert r.status_code == 200
        shown = sum(code in r.text for code in data["codes"])
        return loaded["Proposal"], shown

    # before any ranking: none read, for 3 or 24 proposals (before: 4 and 25)
    assert loaded_for(3, ranked=False) == loaded_for(24, ranked=False) == (0, 0)
    # with a ranking: the ranked ones, each shown
    assert loaded_for(5, ranked=True) == (6, 6)
