"""Every route of part 2 (workspaces, management, JSON API) x every persona.

``tests/web/test_authz.py::test_every_route_has_a_case`` counts these cases
too, so a new route without a case fails there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from opencall import jobs
from opencall.calls.queries import call_by_slug
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.people.queries import user_by_email
from opencall.proposals.models import Proposal
from opencall.reviews import services as rv
from opencall.reviews.models import ReviewAssignment

SIGNED = {
    "applicant",
    "assigned",
    "conflicted",
    "unassigned",
    "technical",
    "chair",
    "manager",
    "other_manager",
}
EVERYONE = SIGNED | {"anonymous"}
STAFF = {"chair", "manager"}
OFFICE = {"manager"}
# who may see the teams of a dual-anonymous call before the ranking is frozen
SEES_TEAMS = {"applicant", "manager"}

Params = Callable[[sessionmaker[Session], Any], dict[str, Any]]


@dataclass
class Case:
    method: str
    path: str
    allowed: set[str]
    params: Params = lambda f, c: {}
    data: dict[str, Any] = field(default_factory=dict)
    api: bool = False
    json: dict[str, Any] | None = None
    anonymous: str = "login"  # what a visitor without a session or token gets
    files: dict[str, Any] | None = None  # multipart upload for API cases


def S(f: Any, c: Any) -> dict[str, Any]:  # noqa: N802
    return {"slug": c.slug}


def A(f: Any, c: Any) -> dict[str, Any]:  # noqa: N802
    return {"assignment_id": c.ids["assignment"]}


def P(f: Any, c: Any) -> dict[str, Any]:  # noqa: N802
    return {"proposal_id": c.ids["proposal"]}


def SP(f: Any, c: Any) -> dict[str, Any]:  # noqa: N802
    return {"slug": c.slug, "proposal_id": c.ids["proposal"]}


def _job(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    with f() as s:
        j = jobs.enqueue(s, "noop.test", {}, call_id=c.ids["call"], max_attempts=1)
        j.status = "failed"
        j.error = "test"
        s.commit()
        return {"job_id": j.id}


def _spare_assignment(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    with f() as s:
        call = call_by_slug(s, c.slug)
        assert call is not None
        p = s.get(Proposal, c.ids["proposal"] + 1)
        r = s.get(User, c.ids["reviewer"])
        assert p is not None and r is not None
        existing = s.query(ReviewAssignment).filter_by(proposal_id=p.id, reviewer_id=r.id).first()
        a = existing if existing and existing.status != "removed" else None
        if a is None:
            a = rv.add_assignment(s, call, p, r)
        s.commit()
        return {"slug": c.slug, "assignment_id": a.id}


def _token_of_assigned(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    with f() as s:
        u = user_by_email(s, c.emails["assigned"])
        assert u is not None
        tok, _raw = people_services.create_api_token(s, u, "spare")
        s.commit()
        return {"token_id": tok.id}


HTML: list[Case] = [
    Case("GET", "/manage", SIGNED),
    Case("GET", "/manage/calls/new", {"manager", "other_manager"}),
    Case("POST", "/manage/calls/new", {"manager", "other_manager"}, data={"title": ""}),
    # (no such pool: 404 for the office too; offering is exercised in test_workspaces)
    Case("POST", "/manage/calls/{slug}/pools", set(), S, data={"pool_id": "x"}),
    Case("GET", "/manage/jobs/{job_id}", STAFF, _job),
    Case("GET", "/manage/calls/{slug}/edit", OFFICE, S),
    # (the call is in review: a new title is refused with 400, nothing changes)
    Case("POST", "/manage/calls/{slug}/edit", OFFICE, S, data={"title": "Renamed in review"}),
    Case("GET", "/manage/calls/{slug}/audit", OFFICE, S),
    Case("POST", "/manage/calls/{slug}/audit/verify", OFFICE, S),
    Case("GET", "/manage/providers/new", set()),
    Case("POST", "/manage/providers/new", set()),
    Case(
        "GET",
        "/manage/providers/{slug}",
        OFFICE,
        lambda f, c: {"slug": _provider_slug(f, c)},
    ),
    Case(
        "POST",
        "/manage/providers/{slug}/facilities",
        OFFICE,
        lambda f, c: {"slug": _provider_slug(f, c)},
        data={"attributes": "[]"},
    ),
    Case(
        "POST",
        "/manage/providers/{slug}/pools",
        set(),  # no such facility id: 404 for everyone
        lambda f, c: {"slug": _provider_slug(f, c)},
        data={"facility_id": "999999"},
    ),
    Case("GET", "/account/tokens", SIGNED),
    Case("POST", "/account/tokens", SIGNED, data={"name": ""}),
    Case("POST", "/account/tokens/{token_id}/revoke", {"assigned"}, _token_of_assigned),
    Case("GET", "/review", SIGNED),
    Case("GET", "/review/assignments/{assignment_id}", {"assigned"}, A),
    Case(
        "POST",
        "/review/assignments/{assignment_id}/respond",
        {"assigned"},
        A,
        data={"action": "maybe"},
    ),
    Case(
        "POST", "/review/assignments/{assignment_id}/conflict", {"assigned"}, A, data={"reason": ""}
    ),
    Case("POST", "/review/assignments/{assignment_id}", {"assigned"}, A, data={"grade": "x"}),
    # the world has no PDF: 404 for everyone (file names are tested in test_anonymity)
    Case(
        "GET",
        "/review/assignments/{assignment_id}/pdf/{n}",
        set(),
        lambda f, c: {**A(f, c), "n": 0},
    ),
    Case("GET", "/technical/calls/{slug}", {"technical"}, S),
    Case("GET", "/technical/proposals/{proposal_id}", {"technical"}, P),
    # no PDF in this world: 404 for everyone (the copy is tested in test_pdf_hygiene)
    Case(
        "GET",
        "/technical/proposals/{proposal_id}/pdf/{n}",
        set(),
        lambda f, c: {**P(f, c), "n": 0},
    ),
    Case("POST", "/technical/proposals/{proposal_id}", {"technical"}, P, data={"verdict": "?"}),
    Case("GET", "/manage/calls/{slug}", STAFF, S),
    Case("POST", "/manage/calls/{slug}/transition", OFFICE, S, data={"target": "ranking"}),
    Case(
        "POST",
        "/manage/calls/{slug}/steps/{step}",
        STAFF,
        lambda f, c: {**S(f, c), "step": "allocation"},
    ),
    Case("GET", "/manage/calls/{slug}/assignment", STAFF, S),
    Case("POST", "/manage/calls/{slug}/assignment/add", STAFF, S, data={"proposal_id": "0"}),
    Case(
        "POST",
        "/manage/calls/{slug}/assignment/{assignment_id}/remove",
        STAFF,
        _spare_assignment,
        data={"reason": "test"},
    ),
    Case("GET", "/manage/calls/{slug}/ranking", STAFF, S),
    Case("POST", "/manage/calls/{slug}/ranking/freeze", STAFF, S),
    Case("GET", "/manage/calls/{slug}/decisions", STAFF, S),
    Case(
        "POST",
        "/manage/calls/{slug}/decisions/{proposal_id}/override",
        STAFF,
        SP,
        data={"outcome": "awarded", "reason": ""},
    ),
    Case("POST", "/manage/calls/{slug}/release", set(), S),  # not in allocation yet
    Case("GET", "/manage/calls/{slug}/schedule", STAFF, S),
    Case("POST", "/manage/calls/{slug}/publish", set(), S),  # not released yet
    Case("GET", "/manage/calls/{slug}/report", OFFICE, S),
    Case(
        "GET", "/manage/calls/{slug}/report.{fmt}", OFFICE, lambda f, c: {**S(f, c), "fmt": "csv"}
    ),
]


def _provider_slug(f: sessionmaker[Session], c: Any) -> str:
    with f() as s:
        call = call_by_slug(s, c.slug)
        assert call is not None
        return str(call.provider.slug)


def _spare_grant(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    """A reviewer role on the cycle's provider, given to a fresh account."""
    import uuid

    with f() as s:
        slug = _provider_slug(f, c)
        call = call_by_slug(s, c.slug)
        assert call is not None
        u = people_services.register_user(
            s,
            email=f"g{uuid.uuid4().hex[:10]}@example.org",
            name="Spare Grant",
            password="long enough password",
        )
        g = people_services.grant_role(s, u.id, "reviewer", provider_id=call.provider_id)
        s.commit()
        return {"slug": slug, "grant_id": g.id}


