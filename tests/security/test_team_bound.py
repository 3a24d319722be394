"""A proposal's team has a bound (trialcrowd15). The hourly limit on invitations
(``OPENCALL_INVITE_THROTTLE_PER_HOUR``, 30) bounded their pace, not their total: one draft
took 720 members a day, each a row of every page, export and submitted revision of the
proposal, a conflict key for every review and an e-mail. Now a team holds at most
``proposals.services.team.MAX_TEAM`` people (the PI and pending invitations included,
declined ones not); the next invitation is refused on the page and in the API with the
bound said, nobody added or mailed, the inviter's hourly count untouched."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from opencall import jobs
from opencall.people.models import EmailSend
from opencall.proposals.models import TeamMember
from opencall.proposals.services import team
from tests.web.conftest import Web, World, api_bearer, invite_by_api, invite_on_site

pytestmark = pytest.mark.filterwarnings("ignore")


def _counts(web: Web, pid: int) -> tuple[int, int, int]:
    jobs.run_pending(web.app.state.sessions, web.app.state.jobs)
    with web.factory() as s:
        members = s.scalar(
            select(func.count()).select_from(TeamMember).where(TeamMember.proposal_id == pid)
        )
        sends = s.scalar(select(func.count()).select_from(EmailSend))
    return members or 0, sends or 0, len(web.mails())


def test_a_team_holds_a_bounded_number_of_people(
    web: Web, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = world.ids["proposal"]  # the PI, an accepted co-investigator, a pending invitation
    monkeypatch.setattr(team, "MAX_TEAM", 4, raising=False)
    c = web.login(world.emails["pi"], lang="fr")
    r = invite_on_site(c, pid, "fourth@example.net")
    assert r.status_code == 303, r.status_code  # type: ignore[attr-defined]
    before = _counts(web, pid)
    r = invite_on_site(c, pid, "fifth@example.net")
    assert r.status_code == 400, r.status_code  # type: ignore[attr-defined]
    assert "au plus 4 personnes" in html.unescape(r.text)  # type: ignore[attr-defined]
    bearer = api_bearer(web, world.emails["pi"])
    r = invite_by_api(web, bearer, pid, "sixth@example.net")
    assert r.status_code == 400 and "at most 4 people" in r.json()["detail"], r.text
    assert _counts(web, pid) == before
    # a declined invitation is not counted: its invitee said no
    with web.factory() as s:
        pending = s.get(TeamMember, world.ids["invitation"])
        assert pending is not None
        pending.status = "declined"
        s.commit()
    r = invite_by_api(web, bearer, pid, "sixth@example.net")
    assert r.status_code == 201, r.text
