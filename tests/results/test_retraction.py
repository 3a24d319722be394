"""A result retracted or withdrawn after it was linked (a paper retracted by its
journal, a dataset withdrawn): kept on the award's page and in the API, marked with its
day and note, audited, and no longer counted in any figure (the award's summary and
stages, the office report, the public after-award page); a retraction entered by
mistake is undone, also audited."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.auditlog import AuditEvent
from opencall.errors import DomainError
from opencall.outcomes import queries as oq
from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from opencall.proposals.models import Proposal
from opencall.results import queries as rq
from opencall.results import services as res
from opencall.results.models import ResearchOutput
from tests.authz.test_workspace_matrix import session_client
from tests.factories import table_counts
from tests.results.awards_world import awarded_samples_call
from tests.results.conftest import Awarded
from tests.web.conftest import Web


def _results(report: dict, group: str = "all") -> dict:
    return next(r for r in report["after_award"]["results"]["ldc"] if r["group"] == group)


def _produced(db: Session, call_id: int) -> dict[int, bool]:
    from opencall.calls.models import Call

    call = db.get(Call, call_id)
    assert call is not None
    return {pid: st["produced_results"] for pid, st in rq.stages_of_call(db, call).items()}


def test_a_retracted_paper_is_kept_marked_and_no_longer_counted(db: Session) -> None:
    call, (ken, uga) = awarded_samples_call(db, ["KEN", "UGA"])
    year = rq.awarded_on(call).year + 1
    paper = res.add_output(
        db, ken, {"title": "Ages", "year": year, "doi": "10.1234/ages"}, actor_id=None
    )
    res.add_output(db, uga, {"title": "Ages", "year": year, "doi": "10.1234/ages"}, actor_id=None)
    res.add_output(db, uga, {"title": "Data", "year": year, "kind": "dataset"}, actor_id=None)
    before = _results(oq.report(db, call))
    assert (before["publications"], before["datasets"]) == (1, 1)
    on = dt.date(year + 1, 3, 1)
    res.retract_output(db, paper, on=on, note="Retracted by the journal", actor_id=None)
    # kept and marked: the award's page and the API list it, with its day and note
    kept = rq.outputs_of(db, ken.id)
    assert [(o.retracted_on, o.retraction_note) for o in kept] == [(on, "Retracted by the journal")]
    ev = db.scalars(select(AuditEvent).where(AuditEvent.action == "postaward.retract")).one()
    assert ev.data["retracted_on"] == on.isoformat() and ev.data["title"] == "Ages"
    # no longer counted: the award's summary and stages, the report (the other award's
    # copy of the same DOI still counts once), the public page
    summary = rq.summary(db, ken, on)
    assert summary["publications"] == 0 and summary["days_to_first_result"] is None
    assert _produced(db, call.id) == {ken.id: False, uga.id: True}
    report = oq.report(db, call)
    after = _results(report)
    assert (after["publications"], after["datasets"]) == (1, 1)
    low = next(r for r in report["after_award"]["results"]["ldc"] if r["group"] != "all")
    assert low["publications"] == 1  # UGA's copy; KEN's retracted one counts nowhere
    produced = {
        r["group"]: r["count"]
        for r in report["after_award"]["funnels"]["income_group"]
        if r["stage"] == "produced_results"
    }
    assert produced["all"] == 1
    # the same DOI typed again is still the retracted one: not linked a second time
    with pytest.raises(DomainError, match="already linked"):
        res.add_output(db, ken, {"title": "Ages", "year": year, "doi": "10.1234/AGES"},
                       actor_id=None)  # fmt: skip
    # undone (a retraction entered by mistake): counted again, both steps audited
    res.restore_output(db, paper, actor_id=None)
    assert _produced(db, call.id) == {ken.id: True, uga.id: True}
    ev = db.scalars(select(AuditEvent).where(AuditEvent.action == "postaward.unretract")).one()
    assert ev.data["retracted_on"] == on.isoformat()


def test_a_retraction_that_cannot_be_is_refused_and_changes_nothing(db: Session) -> None:
    call, (ken,) = awarded_samples_call(db, ["KEN"])
    year = rq.awarded_on(call).year + 1
    paper = res.add_output(
        db, ken, {"title": "Ages", "year": year, "published_on": f"{year}-05-01"}, actor_id=None
    )
    counts = table_counts(db)
    for on, note, says in [
        (dt.date(year, 4, 30), "Retracted", "before"),  # before it appeared
        (dt.date(year + 1, 1, 1), "", "note"),  # no reason given
        (dt.date(year + 1, 1, 1), "x" * 1001, "note"),
    ]:
        with pytest.raises(DomainError, match=says):
            res.retract_output(db, paper, on=on, note=note, actor_id=None)
    with pytest.raises(DomainError, match="not retracted"):
        res.restore_output(db, paper, actor_id=None)
    assert table_counts(db) == counts
    assert db.get(ResearchOutput, paper.id).retracted_on is None  # type: ignore[union-attr]
    res.retract_output(db, paper, on=dt.date(year, 6, 1), note="Withdrawn", actor_id=None)
    with pytest.raises(DomainError, match="already retracted"):
        res.retract_output(db, paper, on=dt.date(year, 7, 1), note="Again", actor_id=None)


def test_a_retraction_on_the_award_page_and_in_the_api(web: Web, aw: Awarded) -> None:
    """The PI marks a result retracted on the award's page (a bad day is refused, 400,
    nothing changed), the page and the API show it and leave it out of the award's
    figures, the API undoes it."""
    with web.factory() as s:
        p = s.get(Proposal, aw.awarded)
        assert p is not None
        out = res.add_output(s, p, {"title": "Ages of grains", "year": 2028}, actor_id=None)
        pi = user_by_email(s, aw.emails["pi"])
        assert pi is not None
        token = people_services.create_api_token(s, pi, "t")[1]
        s.commit()
        oid = out.id
    client, tok = session_client(web, aw.emails["pi"])
    url = f"/awards/{aw.awarded}/outputs/{oid}"
    for bad in ({"retracted_on": "", "note": "x"}, {"retracted_on": "2027-01-01", "note": "x"},
                {"retracted_on": "2029-01-01", "note": " "}):  # fmt: skip
        r = client.post(f"{url}/retract", data={"csrf_token": tok, **bad})
        assert r.status_code == 400, r.text[:300]
    with web.factory() as s:
        assert s.get(ResearchOutput, oid).retracted_on is None  # type: ignore[union-attr]
    r = client.post(
        f"{url}/retract", data={"csrf_token": tok, "retracted_on": "2029-01-02", "note": "Fraud"}
    )
    assert r.status_code == 303
    page = client.get(f"/awards/{aw.awarded}").text  # the PI reads French
    assert "Retiré le 2 janv. 2029 : Fraud (non compté)" in page
    h = {"Authorization": f"Bearer {token}"}
    api = web.client()
    got = api.get(f"/api/v1/awards/{aw.awarded}", headers=h).json()
    assert got["outputs"][0]["retracted_on"] == "2029-01-02"
    assert got["summary"]["publications"] == 0
    r = api.delete(f"/api/v1/{url.lstrip('/')}/retraction", headers=h)
    assert r.status_code == 200 and r.json()["retracted_on"] is None
    got = api.get(f"/api/v1/awards/{aw.awarded}", headers=h).json()
    assert got["summary"]["publications"] == 1


def test_a_record_entered_in_error_is_removed_with_its_history(db: Session) -> None:
    """A record kept on the wrong award (or twice) is removed: the award's figures no
    longer count it, and the audit log keeps what it held; removing it again is refused."""
    call, (ken,) = awarded_samples_call(db, ["KEN"])
    loan = {"sample": "CE-5 regolith", "mass_mg": 200, "shipped_on": "2027-06-01",
            "received_on": "2027-06-09"}  # fmt: skip
    rec = res.add_record(db, ken, "loan", loan, actor_id=None)
    assert _produced(db, call.id) == {ken.id: False}
    assert rq.stages_of_call(db, call)[ken.id]["used"]
    rid = rec.id
    res.remove_record(db, rec, reason="Entered on the wrong award", actor_id=None)
    assert rq.records_of(db, ken.id) == [] and not rq.stages_of_call(db, call)[ken.id]["used"]
    ev = db.scalars(select(AuditEvent).where(AuditEvent.action == "postaward.remove")).one()
    assert ev.entity_id == str(rid) and ev.data["data"]["received_on"] == "2027-06-09"
    assert ev.reason == "Entered on the wrong award" and ev.data["kind"] == "loan"
    rec2 = res.add_record(db, ken, "loan", loan, actor_id=None)
    counts = table_counts(db)
    with pytest.raises(DomainError, match="why"):
        res.remove_record(db, rec2, reason=" ", actor_id=None)
    assert table_counts(db) == counts


def test_a_record_is_removed_through_the_api_with_a_reason(web: Web, aw: Awarded) -> None:
    with web.factory() as s:
        p = s.get(Proposal, aw.awarded)
        assert p is not None
        rec = res.add_record(s, p, "other", {"description": "Sections cut"}, actor_id=None)
        pi = user_by_email(s, aw.emails["pi"])
        assert pi is not None
        token = people_services.create_api_token(s, pi, "t")[1]
        s.commit()
        rid = rec.id
    h = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/awards/{aw.awarded}/records/{rid}"
    r = web.client().delete(url, headers=h)  # no reason: refused, kept
    assert r.status_code == 400 and "why" in r.json()["detail"]
    assert web.client().delete(f"{url}?reason=Twice", headers=h).status_code == 204
    got = web.client().get(f"/api/v1/awards/{aw.awarded}", headers=h).json()
    assert got["records"] == []
