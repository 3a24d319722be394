"""Part 2's authorisation matrix: every workspace, management and API route
for every persona (session cookie for pages, a personal API token for the
API), and no team identity of a dual-anonymous call in any response, header
(file name) or e-mail of anyone but the team and the user office."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from tests.authz.authz_cases import CASES, SEES_TEAMS, Ctx
from tests.review_cycle import PERSONAS, Cycle, Web
from tests.web.conftest import csrf, session_cookie

pytestmark = pytest.mark.filterwarnings("ignore")


def session_client(web: Web, email: str | None) -> tuple[Any, str]:
    client = web.client()
    token = uuid.uuid4().hex
    client.cookies.set("oc_session", session_cookie(web, email, token))
    return client, token


def api_tokens(web: Web, cycle: Cycle) -> dict[str, str]:
    out = {}
    with web.factory() as s:
        for persona, email in cycle.emails.items():
            u = user_by_email(s, email)
            assert u is not None
            _tok, raw = people_services.create_api_token(s, u, "matrix")
            out[persona] = raw
        s.commit()
    return out


def outcome(case: Any, r: Any) -> str:
    if r.status_code == 404:
        return "404"
    if case.api and r.status_code == 401:
        return "login"
    if not case.api and case.method == "GET" and r.status_code == 303:
        if r.headers["location"].startswith("/login?next="):
            return "login"
    if not case.api and case.method == "POST" and r.status_code == 401:
        return "login"
    assert r.status_code < 500, r.text[:3000]
    if r.status_code == 403:
        return "403"  # refusals answer 404; a 403 would tell that the thing exists
    if r.status_code >= 400:
        return str(r.status_code)  # allowed means done (2xx/3xx), not refused by a check
    return "ok"


def leaks(cycle: Cycle, r: Any) -> list[str]:
    blob = r.text + " " + " ".join(f"{k}: {v}" for k, v in r.headers.items())
    return [s for s in cycle.secrets if s in blob]


def page_request(client: Any, case: Any, path: str, ctx: Ctx, token: str) -> Any:
    if case.method == "GET":
        return client.get(path)
    return client.post(path, data={"csrf_token": token, **case.body(ctx)}, files=case.upload(ctx))


def test_workspace_routes_by_persona(web: Web, cycle: Cycle, one_loop: None) -> None:
    tokens = api_tokens(web, cycle)
    emails: dict[str, str | None] = {"anonymous": None, **cycle.emails}
    failures = []
    for case in CASES:
        for persona in PERSONAS:
            params = case.params(web.factory, cycle)
            path = case.path.format(**params)
            ctx = Ctx(web.factory, cycle, params, persona)
            if case.api:
                client = web.client()
                headers = (
                    {"Authorization": f"Bearer {tokens[persona]}"} if persona in tokens else {}
                )
                r = api_request(client, case, path, headers, ctx)
            else:
                client, tok = session_client(web, emails[persona])
                r = page_request(client, case, path, ctx, tok)
            got = outcome(case, r)
            if persona in case.allowed:
                want = "400" if case.phase else "ok"
            elif persona == "anonymous":
                want = case.anonymous
            else:
                want = case.refused
            if got != want:
                failures.append(f"{case.method} {case.path} as {persona}: {got} (want {want})")
            elif case.done is not None and case.done(ctx) != (want == "ok"):
                failures.append(
                    f"{case.method} {case.path} as {persona}: {got}, but the effect is "
                    + ("missing" if want == "ok" else "there")
                )
            if persona not in SEES_TEAMS:  # error pages too: they may show the form back
                shown = leaks(cycle, r)
                if shown:
                    failures.append(f"{case.method} {case.path} as {persona} shows {shown}")
    assert not failures, "\n".join(failures)


def test_every_write_is_strict() -> None:
    """A write without an effect to check could count a 2xx/3xx that did nothing; one
    that no persona may make, or that the phase refuses, says so."""
    loose = [
        (c.method, c.path)
        for c in CASES
        if c.method != "GET" and c.writes and c.done is None and c.allowed and not c.phase
    ]
    assert not loose


def test_bad_and_revoked_tokens_are_refused(web: Web, cycle: Cycle) -> None:
    tokens = api_tokens(web, cycle)
    c = web.client()
    assert c.get("/api/v1/me", headers={"Authorization": "Bearer oc_nope"}).status_code == 401
    r = c.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['chair']}"})
    assert r.status_code == 200 and r.json()["email"] == cycle.emails["chair"]
    with web.factory() as s:
        u = user_by_email(s, cycle.emails["chair"])
        assert u is not None
        for t in people_services.api_tokens_of(s, u.id):
            people_services.revoke_api_token(s, u, t.id)
        # hashed at rest: the raw token is nowhere in the table
        assert all(t.token_hash != tokens["chair"] for t in people_services.api_tokens_of(s, u.id))
        assert all(len(t.token_hash) == 64 for t in people_services.api_tokens_of(s, u.id))
        s.commit()
    r = c.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['chair']}"})
    assert r.status_code == 401 and r.json() == {"detail": "invalid or revoked token"}


# Routes that need a token scope beyond "read" (issue 13 item 4).
SCOPED = {
    ("POST", "/api/v1/assignments/{assignment_id}/review"): "review",
    ("GET", "/api/v1/calls/{slug}/proposals"): "manage",
    ("GET", "/api/v1/calls/{slug}/assignments"): "manage",
    ("GET", "/api/v1/calls/{slug}/assignments/uncovered"): "manage",
    ("GET", "/api/v1/calls/{slug}/assignments/declined"): "manage",
    ("GET", "/api/v1/calls/{slug}/triage"): "manage",
    ("PUT", "/api/v1/calls/{slug}/proposals/{proposal_id}/triage"): "manage",
    ("PUT", "/api/v1/calls/{slug}/proposals/{proposal_id}/consensus"): "manage",
    ("GET", "/api/v1/calls/{slug}/ranking"): "manage",
    ("GET", "/api/v1/calls/{slug}/decisions"): "manage",
    ("GET", "/api/v1/calls/{slug}/unreviewed"): "manage",
    ("GET", "/api/v1/calls/{slug}/tac"): "manage",
    ("GET", "/api/v1/calls/{slug}/tac/preview"): "manage",
    ("GET", "/api/v1/calls/{slug}/awards"): "manage",
    ("GET", "/api/v1/calls/{slug}/schedule"): "manage",
    ("GET", "/api/v1/calls/{slug}/report"): "manage",
    ("POST", "/api/v1/calls/{slug}/awards/{proposal_id}/end"): "manage",
    ("POST", "/api/v1/calls/{slug}/awards/{proposal_id}/later-parts"): "manage",
    ("POST", "/api/v1/calls/{slug}/awards/{proposal_id}/later-parts/{part_id}/progress"): "manage",
    ("PATCH", "/api/v1/calls/{slug}/pools/{pool_id}"): "manage",
    ("POST", "/api/v1/providers/{slug}/roles"): "manage",
    ("DELETE", "/api/v1/providers/{slug}/roles/{grant_id}"): "manage",
    ("DELETE", "/api/v1/providers/{slug}/invitations/{invitation_id}"): "manage",
    ("POST", "/api/v1/providers/{slug}/node-staff"): "manage",
    ("DELETE", "/api/v1/providers/{slug}/node-staff/{grant_id}"): "manage",
    ("POST", "/api/v1/roles/invitations/accept"): "manage",
    ("POST", "/api/v1/calls/{slug}/reviewer-invitations"): "manage",
    ("PUT", "/api/v1/calls/{slug}/reviewers/{reviewer_id}/deadline"): "manage",
    ("PUT", "/api/v1/proposals/{proposal_id}/deadline"): "manage",
    ("POST", "/api/v1/proposals/{proposal_id}/withdrawal"): "manage",
    ("POST", "/api/v1/review-invitations/answer"): "review",
    ("PUT", "/api/v1/me/expertise"): "review",
    ("PUT", "/api/v1/me/review-load"): "review",
    ("PUT", "/api/v1/me/review-languages"): "review",
    ("PUT", "/api/v1/me/review-year"): "review",
    ("POST", "/api/v1/me/publications"): "review",
    ("POST", "/api/v1/me/publications/import"): "review",
    ("DELETE", "/api/v1/me/publications/{pub_id}"): "review",
}


def api_request(client: Any, case: Any, path: str, headers: dict[str, str], ctx: Ctx) -> Any:
    if case.method == "GET":
        return client.get(path, headers=headers)
    if case.method == "DELETE":
        return client.delete(path, headers=headers)
    if case.method == "PUT":
        return client.put(path, headers=headers, json=case.json_body(ctx) or {})
    if case.files:
        return client.post(path, headers=headers, files=case.upload(ctx))
    return client.post(path, headers=headers, json=case.json_body(ctx) or {})


def test_read_only_tokens_by_persona(web: Web, cycle: Cycle, one_loop: None) -> None:
    """Every API route x every persona with a token that may only read: the scoped
    routes answer 403 (the route, not the thing, is refused), the others as before."""
    tokens = {}
    with web.factory() as s:
        for persona, email in cycle.emails.items():
            u = user_by_email(s, email)
            assert u is not None
            tokens[persona] = people_services.create_api_token(s, u, "ro", scopes=["read"])[1]
        s.commit()
    failures = []
    for case in (c for c in CASES if c.api):
        for persona in PERSONAS:
            if persona == "anonymous":
                continue
            params = case.params(web.factory, cycle)
            path = case.path.format(**params)
            headers = {"Authorization": f"Bearer {tokens[persona]}"}
            client = web.client()
            r = api_request(client, case, path, headers, Ctx(web.factory, cycle, params, persona))
            scope = SCOPED.get((case.method, case.path))
            if scope:
                want, got = f"403 {scope}", f"{r.status_code} {scope}"
                if r.status_code == 403 and scope not in r.json()["detail"]:
                    got = f"403 {r.json()['detail']}"
            else:
                want = "ok" if persona in case.allowed else case.refused
                got = outcome(case, r)
            if got != want:
                failures.append(f"{case.method} {case.path} as {persona}: {got} (want {want})")
    assert not failures, "\n".join(failures)


def test_revoked_sessions_by_persona(web: Web, cycle: Cycle, one_loop: None) -> None:
    """Every page and form with a session that was ended (logout, reset or an
    administrator): the answer an anonymous visitor gets, never the persona's."""
    failures = []
    for persona in ("manager", "chair", "assigned", "applicant"):
        client, tok = session_client(web, cycle.emails[persona])
        assert client.get("/dashboard").status_code == 200
        with web.factory() as s:
            u = user_by_email(s, cycle.emails[persona])
            assert u is not None
            people_services.revoke_sessions(s, u.id, reason="admin")
            s.commit()
        for case in (c for c in CASES if not c.api):
            params = case.params(web.factory, cycle)
            path = case.path.format(**params)
            r = page_request(client, case, path, Ctx(web.factory, cycle, params, persona), tok)
            got = outcome(case, r)
            want = "ok" if "anonymous" in case.allowed else case.anonymous
            if got != want:
                failures.append(
                    f"{case.method} {case.path} as revoked {persona}: {got} (want {want})"
                )
            if persona not in SEES_TEAMS and leaks(cycle, r):
                failures.append(f"{case.method} {case.path} as revoked {persona} leaks")
    assert not failures, "\n".join(failures)


