"""Workspaces through the pages: a reviewer's invitation e-mail (their
language, no identity), review and conflict declaration, the chair's view
before and after the ranking freeze, conflicted pairs refused by hand, a step
run as a job with its status page, CSV exports without identities."""

from __future__ import annotations

import re
from typing import Any

import pytest

from opencall.people import services as people_services
from opencall.people.models import User
from opencall.people.queries import user_by_email
from opencall.reviews.models import Conflict, ReviewAssignment
from tests.review_cycle import TEAMS, Cycle, Web, csrf

pytestmark = pytest.mark.filterwarnings("ignore")


def post(c: Any, path: str, data: dict[str, str], page: str = "/review") -> Any:
    return c.post(path, data={"csrf_token": csrf(c, page), **data})


def test_reviewer_flow_and_chair_views(web: Web, cycle: Cycle) -> None:
    with web.factory() as s:
        u = user_by_email(s, cycle.emails["unassigned"])
        assert isinstance(u, User)
        u.language = "zh"
        s.commit()
    chair = web.login(cycle.emails["chair"])
    # a conflicted pair is refused by hand; a free one is added and the reviewer is e-mailed
    r = post(
        chair,
        f"/manage/calls/{cycle.slug}/assignment/add",
        {"proposal_id": str(cycle.ids["proposal"]), "reviewer_id": str(_uid(web, "conflicted"))},
    )
    assert r.status_code == 400 and "conflicted" in r.text
    r = post(
        chair,
        f"/manage/calls/{cycle.slug}/assignment/add",
        {"proposal_id": str(cycle.ids["proposal"]), "reviewer_id": str(cycle.ids["reviewer"])},
    )
    assert r.status_code == 303
    mails = [m for m in web.mails() if cycle.emails["unassigned"] in m]
    assert len(mails) == 1
    assert "=?utf-8?" in mails[0]  # a Chinese subject, encoded
    for secret in cycle.secrets:
        assert secret not in mails[0]
    # before the freeze the chair sees no team; the ranking page says so
    r = chair.get(f"/manage/calls/{cycle.slug}/assignment")
    assert r.status_code == 200 and all(name not in r.text for name, _i, _c in TEAMS)
    r = chair.get(f"/manage/calls/{cycle.slug}/assignment?format=csv")
    assert r.headers["content-type"].startswith("text/csv")
    assert all(s not in r.text for s in cycle.secrets)
    # the reviewer: invitation, accept, anonymised proposal, review
    rev = web.login(cycle.emails["unassigned"])
    aid = re.findall(r"/review/assignments/(\d+)", rev.get("/review").text)[0]
    page = rev.get(f"/review/assignments/{aid}")
    assert page.status_code == 200 and all(s not in page.text for s in cycle.secrets)
    assert post(rev, f"/review/assignments/{aid}/respond", {"action": "accept"}).status_code == 303
    bad = post(rev, f"/review/assignments/{aid}", {"grade": "9", "action": "submit"})
    assert bad.status_code == 400
    ok = post(
        rev,
        f"/review/assignments/{aid}",
        {"grade": "4", "confidence": "4", "comments_to_applicants": "Clear.", "action": "submit"},
    )
    assert ok.status_code == 303
    with web.factory() as s:
        a = s.get(ReviewAssignment, int(aid))
        assert a is not None and a.status == "submitted"
    # the other reviewer declares a conflict: the assignment is removed, the reason kept
    other = web.login(cycle.emails["assigned"])
    aid2 = cycle.ids["assignment"]
    r = post(other, f"/review/assignments/{aid2}/conflict", {"reason": "My former student"})
    assert r.status_code == 303
    # its link now says it is no longer theirs (410, trialapp23), no longer a plain 404
    assert other.get(f"/review/assignments/{aid2}").status_code == 410
    with web.factory() as s:
        assert s.get(ReviewAssignment, aid2).status == "removed"  # type: ignore[union-attr]
        c = s.query(Conflict).filter_by(source="declared_reviewer", detail="My former student")
        assert c.count() == 1
    # calibration as a job, with its status page
    r = post(chair, f"/manage/calls/{cycle.slug}/steps/calibration", {}, page="/manage")
    assert r.status_code == 303 and r.headers["location"].startswith("/manage/jobs/")
    web.app.state.inline_runner.submit(lambda: None).result(timeout=300)  # ran in the background
    job = chair.get(r.headers["location"])
    assert job.status_code == 200 and 'id="job-status"' in job.text
    ranking = chair.get(f"/manage/calls/{cycle.slug}/ranking")
    assert ranking.status_code == 200 and TEAMS[0][0] not in ranking.text
    # after the freeze the chair sees the teams
    r = post(chair, f"/manage/calls/{cycle.slug}/ranking/freeze", {"confirm": "yes"}, "/manage")
    assert r.status_code == 303
    assert TEAMS[0][0] in chair.get(f"/manage/calls/{cycle.slug}/ranking").text
    # the reviewer still never does
    assert all(s not in rev.get(f"/review/assignments/{aid}").text for s in cycle.secrets)


