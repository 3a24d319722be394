"""Every route of part 2 (workspaces, management, JSON API) x every persona.

``tests/authz/test_matrix.py::test_every_route_has_a_case`` counts these cases
too, so a new route without a case fails there.

Every case is strict (issue 10, item 7): a write carries valid data, made fresh
where the write consumes something, so that an allowed persona gets a 2xx/3xx
and the write's effect (``done``) is there, while every other persona gets the
route's refusal (``refused``: 404, or 403 where the link holder may know the
thing exists) and changes nothing. A case whose allowed personas are refused by
the call's phase says so in ``phase`` (and why it cannot be made otherwise).
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from opencall import jobs
from opencall.calls.queries import call_by_slug
from opencall.facilities.models import CapacityPool
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.people.queries import user_by_email
from opencall.proposals import services as prop_services
from opencall.proposals.models import Proposal
from opencall.reviews import queries as rq
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
class Ctx:
    """What a case's body and its effect are computed from: the persona that asks and
    the parameters made for this very request (a body may note values in ``params``)."""

    f: sessionmaker[Session]
    c: Any
    params: dict[str, Any]
    persona: str


Body = dict[str, Any] | Callable[[Ctx], dict[str, Any]]


@dataclass
class Case:
    method: str
    path: str
    allowed: set[str]
    params: Params = lambda f, c: {}
    data: Body = field(default_factory=dict)
    api: bool = False
    json: Body | None = None
    anonymous: str = "login"  # what a visitor without a session or token gets
    files: dict[str, Any] | Callable[[Ctx], dict[str, Any]] | None = None  # multipart upload
    # the write's effect: true after an allowed persona's request, false after a refused one's
    done: Callable[[Ctx], bool] | None = None
    refused: str = "404"  # what a signed-in persona that may not gets
    # why the allowed personas get a 400 from the call's phase in this world (else: none may)
    phase: str = ""
    writes: bool = True  # False: a POST that only reads (verifies), so has no effect to check

    def body(self, ctx: Ctx) -> dict[str, Any]:
        return self.data(ctx) if callable(self.data) else dict(self.data)

    def json_body(self, ctx: Ctx) -> dict[str, Any] | None:
        return self.json(ctx) if callable(self.json) else self.json

    def upload(self, ctx: Ctx) -> dict[str, Any] | None:
        return self.files(ctx) if callable(self.files) else self.files


#: why the triage writes are refused to the staff in the cycle's world
TRIAGE_OVER = (
    "the cycle's call has its reviews assigned, so triage is over and the staff are refused "
    "with 400; tests/reviews/test_triage.py sets aside and returns in phase"
)

EXTENSION_OVER = (
    "the cycle's call is in review, so a submission deadline is no longer extended and "
    "the staff are refused with 400; tests/proposals/test_submission_extension.py extends "
    "one while the call is open and closed"
)


def S(f: Any, c: Any) -> dict[str, Any]:  # noqa: N802
    return {"slug": c.slug}


def A(f: Any, c: Any) -> dict[str, Any]:  # noqa: N802
    return {"assignment_id": c.ids["assignment"]}


def P(f: Any, c: Any) -> dict[str, Any]:  # noqa: N802
    return {"proposal_id": c.ids["proposal"]}


def SP(f: Any, c: Any) -> dict[str, Any]:  # noqa: N802
    return {"slug": c.slug, "proposal_id": c.ids["proposal"]}


def _consensus_words(ctx: Ctx) -> str:
    """The panel's consensus comment a persona sends (its own words, told apart)."""
    return f"The panel agreed the case is strong ({ctx.persona})."


def _consensus_recorded(ctx: Ctx) -> bool:
    """The persona's consensus comment is the proposal's (trialchair23)."""
    with ctx.f() as s:
        return rq.panel_comment_for(s, ctx.params["proposal_id"]) == _consensus_words(ctx)


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
    Case("POST", "/manage/calls/new", {"manager", "other_manager"}),
    Case("POST", "/manage/calls/{slug}/pools", OFFICE, S),
    Case("POST", "/manage/calls/{slug}/pools/change", OFFICE, S),
    # a joint call: the invited provider's office (other_manager) answers on /manage
    Case("POST", "/manage/calls/{slug}/partners/{provider}/accept", {"other_manager"}),
    Case("POST", "/manage/calls/{slug}/partners/{provider}/decline", {"other_manager"}),
    # ... and the call's own office invites and withdraws partners on its cockpit
    Case("POST", "/manage/calls/{slug}/partners", OFFICE),
    Case("POST", "/manage/calls/{slug}/partners/{provider}/withdraw", OFFICE),
    Case("GET", "/manage/jobs/{job_id}", STAFF, _job),
    Case("GET", "/manage/calls/{slug}/edit", OFFICE, S),
    Case("POST", "/manage/calls/{slug}/edit", OFFICE, S),
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
    ),
    Case(
        "POST",
        "/manage/providers/{slug}/pools",
        OFFICE,
        lambda f, c: {"slug": _provider_slug(f, c)},
    ),
    Case("GET", "/account/tokens", SIGNED),
    Case("POST", "/account/tokens", SIGNED),
    Case("POST", "/account/tokens/{token_id}/revoke", {"assigned"}, _token_of_assigned),
    Case("GET", "/review", SIGNED),
    Case("POST", "/review/load-limit", SIGNED),
    Case("POST", "/review/languages", SIGNED),
    Case("POST", "/review/year-limit", SIGNED),
    Case("GET", "/review/assignments/{assignment_id}", {"assigned"}, A),
    Case(
        "POST",
        "/review/assignments/{assignment_id}/respond",
        {"assigned"},
        A,
    ),
    Case("POST", "/review/assignments/{assignment_id}/conflict", {"assigned"}, A),
    Case("POST", "/review/assignments/{assignment_id}/more-time", {"assigned"}, A),
    Case("POST", "/review/assignments/{assignment_id}", {"assigned"}, A),
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
    Case("POST", "/technical/proposals/{proposal_id}", {"technical"}, P),
    # the safety officer's pages (trialfac24): this world's call has no safety review, so
    # 404 for everyone (the officer's access: tests/facilities/test_neutron_source.py)
    Case("GET", "/technical/calls/{slug}/safety", set(), S),
    Case("GET", "/technical/proposals/{proposal_id}/safety", set(), P),
    Case("POST", "/technical/proposals/{proposal_id}/safety", set(), P),
    Case("GET", "/manage/calls/{slug}", STAFF, S),
    Case("POST", "/manage/calls/{slug}/transition", OFFICE, S),
    Case(
        "POST",
        "/manage/calls/{slug}/submission-extension",
        STAFF,
        S,
        data={"proposal": "X", "until": "2099-01-01", "reason": "Power cut"},
        phase=EXTENSION_OVER,
    ),
    # trialop22: the office withdraws a proposal on its PI's request (a fresh one each)
    Case("POST", "/manage/calls/{slug}/withdraw-proposal", STAFF),
    Case(
        "POST",
        "/manage/calls/{slug}/steps/{step}",
        STAFF,
        lambda f, c: {**S(f, c), "step": "allocation"},
    ),
    Case("GET", "/manage/calls/{slug}/assignment", STAFF, S),
    Case("POST", "/manage/calls/{slug}/assignment/add", STAFF, S),
    Case(
        "POST",
        "/manage/calls/{slug}/assignment/{assignment_id}/remove",
        STAFF,
        _spare_assignment,
        data={"reason": "test"},
    ),
    Case("POST", "/manage/calls/{slug}/assignment/extend", STAFF, lambda f, c: _due_call(f, c)),
    Case("GET", "/manage/calls/{slug}/triage", STAFF, S),
    Case(
        "POST",
        "/manage/calls/{slug}/triage/{proposal_id}/set-aside",
        STAFF,
        SP,
        data={"category": "incomplete", "reason": "No target list."},
        phase=TRIAGE_OVER,
    ),
    Case(
        "POST",
        "/manage/calls/{slug}/triage/{proposal_id}/return",
        STAFF,
        SP,
        data={"reason": "Found it."},
        phase=TRIAGE_OVER,
    ),
    Case("GET", "/manage/calls/{slug}/ranking", STAFF, S),
    Case("POST", "/manage/calls/{slug}/ranking/freeze", STAFF, S),
    Case("POST", "/manage/calls/{slug}/ranking/unfreeze", STAFF, S),
    # the panel's consensus (trialchair23)
    Case(
        "POST",
        "/manage/calls/{slug}/ranking/{proposal_id}/consensus",
        STAFF,
        SP,
        data=lambda ctx: {"grade": "4", "comment": _consensus_words(ctx)},
        done=_consensus_recorded,
    ),
    Case("POST", "/manage/calls/{slug}/unreviewed/{proposal_id}", STAFF, SP),
    Case("GET", "/manage/calls/{slug}/decisions", STAFF, S),
    # the TAC chair's list (trialtac18): its writes wait for the ranking (phase, below)
    Case("GET", "/manage/calls/{slug}/tac", STAFF, S),
    # its CSV (trialrev20b): the same readers; a conflicted chair gets it without that row
    Case("GET", "/manage/calls/{slug}/tac.csv", STAFF, S),
    Case("POST", "/manage/calls/{slug}/tac/lock", STAFF, S),
    # reopening a locked list (trialtac19): the user office only (phase, below)
    Case("POST", "/manage/calls/{slug}/tac", OFFICE, S),
    Case("POST", "/manage/calls/{slug}/tac/{proposal_id}", STAFF, SP),
    Case(
        "POST",
        "/manage/calls/{slug}/decisions/{proposal_id}/override",
        STAFF,
        SP,
    ),
    # nobody may release or publish a call in review (the phase refuses: 404 for everyone
    # that may not manage it, 400 for its staff would be a phase refusal): released and
    # published calls are exercised in tests/allocation and tests/scheduling
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


