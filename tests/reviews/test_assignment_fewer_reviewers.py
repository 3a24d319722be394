"""A call with fewer reviewers than the reviews each proposal needs (mend10c). Before, the
automatic assignment lowered the reviews per proposal to the number of reviewers: with
two reviewers and three reviews each it gave every proposal two, recorded ``k = 2`` and
no shortfall, and the chair was never told that every proposal lacked its third review.
Now those proposals are short, for want of reviewers in the pool (``pool``, mend11c; it
said ``conflicts`` before): in the run's summary, ``uncovered_proposals``, the assignment
page and the API ("The call has fewer reviewers than the 3 reviews it needs: invite
reviewers")."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from opencall.cli import app as cli_app
from opencall.people import services as people_services
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from tests import factories as F
from tests.cli_db import cli_database
from tests.web.conftest import Web, api_bearer


def test_two_reviewers_for_three_reviews_each_leave_every_proposal_short(db: Session) -> None:
    call, props, reviewers = F.call_in_review(db, 3, 2, reviewers_per_proposal=3)
    run = rv.run_assignment(db, call)
    pairs = [(a.proposal_id, a.reviewer_id) for a in rq.assignments_of_call(db, call)]
    # every proposal still gets both reviewers (the rest is assigned, optimally)
    assert sorted(pairs) == sorted((p.id, r.id) for p in props for r in reviewers)
    assert run.parameters["k"] == 3
    assert run.summary["short_reviews"] == 3 and run.summary["certified"]
    assert run.summary["load_to_cover"] == 5  # 9 reviews over 2 reviewers
    short = rv.uncovered_proposals(db, call)
    assert [(u.proposal_id, u.needed, u.assigned, u.free, u.reason) for u in short] == [
        (p.id, 3, 2, 2, "pool") for p in props
    ]
    # a third reviewer, assigned by hand to one of them, covers it
    third = F.user(db, institution="Third institute", country="CHL")
    people_services.grant_role(db, third.id, "reviewer", call_id=call.id)
    rv.add_assignment(db, call, props[0], third)
    assert [u.proposal_id for u in rv.uncovered_proposals(db, call)] == [p.id for p in props[1:]]


def test_the_chair_reads_the_shortfall_on_the_page_and_through_the_api(web: Web) -> None:
    with web.factory() as s:
        call, props, _reviewers = F.call_in_review(s, 2, 2, reviewers_per_proposal=3)
        chair = F.user(s, email="chair-mend10c@staff.example")
        people_services.grant_role(s, chair.id, "chair", call_id=call.id)
        rv.run_assignment(s, call)
        slug, codes = call.slug, sorted(p.code for p in props)
        s.commit()
    page = web.login("chair-mend10c@staff.example").get(f"/manage/calls/{slug}/assignment")
    assert page.status_code == 200
    short = page.text.split('id="short"')[1].split("</section>")[0]
    assert short.count("2 of 3") == 2 and all(code in short for code in codes)
    assert "The call has fewer reviewers than the 3 reviews it needs" in short
    headers = api_bearer(web, "chair-mend10c@staff.example", scopes=("manage",))
    api = web.client().get(f"/api/v1/calls/{slug}/assignments/uncovered", headers=headers)
    assert api.status_code == 200, api.text
    rows = sorted(
        (x["proposal_code"], x["assigned"], x["needed"], x["reason"]) for x in api.json()["items"]
    )
    assert rows == [(code, 2, 3, "pool") for code in codes]


def test_the_command_line_says_the_shortfall_as_the_page_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``opencall review assign`` tells the chair which proposals are short and why, in the
    page's and the API's words (rev13b: it printed the run's raw summary, a list of ids),
    once: the run's raw ``uncovered: [{'needed': 3, ..., 'proposal_id': 1}, ...]`` entry,
    the database ids where the sentences say the codes, is no longer printed beside them
    (trialrev14; it failed before)."""
    with cli_database(tmp_path, monkeypatch) as (runner, factory):
        with factory() as s:
            call, props, _reviewers = F.call_in_review(s, 2, 2, reviewers_per_proposal=3)
            slug, codes = call.slug, sorted(p.code for p in props)
            s.commit()
        r = runner.invoke(cli_app, ["review", "assign", "--call", slug], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    assert "2 proposals are short of reviewers" in out, out
    for code in codes:
        assert (
            f"{code}: 2 of 3 reviewers. The call has fewer reviewers than the 3 reviews "
            "it needs: invite reviewers." in out
        ), out
    lines = [ln.strip() for ln in r.output.splitlines() if ln.strip()]
    assert lines[0].startswith("solver run ") and "(assignment)" in lines[0], r.output
    assert not any(ln.startswith("uncovered:") for ln in lines), r.output
    assert "proposal_id" not in r.output, r.output
    for code in codes:
        assert sum(ln.startswith(f"{code}: 2 of 3 reviewers.") for ln in lines) == 1, r.output
    assert any(ln.startswith("pairs: 4") for ln in lines), r.output  # the rest stays
