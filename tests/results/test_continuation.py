"""An award that continues an earlier one (outcomes19): a long-term observing programme
renewed each cycle, a trainee's second season, a loan extended. Before, every renewal
was a new award: the office's figures over the facility's cycles counted the same
programme (and its people) once a cycle, and a paper listed again on the renewal counted
again. Now the applicant (or the office) marks the earlier award a proposal continues,
validated (an award of one's own, of an earlier cycle of the provider, held, continued
once a call, no loop); the report counts the programme once over the cycles and the
renewal's cycle by cycle, the earlier cycles pooled count it once, a result already
listed on the programme's earlier award is not counted again, and the shared results
say which are one programme's."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.allocation.models import Award
from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.outcomes import after_award as aa
from opencall.outcomes import queries as oq
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.proposals import services as prop_services
from opencall.proposals.models import Proposal
from opencall.results import domain as d
from opencall.results import queries as rq
from opencall.results import services as res
from tests import factories as F
from tests.results.awards_world import telescope_cycles
from tests.web.conftest import Web


def _next_call(s: Session, earlier: Call, pi: User) -> Proposal:
    """A draft of ``pi`` in a new open call of ``earlier``'s facility."""
    n = next(F._seq)
    call = call_services.create_call(
        s, earlier.facility,
        {"slug": f"next-{n}", "code": f"N{n}", "title": "Open time", "cycle": f"next-{n}",
         "opens_at": F.NOW - dt.timedelta(days=1), "closes_at": F.NOW + dt.timedelta(days=30)},
    )  # fmt: skip
    call_services.offer_pool(s, call, earlier.pools[0].pool, 100)
    cycle.transition_call(s, call, "open", now=F.NOW)
    return prop_services.create_proposal(
        s, call, pi, title="Renewal", abstract="a", science_case="b", now=F.NOW
    )


def _refused(
    s: Session, p: Proposal, earlier: int | None, actor: User, office: bool = False
) -> str:
    before = p.continues_id
    with pytest.raises(DomainError) as e:
        res.set_continuation(s, p, earlier, actor=actor, office=office)
    assert p.continues_id == before
    return str(e.value)


def test_programme_roots_follow_the_chain() -> None:
    assert d.programme_roots({1: None, 2: 1, 3: 2, 4: None, 5: 9}) == {
        1: 1, 2: 1, 3: 1, 4: 4, 5: 9, 9: 9,
    }  # fmt: skip
    # a loop (refused when marked) ends where it meets itself
    assert set(d.programme_roots({1: 2, 2: 1}).values()) <= {1, 2}


def test_an_applicant_marks_their_own_earlier_award_and_nothing_else(db: Session) -> None:
    amina, jonas = F.user(db, country="KEN"), F.user(db, country="DEU")
    (c0, (a0, j0)), (c1, (a1, j1)) = telescope_cycles(
        db, [[(amina, True), (jonas, True)], [(amina, True), (jonas, False)]]
    )
    draft = _next_call(db, c0, amina)
    # someone else's award, an award of another provider, one not held, none at all:
    # one message, so that an applicant learns nothing of other people's proposals
    other = telescope_cycles(db, [[(amina, True)]])[0][1][0]
    for bad in (j0.id, other.id, 10**9):
        assert "your own" in _refused(db, draft, bad, amina)
    assert "your own" in _refused(db, draft, j1.id, jonas)  # jonas was not awarded in c1
    # the office cannot name an award of the same call
    assert "earlier cycle" in _refused(db, a1, a1.id, amina, office=True)
    # a decided proposal is locked for the applicant
    assert "no longer be edited" in _refused(db, a1, a0.id, amina)
    res.set_continuation(db, draft, a1.id, actor=amina, office=False)
    assert draft.continues_id == a1.id
    events = auditlog.count_of(db, "proposal.continuation_set", "proposal", draft.id)
    assert events == 1
    # a second draft of the same call may not continue the same award
    second = prop_services.create_proposal(
        db, draft.call, amina, title="Again", abstract="a", science_case="b", now=F.NOW
    )
    assert "already continues" in _refused(db, second, a1.id, amina)
    # no loop: the office may not make a1 continue the draft (of a later call) ...
    res.set_continuation(db, a1, a0.id, actor=amina, office=True)
    assert "already continues this proposal" in _refused(db, a0, a1.id, amina, office=True)
    got = rq.continuation_of(db, draft)
    assert got is not None
    assert (got["code"], got["cycle"], got["programme"], got["programme_cycle"]) == (
        a1.code, c1.cycle, a0.code, c0.cycle,
    )  # fmt: skip
    # cleared
    res.set_continuation(db, draft, None, actor=amina, office=False)
    assert draft.continues_id is None and rq.continuation_of(db, draft) is None