def _node_account(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    """A fresh account and a resource of the cycle's call (to be given as node staff)."""
    with f() as s:
        call = call_by_slug(s, c.slug)
        assert call is not None
        u = people_services.register_user(
            s,
            email=f"n{uuid.uuid4().hex[:10]}@example.org",
            name="Node Staff",
            password="long enough password",
        )
        s.commit()
        return {
            "slug": _provider_slug(f, c),
            "email": u.email,
            "user_id": u.id,
            "pool_id": call.pools[0].pool_id,
        }


def _spare_node(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    """A node-staff grant on a resource of the cycle's call, given to a fresh account."""
    from opencall.facilities import services as fac_services

    made = _node_account(f, c)
    with f() as s:
        call = call_by_slug(s, c.slug)
        assert call is not None
        (g,) = fac_services.give_node_staff(
            s, call.provider, email=made["email"], resources=[made["pool_id"]]
        )
        s.commit()
        return {"slug": made["slug"], "grant_id": g.id}


def PS(f: Any, c: Any) -> dict[str, Any]:  # noqa: N802
    return {"slug": _provider_slug(f, c)}


# people and roles of a provider (the cycle's manager is its administrator)
ROLES_HTML: list[Case] = [
    Case("GET", "/manage/providers/{slug}/people", OFFICE, PS),
    Case("POST", "/manage/providers/{slug}/people", OFFICE, PS),
    Case("POST", "/manage/providers/{slug}/people/{grant_id}/revoke", OFFICE, _spare_grant),
    Case(
        "POST",
        "/manage/providers/{slug}/invitations/{inv_id}/revoke",
        OFFICE,
        _spare_role_invitation,
    ),
    # the invitation page is open to whoever holds the link ...
    Case("GET", "/roles/invitations/{token}", EVERYONE, _spare_role_invitation),
    # ... accepting needs the invited account; any other is refused (403), nothing changes
    Case("POST", "/roles/invitations/{token}", {"technical"}, _spare_role_invitation),
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
    Case("POST", "/manage/calls/{slug}/reviewers", STAFF, S),
    Case(
        "POST", "/manage/calls/{slug}/reviewers/{inv_id}/withdraw", STAFF, _spare_review_invitation
    ),
    Case("GET", "/review/invitations/{token}", EVERYONE, _spare_review_invitation),
    # answering needs the invited account: any other is refused (403), nothing changes
    Case("POST", "/review/invitations/{token}", {"unassigned"}, _spare_review_invitation),
    Case("GET", "/account/expertise", SIGNED),
    Case("POST", "/account/expertise", SIGNED),
    Case("POST", "/account/expertise/publications", SIGNED),
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
    ),
    Case("GET", "/api/v1/calls/{slug}/proposals", STAFF, S, api=True),
    Case(
        "PUT",
        "/api/v1/proposals/{proposal_id}/deadline",
        STAFF,
        P,
        api=True,
        json={"until": "2099-01-01T00:00:00Z", "reason": "Power cut"},
        phase=EXTENSION_OVER,
    ),
    Case("POST", "/api/v1/proposals/{proposal_id}/withdrawal", STAFF, api=True),
    Case("GET", "/api/v1/calls/{slug}/assignments", STAFF, S, api=True),
    Case("GET", "/api/v1/calls/{slug}/assignments/uncovered", STAFF, S, api=True),
    Case("GET", "/api/v1/calls/{slug}/assignments/declined", STAFF, S, api=True),
    Case("GET", "/api/v1/calls/{slug}/triage", STAFF, S, api=True),
    Case(
        "PUT",
        "/api/v1/calls/{slug}/proposals/{proposal_id}/triage",
        STAFF,
        SP,
        api=True,
        json={"set_aside": True, "category": "incomplete", "reason": "No target list."},
        phase=TRIAGE_OVER,
    ),
    Case(
        "PUT",
        "/api/v1/calls/{slug}/proposals/{proposal_id}/consensus",
        STAFF,
        SP,
        api=True,
        json=lambda ctx: {"grade": 4, "comment": _consensus_words(ctx)},
        done=_consensus_recorded,
    ),
    Case(
        "PUT",
        "/api/v1/calls/{slug}/reviewers/{reviewer_id}/deadline",
        STAFF,
        lambda f, c: _due_call(f, c),
        api=True,
    ),
    Case("GET", "/api/v1/calls/{slug}/ranking", STAFF, S, api=True),
    Case("GET", "/api/v1/calls/{slug}/decisions", STAFF, S, api=True),
    Case("GET", "/api/v1/calls/{slug}/unreviewed", STAFF, S, api=True),
    Case("GET", "/api/v1/calls/{slug}/tac", STAFF, S, api=True),
    Case("GET", "/api/v1/calls/{slug}/tac/preview", STAFF, S, api=True),
    # public once published, so an anonymous visitor is told "not found", not "sign in"
    Case("GET", "/api/v1/calls/{slug}/awards", STAFF, S, api=True, anonymous="404"),
    Case("GET", "/api/v1/calls/{slug}/schedule", STAFF, S, api=True),
    Case("GET", "/api/v1/calls/{slug}/report", OFFICE, S, api=True),
    Case("GET", "/api/v1/providers/{slug}/roles", OFFICE, PS, api=True),
    Case("GET", "/api/v1/providers/{slug}/invitations", OFFICE, PS, api=True),
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
    # node staff: some resources of the provider given to a person (its administrators)
    Case("GET", "/api/v1/providers/{slug}/node-staff", OFFICE, PS, api=True),
    Case("POST", "/api/v1/providers/{slug}/node-staff", OFFICE, _node_account, api=True),
    Case("DELETE", "/api/v1/providers/{slug}/node-staff/{grant_id}", OFFICE, _spare_node, api=True),
    Case("GET", "/api/v1/calls/{slug}/reviewer-invitations", STAFF, S, api=True),
    Case(
        "POST",
        "/api/v1/calls/{slug}/reviewer-invitations",
        STAFF,
        S,
        api=True,
        json={"emails": ["invitee@example.org"]},
    ),
    Case("POST", "/api/v1/review-invitations/answer", {"unassigned"}, api=True),
    Case("GET", "/api/v1/me/expertise", SIGNED, api=True),
    Case("GET", "/api/v1/me/review-load", SIGNED, api=True),
    Case("PUT", "/api/v1/me/review-load", SIGNED, api=True, json={"max_at_once": 7}),
    Case("GET", "/api/v1/me/review-languages", SIGNED, api=True),
    Case("GET", "/api/v1/me/review-year", SIGNED, api=True),
    Case("PUT", "/api/v1/me/review-year", SIGNED, api=True, json={"max_per_year": 20}),
    Case("PUT", "/api/v1/me/review-languages", SIGNED, api=True, json={"languages": ["es"]}),
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
    Case("POST", "/api/v1/roles/invitations/accept", {"technical"}, api=True),
]


def _continuous_call(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    """An open continuous call of the cycle's facility, chaired by the chair persona,
    whose first cut-off passed yesterday (a cut consumes it: made fresh per request)."""
    from opencall.calls import services as call_services
    from opencall.db import utcnow

    now = utcnow().replace(microsecond=0)
    with f() as s:
        call = call_by_slug(s, c.slug)
        chair = user_by_email(s, c.emails["chair"])
        assert call is not None and chair is not None
        slug = f"rolling-{uuid.uuid4().hex[:8]}"
        made = call_services.create_call(s, call.facility, {
            "slug": slug, "code": "RO", "title": "Continuous call", "cycle": "2027",
            "opens_at": now - dt.timedelta(days=30), "closes_at": now + dt.timedelta(days=30),
            "mode": "continuous", "cutoffs": [now - dt.timedelta(days=1)],
            "form": dict(call.form)})  # fmt: skip
        made.status = "open"  # (no proposals: a cut then makes no batch, and counts the cut-off)
        people_services.grant_role(s, chair.id, "chair", call_id=made.id)
        s.commit()
        return {"slug": slug}


def _cut(ctx: Ctx) -> bool:
    with ctx.f() as s:
        call = call_by_slug(s, ctx.params["slug"])
        return call is not None and call.cutoffs_done == 1


# a continuous call's batches (cycle.batches): its staff read them, its office cuts them
HTML += [
    Case("GET", "/manage/calls/{slug}/batches", STAFF, _continuous_call),
    Case("POST", "/manage/calls/{slug}/batches/cut", OFFICE, _continuous_call,
         data={"confirm": "yes"}, done=_cut),
]  # fmt: skip
CASES = HTML + API
ROUTES = {(c.method, c.path) for c in CASES}


# ---------------------------------------------------------------- strict bodies and effects
# The valid body, fresh parameters and effect of every write, assigned onto the cases
# above by method and path (so that the table stays one screen of who may do what).


def _mark(ctx: Ctx, key: str = "mark") -> str:
    """A text no other request of the matrix writes, noted in the request's params."""
    ctx.params[key] = f"{ctx.persona.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    return str(ctx.params[key])


def _count(ctx: Ctx, column: Any, *where: Any) -> int:
    with ctx.f() as s:
        return int(s.scalar(select(func.count(column)).where(*where)) or 0)


def _new_call_form(ctx: Ctx) -> dict[str, Any]:
    """A complete new call of the persona's own facility (the cycle's or the other one)."""
    slug = ctx.c.other_slug if ctx.persona == "other_manager" else ctx.c.slug
    with ctx.f() as s:
        call = call_by_slug(s, slug)
        facility_id = call.facility_id if call is not None else 0
    return {
        "facility_id": str(facility_id),
        "slug": "new-" + _mark(ctx),
        "code": "NEW",
        "title": "A new call",
        "cycle": "2029",
        "opens_at": "2029-01-01 00:00",
        "closes_at": "2029-02-01 00:00",
        "anonymity": "dual",
    }


def _call_made(ctx: Ctx) -> bool:
    with ctx.f() as s:
        return call_by_slug(s, "new-" + ctx.params["mark"]) is not None


def _edit_form(ctx: Ctx) -> dict[str, Any]:
    """The call's own form as the edit page shows it, with a new description."""
    from opencall.calls.manage_views import call_form_values

    with ctx.f() as s:
        call = call_by_slug(s, ctx.c.slug)
        assert call is not None
        values = call_form_values(call)
    return {**values, "description": "Now with a longer description, " + _mark(ctx)}


def _described(ctx: Ctx) -> bool:
    with ctx.f() as s:
        call = call_by_slug(s, ctx.c.slug)
        return call is not None and ctx.params["mark"] in (call.description or "")


def _facility_form(ctx: Ctx) -> dict[str, Any]:
    return {"name": "A second facility", "slug": "f-" + _mark(ctx), "kind": "custom"}


def _facility_made(ctx: Ctx) -> bool:
    from opencall.facilities.models import Facility

    return bool(_count(ctx, Facility.id, Facility.slug == "f-" + ctx.params["mark"]))


def _facility_id(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    with f() as s:
        call = call_by_slug(s, c.slug)
        assert call is not None
        return {"slug": call.provider.slug, "facility_id": call.facility_id}


def _pool_form(ctx: Ctx) -> dict[str, Any]:
    return {
        "facility_id": str(ctx.params["facility_id"]),
        "name": "LST " + _mark(ctx),
        "pool_type": "lst_hours",
        "amount": "10",
        "attributes": '{"lst_start_h": 3, "lst_end_h": 4}',
    }


def _pool_made(ctx: Ctx) -> bool:
    return bool(_count(ctx, CapacityPool.id, CapacityPool.name == "LST " + ctx.params["mark"]))


def _token_form(ctx: Ctx) -> dict[str, Any]:
    return {"name": "t-" + _mark(ctx), "scope_read": "on", "days": "30"}


def _token_made(ctx: Ctx) -> bool:
    from opencall.people.models import ApiToken

    return bool(_count(ctx, ApiToken.id, ApiToken.name == "t-" + ctx.params["mark"]))


def _token_revoked(ctx: Ctx) -> bool:
    from opencall.people.models import ApiToken

    with ctx.f() as s:
        tok = s.get(ApiToken, ctx.params["token_id"])
        return tok is not None and tok.revoked_at is not None


def _fresh_assignment(f: sessionmaker[Session], c: Any, status: str = "assigned") -> dict[str, Any]:
    """An assignment of the assigned persona in ``status`` that no request answered yet:
    one left by an earlier refused request, else a new one to a proposal submitted for it
    (answering consumes it; reusing keeps the reviewer under the call's maximum load)."""
    with f() as s:
        call = call_by_slug(s, c.slug)
        reviewer = user_by_email(s, c.emails["assigned"])
        assert call is not None and reviewer is not None
        a = s.scalar(
            select(ReviewAssignment).where(
                ReviewAssignment.reviewer_id == reviewer.id,
                ReviewAssignment.status == status,
                ReviewAssignment.id != c.ids["assignment"],
            )
        )
        if a is None:
            a = rv.add_assignment(s, call, _submitted_proposal(s, call), reviewer)
            if status == "accepted":
                rv.respond_to_assignment(s, a, reviewer, accept=True)
            s.commit()
        return {"assignment_id": a.id, "proposal_id": a.proposal_id}


def _submitted_proposal(s: Session, call: Any) -> Proposal:
    """A proposal submitted before the deadline, added to a call that is in review."""
    from tests import factories as F

    status, call.status = call.status, "open"
    p = F.full_proposal(s, call, F.user(s, institution="Nowhere Institute", country="KEN"))
    prop_services.submit(s, p, now=F.NOW)
    call.status = status
    s.flush()
    return p


def _assignment_status(*status: str) -> Callable[[Ctx], bool]:
    def check(ctx: Ctx) -> bool:
        with ctx.f() as s:
            a = s.get(ReviewAssignment, ctx.params["assignment_id"])
            return a is not None and a.status in status

    return check


def _accepted_assignment(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    return _fresh_assignment(f, c, "accepted")  # a saved draft may be saved again


def _accepted_with_deadline(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    """An accepted assignment in a call with a review deadline (asking for more time)."""
    with f() as s:
        call = call_by_slug(s, c.slug)
        assert call is not None
        if not (call.review_settings or {}).get("review_deadline"):
            # a day ahead, as _due_call's: the matrix's extensions go 2 to 3 days ahead
            due = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
            call.review_settings = {
                **(call.review_settings or {}),
                "review_deadline": due.isoformat(),
            }
            s.commit()
    return _accepted_assignment(f, c)


def _more_time_form(ctx: Ctx) -> dict[str, Any]:
    return {"more_time": "Two more weeks, please. " + _mark(ctx)}


def _more_time_asked(ctx: Ctx) -> bool:
    from opencall.auditlog import AuditEvent

    with ctx.f() as s:
        return bool(
            s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.action == "review.more_time_asked",
                    AuditEvent.reason.contains(ctx.params["mark"]),
                )
            )
        )


def _review_form(ctx: Ctx) -> dict[str, Any]:
    return {
        "grade": "4",
        "confidence": "3",
        "comments_to_applicants": "Clear aims. " + _mark(ctx),
        "comments_to_panel": "",
        "action": "save",
    }


def _reviewed(ctx: Ctx) -> bool:
    from opencall.reviews.models import Review

    return bool(
        _count(
            ctx,
            Review.id,
            Review.assignment_id == ctx.params["assignment_id"],
            Review.comments_to_applicants.contains(ctx.params["mark"]),
        )
    )


def _technical_form(ctx: Ctx) -> dict[str, Any]:
    return {"verdict": "feasible", "notes_to_panel": "Fine. " + _mark(ctx)}


def _technical_saved(ctx: Ctx) -> bool:
    from opencall.reviews.models import TechnicalReview

    return bool(
        _count(ctx, TechnicalReview.id, TechnicalReview.notes_to_panel.contains(ctx.params["mark"]))
    )


def _twin_call(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    """A call of the cycle's facility in review, chaired by the chair persona: what a
    phase change consumes (the cycle's call stays in review for the other cases)."""
    with f() as s:
        call = call_by_slug(s, c.slug)
        chair = user_by_email(s, c.emails["chair"])
        assert call is not None and chair is not None
        from opencall.calls import services as call_services
        from tests import factories as F

        slug = f"twin-{uuid.uuid4().hex[:8]}"
        twin = call_services.create_call(
            s,
            call.facility,
            {
                "slug": slug,
                "code": "TW",
                "title": "Twin call",
                "cycle": "2027",
                "opens_at": F.NOW - dt.timedelta(days=30),
                "closes_at": F.NOW + dt.timedelta(days=30),
                "form": dict(call.form),
            },
        )
        twin.status = "review"  # (no proposals: its opening and closing would change nothing)
        people_services.grant_role(s, chair.id, "chair", call_id=twin.id)
        s.commit()
        return {"slug": slug}


def _call_status(status: str) -> Callable[[Ctx], bool]:
    def check(ctx: Ctx) -> bool:
        with ctx.f() as s:
            call = call_by_slug(s, ctx.params["slug"])
            return call is not None and call.status == status

    return check


def _step_done_before(kind: str, step: str) -> Callable[[Any, Any], dict[str, Any]]:
    """The step's params, after the step's earlier job (a persona before) has finished:
    while one is queued or running, asking again answers that job (jobs.enqueue_once)."""

    def params(f: Any, c: Any) -> dict[str, Any]:
        with f() as s:
            s.execute(
                update(jobs.Job)
                .where(jobs.Job.kind == kind, jobs.Job.status.in_(jobs.ACTIVE))
                .values(status="done")
            )
            s.commit()
        return {**S(f, c), "step": step}

    return params


def _job_of(kind: str) -> Callable[[Ctx], bool]:
    """A job of ``kind`` was started by the persona (its id is in the call's jobs)."""

    def check(ctx: Ctx) -> bool:
        with ctx.f() as s:
            u = user_by_email(s, ctx.c.emails[ctx.persona]) if ctx.persona in ctx.c.emails else None
            if u is None:
                return False
            return bool(
                s.scalar(
                    select(func.count(jobs.Job.id)).where(
                        jobs.Job.kind == kind, jobs.Job.created_by == u.id
                    )
                )
            )

    return check


def _add_assignment_form(ctx: Ctx) -> dict[str, Any]:
    """A new pair: a fresh reviewer of the call for the cycle's second proposal."""
    from tests import factories as F

    with ctx.f() as s:
        call = call_by_slug(s, ctx.c.slug)
        assert call is not None
        u = F.user(s, institution="Pair Institute", country="KEN")
        people_services.grant_role(s, u.id, "reviewer", call_id=call.id)
        s.commit()
        ctx.params["reviewer_id"] = u.id
    return {"proposal_id": str(ctx.c.ids["proposal"] + 1), "reviewer_id": str(u.id)}


def _pair_added(ctx: Ctx) -> bool:
    return bool(
        _count(
            ctx,
            ReviewAssignment.id,
            ReviewAssignment.reviewer_id == ctx.params["reviewer_id"],
            ReviewAssignment.status != "removed",
        )
    )


def _people_form(ctx: Ctx) -> dict[str, Any]:
    return {"email": f"{_mark(ctx)}@new.example", "role": "reviewer", "scope": ctx.c.slug}


def _role_given(ctx: Ctx) -> bool:
    from opencall.people.models import RoleInvitation

    email = f"{ctx.params['mark']}@new.example"
    return bool(_count(ctx, RoleInvitation.id, RoleInvitation.email == email))


def _grant_gone(ctx: Ctx) -> bool:
    from opencall.people.models import RoleGrant

    with ctx.f() as s:
        return s.get(RoleGrant, ctx.params["grant_id"]) is None


def _invitation_revoked(ctx: Ctx) -> bool:
    from opencall.people.models import RoleInvitation

    with ctx.f() as s:
        inv = s.get(RoleInvitation, ctx.params["inv_id"])
        return inv is None or inv.revoked_at is not None


def _role_invitation_to_technical(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    """An invitation to the technical persona (technical reviewer of the call, which it
    already is: accepting changes no one's rights in the rest of the matrix)."""
    from opencall.people.models import RoleInvitation

    params = _spare_role_invitation(f, c)
    with f() as s:
        inv = s.get(RoleInvitation, params["inv_id"])
        call = call_by_slug(s, c.slug)
        assert inv is not None and call is not None
        inv.email = c.emails["technical"]
        inv.role, inv.provider_id, inv.call_id = "technical_reviewer", None, call.id
        s.commit()
    return params


def _role_accepted(ctx: Ctx) -> bool:
    from opencall.people.models import RoleInvitation

    with ctx.f() as s:
        inv = s.get(RoleInvitation, ctx.params["inv_id"])
        return inv is not None and inv.accepted_at is not None


def _review_invitation_to_unassigned(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    """An invitation to review the call, sent to the unassigned persona (a reviewer of the
    call already: accepting changes no one's rights in the rest of the matrix)."""
    from opencall.reviews.models import ReviewInvitation

    params = _spare_review_invitation(f, c)
    with f() as s:
        inv = s.get(ReviewInvitation, params["inv_id"])
        assert inv is not None
        inv.email = c.emails["unassigned"]
        s.commit()
    return params


def _review_invitation_status(status: str) -> Callable[[Ctx], bool]:
    def check(ctx: Ctx) -> bool:
        from opencall.reviews.models import ReviewInvitation

        with ctx.f() as s:
            inv = s.get(ReviewInvitation, ctx.params["inv_id"])
            return inv is not None and inv.status == status

    return check


def _reviewers_form(ctx: Ctx) -> dict[str, Any]:
    return {"emails": f"{_mark(ctx)}@reviewers.example"}


def _review_invited(ctx: Ctx) -> bool:
    from opencall.reviews.models import ReviewInvitation

    email = f"{ctx.params['mark']}@reviewers.example"
    return bool(_count(ctx, ReviewInvitation.id, ReviewInvitation.email == email))


def _expertise_form(ctx: Ctx) -> dict[str, Any]:
    return {"keywords": "pulsars, " + _mark(ctx)}


def _expertise_saved(ctx: Ctx) -> bool:
    from opencall.people.models import ExpertiseProfile

    col = ExpertiseProfile.keywords
    return bool(_count(ctx, ExpertiseProfile.user_id, col.contains(ctx.params["mark"])))


#: the values the settings' requests take, one after another (a counter each): each
#: request a value the earlier requests of the test did not set (a repeat would find the
#: effect there whatever the request did; a test makes a dozen of each), and the same
#: values on every run (flake21: they were drawn with uuid4)
_LOADS, _YEARS, _LANG_PAIRS, _MINUTES = (itertools.count(1) for _ in range(4))


def _load_limit(ctx: Ctx) -> int:
    """A limit on the reviews at once no earlier request of the persona set: 50..100,
    never as few as the assigned persona already holds (a draw of 2 refused the later
    ``_fresh_assignment`` of that persona, one run in about fifty)."""
    ctx.params["load"] = 50 + next(_LOADS) % 51
    return int(ctx.params["load"])


def _year_limit(ctx: Ctx) -> int:
    """A limit on the reviews per year no earlier request of the persona set: 500..1000,
    never as few as the assigned persona was given this year (as above)."""
    ctx.params["year"] = 500 + next(_YEARS) % 501
    return int(ctx.params["year"])


def _year_limit_set(ctx: Ctx) -> bool:
    from opencall.reviews.models import ReviewerYearLimit

    return _own_limit_set(ctx, ReviewerYearLimit, ReviewerYearLimit.max_per_year, "year")


#: languages a persona may declare (``_review_languages``): two of these
_LANGS = ("de", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "sv", "tr", "zh", "ar")
_PAIRS = list(itertools.combinations(sorted(_LANGS), 2))


def _review_languages(ctx: Ctx) -> list[str]:
    """Two review languages no earlier request of the persona set (the next of the 91
    pairs; a drawn pair repeated one run in about ninety)."""
    pair = list(_PAIRS[next(_LANG_PAIRS) % len(_PAIRS)])
    ctx.params["langs"] = ",".join(pair)
    return pair


def _review_languages_set(ctx: Ctx) -> bool:
    from opencall.people.models import User
    from opencall.reviews.models import ReviewerLanguages

    email = ctx.c.emails.get(ctx.persona)
    return email is not None and bool(
        _count(
            ctx,
            ReviewerLanguages.user_id,
            ReviewerLanguages.user_id
            == select(User.id).where(User.email == email).scalar_subquery(),
            ReviewerLanguages.languages == ctx.params["langs"],
        )
    )


def _load_limit_set(ctx: Ctx) -> bool:
    from opencall.reviews.models import ReviewerLoadLimit

    return _own_limit_set(ctx, ReviewerLoadLimit, ReviewerLoadLimit.max_at_once, "load")


def _own_limit_set(ctx: Ctx, table: Any, column: Any, key: str) -> bool:
    """Whether the persona's row of ``table`` holds the limit drawn under ``key``."""
    from opencall.people.models import User

    email = ctx.c.emails.get(ctx.persona)
    return email is not None and bool(
        _count(
            ctx,
            table.user_id,
            table.user_id == select(User.id).where(User.email == email).scalar_subquery(),
            column == ctx.params[key],
        )
    )


def _publication_form(ctx: Ctx) -> dict[str, Any]:
    return {"title": "A paper " + _mark(ctx), "year": "2024"}


def _publication_made(ctx: Ctx) -> bool:
    from opencall.people.models import ReviewerPublication as Publication

    return bool(_count(ctx, Publication.id, Publication.title.contains(ctx.params["mark"])))


def _publication_gone(ctx: Ctx) -> bool:
    from opencall.people.models import ReviewerPublication as Publication

    with ctx.f() as s:
        return s.get(Publication, ctx.params["pub_id"]) is None


def _bib(ctx: Ctx) -> dict[str, Any]:
    mark = _mark(ctx)
    bib = f"@article{{a, title={{Imported {mark}}}, year={{2024}}}}".encode()
    return {"file": ("refs.bib", bib, "text/plain")}


def _api_review(ctx: Ctx) -> dict[str, Any]:
    return {"grade": 4, "confidence": 3, "comments_to_applicants": "Clear. " + _mark(ctx)}


STRICT: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/manage/calls/new"): {"data": _new_call_form, "done": _call_made},
    ("POST", "/manage/calls/{slug}/edit"): {"data": _edit_form, "done": _described},
    ("POST", "/manage/providers/{slug}/facilities"): {
        "data": _facility_form,
        "done": _facility_made,
    },
    ("POST", "/manage/providers/{slug}/pools"): {
        "allowed": OFFICE,
        "params": _facility_id,
        "data": _pool_form,
        "done": _pool_made,
    },
    ("POST", "/account/tokens"): {"data": _token_form, "done": _token_made},
    ("POST", "/account/tokens/{token_id}/revoke"): {"done": _token_revoked},
    ("POST", "/review/assignments/{assignment_id}/respond"): {
        "params": _fresh_assignment,
        "data": {"action": "accept"},
        "done": _assignment_status("accepted"),
    },
    ("POST", "/review/assignments/{assignment_id}/conflict"): {
        "params": _fresh_assignment,
        "data": {"reason": "I co-authored a paper with the team last year."},
        "done": _assignment_status("conflict", "removed", "declined"),
    },
    ("POST", "/review/assignments/{assignment_id}/more-time"): {
        "params": _accepted_with_deadline,
        "data": _more_time_form,
        "done": _more_time_asked,
    },
    ("POST", "/review/assignments/{assignment_id}"): {
        "params": _accepted_assignment,
        "data": _review_form,
        "done": _reviewed,
    },
    ("POST", "/technical/proposals/{proposal_id}"): {
        "data": _technical_form,
        "done": _technical_saved,
    },
    ("POST", "/manage/calls/{slug}/transition"): {
        "params": _twin_call,
        "data": {"target": "ranking", "confirm": "yes", "reason": "Reviews are in."},
        "done": _call_status("ranking"),
    },
    ("POST", "/manage/calls/{slug}/steps/{step}"): {
        "params": _step_done_before("review.conflicts", "conflicts"),
        "done": _job_of("review.conflicts"),
    },
    ("POST", "/manage/calls/{slug}/assignment/add"): {
        "data": _add_assignment_form,
        "done": _pair_added,
    },
    ("POST", "/manage/calls/{slug}/assignment/{assignment_id}/remove"): {
        "done": _assignment_status("removed"),
    },
    ("POST", "/manage/providers/{slug}/people"): {"data": _people_form, "done": _role_given},
    ("POST", "/manage/providers/{slug}/people/{grant_id}/revoke"): {"done": _grant_gone},
    ("POST", "/manage/providers/{slug}/invitations/{inv_id}/revoke"): {"done": _invitation_revoked},
    ("POST", "/roles/invitations/{token}"): {
        "allowed": {"technical"},
        "params": _role_invitation_to_technical,
        "refused": "403",
        "done": _role_accepted,
    },
    ("POST", "/manage/calls/{slug}/reviewers"): {"data": _reviewers_form, "done": _review_invited},
    ("POST", "/manage/calls/{slug}/reviewers/{inv_id}/withdraw"): {
        "done": _review_invitation_status("revoked")
    },
    ("POST", "/review/invitations/{token}"): {
        "allowed": {"unassigned"},
        "params": _review_invitation_to_unassigned,
        "data": {"answer": "accept", "max_load": "3"},
        "refused": "403",
        "done": _review_invitation_status("accepted"),
    },
    ("POST", "/account/expertise"): {"data": _expertise_form, "done": _expertise_saved},
    ("POST", "/review/load-limit"): {
        "data": lambda ctx: {"max_at_once": str(_load_limit(ctx))},
        "done": _load_limit_set,
    },
    ("POST", "/review/year-limit"): {
        "data": lambda ctx: {"max_per_year": str(_year_limit(ctx))},
        "done": _year_limit_set,
    },
    ("POST", "/review/languages"): {
        "data": lambda ctx: {"review_languages": ", ".join(_review_languages(ctx))},
        "done": _review_languages_set,
    },
    ("POST", "/account/expertise/publications"): {
        "data": _publication_form,
        "done": _publication_made,
    },
    ("POST", "/account/expertise/import"): {"files": _bib, "done": _publication_made},
    ("POST", "/account/expertise/publications/{pub_id}/remove"): {"done": _publication_gone},
    ("POST", "/api/v1/assignments/{assignment_id}/review"): {
        "params": _accepted_assignment,
        "json": _api_review,
        "done": _reviewed,
    },
}


def _draft_with_pool(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    """A draft call of the cycle's facility and a new pool of it, not offered yet (the
    cycle's call is in review, and its facility's pools are all offered)."""
    from opencall.facilities import services as fac_services

    params = _twin_call(f, c)
    with f() as s:
        twin = call_by_slug(s, params["slug"])
        assert twin is not None
        twin.status = "draft"
        pool = fac_services.create_pool(
            s,
            twin.facility,
            name=f"LST {uuid.uuid4().hex[:6]}",
            pool_type="lst_hours",
            amount=10,
            attributes={"lst_start_h": 5, "lst_end_h": 6},
        )
        s.commit()
        return {**params, "pool_id": pool.id}


def _draft_offering_pool(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    """``_draft_with_pool``'s draft call, offering 5 of its new pool (trialfac23)."""
    from opencall.calls import services as call_services

    params = _draft_with_pool(f, c)
    with f() as s:
        call = call_by_slug(s, params["slug"])
        pool = s.get(CapacityPool, params["pool_id"])
        assert call is not None and pool is not None
        call_services.offer_pool(s, call, pool, 5)
        s.commit()
    return params


def _offer_is(ctx: Ctx, amount: float) -> bool:
    from opencall.calls.models import CallPool

    return bool(
        _count(
            ctx, CallPool.id, CallPool.pool_id == ctx.params["pool_id"], CallPool.amount == amount
        )
    )


def _pool_offered(ctx: Ctx) -> bool:
    from opencall.calls.models import CallPool

    return bool(_count(ctx, CallPool.id, CallPool.pool_id == ctx.params["pool_id"]))


def _invited_partner(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    """A draft call of the cycle's provider into which the provider of the other call
    (whose call manager ``other_manager`` is) is invited, not accepted yet."""
    from opencall.calls import partners as call_partners

    params = _draft_with_pool(f, c)
    with f() as s:
        call, other = call_by_slug(s, params["slug"]), call_by_slug(s, c.other_slug)
        assert call is not None and other is not None
        call_partners.invite_partner(s, call, other.provider)
        s.commit()
        return {"slug": call.slug, "provider": other.provider.slug}


def _draft_with_partner_to_invite(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    """A draft call of the cycle's provider and the other call's provider, not invited."""
    params = _draft_with_pool(f, c)
    with f() as s:
        other = call_by_slug(s, c.other_slug)
        assert other is not None
        return {"slug": params["slug"], "provider": other.provider.slug}


def _partner_status(ctx: Ctx) -> str | None:
    from opencall.calls.models import CallPartner
    from opencall.facilities.models import Provider

    with ctx.f() as s:
        call = call_by_slug(s, ctx.params["slug"])
        assert call is not None
        return s.scalar(
            select(CallPartner.status)
            .join(Provider, Provider.id == CallPartner.provider_id)
            .where(CallPartner.call_id == call.id, Provider.slug == ctx.params["provider"])
        )


STRICT[("POST", "/manage/calls/{slug}/partners/{provider}/accept")] = {
    "params": _invited_partner,
    "done": lambda ctx: _partner_status(ctx) == "accepted",
}
STRICT[("POST", "/manage/calls/{slug}/partners/{provider}/decline")] = {
    "params": _invited_partner,
    "done": lambda ctx: _partner_status(ctx) is None,
}
STRICT[("POST", "/manage/calls/{slug}/partners")] = {
    "params": _draft_with_partner_to_invite,
    "data": lambda ctx: {"provider": ctx.params["provider"]},
    "done": lambda ctx: _partner_status(ctx) == "invited",
}
STRICT[("POST", "/manage/calls/{slug}/partners/{provider}/withdraw")] = {
    "params": _invited_partner,
    "done": lambda ctx: _partner_status(ctx) is None,
}
STRICT[("POST", "/manage/calls/{slug}/pools/change")] = {
    "params": _draft_offering_pool,
    "data": lambda ctx: {"pool_id": str(ctx.params["pool_id"]), "amount": "4"},
    "done": lambda ctx: _offer_is(ctx, 4),
}
STRICT[("POST", "/manage/calls/{slug}/pools")] = {
    "params": _draft_with_pool,
    "data": lambda ctx: {"pool_id": str(ctx.params["pool_id"]), "amount": "5"},
    "done": _pool_offered,
}
PHASE = (
    "needs a calibrated ranking and, for an override, allocated decisions: the pipeline "
    "(reviews, calibration, allocation) is beyond this small world, and the cycle's call "
    "is in review, so the staff are refused by the phase with 400 and nothing changes; "
    "tests/test_pipeline.py and tests/allocation run these writes in their phase"
)
STRICT[("POST", "/manage/calls/{slug}/ranking/freeze")] = {
    "data": {"confirm": "yes"},
    "phase": PHASE,
}
STRICT[("POST", "/manage/calls/{slug}/ranking/unfreeze")] = {
    "data": {"confirm": "yes", "reason": "Froze too early."},
    "phase": "the cycle's ranking is not frozen (nor calibrated), so the staff are refused "
    "with 400 and nothing changes; tests/reviews/test_unfreeze.py unfreezes a frozen one",
}
STRICT[("POST", "/manage/calls/{slug}/unreviewed/{proposal_id}")] = {
    "data": {"action": "reject", "reason": "No reviewer."},
    "phase": "proposals short of reviews are resolved once the review is over, and the "
    "cycle's call is in review: the staff are refused with 400 and nothing changes; "
    "tests/allocation/test_unreviewed.py resolves them in phase",
}
STRICT[("POST", "/manage/calls/{slug}/decisions/{proposal_id}/override")] = {
    "data": {"outcome": "awarded", "reason": "Strong science."},
    "phase": PHASE,
}
TAC_PHASE = (
    "the TAC chair's list changes in ranking or allocation, and the cycle's call is in "
    "review: the staff are refused by the phase with 400 and nothing changes; "
    "tests/allocation/test_tac.py moves, bands and locks in phase"
)
STRICT[("GET", "/api/v1/calls/{slug}/tac/preview")] = {
    "phase": "the preview runs the allocation from the calibrated ranking, and the cycle's "
    "call has none (in review): the staff get 400; tests/allocation/test_tac.py previews "
    "in phase",
}
STRICT[("POST", "/manage/calls/{slug}/tac/lock")] = {"data": {"confirm": "yes"}, "phase": TAC_PHASE}
STRICT[("POST", "/manage/calls/{slug}/tac")] = {
    "data": {"reason": "A late technical report."},
    "phase": "the cycle's call is in review and its TAC list is not locked: the user office "
    "is refused with 400 and nothing changes; tests/allocation/test_tac_reserve.py reopens "
    "a locked one",
}
STRICT[("POST", "/manage/calls/{slug}/tac/{proposal_id}")] = {
    "data": {"action": "move", "direction": "up", "places": "1", "reason": "Rare target."},
    "phase": TAC_PHASE,
}
STRICT[("POST", "/manage/calls/{slug}/audit/verify")] = {"writes": False}
STRICT[("POST", "/api/v1/providers/{slug}/roles")] = {
    "json": lambda ctx: {"email": f"{_mark(ctx)}@new.example", "role": "reviewer"},
    "done": _role_given,
}
STRICT[("DELETE", "/api/v1/providers/{slug}/roles/{grant_id}")] = {"done": _grant_gone}


def _node_given(ctx: Ctx) -> bool:
    from opencall.facilities.models import NodeStaff

    return bool(_count(ctx, NodeStaff.id, NodeStaff.user_id == ctx.params["user_id"]))


def _node_gone(ctx: Ctx) -> bool:
    from opencall.facilities.models import NodeStaff

    with ctx.f() as s:
        return s.get(NodeStaff, ctx.params["grant_id"]) is None


STRICT[("POST", "/api/v1/providers/{slug}/node-staff")] = {
    "json": lambda ctx: {"email": ctx.params["email"], "resources": [ctx.params["pool_id"]]},
    "done": _node_given,
}
STRICT[("DELETE", "/api/v1/providers/{slug}/node-staff/{grant_id}")] = {"done": _node_gone}
STRICT[("DELETE", "/api/v1/providers/{slug}/invitations/{invitation_id}")] = {
    "done": _invitation_revoked
}
STRICT[("POST", "/api/v1/calls/{slug}/reviewer-invitations")] = {
    "json": lambda ctx: {"emails": [f"{_mark(ctx)}@reviewers.example"]},
    "done": _review_invited,
}
STRICT[("PUT", "/api/v1/me/expertise")] = {"json": _expertise_form, "done": _expertise_saved}
STRICT[("PUT", "/api/v1/me/review-load")] = {
    "json": lambda ctx: {"max_at_once": _load_limit(ctx)},
    "done": _load_limit_set,
}
STRICT[("PUT", "/api/v1/me/review-year")] = {
    "json": lambda ctx: {"max_per_year": _year_limit(ctx)},
    "done": _year_limit_set,
}
STRICT[("PUT", "/api/v1/me/review-languages")] = {
    "json": lambda ctx: {"languages": _review_languages(ctx)},
    "done": _review_languages_set,
}
STRICT[("POST", "/api/v1/me/publications")] = {
    "json": _publication_form,
    "done": _publication_made,
}
STRICT[("POST", "/api/v1/me/publications/import")] = {"files": _bib, "done": _publication_made}
STRICT[("DELETE", "/api/v1/me/publications/{pub_id}")] = {"done": _publication_gone}
STRICT[("POST", "/api/v1/review-invitations/answer")] = {
    "allowed": {"unassigned"},
    "params": _review_invitation_to_unassigned,
    "json": lambda ctx: {"token": ctx.params["token"], "accept": True, "max_load": 3},
    "refused": "403",
    "done": _review_invitation_status("accepted"),
}
STRICT[("POST", "/api/v1/roles/invitations/accept")] = {
    "allowed": {"technical"},
    "params": _role_invitation_to_technical,
    "json": lambda ctx: {"token": ctx.params["token"]},
    "refused": "403",
    "done": _role_accepted,
}


def _due_call(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    """The cycle's call with a review deadline a day ahead (a later one kept: other
    cases still submit reviews), and the assigned persona with a review to write."""
    from opencall.calls.models import Call
    from opencall.db import utcnow

    _fresh_assignment(f, c)
    with f() as s:
        call = s.get(Call, c.ids["call"])
        assert call is not None
        if not call.review_settings.get("review_deadline"):
            due = utcnow() + dt.timedelta(days=1)
            call.review_settings = {**call.review_settings, "review_deadline": due.isoformat()}
        reviewer = user_by_email(s, c.emails["assigned"])
        assert reviewer is not None
        s.commit()
        return {"slug": c.slug, "reviewer_id": reviewer.id}


def _until(ctx: Ctx) -> str:
    """A new deadline no other request of the matrix gives (2 to 3 days ahead)."""
    from opencall.db import utcnow

    minutes = 2 * 1440 + next(_MINUTES) % 1440
    at = (utcnow() + dt.timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    ctx.params["until"] = at
    return at.strftime("%Y-%m-%d %H:%M")


def _extended(ctx: Ctx) -> bool:
    from opencall.reviews.models import ReviewDeadlineExtension as Ext

    with ctx.f() as s:
        until = s.scalar(
            select(Ext.until).where(
                Ext.call_id == ctx.c.ids["call"], Ext.reviewer_id == ctx.params["reviewer_id"]
            )
        )
        return until == ctx.params["until"]


STRICT[("POST", "/manage/calls/{slug}/assignment/extend")] = {
    "data": lambda ctx: {"reviewer": ctx.c.emails["assigned"], "until": _until(ctx)},
    "done": _extended,
}
STRICT[("PUT", "/api/v1/calls/{slug}/reviewers/{reviewer_id}/deadline")] = {
    "json": lambda ctx: {"until": _until(ctx).replace(" ", "T") + ":00Z", "reason": "ill"},
    "done": _extended,
}


def _fresh_in_review(f: sessionmaker[Session], c: Any) -> dict[str, Any]:
    """A proposal of the cycle's call frozen by its close (under review), of its own PI."""
    with f() as s:
        call = call_by_slug(s, c.slug)
        assert call is not None
        p = _submitted_proposal(s, call)
        p.status = "under_review"
        s.commit()
        return {"slug": c.slug, "proposal_id": p.id, "code": p.code}


def _withdrawn(ctx: Ctx) -> bool:
    with ctx.f() as s:
        p = s.get(Proposal, ctx.params["proposal_id"])
        return p is not None and p.status == "withdrawn"


STRICT[("POST", "/manage/calls/{slug}/withdraw-proposal")] = {
    "params": _fresh_in_review,
    "data": lambda ctx: {"proposal": ctx.params["code"], "reason": "The PI's letter"},
    "done": _withdrawn,
}
STRICT[("POST", "/api/v1/proposals/{proposal_id}/withdrawal")] = {
    "params": _fresh_in_review,
    "json": {"reason": "The PI's letter"},
    "done": _withdrawn,
}
for _case in CASES:
    for _k, _v in STRICT.get((_case.method, _case.path), {}).items():
        setattr(_case, _k, _v)
