"""Every route x every persona: allowed, sign-in asked, or 404 — never a leak.

The table below must name every route of the app: a new route without a case
fails ``test_every_route_has_a_case``.

Every case is strict (issue 10, item 7): a POST carries valid form data, made
fresh where the request consumes something, so that an allowed persona gets a
2xx/3xx and its effect (``done``) is visible, while a refused persona gets the
route's refusal (sign-in asked, or 404), never a 400/409/422 from a check that
runs before the policy, and changes nothing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fpdf import FPDF
from sqlalchemy import func, select
from starlette.routing import Mount, Route

from opencall.calls.queries import call_by_slug
from opencall.people import services as people_services
from opencall.people.models import EmailToken, User, UserSession
from opencall.people.queries import user_by_email
from opencall.proposals import services as prop_services
from opencall.proposals.models import Attachment, PartialUpload, Proposal, Request, TeamMember
from opencall.proposals.services import lifecycle
from tests.authz.authz_cases import ROUTES as WORKSPACE_ROUTES  # run in test_workspace_matrix
from tests.web.conftest import PASSWORD, Web, World, full_proposal, session_cookie

PERSONAS = ("anonymous", "other", "manager", "invited", "coi", "pi")
EVERYONE = set(PERSONAS)
SIGNED_IN = EVERYONE - {"anonymous"}
TEAM = {"pi", "coi"}
PI = {"pi"}


def pdf_bytes(pages: int = 1) -> bytes:
    pdf = FPDF()
    for i in range(pages):
        pdf.add_page()
        pdf.set_font("helvetica", size=12)
        pdf.cell(text=f"Scientific justification, page {i + 1}")
    return bytes(pdf.output())


@dataclass
class Ctx:
    """What a case's form data and its effect are computed from: the persona that asks
    and the parameters made for this very request."""

    web: Web
    w: World
    params: dict[str, Any]
    persona: str
    client: Any


@dataclass
class Case:
    method: str
    path: str  # the route's path template
    allowed: set[str]
    login: bool = True  # anonymous visitors are asked to sign in (else: the page is public)
    params: Callable[[Web, World], dict[str, Any]] = lambda web, w: {}
    data: Callable[[Ctx], dict[str, str]] = lambda c: {}
    files: Callable[[], dict[str, Any]] | None = None  # a multipart upload, made per request
    shows_pi_name_to: set[str] = field(default_factory=set)
    # the effect of the request: true after an allowed persona's request, false after a
    # refused one's (every POST has one, so that a 2xx/3xx that did nothing is no success)
    done: Callable[[Ctx], bool] | None = None


def _get(web: Web, model: Any, ident: int) -> Any:
    with web.factory() as s:
        obj = s.get(model, ident)
        if obj is not None:
            s.expunge(obj)
        return obj


def _new_user(web: Web, prefix: str, *, verified: bool = False) -> User:
    with web.factory() as s:
        u = people_services.register_user(
            s,
            email=f"{prefix}{uuid.uuid4().hex[:10]}@example.org",
            name="Token Person",
            password=PASSWORD,
            verified=verified,
        )
        s.commit()
        s.expunge(u)
        return u


def _token(purpose: str) -> Callable[[Web, World], dict[str, Any]]:
    def make(web: Web, w: World) -> dict[str, Any]:
        u = _new_user(web, "t")
        with web.factory() as s:
            raw = people_services.issue_email_token(
                s, purpose, u.email, user_id=u.id, ttl=people_services.VERIFY_TTL
            )
            s.commit()
        return {"token": raw, "user_id": u.id}

    return make


def _token_used(c: Ctx) -> bool:
    with c.web.factory() as s:
        tok = s.scalar(select(EmailToken).where(EmailToken.user_id == c.params["user_id"]))
        return tok is not None and tok.used_at is not None


def _verified(c: Ctx) -> bool:
    u = _get(c.web, User, c.params["user_id"])
    return u is not None and u.email_verified_at is not None


def _fresh_proposal(web: Web, w: World) -> Proposal:
    """A draft of the PI's (co-I accepted, as in the world), complete enough to submit."""
    with web.factory() as s:
        call = call_by_slug(s, w.slugs["call"])
        pi = s.get(User, w.ids["pi"])
        coi = user_by_email(s, w.emails["coi"])
        assert call is not None and pi is not None and coi is not None
        p = full_proposal(s, call, pi)
        m = prop_services.invite_member(
            s,
            p,
            {
                "email": coi.email,
                "name": coi.name,
                "institution": "Quetzal Observatory",
                "country_iso3": "GTM",
            },
        )
        prop_services.respond_to_invitation(s, m, coi, accept=True)
        s.commit()
        s.expunge(p)
        return p


