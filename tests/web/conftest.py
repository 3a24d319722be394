"""The web app over the test database (SQLite, and PostgreSQL when configured),
with a small world of personas around one FAST proposal."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from opencall.app import create_app
from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.db import utcnow
from opencall.people import services as people_services
from opencall.proposals import services as prop_services
from opencall.settings import Settings
from tests import factories as F

T = TypeVar("T")

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_open(call: Call, days: int = 30) -> None:
    now = utcnow().replace(microsecond=0)
    call.opens_at = now - dt.timedelta(days=days)
    call.closes_at = now + dt.timedelta(days=days)


def full_proposal(s: Session, call: Call, pi: Any, *, hours: float = 7) -> Any:
    """tests.factories.full_proposal, at the real present (the web uses the clock)."""
    p = prop_services.create_proposal(
        s,
        call,
        pi,
        title="Pulsar timing with FAST",
        abstract="We will time pulsars.",
        science_case="Millisecond pulsars are precise clocks.",
    )
    targets = [dict(t) for t in F.TARGETS]
    targets[0]["hours"] = hours - 3
    prop_services.add_request(
        s, p, "fast", {"receiver": "19-beam", "mode": "Tracking", "targets": targets}
    )
    return p


@dataclass
class World:
    ids: dict[str, int] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    slugs: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)  # team names/institutions


def build_world(s: Session) -> World:
    """PI + accepted co-I + invited (has an account) on one proposal in an open
    FAST call; another applicant with their own proposal; a manager of another
    provider; a published call with one award."""
    w = World()
    call = F.fast_call(s, requires_pdf=False)
    make_open(call)
    pi = F.user(
        s,
        name="Ximena Quispe-Tupac",
        institution="Zanzibar Radio Institute",
        country="TZA",
        email="pi@example.org",
    )
    coi = F.user(
        s,
        name="Oluwaseun Adebayo-Kim",
        institution="Quetzal Observatory",
        country="GTM",
        email="coi@example.org",
    )
    invited = F.user(s, name="Invited Person", email="invited@example.org")
    other = F.user(s, name="Other Applicant", email="other@example.org")
    manager = F.user(s, name="Manager Elsewhere", email="manager@example.org")
    p = full_proposal(s, call, pi)
    p_now = dt.datetime.now(dt.UTC)
    m = prop_services.invite_member(
        s,
        p,
        {
            "email": coi.email,
            "name": coi.name,
            "institution": "Quetzal Observatory",
            "country_iso3": "GTM",
        },
        now=p_now,
    )
    prop_services.respond_to_invitation(s, m, coi, accept=True)
    inv = prop_services.invite_member(
        s,
        p,
        {
            "email": invited.email,
            "name": invited.name,
            "institution": "Pending Institute",
            "country_iso3": "IND",
        },
        now=p_now,
    )
    other_p = full_proposal(s, call, other)
    other_call = F.fast_call(s)
    make_open(other_call)
    people_services.grant_role(s, manager.id, "call_manager", provider_id=other_call.provider_id)
    s.flush()
    w.ids.update(
        proposal=p.id,
        other_proposal=other_p.id,
        invitation=inv.id,
        coi_member=m.id,
        request=p.requests[0].id,
        other_request=other_p.requests[0].id,
        pi=pi.id,
    )
    w.emails.update(
        pi=pi.email, coi=coi.email, invited=invited.email, other=other.email, manager=manager.email
    )
    w.slugs.update(call=call.slug, other_call=other_call.slug)
    w.secrets = [
        "Ximena",
        "Quispe-Tupac",
        "Zanzibar Radio Institute",
        "Oluwaseun",
        "Quetzal Observatory",
        "pi@example.org",
        "coi@example.org",
    ]
    return w


@dataclass
class Web:
    app: Any
    settings: Settings
    factory: sessionmaker[Session]
    tmp: Path
    # the event loop the clients send through, while :meth:`one_loop` holds one
    portal: Any = None

    def client(self, lang: str | None = None, address: str | None = None) -> TestClient:
        """A client in ``lang`` (the language cookie), from ``address`` (port 40000) when
        given: the address the rate limits count by."""
        kw: dict[str, Any] = {"client": (address, 40000)} if address else {}
        c = TestClient(self.app, base_url="http://testserver", follow_redirects=False, **kw)
        c.portal = self.portal
        if lang:
            c.cookies.set("oc_lang", lang)
        return c

    @contextmanager
    def one_loop(self) -> Iterator[None]:
        """Every client made meanwhile sends its requests through one event loop (one
        thread, as a server has), not a new loop and thread a request, which is
        starlette's TestClient's default outside ``with``: about a tenth of the CPU of
        the tests that send hundreds of requests. The app has no lifespan to run."""
        import anyio.from_thread

        with anyio.from_thread.start_blocking_portal() as portal:
            self.portal = portal
            try:
                yield
            finally:
                self.portal = None

    def login(self, email: str, lang: str | None = None) -> TestClient:
        c = self.client(lang)
        r = c.post("/login", data={"csrf_token": csrf(c), "email": email, "password": PASSWORD})
        assert r.status_code == 303, r.text[:2000]
        return c

    def settle(self) -> None:
        """Wait until the app's inline-job thread has run what it was handed (a reset
        request's job runs there, after the answer)."""
        from opencall.web.pages import inline_runner

        inline_runner(self.app.state).submit(lambda: None).result(timeout=60)

    def mails(self) -> list[str]:
        """The mails sent so far (once the inline-job thread is done: :meth:`settle`)."""
        self.settle()
        return [p.read_text() for p in sorted(self.settings.mail_dir.glob("*.eml"))]


