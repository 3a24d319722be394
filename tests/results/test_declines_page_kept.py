"""The chair's declines page keeps the allocation problem's whole awards between views
(mend10c): it rebuilt the problem on every view (1.6-1.9 s of CPU at 2,000 proposals,
bench/bench_declines.py). A second view builds nothing; a decline, an offer or a new
allocation run is seen on the next view, never a stale list."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest
from sqlalchemy import select

from opencall.allocation import services as al
from opencall.allocation.models import Decision
from opencall.calls.models import Call
from opencall.proposals.models import Proposal
from opencall.results import declines
from tests.authz.test_workspace_matrix import session_client
from tests.results.decline_world import build
from tests.results.test_decline_web import _token
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(autouse=True)
def _no_whole_awards_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no whole awards kept: an earlier test's copy of the same kept
    world (``tests.kept_builds``) has the same run (id, inputs hash and time) in a
    database of the same address, whose entry would be found."""
    monkeypatch.setattr(al, "_WHOLE_AWARDS", OrderedDict())


def _count_builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one each time the allocation problem is built."""
    built: list[int] = []
    real = al.build_problem

    def counted(*args: Any, **kw: Any) -> Any:
        built.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(al, "build_problem", counted)
    return built


def _line(page: str) -> str:
    return page.split('id="line"')[1].split("</table>")[0]


def test_a_second_view_builds_nothing_and_every_change_is_seen(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    with web.factory() as s:
        w = build(s)
        first_pi = s.get(Proposal, w.awarded[0])
        assert first_pi is not None
        declines.decline_award(s, first_pi, reason="visa", actor_id=w.ids["pi"])
        codes = {pid: p.code for pid, p in ((i, s.get(Proposal, i)) for i in w.waiting) if p}
        s.commit()
    built = _count_builds(monkeypatch)
    chair, tok = session_client(web, w.emails["chair"])
    first, second = w.waiting
    line = _line(chair.get(f"/manage/calls/{w.slug}/declines").text)
    assert codes[first] in line and codes[second] in line
    assert len(built) == 1
    line = _line(chair.get(f"/manage/calls/{w.slug}/declines").text)
    assert codes[first] in line and codes[second] in line
    assert len(built) == 1  # the second view: nothing rebuilt
    # an offer: the offered proposal leaves the line, and the other no longer fits
    r = chair.post(f"/manage/calls/{w.slug}/declines/{first}/offer",
                   data={"csrf_token": tok, "reason": "A berth was declined"})  # fmt: skip
    assert r.status_code == 303, r.text[:2000]
    offered = len(built)  # the offer checks the proposal's whole award itself
    line = _line(chair.get(f"/manage/calls/{w.slug}/declines").text)
    assert codes[first] not in line and codes[second] not in line
    # a second decline frees room again: the next view lists the other at once
    with web.factory() as s:
        other = s.get(Proposal, w.awarded[1])
        assert other is not None
        declines.decline_award(s, other, reason="dates", actor_id=w.ids["other_pi"])
        s.commit()
    page = chair.get(f"/manage/calls/{w.slug}/declines").text
    assert f'id="d{w.awarded[1]}"' in page
    line = _line(page)
    assert codes[second] in line and codes[first] not in line
    api = web.client()
    headers = {"Authorization": f"Bearer {_token(web, w.emails['chair'])}"}
    listed = api.get(f"/api/v1/calls/{w.slug}/declines", headers=headers).json()
    assert [x["proposal_id"] for x in listed["next_in_line"]] == [second]
    # no view built the problem again: its requests did not change with the decisions
    assert len(built) == offered


def test_a_new_allocation_run_is_a_new_key(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole awards are kept under the latest allocation run: another run (here the
    same call's problem solved again) builds them again, once."""
    with web.factory() as s:
        w = build(s)
        call = s.get(Call, w.call_id)
        assert call is not None
        first = al.whole_awards(s, call)
        built = _count_builds(monkeypatch)
        assert al.whole_awards(s, call) == first and built == []
        decisions = s.scalars(select(Decision).where(Decision.call_id == call.id)).all()
        assert decisions
        # a new run recorded for the call (what run_allocation records)
        from opencall.runs import Solve, record_run

        record_run(s, call, "allocation", Solve(0, None), inputs={"other": 1}, parameters={})
        s.flush()
        assert al.whole_awards(s, call) == first and len(built) == 1
        assert al.whole_awards(s, call) == first and len(built) == 1