def _fresh(web: Web, w: World) -> dict[str, Any]:
    return {"proposal_id": _fresh_proposal(web, w).id}


def _status_is(status: str) -> Callable[[Ctx], bool]:
    def check(c: Ctx) -> bool:
        p = _get(c.web, Proposal, c.params["proposal_id"])
        return p is not None and p.status == status

    return check


def _fresh_invitation(web: Web, w: World) -> dict[str, Any]:
    """The invited persona's own invitation, to a fresh proposal (answering consumes it)."""
    p = _fresh_proposal(web, w)
    with web.factory() as s:
        proposal = s.get(Proposal, p.id)
        assert proposal is not None
        m = prop_services.invite_member(
            s,
            proposal,
            {
                "email": w.emails["invited"],
                "name": "Invited Person",
                "institution": "Pending Institute",
                "country_iso3": "IND",
            },
        )
        s.commit()
        return {"member_id": m.id}


def _spare_member(web: Web, w: World) -> dict[str, Any]:
    with web.factory() as s:
        p = s.get(Proposal, w.ids["proposal"])
        m = prop_services.invite_member(
            s,
            p,
            {
                "email": f"s{uuid.uuid4().hex[:8]}@example.org",
                "name": "Spare",
                "institution": "Spare Lab",
                "country_iso3": "KEN",
            },
        )
        s.commit()
        return {"proposal_id": p.id, "member_id": m.id}


def _spare_request(web: Web, w: World) -> dict[str, Any]:
    with web.factory() as s:
        p = s.get(Proposal, w.ids["proposal"])
        r = prop_services.add_request(
            s,
            p,
            "fast",
            {
                "receiver": "UWB",
                "mode": "Tracking",
                "targets": [{"name": "Spare", "ra_deg": 10, "dec_deg": 10, "hours": 1}],
            },
        )
        s.commit()
        return {"proposal_id": p.id, "request_id": r.id}


def _attachment(web: Web, w: World) -> dict[str, Any]:
    with web.factory() as s:
        p = s.get(Proposal, w.ids["proposal"])
        a = prop_services.add_attachment(
            s, p, pdf_bytes(), "case.pdf", upload_dir=web.settings.upload_dir, max_bytes=10**6
        )
        s.commit()
        return {"proposal_id": p.id, "attachment_id": a.id}


def _gone(model: Any, key: str) -> Callable[[Ctx], bool]:
    return lambda c: _get(c.web, model, c.params[key]) is None


def P(web: Web, w: World) -> dict[str, Any]:  # noqa: N802
    return {"proposal_id": w.ids["proposal"]}


def _mark(c: Ctx) -> str:
    """A text no other request of the matrix writes."""
    return f"{c.persona} {uuid.uuid4().hex[:8]}"


def _fast_form(name: str) -> dict[str, str]:
    return {
        "kind": "fast",
        "receiver": "19-beam",
        "mode": "Tracking",
        "rows": "1",
        "targets-0-name": name,
        "targets-0-ra_deg": "10",
        "targets-0-dec_deg": "20",
        "targets-0-hours": "1",
    }


def _target_named(c: Ctx) -> bool:
    """The request form's target (named after the persona and the request) was stored."""
    name = c.params["target"]
    with c.web.factory() as s:
        reqs = s.scalars(select(Request).where(Request.proposal_id == c.params["proposal_id"]))
        return any(t.get("name") == name for r in reqs for t in r.details.get("targets", []))


def _with_target(params: Callable[[Web, World], dict[str, Any]]) -> Callable[..., Any]:
    return lambda web, w: {**params(web, w), "target": f"T{uuid.uuid4().hex[:8]}"}


def _account_form(c: Ctx) -> dict[str, str]:
    """The persona's own account form with a new expertise statement (the rest as stored)."""
    email = c.w.emails.get(c.persona)
    with c.web.factory() as s:
        u = user_by_email(s, email) if email else None
        form = {
            "name": u.name if u else "Nobody",
            "institution": u.institution.name if u and u.institution else "",
            "country_iso3": (u.country_iso3 or "") if u else "",
            "language": u.language if u else "en",
        }
    c.params["expertise"] = f"Pulsars, {_mark(c)}"
    return {**form, "expertise": c.params["expertise"]}


