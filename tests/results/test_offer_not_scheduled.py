"""mend9a, item 1: an award offered to the next in line after a decline is not placed
on the stored schedule (the schedule is not rerun by the offer). The user office must not
believe it booked: the schedule page and ``GET /api/v1/calls/<slug>/schedule`` list it as
"not scheduled yet: rerun the schedule" until the schedule gives it an entry."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from opencall.allocation import services as al
from opencall.proposals.models import Proposal
from opencall.results import declines
from opencall.scheduling import queries as sq
from opencall.scheduling.models import ScheduleEntry
from tests.authz.test_workspace_matrix import session_client
from tests.results.decline_world import Declining, build, get_call, get_proposal
from tests.results.test_decline_web import _token
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def _offered(web: Web) -> tuple[Declining, str]:
    """The decline world with every award scheduled (one entry each), the first award
    declined and the freed capacity offered to the best-ranked proposal waiting."""
    with web.factory() as s:
        w = build(s)
        call = get_call(s, w)
        for pid in w.awarded[1:]:
            s.add(ScheduleEntry(call_id=call.id, proposal_id=pid, kind="fast", label="block",
                                amount=1.0))  # fmt: skip
        s.flush()
        assert sq.not_scheduled(s, call) == []  # every award has its entry
        declines.decline_award(s, get_proposal(s, w.awarded[0]), reason="visa",
                               actor_id=w.ids["pi"])  # fmt: skip
        al.offer_award(s, call, get_proposal(s, w.waiting[0]), reason="next in line",
                       actor_id=w.ids["chair"])  # fmt: skip
        assert sq.not_scheduled(s, call) == [w.waiting[0]]
        code = s.scalar(select(Proposal.code).where(Proposal.id == w.waiting[0]))
        s.commit()
    assert code
    return w, code


def test_an_offered_award_is_shown_not_scheduled_yet(web: Web) -> None:
    w, code = _offered(web)
    chair, _tok = session_client(web, w.emails["chair"])
    page = chair.get(f"/manage/calls/{w.slug}/schedule")
    assert page.status_code == 200
    assert 'id="not-scheduled"' in page.text and code in page.text
    assert "rerun the schedule" in page.text
    api = web.client()
    head = {"Authorization": f"Bearer {_token(web, w.emails['chair'])}"}
    body = api.get(f"/api/v1/calls/{w.slug}/schedule", headers=head).json()
    assert body["not_scheduled"] == [code]
    # once the schedule gives it an entry (placed or not), it is no longer listed
    with web.factory() as s:
        call = get_call(s, w)
        s.add(ScheduleEntry(call_id=call.id, proposal_id=w.waiting[0], kind="fast",
                            label="block", amount=1.0))  # fmt: skip
        s.commit()
        assert sq.not_scheduled(s, call) == []
    page = chair.get(f"/manage/calls/{w.slug}/schedule")
    assert 'id="not-scheduled"' not in page.text
