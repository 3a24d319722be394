"""A results file for many awards of a call at once (the user office's publication list
for a cycle): all or nothing, every bad entry named with its line in one answer, a DOI
counted once however it is spelled, an award the importer may not record refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall.errors import DomainError
from opencall.outcomes import after_award as aa
from opencall.outcomes import after_award_data
from opencall.outcomes import queries as oq
from opencall.people import services as people_services
from opencall.results import services as res
from opencall.results.models import ResearchOutput
from tests import factories as F
from tests.results.awards_world import awarded_samples_call
from tests.web.conftest import Web, api_bearer


def bib(key: str, award: str, doi: str = "", year: str = "2027", title: str = "") -> str:
    fields = [
        f"title = {{{title or 'Paper ' + key}}}",
        f"year = {{{year}}}",
        f"award = {{{award}}}",
    ]
    if doi:
        fields.append(f"doi = {{{doi}}}")
    return f"@article{{{key},\n  " + ",\n  ".join(fields) + "\n}\n"


def office_of(s: Session, call: object) -> object:
    office = F.user(s)
    people_services.grant_role(s, office.id, "call_manager", provider_id=call.provider_id)  # type: ignore[attr-defined]
    return office


def stored(s: Session) -> int:
    return s.scalar(select(func.count()).select_from(ResearchOutput)) or 0


def test_one_file_for_many_awards_counts_a_shared_doi_once(db: Session) -> None:
    call, props = awarded_samples_call(db, ["KEN", "KEN", "DEU"])
    office = office_of(db, call)
    a, b, c = (p.code for p in props)
    res.add_output(
        db, props[0], {"doi": "10.5555/old", "title": "Old", "year": 2027}, actor_id=None
    )
    text = "".join([
        bib("p1", a, "https://doi.org/10.5555/Joint"),
        bib("p2", b, "doi:10.5555/JOINT"),  # the same paper, of a second award
        bib("p3", a, "10.5555/OLD"),  # already linked to award a: skipped
        bib("p4", c, "10.5555/own"),
        bib("p5", c),  # no DOI
    ])  # fmt: skip
    new, skipped = res.import_call_outputs(db, call, office, "cycle.bib", text)  # type: ignore[arg-type]
    assert (len(new), skipped) == (4, 1)
    assert sorted(o.doi for o in new) == ["", "10.5555/joint", "10.5555/joint", "10.5555/own"]
    rows = after_award_data.rows_for_call(db, call, oq.applicant_records(db, call), F.NOW.date())
    got = {r.group: r for r in aa.results_by_kind(rows, "income_group")}
    assert got["all"].publications == 4  # old, joint (once), own, the one without a DOI
    assert got["lower-middle"].publications == 2  # old, joint


def test_every_bad_entry_is_named_with_its_line_and_nothing_is_stored(db: Session) -> None:
    call, props = awarded_samples_call(db, ["KEN", "DEU"])
    other, other_props = awarded_samples_call(db, ["FRA"])
    office = office_of(db, call)
    a = props[0].code
    good = [bib(f"g{i}", a, f"10.5555/g{i}") for i in range(5)]
    text = "".join([
        *good,
        bib("noyear", a, year="n.d."),  # line 31 (five entries of six lines before)
        bib("baddoi", a, "11.1/x"),
        bib("noaward", ""),
        bib("elsewhere", other_props[0].code),  # another call's award
        bib("unknown", "NOPE-1"),
    ])  # fmt: skip
    before = stored(db)
    with pytest.raises(DomainError) as e:
        res.import_call_outputs(db, call, office, "cycle.bib", text)  # type: ignore[arg-type]
    said = e.value.message
    assert said.startswith("5 entries were refused and nothing was imported")
    for key in ("noyear", "baddoi", "noaward", "elsewhere", "unknown"):
        assert f"BibTeX entry {key} (line " in said, (key, said)
    assert "BibTeX entry noyear (line 31): no year" in said
    assert f"{other_props[0].code} is not an award of this call" in said
    assert "NOPE-1 is not an award of this call" in said
    assert stored(db) == before


def test_a_team_member_may_import_only_for_their_own_award(db: Session) -> None:
    call, props = awarded_samples_call(db, ["KEN", "DEU"])
    pi = db.get(type(F.user(db)), props[0].pi_user_id)
    assert pi is not None
    mine, theirs = props[0].code, props[1].code
    ok, _ = res.import_call_outputs(db, call, pi, "x.bib", bib("m", mine, "10.5555/m"))
    assert len(ok) == 1
    with pytest.raises(DomainError) as e:
        res.import_call_outputs(
            db, call, pi, "x.bib", bib("m2", mine, "10.5555/m2") + bib("t", theirs, "10.5555/t")
        )
    # the same words as for a code that does not exist: nothing about the other award
    assert e.value.message == (
        "BibTeX entry t (line 7): "
        f"{theirs} is not an award of this call whose results you may record."
    )
    assert db.scalar(select(func.count()).where(ResearchOutput.doi == "10.5555/m2")) == 0


def test_a_per_award_file_names_every_bad_entry() -> None:
    from opencall.results import importers

    text = bib("a", "") + bib("b", "", year="x") + bib("c", "", year="y")
    with pytest.raises(DomainError) as e:
        importers.parse("bibtex", text)
    assert "2 entries were refused" in e.value.message
    assert "BibTeX entry b (line 6): no year" in e.value.message
    assert "BibTeX entry c (line 11): no year" in e.value.message


def test_the_api_imports_for_the_user_office_only(web: Web) -> None:
    with web.factory() as s:
        call, props = awarded_samples_call(s, ["KEN"])
        office = office_of(s, call)
        pi_email = s.get(type(office), props[0].pi_user_id).email  # type: ignore[union-attr]
        slug, code, email = call.slug, props[0].code, office.email  # type: ignore[attr-defined]
        s.commit()
    body = {"format": "bibtex", "content": bib("x", code, "10.5555/x")}
    c = web.client()
    r = c.post(
        f"/api/v1/calls/{slug}/outputs/import",
        json=body,
        headers=api_bearer(web, email, ("manage",)),
    )
    assert r.status_code == 201, r.text
    assert r.json() == {"added": 1, "skipped": 0}
    r = c.post(f"/api/v1/calls/{slug}/outputs/import", json=body, headers=api_bearer(web, pi_email))
    assert r.status_code == 404


def test_the_command_line_imports_a_file_over_the_api_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`opencall calls import-results` takes the files the JSON API's 1 MiB body cannot;
    a bad file changes nothing and exits 2 with the refusal."""
    from opencall.cli import app as cli_app
    from opencall.db import unit_of_work
    from tests.cli_db import cli_database

    with cli_database(tmp_path, monkeypatch, "imp") as (runner, factory):
        with unit_of_work(factory) as s:
            call, props = awarded_samples_call(s, ["KEN"])
            office = office_of(s, call)
            slug, code, email = call.slug, props[0].code, office.email  # type: ignore[attr-defined]
        good = tmp_path / "cycle.bib"
        # 1.2 MiB: over the API's JSON body
        good.write_text(
            "".join(bib(f"e{i}", code, f"10.5555/e{i}", title="x" * 200) for i in range(4000))
        )
        assert good.stat().st_size > 2**20
        r = runner.invoke(cli_app, ["calls", "import-results", slug, str(good), "--as", email])
        assert r.exit_code == 0, r.output
        assert "4000 result(s) imported, 0 already linked" in r.output
        bad = tmp_path / "bad.bib"
        bad.write_text(bib("ok", code, "10.5555/new") + bib("late", code, year="soon"))
        with factory() as s:
            before = stored(s)
        r = runner.invoke(cli_app, ["calls", "import-results", slug, str(bad), "--as", email])
        assert r.exit_code == 2
        assert "BibTeX entry late (line 7): no year" in r.output.replace("\n", " ")
        with factory() as s:
            assert stored(s) == before == 4000