def _account_saved(c: Ctx) -> bool:
    with c.web.factory() as s:
        return bool(
            s.scalar(select(func.count(User.id)).where(User.expertise == c.params["expertise"]))
        )


def _title_form(c: Ctx) -> dict[str, str]:
    p = _get(c.web, Proposal, c.params["proposal_id"])
    c.params["title"] = f"Pulsar timing, {_mark(c)}"
    return {
        "title": c.params["title"],
        "abstract": p.abstract or "",
        "science_case": p.science_case or "",
        "keywords": p.keywords or "",
    }


def _titled(c: Ctx) -> bool:
    with c.web.factory() as s:
        return bool(
            s.scalar(select(func.count(Proposal.id)).where(Proposal.title == c.params["title"]))
        )


def _invite_form(c: Ctx) -> dict[str, str]:
    c.params["email"] = f"n{uuid.uuid4().hex[:10]}@example.org"
    return {
        "email": c.params["email"],
        "name": "New Member",
        "institution": "New Lab",
        "country_iso3": "KEN",
    }


def _invited(c: Ctx) -> bool:
    with c.web.factory() as s:
        return bool(
            s.scalar(select(func.count(TeamMember.id)).where(TeamMember.email == c.params["email"]))
        )


def _register_form(c: Ctx) -> dict[str, str]:
    c.params["email"] = f"r{uuid.uuid4().hex[:10]}@example.org"
    return {
        "email": c.params["email"],
        "name": "New Person",
        "password": PASSWORD,
        "password2": PASSWORD,
        "institution": "New Lab",
        "country_iso3": "KEN",
    }


def _registered(c: Ctx) -> bool:
    with c.web.factory() as s:
        return user_by_email(s, c.params["email"]) is not None


def _login_user(web: Web, w: World) -> dict[str, Any]:
    u = _new_user(web, "l", verified=True)
    return {"email": u.email, "user_id": u.id}


def _signed_in(c: Ctx) -> bool:
    with c.web.factory() as s:
        n = s.scalar(
            select(func.count(UserSession.id)).where(UserSession.user_id == c.params["user_id"])
        )
        return bool(n)


def _applied(c: Ctx) -> bool:
    with c.web.factory() as s:
        return bool(
            s.scalar(select(func.count(Proposal.id)).where(Proposal.title == c.params["title"]))
        )


def _apply_form(c: Ctx) -> dict[str, str]:
    c.params["title"] = f"A new proposal, {_mark(c)}"
    return {"title": c.params["title"]}


def _reset_asked(c: Ctx) -> bool:
    with c.web.factory() as s:
        n = s.scalar(
            select(func.count(EmailToken.id)).where(
                EmailToken.user_id == c.params["user_id"], EmailToken.purpose == "reset"
            )
        )
        return bool(n)


def _answered(c: Ctx) -> bool:
    m = _get(c.web, TeamMember, c.params["member_id"])
    return m is not None and m.status == "declined"


def _logged_out(c: Ctx) -> bool:
    """The session the request carried is over: the account page asks to sign in."""
    r = c.client.get("/account")
    return r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def _partial(whole: bool) -> Callable[[Web, World], dict[str, Any]]:
    """A fresh draft with the PI's upload in progress of a one-page PDF (``whole``: all
    of it arrived)."""

    def make(web: Web, w: World) -> dict[str, Any]:
        from opencall.storage import storage_for

        pid = _fresh_proposal(web, w).id
        data = pdf_bytes()
        with web.factory() as s:
            p = s.get(Proposal, pid)
            assert p is not None
            up = prop_services.start_upload(
                s,
                p,
                w.ids["pi"],
                filename="case.pdf",
                size=str(len(data)),
                sha256="",
                max_bytes=len(data),
                per_user=10_000,
            )
            if whole:
                prop_services.receive_chunk(
                    s, storage_for(web.settings), up, "0", data, max_chunk=len(data)
                )
            s.commit()
            return {"proposal_id": pid, "upload_id": up.id}

    return make


def _partial_of(web: Web, proposal_id: int) -> int | None:
    """What arrived of the proposal's upload in progress (None: none)."""
    with web.factory() as s:
        return s.scalar(
            select(PartialUpload.received).where(PartialUpload.proposal_id == proposal_id)
        )


