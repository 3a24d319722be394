"""What a real site meets in its first month: a reset link of an account deactivated since
it was sent, a double click on Register, an invitation answered in two tabs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from opencall import jobs
from opencall.people import services
from opencall.people.models import User
from opencall.proposals.models import TeamMember
from tests import factories as F
from tests.web.conftest import Web, World, csrf, web_settings


def test_a_reset_link_does_nothing_for_a_deactivated_account(web: Web, world: World) -> None:
    """A link sent while the account was active stops working when it is deactivated:
    the page says the link is no longer valid, and the password stays as it was."""
    with web.factory() as s:
        u = F.user(s, email="leaver@example.org")
        u.email_verified_at = None
        found = services.request_password_reset(s, u.email)
        assert found is not None
        raw = found[1]
        u.is_active = False
        s.commit()
        before = (u.password_hash, u.email_verified_at)
    c = web.client()
    assert c.get(f"/password/reset/{raw}").status_code == 404
    tok = csrf(c, "/login")
    r = c.post(
        f"/password/reset/{raw}",
        data={
            "csrf_token": tok,
            "password": "a brand new password",
            "password2": "a brand new password",
        },
    )
    assert r.status_code == 404
    with web.factory() as s:
        again = s.scalar(select(User).where(User.email == "leaver@example.org"))
        assert again is not None
        assert (again.password_hash, again.email_verified_at) == before
    r = c.post(
        "/login",
        data={"csrf_token": tok, "email": "leaver@example.org", "password": "a brand new password"},
    )
    assert r.status_code == 400


def test_a_double_click_on_register_sends_one_mail(web: Web, world: World) -> None:
    """The second of two identical registrations (a double click) finds the account the
    first made moments ago: same answer, one account, and one e-mail (the verification),
    not a second 'you already have an account' mail."""
    c = web.client("fr")
    data = {
        "csrf_token": csrf(c, "/register"),
        "name": "Double Clicker",
        "email": "double-click@example.org",
        "password": "another long password",
        "password2": "another long password",
        "language": "fr",
    }
    first = c.post("/register", data=data)
    second = c.post("/register", data=data)
    assert (first.status_code, first.headers["location"]) == (
        second.status_code,
        second.headers["location"],
    )
    with web.factory() as s:
        n = s.scalar(select(func.count(User.id)).where(User.email == "double-click@example.org"))
        assert n == 1
    mails = [m for m in web.mails() if "To: double-click@example.org" in m]
    assert len(mails) == 1 and "/verify/" in mails[0]


def test_the_account_exists_mail_links_to_the_reset_page(web: Web, world: World) -> None:
    """The mail to the owner of an address registered again links to a page that exists
    (it linked to /forgot, a 404)."""
    c = web.client()
    c.post(
        "/register",
        data={
            "csrf_token": csrf(c, "/register"),
            "name": "Someone Else",
            "email": world.emails["pi"],
            "password": "another long password",
            "password2": "another long password",
        },
    )
    mails = [m for m in web.mails() if f"To: {world.emails['pi']}" in m]
    links = [w for m in mails for w in m.split() if w.startswith(web.settings.base_url)]
    assert len(links) == 1
    assert c.get(links[0].removeprefix(web.settings.base_url)).status_code == 200


def test_two_registrations_at_the_same_instant_make_one_account(factory: Any) -> None:
    """Two units of work register one address at once: the later insert is refused as
    the address's existing account (a DomainError the form answers like the others), not a
    database error."""
    from opencall.errors import DomainError

    fields = {"email": "same-instant@example.org", "name": "Twin", "password": "long enough pw"}
    with factory() as first, factory() as second:
        services.register_user(first, **fields)
        # the second has not seen the first's row: its check passes, its insert meets it
        real = second.scalar
        calls = {"n": 0}

        def blind_scalar(stmt: Any, *a: Any, **kw: Any) -> Any:
            calls["n"] += 1
            return None if calls["n"] == 1 else real(stmt, *a, **kw)

        first.commit()
        second.scalar = blind_scalar  # type: ignore[method-assign]
        with pytest.raises(DomainError, match="already exists"):
            services.register_user(second, **fields)
        second.rollback()
    with factory() as s:
        assert s.scalar(select(func.count(User.id)).where(User.email == fields["email"])) == 1


def test_an_invitation_answered_twice_says_so(web: Web, world: World) -> None:
    """Two tabs: the second answer gets a clear message (200), not a 'not found' page, and
    changes nothing."""
    with web.factory() as s:
        invited = F.user(s, email="two-tabs@example.org")
        member = TeamMember(
            proposal_id=world.ids["proposal"],
            email=invited.email,
            name=invited.name,
            role="coi",
            status="invited",
        )
        s.add(member)
        s.commit()
        member_id = member.id
    tab1 = web.login("two-tabs@example.org")
    tok = csrf(tab1, f"/invitations/{member_id}")
    tab2_page = tab1.get(f"/invitations/{member_id}")
    assert tab2_page.status_code == 200
    r = tab1.post(f"/invitations/{member_id}", data={"csrf_token": tok, "action": "accept"})
    assert r.status_code == 303
    # the second tab declines (or accepts again): told the invitation was already accepted
    for action in ("decline", "accept"):
        r2 = tab1.post(f"/invitations/{member_id}", data={"csrf_token": tok, "action": action})
        assert r2.status_code == 200, r2.text[:500]
        assert "already accepted" in r2.text
        assert f"/proposals/{world.ids['proposal']}" in r2.text
    with web.factory() as s:
        m = s.get(TeamMember, member_id)
        assert m is not None and m.status == "accepted"
    # the page itself, opened again, says the same
    r3 = tab1.get(f"/invitations/{member_id}")
    assert r3.status_code == 200 and "already accepted" in r3.text
    # someone else still finds nothing there
    other = web.login(world.emails["other"])
    assert other.get(f"/invitations/{member_id}").status_code == 404


def test_readyz_says_whether_the_database_is_there(web: Web, tmp_path: Path) -> None:
    """A load balancer's readiness check: 200 with the database reachable and migrated;
    503 with it away (the address never shown) or at another schema. /healthz (liveness)
    stays 200 in every case."""
    from opencall.app import create_app

    r = web.client().get("/readyz")
    assert (r.status_code, r.json()) == (
        200,
        {"status": "ready", "database": "ok", "storage": "ok"},
    )
    away = "postgresql://opencall:s3cret@127.0.0.1:1/opencall"
    empty = f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}"
    for url, said in ((away, "unreachable"), (empty, "schema differs")):
        settings = web_settings(web.app.state.engine, tmp_path).model_copy(
            update={"database_url": url}
        )
        app = create_app(settings)
        try:
            c = TestClient(app)
            r = c.get("/readyz")
            assert r.status_code == 503, r.text
            assert r.json()["status"] == "unavailable" and said in r.json()["database"]
            assert "s3cret" not in r.text and "127.0.0.1" not in r.text
            assert c.get("/healthz").status_code == 200
        finally:
            app.state.engine.dispose()


@pytest.mark.parametrize(
    ("utc", "zone"),
    # a zone whose day differs from UTC's: UTC-12 before noon, UTC+14 after 10:00
    [("2027-03-01T06:00:00", "Etc/GMT+12"), ("2027-03-01T18:00:00", "Etc/GMT-14")],
    ids=["west", "east"],
)
def test_the_overdue_reminder_job_judges_by_the_utc_day(
    monkeypatch: Any, utc: str, zone: str
) -> None:
    """The scheduled job took the server's local day (date.today()); the pages, the API
    and `postaward remind` take the UTC day. On a server whose local day is not the UTC
    day, a loan was reminded as overdue a day early (or late). The clock stands at a
    fixed instant, once in a zone behind UTC and once ahead (flake21: the test took the
    real clock and chose one zone by its hour; it skipped itself when the two days
    agreed, as they did in the milliseconds before noon UTC, and a run crossing midnight
    between the job and its assertion compared the job's day with the next)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    import time_machine

    from opencall.results import jobs as results_jobs

    # a destination in a zone: time-machine sets the process's local zone (TZ) to it
    instant = dt.datetime.fromisoformat(utc).replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone))
    with time_machine.travel(instant, tick=False):
        utc_day = dt.datetime.now(dt.UTC).date()
        assert dt.date.today() != utc_day  # the server's local day is another
        seen: list[dt.date] = []
        names = ("queue_overdue_reminders", "queue_report_reminders", "queue_follow_up_reminders")
        for name in names:
            monkeypatch.setattr(results_jobs, name, lambda _s, _b, day, *_: seen.append(day) or 0)
        # and the later parts' progress reports (outcomes24)
        monkeypatch.setattr(results_jobs.later_parts, "queue_progress_reminders",
                            lambda _s, _b, day: seen.append(day) or 0)  # fmt: skip
        job = jobs.Job(kind="postaward.remind", payload={})
        results_jobs.make_remind("https://x.example")(None, job, lambda _p, _m: None)  # type: ignore[arg-type]
    # the overdue loans, the first reports, the follow-up waves and the progress reports:
    # all by the UTC day
    assert seen == [utc_day] * (len(names) + 1)


