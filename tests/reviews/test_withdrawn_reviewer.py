"""A reviewer who declines an invitation, or declares a conflict after accepting it, once
the automatic assignment covered every proposal (rev13b). Before, the chair's list of
proposals short of reviewers (page and API) read only the last run's shortfall, so a
proposal that lost a reviewer afterwards was never listed until the chair thought of
running the assignment again. Now it is listed ("withdrawn"), without saying who
withdrew or why, and a new run replaces the reviewer (the optimiser keeps the rest)."""

from __future__ import annotations

from opencall.calls.queries import call_by_slug
from opencall.people import services as people_services
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from tests import factories as F
from tests.web.conftest import Web, api_bearer

CHAIR = "chair-rev13b@staff.example"
WHY = "Reviewer-rev13b co-wrote a paper with the PI"


def test_a_reviewer_who_withdraws_leaves_the_proposal_short_until_replaced(web: Web) -> None:
    with web.factory() as s:
        call, props, reviewers = F.call_in_review(s, 2, 3, reviewers_per_proposal=2)
        chair = F.user(s, email=CHAIR)
        people_services.grant_role(s, chair.id, "chair", call_id=call.id)
        rv.run_assignment(s, call)
        assert rv.uncovered_proposals(s, call) == []
        by_id = {u.id: u for u in reviewers}
        first = [a for a in rq.assignments_of_call(s, call) if a.proposal_id == props[0].id]
        second = [a for a in rq.assignments_of_call(s, call) if a.proposal_id == props[1].id]
        rv.respond_to_assignment(s, first[0], by_id[first[0].reviewer_id], accept=False)
        late = by_id[second[0].reviewer_id]
        rv.respond_to_assignment(s, second[0], late, accept=True)
        rv.declare_conflict(s, second[0], late, WHY)
        gone = {(a.proposal_id, a.reviewer_id) for a in (first[0], second[0])}
        names = {by_id[first[0].reviewer_id].name, late.name}
        short = [
            (u.proposal_id, u.needed, u.assigned, u.reason) for u in rv.uncovered_proposals(s, call)
        ]
        assert short == [(p.id, 2, 1, "withdrawn") for p in props]
        slug, codes = call.slug, sorted(p.code for p in props)
        s.commit()
    sentence = "A reviewer withdrew or was removed since it was assigned"
    page = web.login(CHAIR).get(f"/manage/calls/{slug}/assignment")
    assert page.status_code == 200
    listed = page.text.split('id="short"')[1].split("</section>")[0]
    assert listed.count("1 of 2") == 2 and all(code in listed for code in codes)
    assert listed.count(sentence) == 2
    # the list says what to do, not who withdrew nor why
    assert WHY not in listed and not any(n in listed for n in names)
    headers = api_bearer(web, CHAIR, scopes=("manage",))
    api = web.client().get(f"/api/v1/calls/{slug}/assignments/uncovered", headers=headers)
    assert api.status_code == 200, api.text
    items = api.json()["items"]
    assert sorted((x["proposal_code"], x["assigned"], x["reason"]) for x in items) == [
        (code, 1, "withdrawn") for code in codes
    ]
    assert all(sentence in x["explanation"] for x in items)
    assert WHY not in api.text and not any(n in api.text for n in names)
    # the optimiser's next run replaces them, never with the one who withdrew
    with web.factory() as s:
        call = call_by_slug(s, slug)
        assert call is not None
        rv.run_assignment(s, call)
        assert rv.uncovered_proposals(s, call) == []
        pairs = {(a.proposal_id, a.reviewer_id) for a in rq.assignments_of_call(s, call)}
        assert len(pairs) == 4 and not pairs & gone
        s.commit()
    again = web.login(CHAIR).get(f"/manage/calls/{slug}/assignment")
    assert 'id="short"' not in again.text
