"""Recording after the award: valid records and results are stored and audited;
bad input is refused with a clear error and changes nothing; who may see and
record; overdue reminders in the PI's language."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.auditlog import AuditEvent
from opencall.errors import DomainError
from opencall.jobs import Job
from opencall.people.models import User
from opencall.people.queries import user_by_email
from opencall.proposals.models import Proposal
from opencall.results import policies, services
from opencall.results import queries as q
from opencall.results.jobs import queue_overdue_reminders
from opencall.results.models import PostAwardRecord, ResearchOutput
from tests.factories import table_counts
from tests.results.conftest import Awarded, build

FIX = Path(__file__).parent / "fixtures"
LOAN = {
    "sample": "CE-5 regolith",
    "mass_mg": 200,
    "shipped_on": "2027-06-01",
    "received_on": "2027-06-09",
    "due_on": "2028-06-01",
}


@pytest.fixture
def s(db: Session) -> Session:
    return db


@pytest.fixture
def a(s: Session) -> Awarded:
    return build(s)


def prop(s: Session, pid: int) -> Proposal:
    p = s.get(Proposal, pid)
    assert p is not None
    return p


def who(s: Session, a: Awarded, key: str) -> User:
    u = user_by_email(s, a.emails[key])
    assert isinstance(u, User)
    return u


def test_record_is_stored_and_audited(s: Session, a: Awarded) -> None:
    p = prop(s, a.awarded)
    pi = who(s, a, "pi")
    rec = services.add_record(s, p, "loan", LOAN, actor_id=pi.id, award_id=a.award_id)
    assert rec.data["due_on"] == "2028-06-01" and rec.call_id == a.call_id
    ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "postaward.record")).one()
    assert ev.actor_id == pi.id and ev.data["kind"] == "loan"
    services.update_record(s, rec, {**LOAN, "returned_on": "2028-05-01"}, actor_id=pi.id)
    ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "postaward.update")).one()
    assert ev.data["before"].get("returned_on") is None
    assert ev.data["after"]["returned_on"] == "2028-05-01"
    st = q.stages_of_call(s, p.call)
    assert st[p.id]["used"] and st[p.id]["completed"] and not st[p.id]["produced_results"]


@pytest.mark.parametrize(
    ("kind", "data", "award", "says"),
    [
        ("loan", {**LOAN, "mass_mg": 0}, None, "mass_mg"),
        ("loan", {**LOAN, "returned_on": "2027-01-01"}, None, "before"),
        ("berth", {"arrived_on": "2027-06-01"}, None, "does not fit this award"),
        ("session", {"observed_on": "2027-06-01", "observed_hours": 2}, None, "does not fit"),
        ("loan", LOAN, 999999, "not one of this proposal's"),
        ("shipment", {"schedule_entry_id": 999999}, None, "planned shipment"),
        ("nothing", {}, None, "Unknown record kind"),
    ],
)
def test_bad_records_change_nothing(
    s: Session, a: Awarded, kind: str, data: dict[str, object], award: int | None, says: str
) -> None:
    p = prop(s, a.awarded)
    before = table_counts(s)
    with pytest.raises(DomainError) as e:
        services.add_record(s, p, kind, data, actor_id=None, award_id=award)
    assert says in e.value.message
    assert table_counts(s) == before


def test_no_records_for_a_proposal_without_award(s: Session, a: Awarded) -> None:
    before = table_counts(s)
    with pytest.raises(DomainError, match="awarded"):
        services.add_record(s, prop(s, a.rejected), "loan", LOAN, actor_id=None)
    with pytest.raises(DomainError, match="awarded"):
        services.add_output(s, prop(s, a.rejected), {"title": "T", "year": 2028}, actor_id=None)
    assert table_counts(s) == before


def test_bad_update_keeps_the_record(s: Session, a: Awarded) -> None:
    rec = services.add_record(s, prop(s, a.awarded), "loan", LOAN, actor_id=None)
    s.flush()
    before, counts = dict(rec.data), table_counts(s)
    with pytest.raises(DomainError, match="mass_mg"):
        services.update_record(s, rec, {**LOAN, "mass_mg": -5}, actor_id=None)
    assert rec.data == before and table_counts(s) == counts


def test_typed_result_with_acknowledgement_and_duplicates(s: Session, a: Awarded) -> None:
    p = prop(s, a.awarded)
    o = services.add_output(
        s,
        p,
        {
            "title": "Ages",
            "year": 2028,
            "doi": "https://doi.org/10.5555/X.1",
            "countries": ["ken"],
            "acknowledgement": f"Samples were lent under award {p.code}.",
        },
        actor_id=None,
    )
    assert o.doi == "10.5555/x.1" and o.acknowledges and o.countries == ["KEN"]
    no = services.add_output(s, p, {"title": "Other", "year": 2028}, actor_id=None)
    assert not no.acknowledges
    before = table_counts(s)
    with pytest.raises(DomainError, match="already linked"):
        services.add_output(
            s, p, {"title": "Again", "year": 2029, "doi": "10.5555/x.1"}, actor_id=None
        )
    assert table_counts(s) == before


def test_import_from_files(s: Session, a: Awarded) -> None:
    p = prop(s, a.awarded)
    new, skipped = services.import_outputs(
        s, p, "refs.bib", (FIX / "refs.bib").read_text(), actor_id=None
    )
    assert (len(new), skipped) == (2, 0)
    assert new[0].acknowledges and new[0].source == "bibtex" and new[1].kind == "dataset"
    new, skipped = services.import_outputs(
        s, p, "refs.ris", (FIX / "refs.ris").read_text(), actor_id=None
    )
    assert (len(new), skipped) == (2, 0) and new[0].acknowledges
    new, skipped = services.import_outputs(
        s, p, "refs.json", (FIX / "refs.json").read_text(), actor_id=None
    )
    assert len(new) == 1 and not new[0].acknowledges
    # the same file again: everything is already linked
    new, skipped = services.import_outputs(
        s, p, "again.bib", (FIX / "refs.bib").read_text(), actor_id=None
    )
    assert (len(new), skipped) == (0, 2)
    assert len(q.outputs_of(s, p.id)) == 5
    assert q.summary(s, p, dt.date(2030, 1, 1))["days_to_first_result"] is not None


@pytest.mark.parametrize("name", ["broken.bib", "bad_doi.ris"])
def test_import_is_all_or_nothing(s: Session, a: Awarded, name: str) -> None:
    p = prop(s, a.awarded)
    before = table_counts(s)
    with pytest.raises(DomainError):
        services.import_outputs(s, p, name, (FIX / name).read_text(), actor_id=None)
    assert table_counts(s) == before
    assert not s.scalars(select(ResearchOutput)).all()


def test_who_may_see_and_record(s: Session, a: Awarded) -> None:
    p, r = prop(s, a.awarded), prop(s, a.rejected)
    allowed = {k: policies.may_record(s, who(s, a, k), p) for k in a.emails}
    assert allowed == {
        "pi": True,
        "coi": True,
        "other": False,
        "manager": True,
        "other_manager": False,
    }
    assert not policies.may_see_records(s, None, p)
    assert not any(policies.may_see_records(s, who(s, a, k), r) for k in a.emails)
    # before the decisions are released nobody records, not even the office
    p.call.decisions_released_at = None
    assert not policies.may_record(s, who(s, a, "pi"), p)
    assert not policies.may_record(s, who(s, a, "manager"), p)
    assert policies.may_see_call_records(s, who(s, a, "manager"), p.call)
    assert not policies.may_see_call_records(s, who(s, a, "pi"), p.call)
    assert not policies.may_see_aggregates(p.call)  # the call is not published


def test_overdue_reminders_in_the_pi_language(s: Session, a: Awarded) -> None:
    p = prop(s, a.awarded)
    late = services.add_record(s, p, "loan", LOAN, actor_id=None)
    services.add_record(
        s, p, "loan", {**LOAN, "sample": "returned", "returned_on": "2028-01-01"}, actor_id=None
    )
    services.add_record(
        s, p, "loan", {**LOAN, "sample": "not due", "due_on": "2029-01-01"}, actor_id=None
    )
    today = dt.date(2028, 6, 10)
    assert queue_overdue_reminders(s, "http://x", today) == 1
    mails = [j for j in s.scalars(select(Job).where(Job.kind == "mail"))]
    assert len(mails) == 1
    assert mails[0].payload["to"] == "pi@ke.example"
    assert mails[0].payload["subject"].startswith("En retard : le prêt d’échantillon de")
    assert "il y a 9 jours" in mails[0].payload["body"]
    assert f"/awards/{p.id}" in mails[0].payload["body"]
    assert late.reminders_sent == 1 and late.last_reminded_on == today
    assert s.scalars(select(AuditEvent).where(AuditEvent.action == "postaward.reminder")).one()
    # not again within a week; again after one
    assert queue_overdue_reminders(s, "http://x", today + dt.timedelta(days=3)) == 0
    assert queue_overdue_reminders(s, "http://x", today + dt.timedelta(days=7)) == 1
    assert late.reminders_sent == 2
    # returned: no more reminders
    services.update_record(s, late, {**LOAN, "returned_on": "2028-06-20"}, actor_id=None)
    assert queue_overdue_reminders(s, "http://x", today + dt.timedelta(days=30)) == 0
    assert len(s.scalars(select(PostAwardRecord)).all()) == 3


def test_shipment_from_the_logistics_plan(s: Session, a: Awarded) -> None:
    from opencall.scheduling.models import ScheduleEntry

    p, r = prop(s, a.awarded), prop(s, a.rejected)
    mine = ScheduleEntry(call_id=a.call_id, proposal_id=p.id, kind="shipment", label="200 mg")
    theirs = ScheduleEntry(call_id=a.call_id, proposal_id=r.id, kind="shipment", label="9 mg")
    s.add_all([mine, theirs])
    s.flush()
    assert [e.id for e in q.planned_shipments(s, p.id)] == [mine.id]
    before = table_counts(s)
    with pytest.raises(DomainError, match="planned shipment"):
        services.add_record(s, p, "shipment", {"schedule_entry_id": theirs.id}, actor_id=None)
    assert table_counts(s) == before
    services.add_record(
        s,
        p,
        "shipment",
        {"schedule_entry_id": mine.id, "shipped_on": "2027-06-01", "tracking_ref": "EE1CN"},
        actor_id=None,
    )
    assert q.planned_shipments(s, p.id) == []


def test_hostile_import_is_refused_whole_with_the_entry_line(s: Session, a: Awarded) -> None:
    p = prop(s, a.awarded)
    before = table_counts(s)
    bib = (
        "@article{one, title={One}, year={2028}}\n"
        "@article{two, title={Two}, year={2028}, doi={https://example.org/x}}\n"
    )
    with pytest.raises(DomainError) as e:
        services.import_outputs(s, p, "x.bib", bib, actor_id=None)
    assert e.value.message.startswith("BibTeX entry two (line 2) (Two): Invalid result: doi")
    many = "\n".join(f"@misc{{k{i}, title={{T{i}}}, year={{2028}}}}" for i in range(600))
    with pytest.raises(DomainError, match="At most 500 entries"):
        services.import_outputs(s, p, "many.bib", many, actor_id=None)
    assert table_counts(s) == before


def test_one_doi_in_odd_forms_is_one_result(s: Session, a: Awarded) -> None:
    p = prop(s, a.awarded)
    csl = (
        '[{"title": "A", "issued": {"date-parts": [[2028]]}, "DOI": "HTTPS://DOI.ORG/10.5555/A"},'
        ' {"title": "A again", "issued": {"date-parts": [[2028]]}, "DOI": "doi: 10.5555/a"},'
        ' {"title": "A thrice", "issued": {"date-parts": [[2028]]},'
        ' "DOI": "https://dx.doi.org/10.5555%2Fa"}]'
    )
    new, skipped = services.import_outputs(s, p, "a.json", csl, actor_id=None)
    assert [o.doi for o in new] == ["10.5555/a"] and skipped == 2


def test_an_overdue_reminder_says_a_large_mass_in_full(s: Session, a: Awarded) -> None:
    """An ice-core archive's 1.5 kg subsample is "1 500 000,5 mg" in the French PI's
    reminder, not "1.5e+06 mg"."""
    p = prop(s, a.awarded)
    services.add_record(s, p, "loan", {**LOAN, "mass_mg": 1_500_000.5}, actor_id=None)
    assert queue_overdue_reminders(s, "http://x", dt.date(2028, 6, 10)) == 1
    (mail,) = s.scalars(select(Job).where(Job.kind == "mail"))
    assert "1\u202f500\u202f000,5 mg" in mail.payload["body"], mail.payload["body"]
