"""The user office ends an award its PI returned (outcomes22).

A PI whose team has reported (a record of use or a result) cannot decline the award
(outcomes21): the refusal says "ask the user office to end it", and the office had no
way to. It now ends it, saying why (one of the decline's reasons and a note): the part
not used is returned (capacity free again for the chair to offer), the entries still to
come on the schedule are released, the records and results are kept and the end is
audited. In the figures the award stays awarded and keeps what it used and produced, is
never "completed" (it was ended, not carried out), and its returned capacity is counted
as returned (``use:returned:<unit>``, ``use:ended``), not as capacity its group left
unused. Each figure is checked against a count made here from the raw rows."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.allocation import services as al
from opencall.allocation.models import Award, AwardEnd
from opencall.errors import DomainError
from opencall.outcomes import queries as oq
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.results import ends
from opencall.results import services as rs
from opencall.results.models import PostAwardRecord
from opencall.scheduling.models import ScheduleEntry
from tests import factories as F
from tests.authz.test_workspace_matrix import session_client
from tests.results.decline_world import build, get_call, get_proposal
from tests.web.conftest import Web


def _office(db: Session, call_provider: int) -> User:
    office = F.user(db, email="office@ends.example")
    people_services.grant_role(db, office.id, "call_manager", provider_id=call_provider)
    db.flush()
    return office


def _used_session(db: Session, w, hours: float) -> None:  # type: ignore[no-untyped-def]
    first = get_proposal(db, w.awarded[0])
    rs.add_record(db, first, "session", {"observed_on": "2027-03-01", "observed_hours": hours},
                  actor_id=w.ids["pi"])  # fmt: skip
    rs.add_output(db, first, {"kind": "dataset", "title": "Spectra", "year": 2027},
                  actor_id=w.ids["pi"])  # fmt: skip
    db.flush()


def test_the_office_ends_a_returned_award_and_the_figures_count_it(db: Session) -> None:
    w = build(db)
    call = get_call(db, w)
    office = _office(db, call.provider_id)
    _used_session(db, w, 0.5)
    first = get_proposal(db, w.awarded[0])
    awards = list(db.scalars(select(Award).where(Award.proposal_id == first.id)))
    free_before = al.free_capacity(db, call)
    records_before = db.scalars(select(PostAwardRecord.id)).all()

    row, created = ends.end_award(db, first, reason="visa", note="Visa refused after the first night",
                                  actor=office)  # fmt: skip
    assert created
    # the PI's award kept, its records and results kept, the schedule's entries released
    assert db.scalars(select(Award.id).where(Award.proposal_id == first.id)).all() == [
        a.id for a in awards
    ]
    assert db.scalars(select(PostAwardRecord.id)).all() == records_before
    assert db.scalar(select(ScheduleEntry.id).where(ScheduleEntry.proposal_id == first.id)) is None
    # returned: each award's amount less what its records used (0.5 h observed)
    hours = {a.pool_id: a.amount for a in awards}
    want_returned = {pid: round(amount - min(amount, 0.5 if i == 0 else 0.0), 9)
                     for i, (pid, amount) in enumerate(sorted(hours.items()))}  # fmt: skip
    got = {x["pool_id"]: x["returned"] for x in row.returned}
    assert sum(got.values()) == pytest.approx(sum(hours.values()) - 0.5)
    assert set(got) == set(want_returned)
    free_after = al.free_capacity(db, call)
    for pid, back in got.items():
        assert free_after[pid] == pytest.approx(free_before[pid] + back)
    entry = next(e for e in auditlog.events_for_call(db, call.id) if e.action == "award.ended")
    assert entry.actor_id == office.id and entry.reason == "Visa refused after the first night"
    # a second end (a resent form) changes nothing
    counts = F.table_counts(db)
    again, created = ends.end_award(db, first, reason="other", note="again", actor=office)
    assert not created and again.id == row.id and F.table_counts(db) == counts

    # the figures, recounted from the raw rows: the award stays awarded, used and with
    # results, is not completed, and its returned hours are counted as returned
    aa = oq.report(db, call)["after_award"]
    ended = {r.proposal_id for r in db.scalars(select(AwardEnd))}
    assert ended == {first.id}
    funnel = {(r["group"], r["stage"]): r for r in aa["funnels"]["ldc"]}
    assert funnel[("all", "used")]["awarded"] == len(w.awarded)
    assert funnel[("all", "used")]["count"] == 1
    assert funnel[("all", "completed")]["count"] == 0
    assert funnel[("all", "produced_results")]["count"] == 1
    use = {u["group"]: u["figures"] for u in aa["use"]["ldc"]}
    returned = sum(x["returned"] for r in db.scalars(select(AwardEnd)) for x in r.returned)
    assert use["all"]["ended"] == len(ended)
    assert sum(v for k, v in use["all"].items() if k.startswith("returned:")) == pytest.approx(
        returned
    )
    assert use["all"]["awarded:h"] == pytest.approx(
        sum(a.amount for a in db.scalars(select(Award).where(Award.call_id == call.id)))
    )
    cells = {(r[0], r[1], r[2]) for r in oq.after_award_csv_rows(aa)}
    assert ("ldc", "all", "use:ended") in cells


BAD = [
    ({"reason": "bored", "note": "x"}, "Choose why"),
    ({"reason": "visa", "note": "   "}, "Say why"),
    ({"reason": "visa", "note": "x" * 2001}, "2,000"),
]


@pytest.mark.parametrize(("given", "words"), BAD)
def test_bad_input_changes_nothing(db: Session, given: dict[str, str], words: str) -> None:
    w = build(db)
    office = _office(db, get_call(db, w).provider_id)
    first = get_proposal(db, w.awarded[0])
    counts = F.table_counts(db)
    with pytest.raises(DomainError, match=words):
        ends.end_award(db, first, actor=office, **given)
    assert F.table_counts(db) == counts


def test_only_the_office_ends_an_award_and_not_a_declined_one(db: Session) -> None:
    w = build(db)
    first = get_proposal(db, w.awarded[0])
    pi = db.get(User, w.ids["pi"])
    chair = db.get(User, w.ids["chair"])
    counts = F.table_counts(db)
    for who in (pi, chair):
        with pytest.raises(DomainError, match="Not found"):
            ends.end_award(db, first, reason="visa", note="x", actor=who)
    assert F.table_counts(db) == counts
    # a declined award holds no award any more: nothing to end
    from opencall.results import declines

    other = get_proposal(db, w.awarded[1])
    declines.decline_award(db, other, reason="visa", actor_id=w.ids["other_pi"])
    office = _office(db, get_call(db, w).provider_id)
    counts = F.table_counts(db)
    with pytest.raises(DomainError, match="Only a released award"):
        ends.end_award(db, other, reason="visa", note="x", actor=office)
    assert F.table_counts(db) == counts


def test_the_office_page_ends_it_and_nobody_else_can(web: Web) -> None:
    with web.factory() as db:
        w = build(db)
        call = get_call(db, w)
        _office(db, call.provider_id)
        _used_session(db, w, 0.5)
        db.commit()
        slug, pid = call.slug, w.awarded[0]
    url = f"/manage/calls/{slug}/awards/{pid}/end"
    form = {"reason": "funding", "note": "Funding withdrawn", "confirm": "yes"}
    for email in (w.emails["pi"], w.emails["chair"]):
        client, token = session_client(web, email)
        assert client.post(url, data={**form, "csrf_token": token}).status_code == 404
    client, token = session_client(web, "office@ends.example")
    unconfirmed = client.post(url, data={"reason": "funding", "note": "x", "csrf_token": token})
    assert unconfirmed.status_code == 400
    r = client.post(url, data={**form, "csrf_token": token}, follow_redirects=False)
    assert r.status_code in (302, 303), r.text[:300]
    with web.factory() as db:
        row = db.scalar(select(AwardEnd).where(AwardEnd.proposal_id == pid))
        assert row is not None and row.reason == "funding" and row.note == "Funding withdrawn"
    page = client.get(f"/manage/calls/{slug}/postaward")
    assert "Funding withdrawn" in page.text


def test_the_api_ends_it_for_the_office_alone(web: Web) -> None:
    """``POST /api/v1/calls/<slug>/awards/<id>/end`` with a token of the manage scope."""
    with web.factory() as db:
        w = build(db)
        call = get_call(db, w)
        office = _office(db, call.provider_id)
        _tok, raw = people_services.create_api_token(db, office, "office")
        pi = db.get(User, w.ids["pi"])
        assert pi is not None
        _tok, pi_raw = people_services.create_api_token(db, pi, "pi")
        db.commit()
        slug, pid = call.slug, w.awarded[0]
    url = f"/api/v1/calls/{slug}/awards/{pid}/end"
    body = {"reason": "dates", "note": "Dates no longer possible", "confirm": True}
    client = web.client()
    r = client.post(url, json=body, headers={"Authorization": f"Bearer {pi_raw}"})
    assert r.status_code == 404
    r = client.post(url, json={**body, "reason": "bored"},
                    headers={"Authorization": f"Bearer {raw}"})  # fmt: skip
    assert r.status_code in (400, 422)
    r = client.post(url, json=body, headers={"Authorization": f"Bearer {raw}"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["created"] and out["reason"] == "dates" and out["returned"]
    again = client.post(url, json=body, headers={"Authorization": f"Bearer {raw}"})
    assert again.status_code == 200 and again.json()["created"] is False