def test_a_short_proposal_is_listed_and_the_rest_assigned(web: Web, cycle: Cycle) -> None:
    """Three reviewers per proposal, one conflicted with the first, and the three of one
    institution (at most one each): the job no longer fails. Each proposal gets the one
    reviewer the rules allow, and the page and the API list them as short, with why (the
    first: conflicts; the others: the diversity rules). A chair conflicted with the first
    no longer sees it listed."""
    chair = web.login(cycle.emails["chair"])
    r = post(chair, f"/manage/calls/{cycle.slug}/steps/assignment", {}, page="/manage")
    assert r.status_code == 303
    web.app.state.inline_runner.submit(lambda: None).result(timeout=300)  # ran in the background
    job = chair.get(r.headers["location"])
    assert job.status_code == 200 and "failed" not in job.text
    page = chair.get(f"/manage/calls/{cycle.slug}/assignment")
    short = page.text.split('id="short"')[1].split("</section>")[0]
    assert short.count("1 of 3") == 3 and "Only 2 reviewers are free of conflicts" in short
    assert "from one institution or one region" in short
    with web.factory() as s:
        from opencall.proposals.models import Proposal

        p0 = s.get(Proposal, cycle.ids["proposal"])
        assert p0 is not None
        code = p0.code
        assert code in short
        chair_user = user_by_email(s, cycle.emails["chair"])
        assert chair_user is not None
        _t, raw = people_services.create_api_token(s, chair_user, "short")
        s.commit()
    api = web.client().get(
        f"/api/v1/calls/{cycle.slug}/assignments/uncovered",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert api.status_code == 200, api.text
    rows = {x["proposal_code"]: x for x in api.json()["items"]}
    assert len(rows) == 3 and (rows[code]["assigned"], rows[code]["needed"]) == (1, 3)
    assert rows[code]["reason"] == "conflicts"
    assert {x["reason"] for c, x in rows.items() if c != code} == {"diversity"}
    # the chair declares a conflict with that proposal: it leaves their lists
    with web.factory() as s:
        s.add(
            Conflict(
                call_id=cycle.ids["call"],
                proposal_id=cycle.ids["proposal"],
                reviewer_id=_uid(web, "chair"),
                source="declared_reviewer",
                detail="a former student",
            )
        )
        s.commit()
    page = chair.get(f"/manage/calls/{cycle.slug}/assignment")
    assert code not in page.text.split('id="short"')[1].split("</section>")[0]
    api = web.client().get(
        f"/api/v1/calls/{cycle.slug}/assignments/uncovered",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert len(api.json()["items"]) == 2 and code not in api.text


def test_job_failure_is_shown_not_lost(web: Web, cycle: Cycle) -> None:
    """Two hand assignments to a proposal, then one reviewer per proposal: the chair's
    pairs break the rules by themselves, the solver refuses, and the job page shows the
    failure with the service's message. A refusal does not change on retry, so the job
    ends at its first attempt."""
    with web.factory() as s:
        from opencall.calls.models import Call
        from opencall.people.models import User as U
        from opencall.proposals.models import Proposal
        from opencall.reviews import services as rv

        call = s.get(Call, cycle.ids["call"])
        p0 = s.get(Proposal, cycle.ids["proposal"])
        extra = s.get(U, cycle.ids["reviewer"])
        assert call is not None and p0 is not None and extra is not None
        rv.add_assignment(s, call, p0, extra)
        call.review_settings = {**call.review_settings, "reviewers_per_proposal": 1}
        s.commit()
    chair = web.login(cycle.emails["chair"])
    r = post(chair, f"/manage/calls/{cycle.slug}/steps/assignment", {}, page="/manage")
    assert r.status_code == 303
    web.app.state.inline_runner.submit(lambda: None).result(timeout=300)  # ran in the background
    page = chair.get(r.headers["location"])
    assert page.status_code == 200
    assert "failed" in page.text and "No assignment satisfies the rules" in page.text
    assert "1 / 2" in page.text  # refused: failed at its first attempt, not retried


def _uid(web: Web, persona: str) -> int:
    with web.factory() as s:
        u = user_by_email(s, f"{persona}@staff.example")
        assert u is not None
        return u.id