def test_a_declined_award_cannot_be_continued(db: Session) -> None:
    amina = F.user(db, country="KEN")
    (c0, (a0,)), = telescope_cycles(db, [[(amina, True)]])  # fmt: skip
    for award in db.scalars(select(Award).where(Award.proposal_id == a0.id)):
        db.delete(award)  # as a decline leaves it: no award held
    db.flush()
    draft = _next_call(db, c0, amina)
    assert "your own" in _refused(db, draft, a0.id, amina)


def test_the_office_marks_a_transfer_to_a_new_pi(db: Session) -> None:
    amina, sara = F.user(db, country="KEN"), F.user(db, country="ETH")
    (c0, (a0,)), (c1, (s1,)) = telescope_cycles(db, [[(amina, True)], [(sara, True)]])
    # Sara may not claim Amina's award herself; the office may, a transfer
    assert "your own" in _refused(db, _next_call(db, c1, sara), a0.id, sara)
    res.set_continuation(db, s1, a0.id, actor=sara, office=True)
    assert s1.continues_id == a0.id


def _by(rows: list[dict[str, Any]], group: str) -> dict[str, Any]:
    return next(r for r in rows if r["group"] == group)


def test_a_programme_renewed_each_cycle_is_counted_once_over_the_cycles(db: Session) -> None:
    amina, jonas, nima = (F.user(db, country=c) for c in ("KEN", "DEU", "NPL"))
    built = telescope_cycles(
        db,
        [[(amina, True), (jonas, True)], [(amina, True), (nima, True)], [(amina, True)]],
        first_year=2025,
    )
    (c0, (a0, _j0)), (c1, (a1, n1)), (c2, (a2,)) = built
    res.set_continuation(db, a1, a0.id, actor=amina, office=True)
    res.set_continuation(db, a2, a1.id, actor=amina, office=True)
    # the programme's paper, listed on its first award and again on each renewal; the
    # last renewal's own new paper
    for p in (a0, a1, a2):
        res.add_output(db, p, {"doi": "10.5555/prog.1", "title": "P", "year": 2027},
                       actor_id=None)  # fmt: skip
    res.add_output(db, a2, {"doi": "10.5555/prog.2", "title": "Q", "year": 2027}, actor_id=None)
    data = oq.report(db, c2)["after_award"]
    assert data["continuing"] == 1
    every = _by(data["programmes"]["ldc"], "all")
    # five awards over three cycles, three programmes (Amina's, Jonas's, Nima's)
    assert (every["awards"], every["programmes"], every["continuing"]) == (5, 3, 2)
    non_ldc = _by(data["programmes"]["ldc"], "non-LDC")  # KEN, DEU
    assert (non_ldc["awards"], non_ldc["programmes"]) == (4, 2)
    # the renewal's results: the paper its programme listed before is not counted again
    pubs = _by(data["results"]["ldc"], "all")
    assert pubs["publications"] == 1, pubs
    # the earlier cycles pooled: Amina's programme once (2 + 1 programmes, not 4 awards)
    change = {(r["group"], r["measure"]): r for r in data["share_change"]["ldc"]}
    got = change[("non-LDC", "awards")]
    assert (got["earlier_count"], got["earlier_total"]) == (2, 3), got
    # the shared result is one programme's, not a claim to check
    shared = data["shared_results"]
    assert [x["programme"] for x in shared] == [True]