def test_another_provider_cannot_shadow_a_call(web: Web, cycle: Cycle) -> None:
    """Issue 13: a manager of another provider creates a call with an existing call's
    slug. Refused with a clear message, nothing stored, and every page that finds a
    call by its slug still finds the original."""
    from sqlalchemy import func, select

    from opencall.calls.models import Call
    from opencall.calls.queries import call_by_slug

    with web.factory() as s:
        original = call_by_slug(s, cycle.slug)
        mine = call_by_slug(s, cycle.other_slug)
        assert original is not None and mine is not None
        title, provider = original.title, original.provider.slug
        facility_id = mine.facility_id
        n_calls = s.scalar(select(func.count(Call.id)))
    c = web.login(cycle.emails["other_manager"])
    form = {
        "csrf_token": csrf(c, "/manage/calls/new"),
        "facility_id": str(facility_id),
        "slug": cycle.slug,
        "code": "SHADOW",
        "title": "Shadow call",
        "cycle": "2027",
        "opens_at": "2027-01-01 00:00",
        "closes_at": "2027-02-01 00:00",
        "anonymity": "dual",
        "offer_all": "on",
    }
    r = c.post("/manage/calls/new", data=form)
    assert r.status_code == 400
    assert "is already used by another call on this site" in r.text
    with web.factory() as s:
        assert s.scalar(select(func.count(Call.id))) == n_calls
    # the same form with a free slug is accepted (the refusal is about the slug only)
    ok = c.post("/manage/calls/new", data={**form, "slug": cycle.slug + "-elsewhere"})
    assert ok.status_code == 303
    # every lookup by slug still resolves to the original call
    api = web.client().get(f"/api/v1/calls/{cycle.slug}")
    assert api.status_code in (200, 404)
    if api.status_code == 200:
        assert api.json()["title"] == title
    assert web.login(cycle.emails["manager"]).get(f"/manage/calls/{cycle.slug}").status_code == 200
    assert c.get(f"/manage/calls/{cycle.slug}").status_code == 404
    assert title in web.login(cycle.emails["chair"]).get(f"/manage/calls/{cycle.slug}").text
    with web.factory() as s:
        found = call_by_slug(s, cycle.slug)
        assert found is not None and found.provider.slug == provider


