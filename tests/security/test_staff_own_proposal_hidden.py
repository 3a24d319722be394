"""A chair (or call manager) on a proposal's team sees nothing of its review: no
reviewer's name, review text or grade of that proposal in any staff page, CSV export,
report or API response of the call; the other proposals' reviews are shown as before.

The routes walked are the app's own GET routes (``app_routes``), each parameter filled
from the call; only a route with a parameter named in ``UNFILLABLE`` (another persona's
link) is left out, so that a new route is walked rather than forgotten.

Before the fix, as the chair: the assignment table and its CSV, the ranking and its CSV,
and the API's assignments, conflicts, ranking and decisions; as the call manager the
audit log and its CSV too.

Before the release, nor its outcome, award or counted reviews: the decisions page (also
shown again after a refused POST), its CSV, and the API's decisions, awards and
unreviewed showed them. The job progress routes are walked (a job of the call), and so
are the pages shown again after each POST of ``/manage/calls/{slug}/...``."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall import jobs
from opencall.allocation import services as al
from opencall.calls.models import Call
from opencall.cycle import services as cycle
from opencall.facilities.models import CapacityPool
from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from opencall.proposals import services as prop_services
from opencall.reviews import services as rv
from opencall.reviews.models import ReviewAssignment
from opencall.reviews.policies import MSG_WITHHELD
from tests import factories as F
from tests.authz.test_matrix import app_routes
from tests.web.conftest import Web, session_cookie

pytestmark = pytest.mark.filterwarnings("ignore")

# Parameters this walk cannot fill from a call's staff view (another persona's link: an
# e-mail token, a team invitation, a reviewer's PDF page, a language code, an applicant's
# upload in progress), so the routes that need them are not walked here: tests/authz
# covers who may open them at all.
UNFILLABLE = {"token", "member_id", "attachment_id", "n", "code", "upload_id"}

# the secrets of the chair's own proposal: its reviewers' names and their review texts
OWN_REVIEWERS = ("Wenceslas Quarrington-Vey", "Ottoline Brackenbury-Nkemelu")
OWN_TEXTS = ("Hexagonal dolphins obfuscate the spectrum", "Marmalade quasar cadence")
OWN_GRADE = 1.25  # the others get 4 and 3: "1.25" (its mean, as shown) is the own one's
CONFLICTED = "Cornelius Ravensworth-Obi"
CONFLICT_REASON = "I examined the thesis of the PI in Nairobi"
OTHER_REVIEWER = "Ysolde Fairweather-Achebe"
OTHER_TEXT = "Convincing pulsar sample"


@dataclass
class Seen:
    slug: str = ""
    own: int = 0
    own_code: str = ""
    ids: dict[str, int] = field(default_factory=dict)
    staff: tuple[str, ...] = ("pi-chair@staff.example", "pi-manager@staff.example")


def _world(s: Session) -> Seen:
    call = F.fast_call(s, requires_pdf=False)
    chair = F.user(s, name="Chair Onteam", email="pi-chair@staff.example")
    manager = F.user(s, name="Manager Onteam", email="pi-manager@staff.example")
    props = []
    for i in range(3):
        p = F.full_proposal(s, call, F.user(s, institution=f"Team institute {i}", country="BRA"))
        # the chair and the call manager are accepted co-investigators of the first one
        for staff in (chair, manager) if i == 0 else ():
            m = prop_services.invite_member(
                s,
                p,
                {
                    "email": staff.email,
                    "name": staff.name,
                    "institution": "Staff institute",
                    "country_iso3": "FRA",
                },
                now=F.NOW,
            )
            prop_services.respond_to_invitation(s, m, staff, accept=True)
        prop_services.submit(s, p, now=F.NOW)
        props.append(p)
    own_reviewers = [F.user(s, name=n, country="KEN") for n in OWN_REVIEWERS]
    conflicted = F.user(s, name=CONFLICTED, country="KEN")
    other = [F.user(s, name=OTHER_REVIEWER, country="JPN"), F.user(s, country="FRA")]
    for u in [*own_reviewers, conflicted, *other]:
        people_services.grant_role(s, u.id, "reviewer", call_id=call.id)
    people_services.grant_role(s, chair.id, "chair", call_id=call.id)
    for role in ("call_manager", "provider_admin"):
        people_services.grant_role(s, manager.id, role, provider_id=call.provider_id)
    cycle.transition_call(s, call, "closed", now=F.NOW + dt.timedelta(days=31), reason="t")
    cycle.transition_call(s, call, "review")
    for u, text in zip(own_reviewers, OWN_TEXTS, strict=True):
        a = rv.add_assignment(s, call, props[0], u)
        rv.submit_review(
            s, a, u, grade=OWN_GRADE, comments_to_applicants=text, comments_to_panel=text
        )
    b = rv.add_assignment(s, call, props[0], conflicted)
    rv.declare_conflict(s, b, conflicted, CONFLICT_REASON)
    for p, grade in ((props[1], 4.0), (props[2], 3.0)):
        for u in other:
            a = rv.add_assignment(s, call, p, u)
            rv.submit_review(s, a, u, grade=grade, comments_to_applicants=OTHER_TEXT)
    rv.run_calibration(s, call, n_bootstrap=10)
    cycle.transition_call(s, call, "ranking")
    rv.freeze_ranking(s, call)
    cycle.transition_call(s, call, "allocation")
    al.run_allocation(s, call)
    # a third review is needed from now on: every proposal is short of reviews (the
    # decisions page's table and the unreviewed API list them, the own one with no count)
    call.review_settings = {**(call.review_settings or {}), "min_reviews": 3}
    # a job of the call, for its progress page and API
    job = jobs.enqueue(s, cycle.STEPS["allocation"].kind, {"call_id": call.id}, call_id=call.id)
    s.flush()
    pool = s.scalar(select(CapacityPool.id).where(CapacityPool.facility_id == call.facility_id))
    assignment = s.scalar(
        select(ReviewAssignment.id).where(ReviewAssignment.proposal_id == props[0].id)
    )
    assert pool is not None and assignment is not None
    return Seen(
        slug=call.slug,
        own=props[0].id,
        own_code=props[0].code,
        ids={
            "proposal_id": props[0].id,
            "assignment_id": assignment,
            "pool_id": pool,
            "facility_id": call.facility_id,
            "job_id": job.id,
        },
    )


@pytest.fixture
def seen(factory: sessionmaker[Session], small_worlds: Any) -> Seen:
    return small_worlds.get("staff-own-proposal", factory, _world)  # type: ignore[no-any-return]


def _paths(web: Web, seen: Seen, provider_slug: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Every GET route filled from the call; and those left out (unfillable)."""
    walked: list[tuple[str, str]] = []
    left: list[str] = []
    for method, template in sorted(app_routes(web.app)):
        if method != "GET":
            continue
        names = set(re.findall(r"\{(\w+)\}", template))
        if names & UNFILLABLE:
            left.append(template)
            continue
        values: dict[str, Any] = {**seen.ids, "slug": seen.slug}
        if "/providers/{slug}" in template:
            values["slug"] = provider_slug
        if "{fmt}" in template:
            walked += [(template, template.format(**values, fmt=f)) for f in ("csv", "json")]
            continue
        path = template.format(**values)
        walked.append((template, path))
        if path.startswith("/manage/"):
            walked.append((template, path + "?format=csv"))
    return walked, left