def _spare_role_invitation(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    import uuid

    with f() as s:
        slug = _provider_slug(f, c)
        call = call_by_slug(s, c.slug)
        assert call is not None
        _g, inv, raw = people_services.invite_to_role(
            s,
            email=f"i{uuid.uuid4().hex[:10]}@example.org",
            role="chair",
            provider_id=call.provider_id,
        )
        assert inv is not None
        s.commit()
        return {"slug": slug, "inv_id": inv.id, "invitation_id": inv.id, "token": raw}


def PS(f: Any, c: Any) -> dict[str, Any]:  # noqa: N802
    return {"slug": _provider_slug(f, c)}


# people and roles of a provider (the cycle's manager is its administrator)
ROLES_HTML: list[Case] = [
    Case("GET", "/manage/providers/{slug}/people", OFFICE, PS),
    Case("POST", "/manage/providers/{slug}/people", OFFICE, PS, data={"email": "", "role": ""}),
    Case("POST", "/manage/providers/{slug}/people/{grant_id}/revoke", OFFICE, _spare_grant),
    Case(
        "POST",
        "/manage/providers/{slug}/invitations/{inv_id}/revoke",
        OFFICE,
        _spare_role_invitation,
    ),
    # the invitation page is open to whoever holds the link ...
    Case("GET", "/roles/invitations/{token}", EVERYONE, _spare_role_invitation),
    # ... accepting needs an account; the wrong account is told so (400), nothing changes
    Case("POST", "/roles/invitations/{token}", SIGNED, _spare_role_invitation),
]
HTML += ROLES_HTML


def _spare_review_invitation(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    import uuid

    from opencall.reviews import recruitment

    with f() as s:
        call = call_by_slug(s, c.slug)
        assert call is not None
        ((inv, raw),) = recruitment.invite(s, call, [f"r{uuid.uuid4().hex[:10]}@example.org"])
        s.commit()
        return {"slug": c.slug, "inv_id": inv.id, "token": raw}


def _spare_publication(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    with f() as s:
        u = user_by_email(s, c.emails["assigned"])
        assert u is not None
        pub = people_services.add_publication(s, u, title="A spare paper")
        s.commit()
        return {"pub_id": pub.id}


RECRUIT_HTML: list[Case] = [
    Case("GET", "/manage/calls/{slug}/reviewers", STAFF, S),
    Case("POST", "/manage/calls/{slug}/reviewers", STAFF, S, data={"emails": ""}),
    Case(
        "POST", "/manage/calls/{slug}/reviewers/{inv_id}/withdraw", STAFF, _spare_review_invitation
    ),
    Case("GET", "/review/invitations/{token}", EVERYONE, _spare_review_invitation),
    # answering needs the invited account: any other is told so (400), nothing changes
    Case("POST", "/review/invitations/{token}", SIGNED, _spare_review_invitation),
    Case("GET", "/account/expertise", SIGNED),
    Case("POST", "/account/expertise", SIGNED, data={"keywords": "pulsars"}),
    Case("POST", "/account/expertise/publications", SIGNED, data={"title": ""}),
    Case("POST", "/account/expertise/import", SIGNED),
    Case(
        "POST", "/account/expertise/publications/{pub_id}/remove", {"assigned"}, _spare_publication
    ),
]
HTML += RECRUIT_HTML

API: list[Case] = [
    Case("GET", "/api/v1/me", SIGNED, api=True),
    Case("GET", "/api/v1/calls", EVERYONE, api=True),
    Case("GET", "/api/v1/calls/{slug}", EVERYONE, S, api=True),
    Case("GET", "/api/v1/proposals", SIGNED, api=True),
    Case("GET", "/api/v1/proposals/{proposal_id}", {"applicant"}, P, api=True),
    Case("GET", "/api/v1/assignments", SIGNED, api=True),
    Case("GET", "/api/v1/assignments/{assignment_id}", {"assigned"}, A, api=True),
    Case(
        "POST",
        "/api/v1/assignments/{assignment_id}/review",
        {"assigned"},
        A,
        api=True,
        json={"grade": 99, "comments_to_applicants": "x"},
    ),
    Case("GET", "/api/v1/calls/{slug}/proposals", STAFF, S, api=True),
    Case("GET", "/api/v1/calls/{slug}/assignments", STAFF, S, api=True),
    Case("GET", "/api/v1/calls/{slug}/ranking", STAFF, S, api=True),
    Case("GET", "/api/v1/calls/{slug}/decisions", STAFF, S, api=True),
    # public once published, so an anonymous visitor is told "not found", not "sign in"
    Case("GET", "/api/v1/calls/{slug}/awards", STAFF, S, api=True, anonymous="404"),
    Case("GET", "/api/v1/calls/{slug}/schedule", STAFF, S, api=True),
    Case("GET", "/api/v1/calls/{slug}/report", OFFICE, S, api=True),
    Case("GET", "/api/v1/providers/{slug}/roles", OFFICE, PS, api=True),
    Case(
        "POST",
        "/api/v1/providers/{slug}/roles",
        OFFICE,
        PS,
        api=True,
        json={"email": "someone.new@example.org", "role": "reviewer"},
    ),
    Case("DELETE", "/api/v1/providers/{slug}/roles/{grant_id}", OFFICE, _spare_grant, api=True),
    Case(
        "DELETE",
        "/api/v1/providers/{slug}/invitations/{invitation_id}",
        OFFICE,
        _spare_role_invitation,
        api=True,
    ),
    Case("GET", "/api/v1/calls/{slug}/reviewer-invitations", STAFF, S, api=True),
    Case(
        "POST",
        "/api/v1/calls/{slug}/reviewer-invitations",
        STAFF,
        S,
        api=True,
        json={"emails": ["invitee@example.org"]},
    ),
    Case(
        "POST",
        "/api/v1/review-invitations/answer",
        SIGNED,
        api=True,
        json={"token": "not-an-invitation-token", "accept": True},
    ),
    Case("GET", "/api/v1/me/expertise", SIGNED, api=True),
    Case("PUT", "/api/v1/me/expertise", SIGNED, api=True, json={"keywords": "pulsars"}),
    Case("POST", "/api/v1/me/publications", SIGNED, api=True, json={"title": "A paper"}),
    Case(
        "POST",
        "/api/v1/me/publications/import",
        SIGNED,
        api=True,
        files={"file": ("refs.bib", b"@article{a, title={A paper}, year={2024}}", "text/plain")},
    ),
    Case("DELETE", "/api/v1/me/publications/{pub_id}", {"assigned"}, _spare_publication, api=True),
    # a token that is no invitation: 400 for every account, sign-in asked otherwise
    Case(
        "POST",
        "/api/v1/roles/invitations/accept",
        SIGNED,
        api=True,
        json={"token": "not-an-invitation-token"},
    ),
]
CASES = HTML + API
ROUTES = {(c.method, c.path) for c in CASES}