def test_two_answers_at_once_keep_the_first(web: Web, world: World) -> None:
    """Two tabs send their answers together: both read the invitation as open; the later
    write is refused (the invitation is no longer open), not written over the first."""
    from opencall.errors import DomainError
    from opencall.proposals import services as prop_services

    with web.factory() as s:
        invited = F.user(s, email="two-at-once@example.org")
        m = TeamMember(
            proposal_id=world.ids["proposal"],
            email=invited.email,
            name=invited.name,
            role="coi",
            status="invited",
        )
        s.add(m)
        s.commit()
        member_id, user_id = m.id, invited.id
    with web.factory() as tab1, web.factory() as tab2:
        m1, m2 = tab1.get(TeamMember, member_id), tab2.get(TeamMember, member_id)
        u1, u2 = tab1.get(User, user_id), tab2.get(User, user_id)
        assert m1 is not None and m2 is not None and u1 is not None and u2 is not None
        assert m1.status == m2.status == "invited"
        prop_services.respond_to_invitation(tab1, m1, u1, accept=True)
        tab1.commit()
        with pytest.raises(DomainError, match="already"):
            prop_services.respond_to_invitation(tab2, m2, u2, accept=False)
        tab2.rollback()
    with web.factory() as s:
        again = s.get(TeamMember, member_id)
        assert again is not None and again.status == "accepted"


