"""A client's answers to the site's hourly limits (trialapi23). A partner's client that
invites teams for many applicants over a flaky link meets the per-account limit on team
invitations: the 429 must say when to try again (``Retry-After``, in seconds, as the
upload limit's 429 does), and the retry it then sends, with the same ``Idempotency-Key``
as the standard asks of a retry, must run again rather than be handed back the kept 429
for a day: a 429 is, like a 503, "nothing was done, try later"."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from opencall.app import create_app
from opencall.proposals.models import Proposal, TeamMember
from tests.web.conftest import Web, World, api_bearer, invite_by_api, invite_on_site, web_settings

pytestmark = pytest.mark.filterwarnings("ignore")


def _limited(web: Web, per_hour: int) -> Web:
    settings = web_settings(web.factory.kw["bind"], web.tmp, invite_throttle_per_hour=per_hour)
    return Web(create_app(settings), settings, web.factory, web.tmp)


def _members(web: Web) -> int:
    with web.factory() as s:
        return s.scalar(select(func.count()).select_from(TeamMember)) or 0


def test_the_invitation_limit_says_when_to_try_again(web: Web, world: World) -> None:
    limited = _limited(web, 1)
    pid = world.ids["proposal"]
    bearer = api_bearer(limited, world.emails["pi"])
    assert invite_by_api(limited, bearer, pid, "first@example.net").status_code == 201
    r = invite_by_api(limited, bearer, pid, "second@example.net")
    assert r.status_code == 429, r.text
    wait = r.headers.get("retry-after")
    assert wait is not None and wait.isdigit() and 1 <= int(wait) <= 3600, dict(r.headers)
    # the page's answer to the same limit says it too
    c = limited.login(world.emails["pi"])
    r = invite_on_site(c, pid, "third@example.net")
    assert r.status_code == 429, r.status_code
    wait = r.headers.get("retry-after")
    assert wait is not None and wait.isdigit() and 1 <= int(wait) <= 3600, dict(r.headers)


def test_a_retry_after_a_429_with_the_same_key_runs_again(web: Web, world: World) -> None:
    limited = _limited(web, 1)
    pid = world.ids["proposal"]
    bearer = api_bearer(limited, world.emails["pi"])
    assert invite_by_api(limited, bearer, pid, "first@example.net").status_code == 201
    with web.factory() as s:
        version = s.scalar(select(Proposal.version).where(Proposal.id == pid))
    body = {"version": version, "email": "second@example.net", "name": "A Stranger"}
    body |= {"institution": "Somewhere", "country_iso3": "FRA"}
    keyed = {**bearer, "Idempotency-Key": "invite-second-1"}

    def send(app: Web) -> Any:
        return app.client().post(f"/api/v1/proposals/{pid}/members", headers=keyed, json=body)

    r = send(limited)
    assert r.status_code == 429, r.text
    before = _members(web)
    # later (here: the operator raised the limit; the same database), the client retries
    # the same request with the same key, as it should after waiting Retry-After
    later = _limited(web, 10)
    r = send(later)
    assert r.status_code == 201, (r.status_code, r.text, r.headers.get("idempotent-replayed"))
    assert _members(web) == before + 1
    # and its answer is now the one kept: sent once more, replayed, nobody invited twice
    again = send(later)
    assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
    assert _members(web) == before + 1


def test_the_openapi_document_says_which_writes_may_answer_429(web: Web) -> None:
    """A client generated from ``/api/v1/openapi.json`` knows the limited writes: their
    429, and its ``Retry-After`` header in seconds."""
    doc = web.client().get("/api/v1/openapi.json").json()
    for path in (
        "/api/v1/proposals/{proposal_id}/members",
        "/api/v1/proposals/{proposal_id}/attachments",
    ):
        said = doc["paths"][path]["post"]["responses"]
        assert "429" in said, (path, sorted(said))
        header = said["429"].get("headers", {}).get("Retry-After", {})
        assert header.get("schema", {}).get("type") == "integer", (path, said["429"])
