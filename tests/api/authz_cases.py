"""Every route of the JSON API's writes (issue 11 item 7) x every persona of the
small dual-anonymous cycle of ``tests.cycle`` (a FAST call in review).

Bodies are valid for the schema, so each case reaches the route's policy: the
allowed personas get an answer (often a 400 from a service rule: the call is in
review), everyone else 404, and an anonymous caller 401. Run by
``tests/api/test_authz.py``; ``tests/web/test_authz.py`` counts ``ROUTES``."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.queries import call_by_slug
from opencall.db import utcnow
from opencall.facilities.models import CapacityPool
from opencall.proposals.models import Proposal, Request, TeamMember
from tests.authz.authz_cases import (
    EVERYONE,
    OFFICE,
    PS,
    SIGNED,
    SP,
    STAFF,
    A,
    P,
    S,
    _continuous_call,
    _draft_offering_pool,
    _draft_with_pool,
    _due_call,
    _fresh_assignment,
    _job,
    _provider_slug,
    _spare_assignment,
    _twin_call,
)

APPLICANT = {"applicant"}
Params = Callable[[sessionmaker[Session], Any], dict[str, Any]]
Body = Callable[[sessionmaker[Session], Any], dict[str, Any]]


@dataclass
class Case:
    method: str
    path: str
    allowed: set[str]
    params: Params = lambda f, c: {}
    json: dict[str, Any] | Body | None = None
    data: dict[str, Any] | None = None  # form fields of a multipart upload
    files: dict[str, Any] | None = None
    anonymous: str = "login"
    scope: str | None = None  # the token scope the route needs beyond "read"
    # why the allowed personas get a 400 from the call's phase in this world (else: none may)
    phase: str = ""


def _pi_member(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    with f() as s:
        m = s.scalar(
            select(TeamMember).where(
                TeamMember.proposal_id == c.ids["proposal"], TeamMember.role == "pi"
            )
        )
        assert m is not None
        return {"proposal_id": c.ids["proposal"], "member_id": m.id}


def _request(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    with f() as s:
        r = s.scalar(select(Request).where(Request.proposal_id == c.ids["proposal"]))
        assert r is not None
        return {"proposal_id": c.ids["proposal"], "request_id": r.id}


def _version(f: sessionmaker[Session], c: Any) -> int:
    with f() as s:
        p = s.get(Proposal, c.ids["proposal"])
        assert p is not None
        return p.version


def _spare_review_invitation(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    from opencall.reviews import recruitment

    with f() as s:
        call = call_by_slug(s, c.slug)
        assert call is not None
        ((inv, _raw),) = recruitment.invite(s, call, [f"r{uuid.uuid4().hex[:10]}@example.org"])
        s.commit()
        return {"slug": c.slug, "invitation_id": inv.id}


def _new_call(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    return {
        "provider": _provider_slug(f, c),
        "facility": "fast",
        "slug": f"api-{uuid.uuid4().hex[:8]}",
        "code": "AP",
        "title": "A call made through the API",
        "cycle": "2028A",
        "opens_at": "2028-01-01T00:00:00Z",
        "closes_at": "2028-02-01T00:00:00Z",
        "form": {"receivers": ["19-beam"], "modes": ["Tracking"]},
    }


def _pool(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    with f() as s:
        call = call_by_slug(s, c.slug)
        assert call is not None
        pool = s.scalar(select(CapacityPool).where(CapacityPool.facility_id == call.facility_id))
        assert pool is not None
        return {"pool_id": pool.id}


def _q(params: Params, **query: Any) -> Params:
    return lambda f, c: {**params(f, c), **query}


PHASE = (
    "needs a calibrated ranking and, for an override, allocated decisions: beyond this "
    "small cycle (its call is in review), so the staff are refused by the phase with 400 "
    "and nothing changes; tests/test_pipeline.py and tests/allocation run them in phase"
)
CLOSED = (
    "the applicant's proposal is submitted in a call that is closed and in review, so "
    "every edit is refused by the phase with 400 and nothing changes (the open call's "
    "writes are tested per persona, strict, in tests/authz/test_matrix.py)"
)


def _last_pool(f: sessionmaker[Session]) -> int:
    with f() as s:
        return int(s.scalar(select(func.max(CapacityPool.id))) or 0)


def _new_reviewer(f: sessionmaker[Session], c: Any) -> int:
    from opencall.people import services as people_services
    from tests import factories as F

    with f() as s:
        call = call_by_slug(s, c.slug)
        assert call is not None
        u = F.user(s, institution="Pair Institute", country="KEN")
        people_services.grant_role(s, u.id, "reviewer", call_id=call.id)
        s.commit()
        return u.id


PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

CASES: list[Case] = [
    # providers and calls
    Case(
        "POST",
        "/api/v1/providers",
        set(),  # site administrators only (no persona is one)
        json={"name": "Nope", "slug": "nope-provider", "country_iso3": "ZAF"},
        scope="manage",
    ),
    Case("POST", "/api/v1/calls", {"manager"}, json=_new_call, scope="manage"),
    Case(
        "PATCH",
        "/api/v1/calls/{slug}",
        OFFICE,
        S,
        json={"description": "Edited through the API."},
        scope="manage",
    ),
    # a draft call of the cycle's facility and a pool of it not offered yet
    Case(
        "POST",
        "/api/v1/calls/{slug}/pools",
        OFFICE,
        _draft_with_pool,
        json=lambda f, c: {"pool_id": _last_pool(f), "amount": 5},
        scope="manage",
    ),
    # the same draft call, offering the pool: its offer changed (trialfac23)
    Case(
        "PATCH",
        "/api/v1/calls/{slug}/pools/{pool_id}",
        OFFICE,
        _draft_offering_pool,
        json={"amount": 4},
        scope="manage",
    ),
    # a twin call in review, moved to ranking (the cycle's call stays in review)
    Case(
        "POST",
        "/api/v1/calls/{slug}/transition",
        OFFICE,
        _twin_call,
        json={"target": "ranking", "reason": "Reviews are in."},
        scope="manage",
    ),
    Case(
        "POST",
        "/api/v1/calls/{slug}/steps/{step}",
        STAFF,
        lambda f, c: {**S(f, c), "step": "conflicts"},
        json={},
        scope="manage",
    ),
    Case("GET", "/api/v1/jobs/{job_id}", STAFF, _job),
    Case("POST", "/api/v1/calls/{slug}/ranking/freeze", STAFF, S, scope="manage", phase=PHASE),
    # a new pair: a fresh reviewer of the call for the cycle's second proposal
    Case(
        "POST",
        "/api/v1/calls/{slug}/assignments",
        STAFF,
        S,
        json=lambda f, c: {
            "proposal_id": c.ids["proposal"] + 1,
            "reviewer_id": _new_reviewer(f, c),
        },
        scope="manage",
    ),
    Case(
        "DELETE",
        "/api/v1/calls/{slug}/assignments/{assignment_id}",
        STAFF,
        _spare_assignment,
        scope="manage",
    ),
    Case(
        "POST",
        "/api/v1/assignments/{assignment_id}/respond",
        {"assigned"},
        A,
        json={"accept": True},
        scope="review",
    ),
    # an assignment made for the request (declaring a conflict consumes it)
    Case(
        "POST",
        "/api/v1/assignments/{assignment_id}/conflict",
        {"assigned"},
        lambda f, c: {"assignment_id": _fresh_assignment(f, c)["assignment_id"]},
        json={"reason": "I co-authored a paper with the team last year."},
        scope="review",
    ),
    Case("GET", "/api/v1/calls/{slug}/conflicts", STAFF, S, scope="manage"),
    Case("GET", "/api/v1/calls/{slug}/reviewer-pool", STAFF, S, scope="manage"),
    # a reviewer's deadline extended (the call given a review deadline a day ahead)
    Case(
        "PUT",
        "/api/v1/calls/{slug}/reviewers/{reviewer_id}/deadline",
        STAFF,
        _due_call,
        json=lambda f, c: {"until": (utcnow() + dt.timedelta(days=2)).isoformat()},
        scope="manage",
    ),
    Case(
        "POST",
        "/api/v1/calls/{slug}/reviewer-invitations/{invitation_id}/withdraw",
        STAFF,
        _spare_review_invitation,
        scope="manage",
    ),
    Case("GET", "/api/v1/technical/calls/{slug}", {"technical"}, S, scope="review"),
    Case("GET", "/api/v1/technical/proposals/{proposal_id}", {"technical"}, P, scope="review"),
    Case(
        "POST",
        "/api/v1/technical/proposals/{proposal_id}",
        {"technical"},
        P,
        json={"verdict": "feasible", "notes_to_panel": "Fine."},
        scope="review",
    ),
    # the safety officer's routes (trialfac24): this world's call has no safety review, so
    # 404 for everyone (the officer's access: tests/facilities/test_neutron_source.py)
    Case("GET", "/api/v1/safety/calls/{slug}", set(), S, scope="review"),
    Case("GET", "/api/v1/safety/proposals/{proposal_id}", set(), P, scope="review"),
    Case(
        "POST",
        "/api/v1/safety/proposals/{proposal_id}",
        set(),
        P,
        json={"hazard_class": "none", "decision": "pending"},
        scope="review",
    ),
    Case(
        "POST",
        "/api/v1/calls/{slug}/decisions/{proposal_id}/override",
        STAFF,
        SP,
        json={"outcome": "awarded", "reason": "Strong science."},
        scope="manage",
        phase=PHASE,
    ),
    Case(
        "POST",
        "/api/v1/calls/{slug}/unreviewed/{proposal_id}",
        STAFF,
        SP,
        json={"action": "reject", "reason": "No reviewer."},
        scope="manage",
        phase="resolved once the review is over; the cycle's call is in review (400, nothing "
        "changes); tests/allocation/test_unreviewed.py resolves them in phase",
    ),
    Case(
        "POST",
        "/api/v1/calls/{slug}/ranking/unfreeze",
        STAFF,
        S,
        json={"reason": "Froze too early."},
        scope="manage",
        phase="the cycle's ranking is not frozen (400, nothing changes); "
        "tests/reviews/test_unfreeze.py unfreezes a frozen one",
    ),
    Case(
        "POST",
        "/api/v1/calls/{slug}/tac/{proposal_id}",
        STAFF,
        SP,
        json={"move": 1, "reason": "Rare target."},
        scope="manage",
        phase="the TAC chair's list changes in ranking or allocation; the cycle's call is in "
        "review (400, nothing changes); tests/allocation/test_tac.py moves it in phase",
    ),
    Case(
        "POST",
        "/api/v1/calls/{slug}/tac/lock",
        STAFF,
        S,
        json={},
        scope="manage",
        phase="the TAC chair's list is locked in ranking or allocation; the cycle's call is "
        "in review (400, nothing changes); tests/allocation/test_tac.py locks it in phase",
    ),
    Case(
        "POST",
        "/api/v1/calls/{slug}/tac/unlock",
        OFFICE,
        S,
        json={"reason": "A late technical report."},
        scope="manage",
        phase="the cycle's call is in review and its TAC list is not locked (400, nothing "
        "changes); tests/allocation/test_tac_reserve.py reopens a locked one",
    ),
    Case("POST", "/api/v1/calls/{slug}/release", set(), S, scope="manage"),  # still in review
    Case("POST", "/api/v1/calls/{slug}/publish", set(), S, scope="manage"),  # nothing released
    Case("GET", "/api/v1/proposals/{proposal_id}/outcome", set(), P),  # nothing released
    # the applicant's side (the call is closed: every edit is refused with 400, see CLOSED)
    Case("GET", "/api/v1/proposals/{proposal_id}/full", APPLICANT, P),
    Case(
        "POST",
        "/api/v1/proposals",
        SIGNED,
        json=lambda f, c: {"call": c.slug, "title": "Too late"},
        scope="apply",
        phase=CLOSED,
    ),
    Case(
        "PATCH",
        "/api/v1/proposals/{proposal_id}",
        APPLICANT,
        P,
        json=lambda f, c: {"version": _version(f, c), "title": "Renamed"},
        scope="apply",
        phase=CLOSED,
    ),
    Case(
        "POST",
        "/api/v1/proposals/{proposal_id}/members",
        APPLICANT,
        P,
        json=lambda f, c: {
            "version": _version(f, c),
            "email": "new.coi@example.org",
            "name": "New Coi",
            "institution": "Somewhere",
            "country_iso3": "KEN",
        },
        scope="apply",
        phase=CLOSED,
    ),
    Case(
        "DELETE",
        "/api/v1/proposals/{proposal_id}/members/{member_id}",
        APPLICANT,
        _q(_pi_member, version=1),
        scope="apply",
        phase=CLOSED,
    ),
    Case("GET", "/api/v1/team-invitations", SIGNED),
    # the PI's own (accepted) place is no invitation: 404 for everyone
    Case(
        "POST",
        "/api/v1/team-invitations/{member_id}/answer",
        set(),
        _pi_member,
        json={"accept": True},
        scope="apply",
    ),
    Case(
        "POST",
        "/api/v1/proposals/{proposal_id}/requests",
        APPLICANT,
        P,
        json=lambda f, c: {"version": _version(f, c), "kind": "fast", "details": {}},
        scope="apply",
        phase=CLOSED,
    ),
    Case(
        "PUT",
        "/api/v1/proposals/{proposal_id}/requests/{request_id}",
        APPLICANT,
        _request,
        json=lambda f, c: {"version": _version(f, c), "details": {}},
        scope="apply",
        phase=CLOSED,
    ),
    Case(
        "DELETE",
        "/api/v1/proposals/{proposal_id}/requests/{request_id}",
        APPLICANT,
        _q(_request, version=1),
        scope="apply",
        phase=CLOSED,
    ),
    Case(
        "POST",
        "/api/v1/proposals/{proposal_id}/attachments",
        APPLICANT,
        P,
        data={"version": "1"},
        files={"file": ("case.pdf", PDF, "application/pdf")},
        scope="apply",
        phase=CLOSED,
    ),
    # no such attachment: 404 for everyone
    Case(
        "DELETE",
        "/api/v1/proposals/{proposal_id}/attachments/{attachment_id}",
        set(),
        _q(P, attachment_id=999999, version=1),
        scope="apply",
    ),
    # the proposal as submitted, sent again once the call is closed: a retry of the
    # submission that counts, answered with its revision and nothing changed (a changed
    # one is refused: tests/crowd/test_cutoff_crowd.py)
    Case("POST", "/api/v1/proposals/{proposal_id}/submit", APPLICANT, P, scope="apply"),
    # withdrawn by its PI while the call is in review: allowed until the ranking (trialop22;
    # refused from the ranking on: tests/web/test_withdrawal_in_review.py). Last, so that no
    # case above meets the proposal withdrawn
    Case("POST", "/api/v1/proposals/{proposal_id}/withdraw", APPLICANT, P, scope="apply"),
]


def _conflicted_reviewer(f: sessionmaker[Session], c: Any) -> int:
    from opencall.people.queries import user_by_email

    with f() as s:
        u = user_by_email(s, c.emails["conflicted"])
        assert u is not None
        return u.id


# a continuous call's batches (cycle.batches): its staff read them, its office cuts them
CASES += [
    Case("GET", "/api/v1/calls/{slug}/batches", STAFF, _continuous_call, scope="manage"),
    Case("POST", "/api/v1/calls/{slug}/batches", OFFICE, _continuous_call, json={},
         scope="manage"),
]  # fmt: skip


def _partnered(accepted: bool | None) -> Params:
    """A draft call of the cycle's provider and the provider of ``other_manager`` (the
    other call's, whose call manager they are): not invited (``None``), invited, or
    invited and accepted into the draft."""

    def params(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
        from opencall.calls import partners as call_partners

        made = _draft_with_pool(f, c)
        with f() as s:
            call, other = call_by_slug(s, made["slug"]), call_by_slug(s, c.other_slug)
            assert call is not None and other is not None
            if accepted is not None:
                partner = call_partners.invite_partner(s, call, other.provider)
                if accepted:
                    call_partners.accept_partner(s, partner, call)
            s.commit()
            return {"slug": call.slug, "provider": other.provider.slug}

    return params


# a joint call: the call's office invites another provider; that provider's office
# (other_manager) accepts, or either side withdraws it (tests/api/test_joint_call_journey.py)
PARTNERS = {"manager", "other_manager"}
CASES += [
    Case("GET", "/api/v1/calls/{slug}/partners", PARTNERS, _partnered(False), scope="manage"),
    Case("POST", "/api/v1/calls/{slug}/partners", OFFICE, _partnered(None),
         json=lambda f, c: {"provider": _other_provider(f, c)}, scope="manage"),
    Case("POST", "/api/v1/calls/{slug}/partners/{provider}/accept", {"other_manager"},
         _partnered(False), json={}, scope="manage"),
    Case("DELETE", "/api/v1/calls/{slug}/partners/{provider}", PARTNERS, _partnered(True),
         scope="manage"),
]  # fmt: skip


def _other_provider(f: sessionmaker[Session], c: Any) -> str:
    with f() as s:
        other = call_by_slug(s, c.other_slug)
        assert other is not None
        return str(other.provider.slug)


ROUTES = {(c.method, c.path) for c in CASES}
__all__ = ["CASES", "EVERYONE", "PS", "ROUTES", "Case"]