CASES: list[Case] = [
    Case("GET", "/", EVERYONE, login=False),
    Case("GET", "/calls", EVERYONE, login=False),
    Case(
        "GET",
        "/calls/{slug}",
        EVERYONE,
        login=False,
        params=lambda web, w: {"slug": w.slugs["call"]},
    ),
    Case(
        "GET",
        "/calls/{slug}/awarded",
        EVERYONE,
        login=False,
        params=lambda web, w: {"slug": w.slugs["call"]},
    ),
    Case(
        "GET",
        "/calls/{slug}/figures",
        EVERYONE,
        login=False,
        params=lambda web, w: {"slug": w.slugs["call"]},
    ),
    Case("GET", "/register", EVERYONE, login=False),
    Case("POST", "/register", EVERYONE, login=False, data=_register_form, done=_registered),
    Case("GET", "/verify/{token}", EVERYONE, login=False, params=_token("verify")),
    Case("POST", "/verify/{token}", EVERYONE, login=False, params=_token("verify"), done=_verified),
    Case("GET", "/login", EVERYONE, login=False),
    Case(
        "POST",
        "/login",
        EVERYONE,
        login=False,
        params=_login_user,
        data=lambda c: {"email": c.params["email"], "password": PASSWORD},
        done=_signed_in,
    ),
    Case("GET", "/password/forgot", EVERYONE, login=False),
    Case(
        "POST",
        "/password/forgot",
        EVERYONE,
        login=False,
        params=_login_user,
        data=lambda c: {"email": c.params["email"]},
        done=_reset_asked,
    ),
    Case("GET", "/password/reset/{token}", EVERYONE, login=False, params=_token("reset")),
    Case(
        "POST",
        "/password/reset/{token}",
        EVERYONE,
        login=False,
        params=_token("reset"),
        data=lambda c: {"password": "a new long password", "password2": "a new long password"},
        done=_token_used,
    ),
    Case("GET", "/lang/{code}", EVERYONE, login=False, params=lambda web, w: {"code": "fr"}),
    Case("GET", "/healthz", EVERYONE, login=False),
    Case("GET", "/readyz", EVERYONE, login=False),
    Case("GET", "/account", SIGNED_IN),
    Case("POST", "/account", SIGNED_IN, data=_account_form, done=_account_saved),
    Case("GET", "/dashboard", SIGNED_IN),
    Case("GET", "/calls/{slug}/apply", SIGNED_IN, params=lambda web, w: {"slug": w.slugs["call"]}),
    Case(
        "POST",
        "/calls/{slug}/apply",
        SIGNED_IN,
        params=lambda web, w: {"slug": w.slugs["call"]},
        data=_apply_form,
        done=_applied,
    ),
    Case("GET", "/proposals/{proposal_id}", TEAM, params=P),
    Case("POST", "/proposals/{proposal_id}", TEAM, params=P, data=_title_form, done=_titled),
    Case("GET", "/proposals/{proposal_id}/preview", TEAM, params=P),
    Case("GET", "/proposals/{proposal_id}/outcome", set(), params=P),
    # its letter (trialapp17): the same people as the page, none before the release
    Case("GET", "/proposals/{proposal_id}/outcome.txt", set(), params=P),
    Case("POST", "/proposals/{proposal_id}/team", PI, params=P, data=_invite_form, done=_invited),
    Case(
        "POST",
        "/proposals/{proposal_id}/team/{member_id}/remove",
        PI,
        params=_spare_member,
        done=_gone(TeamMember, "member_id"),
    ),
    Case(
        "POST",
        "/proposals/{proposal_id}/requests",
        TEAM,
        params=_with_target(P),
        data=lambda c: _fast_form(c.params["target"]),
        done=_target_named,
    ),
    Case(
        "POST",
        "/proposals/{proposal_id}/requests/{request_id}",
        TEAM,
        params=_with_target(_spare_request),
        data=lambda c: _fast_form(c.params["target"]),
        done=_target_named,
    ),
    Case(
        "POST",
        "/proposals/{proposal_id}/requests/{request_id}/remove",
        TEAM,
        params=_spare_request,
        done=_gone(Request, "request_id"),
    ),
    Case(
        "POST",
        "/proposals/{proposal_id}/attachments",
        TEAM,
        params=_fresh,
        files=lambda: {"pdf": ("case.pdf", pdf_bytes(), "application/pdf")},
        done=lambda c: bool(
            _attachments_of(c.web, c.params["proposal_id"])
        ),  # a real PDF: the team's upload is stored
    ),
    Case("GET", "/proposals/{proposal_id}/attachments/{attachment_id}", TEAM, params=_attachment),
    # the PDF sent in pieces (trialapp23): the team starts one; an upload in progress is
    # its sender's alone (the PI's here), to ask, feed and finish
    Case(
        "POST",
        "/proposals/{proposal_id}/uploads",
        TEAM,
        params=_fresh,
        data=lambda c: {"filename": "case.pdf", "size": "1000", "sha256": ""},
        done=lambda c: _partial_of(c.web, c.params["proposal_id"]) is not None,
    ),
    Case("GET", "/proposals/{proposal_id}/uploads/{upload_id}", PI, params=_partial(False)),
    Case(
        "POST",
        "/proposals/{proposal_id}/uploads/{upload_id}",
        PI,
        params=_partial(False),
        data=lambda c: {"offset": "0"},
        files=lambda: {"chunk": ("blob", pdf_bytes()[:100], "application/octet-stream")},
        done=lambda c: (_partial_of(c.web, c.params["proposal_id"]) or 0) > 0,
    ),
    Case(
        "POST",
        "/proposals/{proposal_id}/uploads/{upload_id}/finish",
        PI,
        params=_partial(True),
        done=lambda c: bool(_attachments_of(c.web, c.params["proposal_id"])),
    ),
    Case(
        "POST",
        "/proposals/{proposal_id}/attachments/{attachment_id}/remove",
        TEAM,
        params=_attachment,
        done=_gone(Attachment, "attachment_id"),
    ),
    Case(
        "GET",
        "/invitations/{member_id}",
        {"invited"},
        params=lambda web, w: {"member_id": w.ids["invitation"]},
        shows_pi_name_to={"invited"},
    ),
    Case(
        "POST",
        "/invitations/{member_id}",
        {"invited"},
        params=_fresh_invitation,
        data=lambda c: {"action": "decline"},
        done=_answered,
    ),
    Case(
        "POST", "/proposals/{proposal_id}/submit", PI, params=_fresh, done=_status_is("submitted")
    ),
    Case(
        "POST", "/proposals/{proposal_id}/withdraw", PI, params=_fresh, done=_status_is("withdrawn")
    ),
    Case("POST", "/logout", EVERYONE, login=False, done=_logged_out),
]


