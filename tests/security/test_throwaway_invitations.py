"""Team invitations to throwaway mailboxes (trialcrowd11). Registration refuses addresses
at throwaway-mailbox services (trialcrowd10, ``people.domain.throwaway_mailbox``); a team
invitation did not: a PI could invite any number of mailinator.com boxes (each mailed the
proposal's title), and put on the team "members" no person can ever be (the invitee
cannot register at that address, so the invitation is never answered), each with the
institution and country the PI typed. Now the page and the API refuse such an invitation
(400, the field named), nothing written or mailed, whether or not an account has the
address (the answer must not tell). Ordinary and big free mail services are invited."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from opencall import jobs
from opencall.proposals.models import TeamMember
from tests.web.conftest import Web, World, api_bearer, invite_by_api, invite_on_site

pytestmark = pytest.mark.filterwarnings("ignore")

REFUSED = "throwaway mailbox"


def _counts(web: Web) -> tuple[int, int]:
    jobs.run_pending(web.app.state.sessions, web.app.state.jobs)
    with web.factory() as s:
        return s.scalar(select(func.count()).select_from(TeamMember)) or 0, len(web.mails())


def test_a_team_invitation_to_a_throwaway_mailbox_is_refused(web: Web, world: World) -> None:
    pid = world.ids["proposal"]
    c = web.login(world.emails["pi"])
    before = _counts(web)
    for email in ("coi@mailinator.com", "coi2@EU.Mailinator.com", "x@yopmail.com"):
        r = invite_on_site(c, pid, email)
        # before the fix: 303, the member added and the invitation mailed
        assert r.status_code == 400, (email, r.status_code)
        assert REFUSED in html.unescape(r.text)
    r = invite_by_api(web, api_bearer(web, world.emails["pi"]), pid, "coi3@mailinator.com")
    assert r.status_code in (400, 422) and REFUSED in r.json()["detail"], r.text
    assert _counts(web) == before
    # an ordinary address, and a big free mail service, are invited as before
    assert invite_on_site(c, pid, "ana@univ.example.edu").status_code == 303
    assert invite_on_site(c, pid, "li@qq.com").status_code == 303
    assert _counts(web)[0] == before[0] + 2
