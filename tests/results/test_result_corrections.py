"""A result corrected or withdrawn by its team (outcomes15): a DOI mistyped, a title, a
paper linked to the wrong award. The correction is checked as a new result is (the DOI's
syntax, not dated before the award, not a second copy of one of the award's results),
audited with the fields before and after, and every figure follows: the award's summary
and stages, the office report (a DOI counted once), the public after-award page. A
withdrawal needs a reason, and the audit log keeps what the result held."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.auditlog import AuditEvent
from opencall.calls.models import Call
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


def _publications(db: Session, call: Call, group: str = "all") -> int:
    rows = oq.report(db, call)["after_award"]["results"]["income_group"]
    return int(next(r for r in rows if r["group"] == group)["publications"])


def _produced(db: Session, call: Call) -> dict[int, bool]:
    return {pid: st["produced_results"] for pid, st in rq.stages_of_call(db, call).items()}


def _events(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_mistyped_doi_is_corrected_and_the_report_counts_the_paper_once(db: Session) -> None:
    call, (ken, uga) = awarded_samples_call(db, ["KEN", "UGA"])
    year = rq.awarded_on(call).year + 1
    res.add_output(db, uga, {"title": "Ages", "year": year, "doi": "10.1234/ages"}, actor_id=None)
    typo = res.add_output(
        db, ken, {"title": "Agse", "year": year, "doi": "10.1234/agse"}, actor_id=None
    )
    assert _publications(db, call) == 2  # two DOIs: two papers
    fixed = {"title": "Ages", "year": year, "doi": "https://doi.org/10.1234/AGES"}
    res.update_output(db, typo, fixed, actor_id=None)
    assert (typo.doi, typo.title) == ("10.1234/ages", "Ages")  # normalised as a new one
    assert _publications(db, call) == 1  # one paper of two awards
    ev = _events(db, "postaward.output_update")
    assert len(ev) == 1 and ev[0].entity_id == str(typo.id)
    assert ev[0].data["before"]["doi"] == "10.1234/agse"
    assert ev[0].data["after"]["doi"] == "10.1234/ages"
    # the same fields again: nothing written, nothing audited
    res.update_output(db, typo, fixed, actor_id=None)
    assert len(_events(db, "postaward.output_update")) == 1


def test_a_correction_that_cannot_be_is_refused_and_changes_nothing(db: Session) -> None:
    call, (ken,) = awarded_samples_call(db, ["KEN"])
    year = rq.awarded_on(call).year + 1
    res.add_output(db, ken, {"title": "Data", "year": year, "doi": "10.1234/data"}, actor_id=None)
    paper = res.add_output(
        db, ken, {"title": "Ages", "year": year, "doi": "10.1234/ages"}, actor_id=None
    )
    counts = table_counts(db)
    for bad, says in [
        ({"title": "Ages", "year": year, "doi": "10.12/ages"}, "not a DOI"),  # prefix too short
        ({"title": "Ages", "year": year, "doi": "ages"}, "not a DOI"),
        ({"title": "Ages", "year": year - 2}, "before the award"),
        ({"title": "Data", "year": year, "doi": "doi:10.1234/DATA"}, "already linked"),
        ({"title": "", "year": year}, "title"),
        ({"title": "Ages", "year": year, "number": "CN112345678A"}, "patents only"),
    ]:
        with pytest.raises(DomainError, match=says):
            res.update_output(db, paper, bad, actor_id=None)
        db.expire_all()
    assert table_counts(db) == counts
    kept = db.get(ResearchOutput, paper.id)
    assert kept is not None and (kept.doi, kept.year) == ("10.1234/ages", year)
    assert _events(db, "postaward.output_update") == []


def test_a_result_linked_in_error_is_withdrawn_with_its_history(db: Session) -> None:
    call, (ken, uga) = awarded_samples_call(db, ["KEN", "UGA"])
    year = rq.awarded_on(call).year + 1
    wrong = res.add_output(
        db, ken, {"title": "Not ours", "year": year, "doi": "10.1234/x"}, actor_id=None
    )
    res.add_output(db, uga, {"title": "Ours", "year": year, "doi": "10.1234/y"}, actor_id=None)
    assert _produced(db, call) == {ken.id: True, uga.id: True}
    assert _publications(db, call) == 2
    counts = table_counts(db)
    with pytest.raises(DomainError, match="why"):
        res.remove_output(db, wrong, reason="  ", actor_id=None)
    assert table_counts(db) == counts
    oid = wrong.id
    res.remove_output(db, wrong, reason="Linked to the wrong award", actor_id=None)
    assert rq.outputs_of(db, ken.id) == []
    assert _produced(db, call) == {ken.id: False, uga.id: True}
    assert _publications(db, call) == 1
    assert rq.summary(db, ken, rq.awarded_on(call))["publications"] == 0
    (ev,) = _events(db, "postaward.output_remove")
    assert ev.entity_id == str(oid) and ev.reason == "Linked to the wrong award"
    assert ev.data["doi"] == "10.1234/x" and ev.data["title"] == "Not ours"
    # the DOI may be linked again (to the right award, or back after a mistake)
    res.add_output(db, ken, {"title": "Not ours", "year": year, "doi": "10.1234/x"}, actor_id=None)


def test_the_public_after_award_page_follows_a_withdrawal(web: Web) -> None:
    with web.factory() as s:
        call, props = awarded_samples_call(s, ["KEN"] * 6 + ["DEU"] * 6)
        year = rq.awarded_on(call).year + 1
        for i, p in enumerate(props):
            res.add_output(s, p, {"title": f"Paper {i}", "year": year}, actor_id=None)
        s.commit()
        call_id, first = call.id, props[0].id

    def produced() -> int | None:
        with web.factory() as s:
            page = oq.public_after_award(s, s.get(Call, call_id))  # type: ignore[arg-type]
        rows = page["funnels"]["income_group"]
        return next(r["count"] for r in rows if r["group"] == "all" and r["stage"] ==
                    "produced_results")  # fmt: skip

    assert produced() == 12
    with web.factory() as s:
        (out,) = rq.outputs_of(s, first)
        res.remove_output(s, out, reason="Not from this award", actor_id=None)
        s.commit()
    assert produced() == 11


def test_a_result_is_corrected_and_withdrawn_on_the_award_page_and_in_the_api(
    web: Web, aw: Awarded
) -> None:
    with web.factory() as s:
        p = s.get(Proposal, aw.awarded)
        assert p is not None
        out = res.add_output(s, p, {"title": "Agse of grains", "year": 2028}, actor_id=None)
        other = res.add_output(s, p, {"title": "Second", "year": 2028}, actor_id=None)
        pi = user_by_email(s, aw.emails["pi"])
        assert pi is not None
        token = people_services.create_api_token(s, pi, "t")[1]
        s.commit()
        oid, other_id = out.id, other.id
    client, tok = session_client(web, aw.emails["pi"])
    url = f"/awards/{aw.awarded}/outputs/{oid}"
    form = {"csrf_token": tok, "kind": "publication", "title": "Ages of grains", "year": "2028"}
    r = client.post(url, data={**form, "doi": "10.1/x"})  # not a DOI: refused, unchanged
    assert r.status_code == 400, r.text[:300]
    with web.factory() as s:
        assert s.get(ResearchOutput, oid).title == "Agse of grains"  # type: ignore[union-attr]
    r = client.post(url, data={**form, "doi": "10.5555/grains"})
    assert r.status_code == 303
    page = client.get(f"/awards/{aw.awarded}").text
    assert "Ages of grains" in page and "10.5555/grains" in page
    h = {"Authorization": f"Bearer {token}"}
    api = web.client()
    got = api.put(
        f"/api/v1{url}", headers=h, json={"title": "Ages of grains", "year": 2029,
                                          "doi": "10.5555/grains"}
    )  # fmt: skip
    assert got.status_code == 200 and got.json()["year"] == 2029
    r = api.delete(f"/api/v1/awards/{aw.awarded}/outputs/{other_id}", headers=h)
    assert r.status_code == 400 and "why" in r.json()["detail"]
    r = client.post(f"{url}/remove", data={"csrf_token": tok, "reason": ""})
    assert r.status_code == 400
    r = client.post(f"{url}/remove", data={"csrf_token": tok, "reason": "Not our paper"})
    assert r.status_code == 303
    r = api.delete(f"/api/v1/awards/{aw.awarded}/outputs/{other_id}?reason=Twice", headers=h)
    assert r.status_code == 204
    got = api.get(f"/api/v1/awards/{aw.awarded}", headers=h).json()
    assert got["outputs"] == [] and got["summary"]["publications"] == 0