# Rosters: the provider's reviewer pool and its people list everyone holding a role,
# not whom they review; there only the review texts and grades are looked for.
ROSTERS = {
    "/api/v1/calls/{slug}/reviewer-pool",
    "/manage/calls/{slug}/reviewers",
    "/api/v1/providers/{slug}/roles",
    "/manage/providers/{slug}/people",
}


def _leaks(text: str, roster: bool) -> list[str]:
    # a <select> to choose a reviewer from is a roster too (the call's reviewers)
    text = re.sub(r"<select\b.*?</select>", "", text, flags=re.S)
    names = () if roster else (*OWN_REVIEWERS, CONFLICTED)
    found = [x for x in (*names, *OWN_TEXTS, CONFLICT_REASON) if x in text]
    # the own grade as a number of its own (not the digits inside 21.253 or 1.2504)
    return found + re.findall(r"(?<![\d.])1\.250?(?![\d])", text)[:1]


def _decided(html: str, seen: Seen) -> list[str]:
    """The own proposal's outcome, award or counted reviews on the decisions page."""
    out = []
    for row in re.findall(rf'<tr id="[pu]{seen.own}">.*?</tr>', html, flags=re.S):
        if re.search(r"<strong>|: \d|<td class=\"num\">\d", row):
            out.append(row)
    return out


# what a JSON object of the own proposal may not carry (else empty or the conflicted note)
GRADED = {
    "grade",
    "grades",
    "mean_grade",
    "raw_mean",
    "reviews",
    "reviewers",
    "reviewer",
    "score",
    "rank",
    "explanation",
    "override_reason",
    # before the release, not its outcome, award or count of reviews either
    "outcome",
    "priority",
    "fraction",  # an award's (a request has an amount too)
    "counted_reviews",
    "resolution",
    "reason",
}
EMPTY = (None, [], {}, "", MSG_WITHHELD)


def _grades(payload: Any, seen: Seen) -> list[str]:
    """Keys naming a grade, score or review on an object of the own proposal."""
    out: list[str] = []
    if isinstance(payload, list):
        for x in payload:
            out += _grades(x, seen)
    elif isinstance(payload, dict):
        # an object naming its proposal (an assignment, a conflict) is of that one, whatever
        # its own id: an assignment whose id happens to equal the own proposal's id (ids
        # coincide on PostgreSQL, whose sequences the earlier tests moved on) is another's
        pid = payload["proposal_id"] if "proposal_id" in payload else payload.get("id")
        code = payload["proposal_code"] if "proposal_code" in payload else payload.get("code")
        if pid == seen.own or code == seen.own_code:
            out += sorted(k for k in payload if k in GRADED and payload[k] not in EMPTY)
        for v in payload.values():
            out += _grades(v, seen)
    return out