def test_the_refused_entries_are_listed_in_file_order(db: Session) -> None:
    call, props = awarded_samples_call(db, ["KEN"])
    office = office_of(db, call)
    text = bib("first", "NOPE-1") + bib("second", props[0].code, year="soon")
    with pytest.raises(DomainError) as e:
        res.import_call_outputs(db, call, office, "x.bib", text)  # type: ignore[arg-type]
    said = e.value.message
    assert said.index("BibTeX entry first (line 1)") < said.index("BibTeX entry second (line 6)")


def test_the_user_office_uploads_a_call_results_file_on_the_postaward_page(web: Web) -> None:
    """The call-wide import has a page too (mend9b): the postaward overview offers the
    upload to the user office; a bad file is refused whole, every bad entry named with its
    line on the page (400), nothing stored; a good one is stored and said; the PI of one
    award cannot post it."""
    from tests.web.conftest import csrf

    with web.factory() as s:
        call, props = awarded_samples_call(s, ["KEN", "DEU"])
        office = office_of(s, call)
        pi_email = s.get(type(office), props[0].pi_user_id).email  # type: ignore[union-attr]
        slug, a, b = call.slug, props[0].code, props[1].code
        email = office.email  # type: ignore[attr-defined]
        s.commit()
    c = web.login(email)
    page = c.get(f"/manage/calls/{slug}/postaward").text
    assert f'action="/manage/calls/{slug}/postaward/import"' in page
    tok = csrf(c, f"/manage/calls/{slug}/postaward")
    url = f"/manage/calls/{slug}/postaward/import"
    bad = bib("ok", a, "10.5555/ok") + bib("late", a, year="soon") + bib("gone", "NOPE-9")
    with web.factory() as s:
        before = stored(s)
    r = c.post(
        url, data={"csrf_token": tok}, files={"file": ("cycle.bib", bad.encode(), "text/plain")}
    )
    assert r.status_code == 400, r.text[:300]
    assert "2 entries were refused and nothing was imported" in r.text
    assert "BibTeX entry late (line 7): no year" in r.text
    assert "BibTeX entry gone (line 12): NOPE-9 is not an award of this call" in r.text
    with web.factory() as s:
        assert stored(s) == before
    good = bib("p1", a, "10.5555/p1") + bib("p2", b, "10.5555/p2")
    r = c.post(url, data={"csrf_token": tok, "text": good})
    assert r.status_code == 303, r.text[:300]
    assert "2 results imported, 0 already linked." in c.get(r.headers["location"]).text
    with web.factory() as s:
        assert stored(s) == before + 2
    pi = web.login(pi_email)
    r = pi.post(url, data={"csrf_token": csrf(pi, "/dashboard"), "text": good})
    assert r.status_code == 404