def session_cookie(web: Web, email: str | None, csrf_token: str, issued: int | None = None) -> str:
    """A valid session cookie for ``email`` (None: anonymous) without a password round
    trip: a server-side session row, and the signed cookie that carries its id."""
    import time

    from opencall.people.queries import user_by_email
    from opencall.web.security import session_cookie_value

    sid = None
    if email:
        import hashlib
        import secrets

        from opencall.people.models import UserSession

        with web.factory() as s:
            u = user_by_email(s, email)
            assert u is not None
            sid = secrets.token_urlsafe(32)
            now = utcnow()
            s.add(
                UserSession(
                    user_id=u.id,
                    token_hash=hashlib.sha256(sid.encode()).hexdigest(),
                    created_at=now,
                    expires_at=now + people_services.SESSION_TTL,
                )
            )
            s.commit()
    return session_cookie_value(
        web.settings, sid, csrf_token, int(time.time()) if issued is None else issued
    )


def deadline_soon(web: Web, world: World) -> dt.datetime:
    """Move the world's call's deadline to ten minutes from now (on the second); returned."""
    from sqlalchemy import select

    deadline = utcnow().replace(microsecond=0) + dt.timedelta(minutes=10)
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == world.slugs["call"])).one()
        call.closes_at = deadline
        s.commit()
    return deadline


def csrf(client: TestClient, path: str = "/login") -> str:
    r = client.get(path)
    m = CSRF.search(r.text)
    assert m, f"no CSRF token on {path}"
    return m.group(1)


def api_bearer(web: Web, email: str, scopes: tuple[str, ...] = ("apply",)) -> dict[str, str]:
    """The Authorization header of a new personal API token of the user ``email``."""
    from opencall.people.queries import user_by_email

    with web.factory() as s:
        u = user_by_email(s, email)
        assert u is not None
        _tok, raw = people_services.create_api_token(s, u, "t", scopes=scopes)
        s.commit()
    return {"Authorization": f"Bearer {raw}"}


def version_of(client: TestClient, proposal_id: int) -> str:
    """The proposal version the editor's forms carry (every edit form posts it back)."""
    m = re.search(r'name="version" value="(\d+)"', client.get(f"/proposals/{proposal_id}").text)
    assert m, "no version in the editor"
    return m.group(1)