@pytest.mark.parametrize("persona", [0, 1], ids=["chair", "call_manager"])
def test_staff_on_a_team_see_none_of_its_review(
    web: Web, seen: Seen, persona: int, one_loop: None
) -> None:
    email = seen.staff[persona]
    with web.factory() as s:
        call = s.scalar(select(Call).where(Call.slug == seen.slug))
        assert call is not None
        provider_slug = call.facility.provider.slug
        chair = user_by_email(s, email)
        assert chair is not None
        _tok, raw = people_services.create_api_token(s, chair, "walk")
        s.commit()
    page = web.client()
    token = uuid.uuid4().hex
    page.cookies.set("oc_session", session_cookie(web, email, token))
    api = web.client()
    api.headers["Authorization"] = f"Bearer {raw}"
    walked, left = _paths(web, seen, provider_slug)
    assert len(walked) > 40 and all("{" not in p for _t, p in walked)
    # no listing of the call is left out of the walk
    assert not [t for t in left if t.startswith(("/manage/calls/", "/api/v1/calls/"))], left
    failures, shown_other = [], 0
    for template, path in walked:
        r = (api if path.startswith("/api/") else page).get(path)
        assert r.status_code < 500, (path, r.text[:2000])
        if r.status_code >= 400:
            continue
        text = r.text if not r.headers.get("content-type", "").startswith("application/pdf") else ""
        shown = _leaks(text, template in ROSTERS)
        if "json" in r.headers.get("content-type", ""):
            shown += _grades(r.json(), seen)
        if shown:
            failures.append(f"{path}: {shown}")
        shown_other += OTHER_REVIEWER in text or OTHER_TEXT in text
    # the pages shown again after a POST of the call's staff pages (a refusal, or the
    # same page): an empty form, and on the own proposal where the route names one
    for template in sorted(t for m, t in app_routes(web.app) if m == "POST"):
        if not template.startswith("/manage/calls/{slug}/") or "/steps/" in template:
            continue
        names = set(re.findall(r"\{(\w+)\}", template))
        if names - {"slug", *seen.ids}:
            continue
        path = template.format(**seen.ids, slug=seen.slug)
        r = page.post(path, data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code < 500, (path, r.text[:2000])
        if r.status_code < 300 or r.status_code >= 400:
            roster = template in ROSTERS  # the same roster page, shown again
            if shown := _leaks(r.text, roster) + _decided(r.text, seen):
                failures.append(f"POST {path}: {shown}")
    assert not failures, "\n".join(failures)
    # the own proposal's decision stays on the decisions page, with no rank and no reason
    html = page.get(f"/manage/calls/{seen.slug}/decisions").text
    row = re.search(rf'<tr id="p{seen.own}">.*?</tr>', html, flags=re.S)
    assert row is not None and MSG_WITHHELD.replace("'", "&#39;") in row.group(0)
    assert re.search(r'<td class="num">\s*</td>', row.group(0))
    assert "override" not in row.group(0)
    assert 'id="withheld"' in html
    # ... nor, before the release, its outcome, award or counted reviews (the others' are)
    assert not _decided(html, seen), _decided(html, seen)
    assert re.search(r'<tr id="u\d+"><td>[^<]*</td>\s*<td class="num">2</td>', html)
    csv = page.get(f"/manage/calls/{seen.slug}/decisions?format=csv").text
    own_line = next(x for x in csv.splitlines() if x.startswith(seen.own_code))
    assert not re.search(r"awarded|: \d", own_line), own_line
    # the other proposals' reviews are still the chair's to read
    assert shown_other >= 3


def test_a_recorded_conflict_withholds_too_and_a_pending_invitation_does_not(db: Session) -> None:
    from opencall.proposals.models import TeamMember
    from opencall.reviews import policies

    s = db
    call, props, reviewers = F.call_in_review(s, 2, 2)
    chair = reviewers[0]  # a reviewer of the call who chairs it as well
    people_services.grant_role(s, chair.id, "chair", call_id=call.id)
    assert policies.withheld(s, chair, call) == frozenset()
    a = rv.add_assignment(s, call, props[1], chair)
    rv.declare_conflict(s, a, chair, "my former student")
    # invited to the first proposal's team, not (yet) accepted: still the chair's to see
    pi = next(m for m in props[0].members if m.role == "pi")
    s.add(
        TeamMember(
            proposal_id=props[0].id,
            user_id=chair.id,
            role="coi",
            email=chair.email,
            name=chair.name,
            institution_id=pi.institution_id,
            institution_name=pi.institution_name,
            country_iso3=pi.country_iso3,
            status="invited",
        )
    )
    s.flush()
    assert policies.withheld(s, chair, call) == {props[1].id}
    assert policies.withheld(s, None, call) == frozenset()
