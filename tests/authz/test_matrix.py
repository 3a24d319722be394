"""Every route x every persona: allowed, sign-in asked, or 404 — never a leak.

The table below must name every route of the app: a new route without a case
fails ``test_every_route_has_a_case``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fpdf import FPDF
from starlette.routing import Mount, Route

from opencall.people import services as people_services
from opencall.proposals import services as prop_services
from opencall.proposals.models import Proposal, TeamMember
from tests.authz.authz_cases import ROUTES as WORKSPACE_ROUTES  # run in test_workspace_matrix
from tests.web.conftest import Web, World, session_cookie

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
class Case:
    method: str
    path: str  # the route's path template
    allowed: set[str]
    login: bool = True  # anonymous visitors are asked to sign in (else: the page is public)
    params: Callable[[Web, World], dict[str, Any]] = lambda web, w: {}
    data: Callable[[], dict[str, str]] = dict
    files: Callable[[], dict[str, Any]] | None = None  # a multipart upload, made per request
    shows_pi_name_to: set[str] = field(default_factory=set)
    # the allowed personas must get a 2xx/3xx (GETs always); TODO: every POST case with
    # valid data, so that none counts a 400/409 as allowed (issue 10, item 7)
    strict: bool = False


def _token(purpose: str) -> Callable[[Web, World], dict[str, Any]]:
    def make(web: Web, w: World) -> dict[str, Any]:
        with web.factory() as s:
            u = people_services.register_user(
                s,
                email=f"t{uuid.uuid4().hex[:10]}@example.org",
                name="Token Person",
                password="long enough password",
            )
            raw = people_services.issue_email_token(
                s, purpose, u.email, user_id=u.id, ttl=people_services.VERIFY_TTL
            )
            s.commit()
        return {"token": raw}

    return make


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


def P(web: Web, w: World) -> dict[str, Any]:  # noqa: N802
    return {"proposal_id": w.ids["proposal"]}


def bad_login() -> dict[str, str]:
    return {"email": f"x{uuid.uuid4().hex[:8]}@example.org", "password": "wrong"}


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
    Case("POST", "/register", EVERYONE, login=False),
    Case("GET", "/verify/{token}", EVERYONE, login=False, params=_token("verify")),
    Case("POST", "/verify/{token}", EVERYONE, login=False, params=_token("verify")),
    Case("GET", "/login", EVERYONE, login=False),
    Case("POST", "/login", EVERYONE, login=False, data=bad_login),
    Case("GET", "/password/forgot", EVERYONE, login=False),
    Case(
        "POST",
        "/password/forgot",
        EVERYONE,
        login=False,
        data=lambda: {"email": "nobody@example.org"},
    ),
    Case("GET", "/password/reset/{token}", EVERYONE, login=False, params=_token("reset")),
    Case(
        "POST",
        "/password/reset/{token}",
        EVERYONE,
        login=False,
        params=_token("reset"),
        data=lambda: {"password": "aaaaaaaaaaaa", "password2": "bbbbbbbbbbbb"},
    ),
    Case("GET", "/lang/{code}", EVERYONE, login=False, params=lambda web, w: {"code": "fr"}),
    Case("GET", "/healthz", EVERYONE, login=False),
    Case("GET", "/account", SIGNED_IN),
    Case("POST", "/account", SIGNED_IN, data=lambda: {"name": ""}),
    Case("GET", "/dashboard", SIGNED_IN),
    Case("GET", "/calls/{slug}/apply", SIGNED_IN, params=lambda web, w: {"slug": w.slugs["call"]}),
    Case(
        "POST",
        "/calls/{slug}/apply",
        SIGNED_IN,
        params=lambda web, w: {"slug": w.slugs["call"]},
        data=lambda: {"title": ""},
    ),
    Case("GET", "/proposals/{proposal_id}", TEAM, params=P),
    Case(
        "POST",
        "/proposals/{proposal_id}",
        TEAM,
        params=P,
        data=lambda: {"title": "x", "version": "0"},
    ),
    Case("GET", "/proposals/{proposal_id}/preview", TEAM, params=P),
    Case("GET", "/proposals/{proposal_id}/outcome", set(), params=P),
    Case("POST", "/proposals/{proposal_id}/team", PI, params=P),
    Case("POST", "/proposals/{proposal_id}/team/{member_id}/remove", PI, params=_spare_member),
    Case("POST", "/proposals/{proposal_id}/requests", TEAM, params=P, data=lambda: {"kind": ""}),
    Case(
        "POST",
        "/proposals/{proposal_id}/requests/{request_id}",
        TEAM,
        params=lambda web, w: {"proposal_id": w.ids["proposal"], "request_id": w.ids["request"]},
    ),
    Case(
        "POST", "/proposals/{proposal_id}/requests/{request_id}/remove", TEAM, params=_spare_request
    ),
    Case(
        "POST",
        "/proposals/{proposal_id}/attachments",
        TEAM,
        params=P,
        files=lambda: {"pdf": ("case.pdf", pdf_bytes(), "application/pdf")},
        strict=True,  # a real PDF: the team's upload is stored (303)
    ),
    Case("GET", "/proposals/{proposal_id}/attachments/{attachment_id}", TEAM, params=_attachment),
    Case(
        "POST",
        "/proposals/{proposal_id}/attachments/{attachment_id}/remove",
        TEAM,
        params=_attachment,
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
        params=lambda web, w: {"member_id": w.ids["invitation"]},
        data=lambda: {"action": "maybe"},
    ),
    Case("POST", "/proposals/{proposal_id}/submit", PI, params=P),
    Case("POST", "/proposals/{proposal_id}/withdraw", PI, params=P),
    Case("POST", "/logout", EVERYONE, login=False),
]


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


def test_routes_by_persona(web: Web, world: World) -> None:
    emails = {"anonymous": None, **world.emails}
    failures = []
    for case in CASES:
        for persona in PERSONAS:
            params = case.params(web, world)
            path = case.path.format(**params)
            client, token = signed_client(web, emails[persona])
            if case.method == "GET":
                r = client.get(path)
            else:
                files = case.files() if case.files else None
                data = {"csrf_token": token, **case.data()}
                if case.strict and "proposal_id" in params:  # the form carries the version
                    with web.factory() as s:
                        p = s.get(Proposal, params["proposal_id"])
                        data["version"] = str(p.version if p else 0)
                r = client.post(path, data=data, files=files)
            strict = case.strict or case.method == "GET"
            got = (strict_outcome if strict else outcome)(case.method, r)
            if persona in case.allowed:
                want = "ok"
            elif persona == "anonymous" and case.login:
                want = "login"
            else:
                want = "404"
            if got != want:
                failures.append(f"{case.method} {case.path} as {persona}: {got} (want {want})")
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


def test_nonexistent_and_foreign_ids_look_the_same(web: Web, world: World) -> None:
    """A proposal that does not exist and one of another team answer identically."""
    client, _ = signed_client(web, world.emails["other"])
    a = client.get(f"/proposals/{world.ids['proposal']}")
    b = client.get("/proposals/987654")
    assert a.status_code == b.status_code == 404
    assert a.text.replace(f"/proposals/{world.ids['proposal']}", "/proposals/N") == b.text.replace(
        "/proposals/987654", "/proposals/N"
    )
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
