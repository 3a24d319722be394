"""A submitted proposal that got no review has no rank, so the allocation makes no
decision on it. The chair's decisions page names such proposals (count and codes) in
the chair's language, and the release (page and API) is refused, naming them, until
the chair resolves each (``tests/allocation/test_unreviewed.py``); a call released
before that rule existed still names those left under review."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from opencall import jobs
from opencall.allocation import services as al
from opencall.allocation.models import Decision
from opencall.calls.models import Call
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.people import services as people_services
from opencall.proposals import services as ps
from opencall.proposals.models import Proposal
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.web.i18n import Translator
from tests import factories as F
from tests.api.test_writes import token
from tests.web.conftest import Web, csrf

MSG_BEFORE = (
    "Submitted proposals with no decision yet: %(n)s — %(codes)s. The release waits until "
    "each has one (see the proposals short of reviews below)."
)
MSG_AFTER = (
    "Submitted proposals with no decision (no review, so no rank): %(n)s — %(codes)s. "
    "They stayed under review after the release."
)


def test_an_unreviewed_proposal_gets_no_decision_and_is_named(db: Session) -> None:
    """The real cycle: one of three submitted proposals gets no review; the allocation
    decides on the other two only, and ``undecided`` names the third, before and after
    the release (which leaves it under review)."""
    s = db
    call = F.fast_call(s, requires_pdf=False)
    props = []
    for i in range(3):
        p = F.full_proposal(s, call, F.user(s, institution=f"Team institute {i}", country="BRA"))
        ps.submit(s, p, now=F.NOW)
        props.append(p)
    reviewers = []
    for i in range(3):
        u = F.user(s, institution=f"Panel institute {i}", country=("FRA", "JPN", "KEN")[i])
        people_services.grant_role(s, u.id, "reviewer", call_id=call.id)
        reviewers.append(u)
    cycle.transition_call(s, call, "closed", now=F.NOW + dt.timedelta(days=31), reason="t")
    cycle.transition_call(s, call, "review")
    rv.run_affinity(s, call)
    rv.run_assignment(s, call)
    by_id = {u.id: u for u in reviewers}
    lost = props[2]
    for a in rq.assignments_of_call(s, call):
        if a.proposal_id != lost.id:
            rv.submit_review(s, a, by_id[a.reviewer_id], grade=3, comments_to_applicants="ok")
    rv.run_calibration(s, call, n_bootstrap=10)
    cycle.transition_call(s, call, "ranking")
    rv.freeze_ranking(s, call)
    cycle.transition_call(s, call, "allocation")
    al.run_allocation(s, call)
    decided = set(s.scalars(select(Decision.proposal_id).where(Decision.call_id == call.id)))
    assert decided == {props[0].id, props[1].id}
    assert [p.id for p in al.undecided(s, call)] == [lost.id]
    with pytest.raises(DomainError, match=lost.code):
        al.release_decisions(s, call)
    assert call.decisions_released_at is None
    assert {p.status for p in props} == {"under_review"}


def _world(s: Session) -> tuple[str, str, list[str], list[str]]:
    """A call in allocation: two proposals decided, two submitted ones with no decision,
    and one draft (never submitted: not named)."""
    call, _pool = F.samples_call(s)
    decided, undecided = [], []
    for i in range(5):
        who = F.user(s, email=f"applicant{i}-{call.id}@example.org")
        p = ps.create_proposal(
            s, call, who, title=f"Ages {i}", abstract="a", science_case="b", now=F.NOW
        )
        if i < 2:
            p.status = "under_review"
            s.add(Decision(call_id=call.id, proposal_id=p.id, outcome="awarded", explanation=""))
            decided.append(p.code)
        elif i < 4:
            p.status = "under_review"
            undecided.append(p.code)
    call.status = "allocation"
    s.execute(delete(jobs.Job))
    chair = F.user(s, email=f"chair-{call.id}@example.org")
    people_services.grant_role(s, chair.id, "call_manager", provider_id=call.provider_id)
    s.flush()
    return call.slug, chair.email, decided, sorted(undecided)


def _notice(html: str) -> str:
    start = html.index('id="undecided">') + len('id="undecided">')
    return html[start : html.index("</p>", start)]


def test_the_decisions_page_names_the_undecided_and_the_release_waits(web: Web) -> None:
    with web.factory() as s:
        slug, chair, decided, undecided = _world(s)
        s.commit()
    fr = Translator("fr")
    c = web.login(chair, lang="fr")
    r = c.get(f"/manage/calls/{slug}/decisions")
    assert r.status_code == 200
    want = fr.gettext(MSG_BEFORE, n=2, codes=", ".join(undecided))
    assert want != Translator("en").gettext(MSG_BEFORE, n=2, codes=", ".join(undecided))
    assert _notice(r.text).replace("&#39;", "'") == want
    assert all(code not in _notice(r.text) for code in decided)
    token_ = csrf(c, f"/manage/calls/{slug}/decisions")
    r = c.post(f"/manage/calls/{slug}/release", data={"csrf_token": token_, "confirm": "yes"})
    assert r.status_code == 400 and ", ".join(undecided) in r.text
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        assert call.decisions_released_at is None
        left = s.scalars(select(Proposal.code).where(Proposal.status == "under_review"))
        assert sorted(left) == sorted(decided + undecided)  # nothing was released
        # a call released before the release waited for them names those left behind
        call.decisions_released_at = F.NOW
        s.commit()
    r = c.get(f"/manage/calls/{slug}/decisions")
    want = fr.gettext(MSG_AFTER, n=2, codes=", ".join(undecided))
    assert _notice(r.text).replace("&#39;", "'") == want


def test_the_release_answer_refuses_naming_the_undecided(web: Web) -> None:
    with web.factory() as s:
        slug, chair, _decided, undecided = _world(s)
        s.commit()
    c = web.client()
    h = token(web, chair)
    for _ in range(2):  # refused, then again: the same list, and nothing released
        r = c.post(f"/api/v1/calls/{slug}/release", headers=h)
        assert r.status_code == 400, r.text
        assert r.json()["params"] == {"n": 2, "codes": ", ".join(undecided)}
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        assert call.decisions_released_at is None


def test_no_notice_when_every_submitted_proposal_has_a_decision(web: Web) -> None:
    with web.factory() as s:
        slug, chair, _decided, _undecided = _world(s)
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        for p in al.undecided(s, call):
            s.add(Decision(call_id=call.id, proposal_id=p.id, outcome="not_awarded"))
        s.commit()
    c = web.login(chair)
    r = c.get(f"/manage/calls/{slug}/decisions")
    assert r.status_code == 200 and 'id="undecided"' not in r.text
    r = c.post(f"/api/v1/calls/{slug}/release", headers=token(web, chair))
    assert r.json()["undecided_count"] == 0 and r.json()["undecided"] == []


def test_a_call_with_nothing_to_review_is_released_from_its_page(web: Web) -> None:
    """The page offers the release the service accepts: a call past its ranking with no
    proposal (none at the close) has no decision to make, and releasing none from the
    page lets it be published (before, the page hid the button and only the API could)."""
    with web.factory() as s:
        call = F.fast_call(s, requires_pdf=False)
        cycle.transition_call(s, call, "closed", now=F.NOW + dt.timedelta(days=31), reason="t")
        for target in ("review", "ranking", "allocation", "scheduling"):
            cycle.transition_call(s, call, target)
        chair = F.user(s, email=f"chair-{call.id}@example.org")
        people_services.grant_role(s, chair.id, "call_manager", provider_id=call.provider_id)
        slug = call.slug
        s.commit()
    c = web.login(chair.email)
    r = c.get(f"/manage/calls/{slug}/decisions")
    assert r.status_code == 200 and 'id="release"' in r.text
    token_ = csrf(c, f"/manage/calls/{slug}/decisions")
    r = c.post(f"/manage/calls/{slug}/release", data={"csrf_token": token_, "confirm": "yes"})
    assert r.status_code == 303, r.text[:1000]
    with web.factory() as s:
        assert s.get(Call, call.id).decisions_released_at is not None  # type: ignore[union-attr]