def _attachments_of(web: Web, proposal_id: int) -> list[int]:
    with web.factory() as s:
        return list(s.scalars(select(Attachment.id).where(Attachment.proposal_id == proposal_id)))


def feature_routes() -> set[tuple[str, str]]:
    """Routes of later features, each tested by its own matrix: any
    ``tests/**/authz_cases.py`` exports ``ROUTES``, a set of (method, path)."""
    import importlib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out: set[tuple[str, str]] = set()
    for path in sorted(root.glob("**/authz_cases.py")):
        module = ".".join(("tests", *path.relative_to(root).with_suffix("").parts))
        out |= set(importlib.import_module(module).ROUTES)
    return out


# Framework routes: the API documentation (public by design) and static files.
FRAMEWORK = {
    ("GET", "/api/docs"),
    ("MOUNT", "/api/docs/assets"),
    ("GET", "/api/v1/openapi.json"),
}


def app_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route, included routers flattened (FastAPI keeps
    them as ``_IncludedRouter`` entries in ``app.routes``)."""
    out: set[tuple[str, str]] = set()

    def walk(routes: list[Any], prefix: str) -> None:
        for r in routes:
            if hasattr(r, "original_router"):
                walk(r.original_router.routes, prefix + r.include_context.prefix)
            elif isinstance(r, APIRoute | Route):
                for m in r.methods or ():
                    if m != "HEAD":
                        out.add((m, prefix + r.path))
            elif isinstance(r, Mount):
                out.add(("MOUNT", prefix + r.path))
            else:
                out.add(("UNKNOWN", repr(r)))

    walk(list(app.routes), "")
    return out


def test_every_route_has_a_case(web: Web) -> None:
    covered = {(c.method, c.path) for c in CASES} | FRAMEWORK | {("MOUNT", "/static")}
    covered |= feature_routes()
    covered |= WORKSPACE_ROUTES
    missing = app_routes(web.app) - covered
    assert not missing, f"routes without an authorisation case: {sorted(missing)}"
    stale = covered - app_routes(web.app)
    assert not stale, f"cases for routes that no longer exist: {sorted(stale)}"


def signed_client(web: Web, email: str | None) -> tuple[Any, str]:
    """A client carrying a valid session for ``email`` (no password round trip)."""
    client = web.client()
    token = uuid.uuid4().hex
    client.cookies.set("oc_session", session_cookie(web, email, token))
    return client, token


def outcome(method: str, r: Any) -> str:
    if r.status_code == 404:
        return "404"
    if (
        method == "GET"
        and r.status_code == 303
        and r.headers["location"].startswith("/login?next=")
    ):
        return "login"
    if method == "POST" and r.status_code == 401:
        return "login"
    assert r.status_code < 500, r.text[:3000]
    return "ok"


def strict_outcome(method: str, r: Any) -> str:
    """Allowed means the request did what it asks (2xx/3xx); a 400/403/409 is no success."""
    got = outcome(method, r)
    return got if got != "ok" or r.status_code < 400 else str(r.status_code)


def test_routes_by_persona(
    web: Web, world: World, one_loop: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every (route, persona) pair of a proposal route gets a fresh draft of the PI's, far more
    # than the cap on never-submitted proposals a PI may hold in a call (guarded on its own by
    # tests/security/test_draft_flood.py)
    monkeypatch.setattr(lifecycle, "MAX_UNSUBMITTED", 10_000)
    emails = {"anonymous": None, **world.emails}
    failures = []
    for case in CASES:
        for persona in PERSONAS:
            params = case.params(web, world)
            path = case.path.format(**params)
            client, token = signed_client(web, emails[persona])
            ctx = Ctx(web, world, params, persona, client)
            if case.method == "GET":
                r = client.get(path)
            else:
                files = case.files() if case.files else None
                data = {"csrf_token": token, **case.data(ctx)}
                if "proposal_id" in params:  # the form carries the version
                    with web.factory() as s:
                        p = s.get(Proposal, params["proposal_id"])
                        data["version"] = str(p.version if p else 0)
                r = client.post(path, data=data, files=files)
            got = strict_outcome(case.method, r)
            web.settle()  # the jobs a request hands to the inline-job thread, done
            if persona in case.allowed:
                want = "ok"
            elif persona == "anonymous" and case.login:
                want = "login"
            else:
                want = "404"
            if got != want:
                failures.append(f"{case.method} {case.path} as {persona}: {got} (want {want})")
            elif case.done is not None and case.done(ctx) != (want == "ok"):
                failures.append(
                    f"{case.method} {case.path} as {persona}: {got}, but the effect is "
                    + ("missing" if want == "ok" else "there")
                )
            if persona not in TEAM and r.status_code == 200:
                shown = [
                    sec
                    for sec in world.secrets
                    if sec in r.text
                    and not (persona in case.shows_pi_name_to and sec in ("Ximena", "Quispe-Tupac"))
                ]
                if shown:
                    failures.append(f"{case.method} {case.path} as {persona} shows {shown}")
    assert not failures, "\n".join(failures)


def test_every_write_has_an_effect() -> None:
    """A POST case without an effect to check could count a 2xx/3xx that did nothing."""
    assert not [(c.method, c.path) for c in CASES if c.method != "GET" and c.done is None]


def test_nonexistent_and_foreign_ids_look_the_same(web: Web, world: World) -> None:
    """A proposal that does not exist and one of another team answer identically."""
    client, _ = signed_client(web, world.emails["other"])
    a = client.get(f"/proposals/{world.ids['proposal']}")
    b = client.get("/proposals/987654")
    assert a.status_code == b.status_code == 404

    def page(text: str, pid: object) -> str:
        # each page masks the CSRF token afresh (trialcrowd23): the rest must be the same
        text = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value="T"', text)
        return text.replace(f"/proposals/{pid}", "/proposals/N")

    assert page(a.text, world.ids["proposal"]) == page(b.text, 987654)
    anon = web.client()
    a = anon.get(f"/proposals/{world.ids['proposal']}")
    b = anon.get("/proposals/987654")
    assert a.status_code == b.status_code == 303
    assert a.headers["location"].split("%2F")[1] == b.headers["location"].split("%2F")[1]


def test_team_listing_never_includes_declined_or_other_teams(web: Web, world: World) -> None:
    client, _ = signed_client(web, world.emails["other"])
    r = client.get("/dashboard")
    assert r.status_code == 200
    assert "Zanzibar" not in r.text and "Ximena" not in r.text
    with web.factory() as s:
        m = s.get(TeamMember, world.ids["invitation"])
        assert m is not None and m.status == "invited"


pytestmark = pytest.mark.filterwarnings("ignore")