def _technical_reviewer(web: Web, cycle: Cycle, email: str, institution: str) -> int:
    from opencall.calls.queries import call_by_slug
    from tests import factories as F

    with web.factory() as s:
        call = call_by_slug(s, cycle.slug)
        assert call is not None
        u = F.user(s, name="Tech Colleague", email=email, institution=institution)
        people_services.grant_role(s, u.id, "technical_reviewer", call_id=call.id)
        s.commit()
        return u.id


# a co-authorship counts within the call's coauthor_years of the year the conflicts are
# found in: the world's papers are dated, so the clock is pinned (not the real date)
@pytest.mark.usefixtures("pinned_clock")
@pytest.mark.parametrize(
    "source", ["institution", "coauthor_declared_by_reviewer", "declared_by_team", "personal"]
)
def test_technical_reviewers_get_every_conflict_in_every_page(
    web: Web, cycle: Cycle, source: str
) -> None:
    """Issue 13 (item 5): technical reviewers are held to the conflicts panel reviewers
    are (institution, co-authorship, team, declared), in their list, the proposal's
    page, the save, the service, and in the conflicts the chair's step computes."""
    from sqlalchemy import select

    from opencall.calls.queries import call_by_slug
    from opencall.errors import DomainError
    from opencall.people.models import User
    from opencall.proposals.models import Proposal
    from opencall.reviews import services as rv
    from opencall.reviews.models import Conflict
    from tests.review_cycle import TEAMS

    email = "colleague@tech.example"
    inst = TEAMS[0][1] if source == "institution" else "Somewhere Else Institute of Technology"
    uid = _technical_reviewer(web, cycle, email, inst)
    pid = cycle.ids["proposal"]
    with web.factory() as s:
        me = s.get(User, uid)
        pi = s.scalar(select(User).where(User.email == cycle.emails["applicant"]))
        assert me is not None and pi is not None
        if source == "coauthor_declared_by_reviewer":
            rv.declare_relation(s, me, pi.email, "coauthor", year=2026)
        elif source == "declared_by_team":
            rv.declare_relation(s, pi, email, "advisor", year=None)
        elif source == "personal":
            rv.declare_relation(s, me, pi.email, "personal", note="my sister")
        s.commit()
        codes = {p.id: p.code for p in s.scalars(select(Proposal))}
    tech = web.login(email)
    listing = tech.get(f"/technical/calls/{cycle.slug}")
    assert listing.status_code == 200
    assert codes[pid] not in listing.text  # the conflicted proposal is not listed
    assert codes[pid + 1] in listing.text  # the others are
    assert tech.get(f"/technical/proposals/{pid}").status_code == 404
    assert tech.post(
        f"/technical/proposals/{pid}",
        data={"csrf_token": csrf(tech, "/review"), "verdict": "feasible"},
    ).status_code in (403, 404)
    assert tech.get(f"/technical/proposals/{pid + 1}").status_code == 200
    with web.factory() as s:
        p = s.get(Proposal, pid)
        me = s.get(User, uid)
        assert p is not None and me is not None
        with pytest.raises(DomainError):
            rv.submit_technical_review(s, p, me, verdict="feasible")
        s.rollback()
        # the chair's conflicts step stores it for technical reviewers too
        call = call_by_slug(s, cycle.slug)
        assert call is not None
        rv.compute_conflicts(s, call)
        s.commit()
        sources = set(
            s.scalars(
                select(Conflict.source).where(
                    Conflict.reviewer_id == uid, Conflict.proposal_id == pid
                )
            )
        )
    want = {"institution": "institution", "personal": "personal"}.get(source, "coauthor")
    assert want in sources
    # the original technical persona (no conflict) still judges the proposal
    assert (
        web.login(cycle.emails["technical"]).get(f"/technical/proposals/{pid}").status_code == 200
    )