def test_programmes_by_group_and_heads_pure() -> None:
    def row(pid: str, g: str, produced: bool = False) -> aa.AfterAwardRow:
        return aa.AfterAwardRow(proposal_id=pid, groups={"ldc": g}, produced_results=produced)

    cycles = [[row("1", "LDC", True), row("2", "non-LDC")], [row("3", "non-LDC")]]
    prog = {"3": "1"}  # a transfer: the programme moves to a non-LDC PI
    got = {r.group: r for r in aa.programmes_by_group(cycles, prog, "ldc", ["LDC", "non-LDC"])}
    assert (got["all"].awards, got["all"].programmes, got["all"].continuing) == (3, 2, 1)
    assert (got["LDC"].awards, got["LDC"].programmes) == (1, 0)
    assert (got["non-LDC"].awards, got["non-LDC"].programmes) == (2, 2)
    heads = aa.programme_heads(cycles, prog)
    assert [[r.proposal_id for r in c] for c in heads] == [["2"], ["3"]]
    assert heads[1][0].produced_results  # its programme produced a result before


def test_the_api_marks_and_refuses(web: Web) -> None:
    with web.factory() as s:
        amina, jonas = F.user(s, country="KEN"), F.user(s, country="DEU")
        (c0, (a0, j0)), = telescope_cycles(s, [[(amina, True), (jonas, True)]])  # fmt: skip
        draft = _next_call(s, c0, amina)
        token = people_services.create_api_token(s, amina, "t")[1]
        other = people_services.create_api_token(s, jonas, "t")[1]
        s.commit()
        ids = (draft.id, a0.id, j0.id)
    api = web.client()
    h = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/proposals/{ids[0]}/continues"
    r = api.put(url, json={"continues": ids[2]}, headers=h)
    assert r.status_code == 400, r.text
    r = api.put(url, json={"continues": ids[1]}, headers={"Authorization": f"Bearer {other}"})
    assert r.status_code == 404, r.text  # not on the draft's team
    with web.factory() as s:
        assert s.get(Proposal, ids[0]).continues_id is None  # type: ignore[union-attr]
    r = api.put(url, json={"continues": ids[1]}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["continues"]["id"] == ids[1]
    with web.factory() as s:
        assert s.get(Proposal, ids[0]).continues_id == ids[1]  # type: ignore[union-attr]
    r = api.put(url, json={"continues": None}, headers=h)
    assert r.status_code == 200 and r.json()["continues"] is None


def test_reviewers_the_public_list_and_the_office_report_say_so(web: Web) -> None:
    """The reviewer of a renewal reads which award it continues (in a dual-anonymous
    call its cycle alone); the public list of awarded programmes says a renewal
    continues an earlier award; the office's report shows the programmes table."""
    from opencall.reviews import services as rv

    with web.factory() as s:
        amina = F.user(s, country="KEN")
        (c0, (a0,)), (c1, (a1,)) = telescope_cycles(s, [[(amina, True)], [(amina, True)]])
        res.set_continuation(s, a1, a0.id, actor=amina, office=True)
        earlier = (a0.code, a0.title, c0.code, c0.cycle)
        # a renewal in review elsewhere (the page reads the link alone)
        call, props, reviewers = F.build_call_in_review(s, 2, 1)
        props[0].continues_id = a0.id
        call.anonymity = "single"
        assignment = rv.add_assignment(s, call, props[0], reviewers[0])
        office = F.user(s, email="office-cont19@staff.example")
        people_services.grant_role(s, office.id, "call_manager", call_id=c1.id)
        s.commit()
        slug, aid, reviewer = c1.slug, assignment.id, reviewers[0].email
        call_id = call.id
    page = web.client("fr").get(f"/calls/{slug}/awarded").text
    assert "Prolonge une attribution antérieure :" in page and earlier[0] in page, page[-2000:]
    review = web.login(reviewer).get(f"/review/assignments/{aid}").text
    assert "This proposal continues an earlier award:" in review, review[:3000]
    assert earlier[0] in review and earlier[3] in review
    with web.factory() as s:  # dual-anonymous: the cycle alone
        c = s.get(Call, call_id)
        assert c is not None
        c.anonymity = "dual"
        s.commit()
    review = web.login(reviewer).get(f"/review/assignments/{aid}").text
    assert "This proposal continues an award of an earlier cycle:" in review
    assert earlier[3] in review
    assert earlier[0] not in review and earlier[1] not in review
    report = web.login("office-cont19@staff.example").get(f"/manage/calls/{slug}/report").text
    assert "Awards and programmes over the cycles" in report, report[:500]


def test_the_applicant_marks_it_on_a_page_of_the_proposal(web: Web) -> None:
    """On a slow link, a plain form: the applicant's own earlier awards at the provider
    as choices (not someone else's); a forged choice of another's award is refused, 400,
    nothing changed; the right one is saved and shown; the editor links to it."""
    from tests.authz.test_workspace_matrix import session_client

    with web.factory() as s:
        amina = F.user(s, country="KEN", email="amina-cont19@example.org")
        jonas = F.user(s, country="DEU")
        (c0, (a0, j0)), = telescope_cycles(s, [[(amina, True), (jonas, True)]])  # fmt: skip
        draft = _next_call(s, c0, amina)
        s.commit()
        ids = (draft.id, a0.id, j0.id)
        codes = (a0.code, j0.code)
    client, tok = session_client(web, "amina-cont19@example.org")
    url = f"/proposals/{ids[0]}/continues"
    page = client.get(url).text
    assert f'value="{ids[1]}"' in page and f'value="{ids[2]}"' not in page, page[-1500:]
    for bad in (str(ids[2]), "x", "-1"):
        r = client.post(url, data={"csrf_token": tok, "continues": bad})
        assert r.status_code == 400, r.text[:300]
        assert "Name an award of your own at this provider." in r.text
    with web.factory() as s:
        assert s.get(Proposal, ids[0]).continues_id is None  # type: ignore[union-attr]
    r = client.post(url, data={"csrf_token": tok, "continues": str(ids[1])})
    assert r.status_code == 303, r.text[:300]
    page = client.get(url).text
    assert 'id="continues-now"' in page and codes[0] in page
    with web.factory() as s:
        assert s.get(Proposal, ids[0]).continues_id == ids[1]  # type: ignore[union-attr]
    editor = client.get(f"/proposals/{ids[0]}").text
    assert f'href="/proposals/{ids[0]}/continues"' in editor


def test_a_result_dated_after_the_report_day_is_not_yet_a_result() -> None:
    """A result dated after the day the report is read (a paper "in press" given next
    year's date, or a year typed wrong: 2072 for 2027) had the award counted as having
    its first result at a time past its own follow-up, which the Kaplan-Meier estimate
    read as an event beyond every censored award: the median time to a first result was
    that future date. It is censored at the follow-up now, and counted once it is out."""
    rows = [
        aa.AfterAwardRow(proposal_id="1", groups={"ldc": "LDC"}, days_to_first_result=16000,
                         follow_up_days=300),
        aa.AfterAwardRow(proposal_id="2", groups={"ldc": "LDC"}, days_to_first_result=None,
                         follow_up_days=300),
    ]  # fmt: skip
    got = {t.group: t for t in aa.time_to_first_result(rows, "ldc", ["LDC"])}["all"]
    assert got.with_result == 0, got
    assert got.median_days is None, got


def test_the_office_post_award_csv_names_the_award_continued(web: Web) -> None:
    import csv
    import io

    with web.factory() as s:
        amina = F.user(s, country="KEN")
        (c0, (a0,)), (c1, (a1,)) = telescope_cycles(s, [[(amina, True)], [(amina, True)]])
        res.set_continuation(s, a1, a0.id, actor=amina, office=True)
        office = F.user(s, email="office-csv19@staff.example")
        people_services.grant_role(s, office.id, "call_manager", call_id=c1.id)
        s.commit()
        slug, want = c1.slug, (a1.code, f"{a0.code} ({c0.cycle})")
    text = web.login("office-csv19@staff.example").get(f"/manage/calls/{slug}/postaward?format=csv")
    rows = list(csv.DictReader(io.StringIO(text.text.lstrip("\ufeff"))))
    assert [(r["proposal"], r["continues"]) for r in rows] == [want], rows


def test_an_earlier_award_not_yet_published_is_not_named_to_reviewers(db: Session) -> None:
    from opencall.proposals.queries import continued_award

    amina = F.user(db, country="KEN")
    (c0, (a0,)), (c1, (a1,)) = telescope_cycles(db, [[(amina, True)], [(amina, True)]])
    res.set_continuation(db, a1, a0.id, actor=amina, office=True)
    got = continued_award(db, a1)
    assert got is not None and got["public"] is (c0.status in ("published", "archived"))
    c0.status = "allocation"  # decisions out, its list of awards not yet published
    got = continued_award(db, a1)
    assert got is not None and got["public"] is False
