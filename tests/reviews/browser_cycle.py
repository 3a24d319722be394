"""A whole small call in a real browser (Debian's Chromium through Playwright).

The manager creates a FAST call through /manage/calls/new and opens it; three
applicants (one registers, two sign in) submit proposals; the manager closes
the call; the chair runs conflicts, affinity and assignment from the cockpit,
each a job with its status page; three reviewers review (one declares a
conflict instead on one proposal); the chair calibrates, freezes the ranking,
allocates, schedules and releases the decisions; the manager publishes; an
applicant sees the award and the reviewers' feedback on the proposal's outcome
page. With OPENCALL_SCREENSHOTS=1, screenshots of every step go to
tests/artifacts/cycle-*.png (git-ignored).

Only the provider, the facility with its capacity pools and the staff accounts
(with their roles: no page grants roles) are prepared in the database.

The cycle is walked by tests.diagnostics.test_cycle_repeat, five times on one pair of
``opencall serve`` and ``opencall worker`` processes; its cycle 0 walks the world of
:func:`build_world` as built (this :class:`Cast` without a tag, screenshots with
OPENCALL_SCREENSHOTS=1). It was also walked by a test of its own here, against an
in-process server running the jobs inline: the same pages, the same assertions, the
same job pages (a Run step answers with the live progress page either way); the inline
jobs are the in-process web tests' own (tests/web/conftest.py runs every job inline).
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall import migrate
from opencall.allocation.models import Award, Decision
from opencall.calls.models import Call
from opencall.db import make_engine, make_sessionmaker, utcnow
from opencall.people import services as people_services
from opencall.people.services import load_countries
from opencall.proposals.models import Proposal
from opencall.reviews.models import Conflict, Review, ReviewAssignment
from tests import factories as F
from tests.conftest import DemoWorlds
from tests.web.test_browser import Shots, register_and_verify, save_text

PASSWORD = "correct horse battery"  # tests.factories.PW_HASH
NEW_PASSWORD = "a long password 42"  # register_and_verify's
SLUG = "fast-browser-2027"
STAFF = {
    "manager": ("Mei Lin", "FAST User Office"),
    "chair": ("Ana Folau", "Tonga Institute of Science"),
    "rev1": ("Ravi Menon", "Raman Research Institute"),
    "rev2": ("Olga Petrova", "Pulkovo Observatory"),
    "rev3": ("Kwame Mensah", "University of Ghana"),
}
APPLICANTS = [  # (e-mail, title); the first registers through the page
    ("new-pi@example.org", "Pulsar timing from Nairobi"),
    ("pi-peru@example.org", "Hydrogen in nearby dwarf galaxies"),
    ("pi-nepal@example.org", "Fast radio bursts at low frequency"),
]
TARGETS = [
    ("Crab pulsar", "05:34:31.9", "+22:00:52", "3"),
    ("M31", "10.6847", "41.2690", "2"),
]
FEEDBACK = "A clear case; the timing cadence is well argued."


@dataclass(frozen=True)
class Cast:
    """The call's slug and everyone's e-mail in one cycle: with a ``tag``, the cycle's
    own (several cycles in one database: tests.diagnostics.test_cycle_repeat), without
    one the world of :func:`build_world` (SLUG, STAFF's and APPLICANTS' addresses)."""

    tag: str = ""

    def _add(self, text: str) -> str:
        return f"{text}-{self.tag}" if self.tag else text

    @property
    def slug(self) -> str:
        return self._add(SLUG)

    def staff(self, key: str) -> str:
        return f"{self._add(key)}@staff.example"

    @property
    def applicants(self) -> list[tuple[str, str]]:
        return [(f"{self._add(e.split('@')[0])}@example.org", t) for e, t in APPLICANTS]


def shared_world(demo_worlds: DemoWorlds) -> Path:
    """The database of :func:`build_world`, built once a test run (under pytest-xdist,
    once for all the workers: the demo worlds' shared folder and lock) and copied by
    each cycle (this module's and tests.diagnostics.test_cycle_repeat's)."""
    path = demo_worlds.shared / "browser_cycle_world.sqlite3"
    with demo_worlds.lock("browser_cycle_world"):
        if not path.exists():
            building = demo_worlds.tmp / "browser_cycle_world.sqlite3"
            build_world(f"sqlite:///{building}")
            with closing(sqlite3.connect(building)) as src, closing(sqlite3.connect(path)) as dst:
                src.backup(dst)
    return path


def build_world(url: str) -> None:
    """The database the cycle starts from: a FAST facility with 24 LST pools, staff with
    roles, two applicants with accounts; no call yet (the manager creates it through the
    page)."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as s:
        load_countries(s)
        add_cast(s, Cast())
        s.commit()
    engine.dispose()


def add_cast(s: Session, cast: Cast) -> None:
    """A FAST facility of its own provider with 24 LST pools, the staff with their roles
    on it and two applicants with accounts (``cast``'s addresses)."""
    fac = F.fast_facility(s, provider=f"obs-{cast.tag}" if cast.tag else None)
    F.lst_pools(s, fac)
    pid = fac.provider_id
    countries = {"manager": "CHN", "chair": "TON", "rev1": "IND", "rev2": "RUS"}
    for key, (name, inst) in STAFF.items():
        u = F.user(
            s,
            name=name,
            institution=inst,
            country=countries.get(key, "GHA"),
            email=cast.staff(key),
        )
        roles = {
            "manager": ("call_manager", "provider_admin"),
            "chair": ("chair",),
        }.get(key, ("reviewer",))
        for role in roles:
            people_services.grant_role(s, u.id, role, provider_id=pid)
    F.user(
        s,
        name="Rosa Quispe",
        institution="Universidad Nacional de San Agustín",
        country="PER",
        email=cast.applicants[1][0],
    )
    F.user(
        s,
        name="Sita Gurung",
        institution="Tribhuvan University",
        country="NPL",
        email=cast.applicants[2][0],
    )


def sign_in(srv: Any, page: Any, email: str, password: str = PASSWORD) -> None:
    page.goto(srv.base + "/login")
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.click('form[action="/login"] button')
    page.wait_for_url(re.compile(r"/(dashboard|manage|review)"))


def move(page: Any, shot: Shots, target: str, reason: str = "") -> None:
    """The manager moves the call to ``target`` from the cockpit (tick, reason, button)."""
    form = page.locator(f'form.transition:has(input[name=target][value="{target}"])')
    if reason:
        form.locator("input[name=reason]").fill(reason)
    form.locator("input[name=confirm]").check()
    # wait for the answer before looking at it: counting #close-early while the old
    # page is still shown raced the navigation and missed the early-close page
    with page.expect_navigation():
        form.locator("button").click()
    if target == "closed" and page.locator("#close-early").count():
        # before the deadline: a page says what closing does and asks again
        assert "draft" in page.locator("#n-drafts").inner_text()
        shot(page, "close-early")
        page.check("#f-early")
        page.click("#close-now")
    page.wait_for_url(re.compile(r"m=saved"))
    assert page.locator("#call-status").inner_text()  # the new phase is shown
    shot(page, f"moved-{target}")


def run_step(srv: Any, page: Any, shot: Shots, step: str, slug: str = SLUG) -> None:
    """The chair runs one step from the cockpit: a job, then its status page."""
    page.goto(f"{srv.base}/manage/calls/{slug}")
    page.click(f"#step-{step}")
    page.wait_for_url(re.compile(r"/manage/jobs/\d+"))  # at once: the job runs elsewhere
    # a live job's page updates itself in place (poll.js; a meta refresh without JavaScript)
    page.wait_for_selector("#job:not([data-live])", state="attached", timeout=180_000)
    status = page.locator("#job-status").inner_text()
    assert "done" in status and "100 %" in status, (step, status)
    assert page.locator("progress").get_attribute("value") == "100"
    shot(page, f"job-{step}")


def submit_proposal(srv: Any, page: Any, shot: Shots, title: str, slug: str = SLUG) -> int:
    page.goto(f"{srv.base}/calls/{slug}")
    page.click("main a.button")
    page.fill("#f-title", title)
    page.click("main form button")
    page.wait_for_url(re.compile(r"/proposals/\d+"))
    editor = page.url.split("?")[0]
    pid = int(editor.rsplit("/", 1)[1])
    page.fill("#f-abstract", f"{title}: an abstract.")
    page.fill("#f-science_case", f"{title}: the science case, with the observing plan.")
    save_text(page)
    page.goto(editor)
    form = page.locator('form[action$="/requests"]')
    form.locator("select[name=receiver]").select_option("19-beam")
    form.locator("select[name=mode]").select_option("Tracking")
    for i, (name, ra, dec, hours) in enumerate(TARGETS):
        form.locator(f"input[name=targets-{i}-name]").fill(name)
        form.locator(f"input[name=targets-{i}-ra_deg]").fill(ra)
        form.locator(f"input[name=targets-{i}-dec_deg]").fill(dec)
        form.locator(f"input[name=targets-{i}-hours]").fill(hours)
    form.locator("button").click()
    page.wait_for_url(re.compile(r"m=request_saved"))
    page.click('form[action$="/submit"] button')
    page.wait_for_url(re.compile(r"/dashboard\?m=submitted"))
    assert "submitted" in page.locator("tbody tr", has_text=title).inner_text()
    shot(page, f"submitted-{pid}")
    return pid


def review_all(
    srv: Any, page: Any, shot: Shots, who: str, grades: list[str], conflict: bool
) -> int:
    """Accept and review every invitation; with ``conflict``, declare one on the first."""
    page.goto(srv.base + "/review")
    shot(page, f"{who}-workspace")
    links = [
        a.get_attribute("href") for a in page.locator('main a[href^="/review/assignments/"]').all()
    ]
    assert links, f"{who} has nothing to review"
    done = 0
    for i, href in enumerate(dict.fromkeys(links)):
        page.goto(srv.base + href)
        if conflict and i == 0:
            page.fill("#f-reason", "I co-supervise a student who works on this project.")
            shot(page, f"{who}-conflict")
            page.click('form[action$="/conflict"] button')
            page.wait_for_url(re.compile(r"/review\?m=removed"))
            continue
        page.click('form[action$="/respond"]:has(input[value=accept]) button')
        page.wait_for_url(re.compile(r"m=saved"))
        assert "days left" in page.locator("#review-deadline").inner_text()
        assert "Feasibility" in page.locator("#criteria").inner_text()
        assert page.locator("#f-confidence").input_value() == ""  # nothing preselected
        page.fill("#f-grade", grades[i % len(grades)])
        page.select_option("#f-confidence", "4")
        page.fill("#f-comments_to_applicants", f"{FEEDBACK} ({who})")
        page.fill("#f-comments_to_panel", "Fine.")
        if done == 0:
            shot(page, f"{who}-review-form")
        page.click("button[name=action][value=submit]")
        page.wait_for_url(re.compile(r"m=review_submitted"))
        assert "Review submitted" in page.locator("main .notice").inner_text()
        assert page.locator("#f-grade").count() == 0  # submitted: no longer editable
        done += 1
    return done


def whole_small_call(browser: Any, srv: Any, shot: Any, cast: Cast = Cast()) -> None:
    """The whole cycle against ``srv`` (base, mail_link, db), from the world of
    :func:`build_world` (or with ``cast``'s call and people, added by :func:`add_cast`);
    ``shot(page, name)`` records each step."""
    slug, applicants = cast.slug, cast.applicants
    staff = {k: browser.new_context(locale="en-GB") for k in ("manager", "chair")}
    mgr = staff["manager"].new_page()
    chair = staff["chair"].new_page()

    # -- the manager creates the call and opens it
    sign_in(srv, mgr, cast.staff("manager"))
    mgr.goto(srv.base + "/manage/calls/new")
    now = utcnow().replace(second=0, microsecond=0)
    mgr.select_option("#f-facility_id", index=0)
    mgr.fill("#f-title", "FAST open time, browser cycle")
    mgr.fill("#f-slug", slug)
    mgr.fill("#f-code", "FB27")
    mgr.fill("#f-cycle", "2027")
    mgr.fill("#f-description", "Open time on FAST for everyone.")
    mgr.fill("#f-opens_at", (now - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"))
    mgr.fill("#f-closes_at", (now + dt.timedelta(days=30)).strftime("%Y-%m-%d %H:%M"))
    mgr.fill("#f-max_amount_per_proposal", "20")
    mgr.fill("#f-reviewers_per_proposal", "2")
    mgr.fill("#f-max_load", "3")
    mgr.fill("#f-review_deadline", (now + dt.timedelta(days=60)).strftime("%Y-%m-%d %H:%M"))
    mgr.fill("#f-review_criteria", "Scientific merit\nFeasibility")
    shot(mgr, "new-call")
    mgr.click('form[action="/manage/calls/new"] button')
    mgr.wait_for_url(re.compile(rf"/manage/calls/{slug}\?m=saved"))
    shot(mgr, "cockpit-draft")
    move(mgr, shot, "open", "cycle opens")

    # -- three applicants submit
    pids = []
    for i, (email, title) in enumerate(applicants):
        ctx = browser.new_context(locale="en-GB")
        page = ctx.new_page()
        if i == 0:
            register_and_verify(srv, page, shot, email, "Wanjiru Kamau", "en")
        else:
            sign_in(srv, page, email)
        pids.append(submit_proposal(srv, page, shot, title, slug))
        ctx.close()

    # -- the manager closes the call (early: a reason is required) and starts review
    mgr.goto(f"{srv.base}/manage/calls/{slug}")
    move(mgr, shot, "closed", "all expected proposals are in (browser test)")
    move(mgr, shot, "review")

    # -- the chair runs conflicts, affinity and assignment as jobs
    sign_in(srv, chair, cast.staff("chair"))
    chair.goto(f"{srv.base}/manage/calls/{slug}")
    shot(chair, "chair-cockpit")
    for step in ("conflicts", "affinity", "assignment"):
        run_step(srv, chair, shot, step, slug)
    chair.goto(f"{srv.base}/manage/calls/{slug}/assignment")
    text = chair.locator("main").inner_text()
    for name, _inst in STAFF.values():
        if name in ("Mei Lin", "Ana Folau"):
            continue
        assert name in text  # reviewers are shown to the chair ...
    assert "Wanjiru" not in text and "Rosa Quispe" not in text  # ... teams are not
    shot(chair, "assignment")

    # -- three reviewers: two review everything, one declares a conflict first
    reviewed = {}
    for who, grades, conflict in (
        ("rev1", ["4", "3", "2"], False),
        ("rev2", ["5", "3", "2"], False),
        ("rev3", ["4", "2", "3"], True),
    ):
        ctx = browser.new_context(locale="en-GB")
        page = ctx.new_page()
        sign_in(srv, page, cast.staff(who))
        reviewed[who] = review_all(srv, page, shot, who, grades, conflict)
        ctx.close()
    with srv.db() as s:
        call_id = s.scalar(select(Call.id).where(Call.slug == slug))
        of_call = select(Proposal.id).where(Proposal.call_id == call_id)
        assert s.scalar(
            select(Conflict).where(
                Conflict.source == "declared_reviewer", Conflict.proposal_id.in_(of_call)
            )
        )
        n_reviews = len(
            s.scalars(
                select(Review)
                .join(ReviewAssignment, ReviewAssignment.id == Review.assignment_id)
                .where(Review.submitted_at.is_not(None), ReviewAssignment.proposal_id.in_(of_call))
            ).all()
        )
    assert n_reviews == sum(reviewed.values()) >= 4

    # -- calibration, ranking frozen, allocation, scheduling, release
    run_step(srv, chair, shot, "calibration", slug)
    chair.goto(f"{srv.base}/manage/calls/{slug}/ranking")
    assert "Wanjiru" not in chair.locator("main").inner_text()
    shot(chair, "ranking")
    mgr.goto(f"{srv.base}/manage/calls/{slug}")
    move(mgr, shot, "ranking")
    chair.goto(f"{srv.base}/manage/calls/{slug}/ranking")
    chair.locator('form[action$="/ranking/freeze"] input[name=confirm]').check()
    chair.click('form[action$="/ranking/freeze"] button')
    chair.wait_for_url(re.compile(r"/ranking\?m=saved"))
    assert "Wanjiru Kamau" in chair.locator("main").inner_text()  # after the freeze
    shot(chair, "ranking-frozen")
    move(mgr, shot, "allocation")
    run_step(srv, chair, shot, "allocation", slug)
    chair.goto(f"{srv.base}/manage/calls/{slug}/decisions")
    shot(chair, "decisions")
    mgr.goto(f"{srv.base}/manage/calls/{slug}")
    move(mgr, shot, "scheduling")
    run_step(srv, chair, shot, "scheduling", slug)
    chair.goto(f"{srv.base}/manage/calls/{slug}/schedule")
    shot(chair, "schedule")
    chair.goto(f"{srv.base}/manage/calls/{slug}/decisions")
    chair.locator('form[action$="/release"] input[name=confirm]').check()
    chair.click("#release")
    chair.wait_for_url(re.compile(r"/decisions\?m=saved"))
    assert "Decisions released" in chair.locator("main").inner_text()
    shot(chair, "released")
    mgr.goto(f"{srv.base}/manage/calls/{slug}/schedule")
    mgr.locator('form[action$="/publish"] input[name=confirm]').check()
    mgr.click("#publish")
    mgr.wait_for_url(re.compile(rf"/manage/calls/{slug}\?m=published"))  # back in Manage
    shot(mgr, "published")
    mgr.click(f'main a[href="/calls/{slug}/awarded"]')  # the public page, one click away
    mgr.wait_for_url(re.compile(rf"/calls/{slug}/awarded"))
    mgr.goto(f"{srv.base}/manage/calls/{slug}/report")  # charts drawn in the web process
    assert mgr.locator("main figure.chart img").count() >= 1
    shot(mgr, "report")

    # -- an awarded applicant reads the outcome and the reviewers' feedback
    with srv.db() as s:
        call = s.scalar(select(Call).where(Call.slug == slug))
        assert call is not None and call.status == "published"
        awarded = set(s.scalars(select(Award.proposal_id).where(Award.call_id == call.id)))
        assert awarded, "nothing was awarded"
        assert len(s.scalars(select(Decision).where(Decision.call_id == call.id)).all()) == 3
        pid = min(awarded, key=pids.index)
        p = s.get(Proposal, pid)
        assert p is not None
        email = next(e for e, t in applicants if t == p.title)
    ctx = browser.new_context(locale="en-GB")
    page = ctx.new_page()
    sign_in(srv, page, email, NEW_PASSWORD if email == applicants[0][0] else PASSWORD)
    page.goto(srv.base + "/dashboard")
    page.click(f'a[href="/proposals/{pid}/outcome"]')
    page.wait_for_url(re.compile(rf"/proposals/{pid}/outcome"))
    text = page.locator("main").inner_text()
    assert "awarded" in text and "LST" in text and "hours" in text.lower()
    assert FEEDBACK in text
    assert "Fine." not in text  # comments to the panel stay with the panel
    for name, _inst in STAFF.values():
        assert name not in text  # reviewers stay anonymous
    shot(page, "outcome")
    ctx.close()
    for c in staff.values():
        c.close()
