"""One account cannot use team invitations to mail strangers at will. Each invitation
mails the address typed ("<name> invites you to join the team of the proposal “<title>”"
with a title the inviter chose); the per-address limit kept one address from being
mailed again and again, but nothing limited how many addresses one account invited:
inviting, removing and inviting the next address, a PI mailed any number of strangers
an hour. Beyond ``invite_throttle_per_hour`` invitations an hour per account the site
and the API answer 429 and invite (and mail) nobody."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from opencall import jobs
from opencall.app import create_app
from opencall.proposals.models import TeamMember
from tests.web.conftest import Web, World, api_bearer, invite_by_api, invite_on_site, web_settings

pytestmark = [
    pytest.mark.filterwarnings("ignore"),
    pytest.mark.parametrize("engine", ["sqlite"], indirect=True),  # the web layer's answer
]


def _members(web: Web) -> int:
    with web.factory() as s:
        return s.scalar(select(func.count()).select_from(TeamMember)) or 0


def test_one_account_invites_at_most_so_many_an_hour(web: Web, world: World) -> None:
    settings = web_settings(web.factory.kw["bind"], web.tmp, invite_throttle_per_hour=3)
    web = Web(create_app(settings), settings, web.factory, web.tmp)
    pid = world.ids["proposal"]
    c = web.login(world.emails["pi"], lang="fr")
    for i in range(3):
        r = invite_on_site(c, pid, f"stranger{i}@example.net")
        assert r.status_code == 303, (i, r.status_code)  # type: ignore[attr-defined]
    members, mails = _members(web), len(web.mails())
    r = invite_on_site(c, pid, "stranger9@example.net")
    assert r.status_code == 429, r.status_code  # type: ignore[attr-defined]
    assert "invitations" in html.unescape(r.text)  # type: ignore[attr-defined]
    bearer = api_bearer(web, world.emails["pi"])
    r = invite_by_api(web, bearer, pid, "stranger10@example.net")
    assert r.status_code == 429, r.text
    jobs.run_pending(web.app.state.sessions, web.app.state.jobs)
    assert (_members(web), len(web.mails())) == (members, mails)
    # another account's invitations are its own
    other = web.login(world.emails["other"])
    r = invite_on_site(other, world.ids["other_proposal"], "colleague@example.net")
    assert r.status_code == 303, r.status_code  # type: ignore[attr-defined]