def web_settings(engine: Engine, tmp: Path, **kw: Any) -> Settings:
    kw.setdefault("secure_cookies", False)  # the test client speaks plain HTTP
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        secret_key="test-secret",
        base_url="http://testserver",
        mail_backend="file",
        mail_dir=tmp / "mail",
        upload_dir=tmp / "uploads",
        max_upload_bytes=kw.pop("max_upload_bytes", 200_000),
        # the tests read the mail a request sends at once: run its jobs inline (explicitly)
        inline_jobs=kw.pop("inline_jobs", True),
        **kw,
    )


def sqlite_world(prefix: str, build: Callable[[Session], T]) -> tuple[Web, T]:
    """For a bench, outside pytest: a migrated SQLite database in a new temporary folder
    (``prefix``), with the countries and ``build``'s world, and the app over it."""
    import tempfile

    from opencall import migrate
    from opencall.db import make_engine, make_sessionmaker

    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    engine = make_engine(f"sqlite:///{tmp}/db.sqlite3")
    migrate.upgrade(engine)
    factory = make_sessionmaker(engine)
    with factory() as s:
        people_services.load_countries(s)
        world = build(s)
        s.commit()
    settings = web_settings(engine, tmp)
    return Web(create_app(settings), settings, factory, tmp), world


@pytest.fixture
def web(engine: Engine, factory: sessionmaker[Session], tmp_path: Path) -> Iterator[Web]:
    settings = web_settings(engine, tmp_path)
    app = create_app(settings)
    yield Web(app, settings, factory, tmp_path)
    app.state.engine.dispose()


@pytest.fixture
def one_loop(web: Web) -> Iterator[None]:
    """The test's clients send through one event loop (:meth:`Web.one_loop`)."""
    with web.one_loop():
        yield


@pytest.fixture
def world(factory: sessionmaker[Session], small_worlds: Any) -> World:
    """:func:`build_world` (built once per session on SQLite, see tests/conftest.py)."""
    return small_worlds.get("web-world", factory, build_world)  # type: ignore[no-any-return]


def register_on_site(c: TestClient, email: str, name: str = "A Newcomer") -> Any:
    """``POST /register`` of ``email`` and ``name`` with the tests' password (its answer)."""
    return c.post(
        "/register",
        data={
            "csrf_token": csrf(c, "/register"),
            "email": email,
            "name": name,
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )


def invite_on_site(c: TestClient, pid: int, email: str, name: str = "A Stranger") -> Any:
    """The PI's team invitation of ``email`` on the proposal's page (its answer)."""
    return c.post(
        f"/proposals/{pid}/team",
        data={
            "csrf_token": csrf(c, f"/proposals/{pid}"),
            "version": version_of(c, pid),
            "email": email,
            "name": name,
            "institution": "Somewhere",
            "country_iso3": "FRA",
        },
    )


def invite_by_api(
    web: Web, headers: dict[str, str], pid: int, email: str, name: str = "A Stranger"
) -> Any:
    """The same invitation through the JSON API, at the proposal's current version."""
    from opencall.proposals.models import Proposal

    with web.factory() as s:
        p = s.get(Proposal, pid)
        assert p is not None
        version = p.version
    return web.client().post(
        f"/api/v1/proposals/{pid}/members",
        headers=headers,
        json={
            "version": version,
            "email": email,
            "name": name,
            "institution": "Somewhere",
            "country_iso3": "FRA",
        },
    )


def open_call_now(s: Session, slug: str) -> None:
    from opencall.calls.queries import call_by_slug

    call = call_by_slug(s, slug)
    assert call is not None
    make_open(call)


__all__ = ["World", "Web", "csrf", "build_world", "call_services", "session_cookie"]


def said_to(factory: Any, email: str | None, when: dt.datetime, lang: str = "en") -> str:
    """``when`` as the pages and mails write it for the account of ``email`` (its own or
    its country's zone; None: a reader without an account, UTC), runs of white space made
    one space as the journeys' ``text_of`` reads a page."""
    from sqlalchemy import select

    from opencall.people.models import User
    from opencall.web.pages import fmt_when

    zone = None
    if email is not None:
        with factory() as s:
            zone = s.scalars(select(User).where(User.email == email)).one().reading_zone
    return re.sub(r"\s+", " ", fmt_when(when, zone, lang))