def test_readyz_says_whether_the_attachment_store_can_be_used(
    web: Web, tmp_path: Path, monkeypatch: Any
) -> None:
    """A load balancer also learns when the attachment store cannot be written (install20b):
    an upload directory under a file answers 503 with a short reason (no path, no bucket, no
    credential); a usable store answers 200. A store found usable is not probed again on
    every request (one write per 30 s at most); a broken one is
    tried again on the next probe, so its repair is seen at once (app._StoreCheck)."""
    from opencall import storage
    from opencall.app import create_app

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings = web_settings(web.app.state.engine, tmp_path).model_copy(
        update={"upload_dir": blocker / "uploads"}
    )
    probes: list[str] = []
    real = storage.unusable
    monkeypatch.setattr(storage, "unusable", lambda s: probes.append("x") or real(s))
    app = create_app(settings)
    c = TestClient(app)
    r = c.get("/readyz")
    assert r.status_code == 503, r.text
    assert r.json() == {
        "status": "unavailable",
        "database": "ok",
        "storage": "attachments cannot be written: see the server log",
    }
    assert "a-file" not in r.text and str(tmp_path) not in r.text
    assert c.get("/healthz").status_code == 200
    assert c.get("/readyz").status_code == 503 and len(probes) == 2  # tried again
    blocker.unlink()  # the operator repairs it
    r = c.get("/readyz")
    assert (r.status_code, r.json()) == (
        200,
        {"status": "ready", "database": "ok", "storage": "ok"},
    )
    for _ in range(3):
        assert c.get("/readyz").status_code == 200
    assert len(probes) == 3, "a usable store was written to on every probe"
    assert not [p for p in (blocker / "uploads").iterdir()], "a probe object was left behind"
