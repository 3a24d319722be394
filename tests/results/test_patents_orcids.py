"""Patents as a result kind (their publication number validated) and the ORCID iDs of a
result's authors (validated, linked to the accounts of the award's team, never shown in
public): typed in, read from BibTeX, RIS and CSL-JSON, counted by group in the report."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall.errors import DomainError
from opencall.outcomes import after_award as aa
from opencall.people.models import User
from opencall.results import importers
from opencall.results import queries as rq
from opencall.results import services as res
from opencall.results.domain import patent_number
from opencall.results.models import ResearchOutput
from tests.authz.test_workspace_matrix import session_client
from tests.results.awards_world import awarded_samples_call
from tests.results.conftest import Awarded
from tests.web.conftest import Web, api_bearer

ORCID = "0000-0002-1825-0097"  # ORCID's own example iD (valid check digit)
ORCID_BAD = "0000-0002-1825-0098"


def stored(s: Session) -> int:
    return s.scalar(select(func.count()).select_from(ResearchOutput)) or 0


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("CN 112345678 A", "CN112345678A"),
        ("US 10,123,456 B2", "US10123456B2"),
        ("ep3456789a1", "EP3456789A1"),
        ("WO 2020/123456 A1", "WO2020123456A1"),
        ("KE 1234", "KE1234"),
    ],
)
def test_a_patent_number_is_read_in_its_usual_spellings(raw: str, canonical: str) -> None:
    assert patent_number(raw) == canonical


@pytest.mark.parametrize("raw", ["", "12345678", "XX12345678A", "CN", "CN12A", "CN123456789ABC"])
def test_a_patent_number_that_is_not_one_is_refused(raw: str) -> None:
    with pytest.raises(DomainError, match="patent"):
        patent_number(raw)


def test_a_patent_is_stored_with_its_number_and_counted_once(db: Session) -> None:
    call, props = awarded_samples_call(db, ["KEN"])
    year = rq.awarded_on(call).year + 1
    with pytest.raises(DomainError, match="publication number"):  # a patent needs one
        res.add_output(db, props[0], {"kind": "patent", "title": "Sieve", "year": year},
                       actor_id=None)  # fmt: skip
    with pytest.raises(DomainError, match="patent"):  # an office that does not exist
        res.add_output(db, props[0], {"kind": "patent", "title": "Sieve", "year": year,
                                      "number": "XX123456"}, actor_id=None)  # fmt: skip
    with pytest.raises(DomainError, match="number"):  # a paper has no patent number
        res.add_output(db, props[0], {"title": "Paper", "year": year, "number": "CN112345678A"},
                       actor_id=None)  # fmt: skip
    assert stored(db) == 0
    o = res.add_output(
        db, props[0], {"kind": "patent", "title": "Regolith sieve", "year": year,
                       "number": "CN 112345678 A"}, actor_id=None,
    )  # fmt: skip
    assert (o.kind, o.number) == ("patent", "CN112345678A")
    with pytest.raises(DomainError, match="already linked"):  # the same number, spelled apart
        res.add_output(db, props[0], {"kind": "patent", "title": "Another title", "year": year,
                                      "number": "cn112345678a"}, actor_id=None)  # fmt: skip
    summary = rq.summary(db, props[0], rq.awarded_on(call))
    assert summary["patents"] == 1 and summary["publications"] == 0


def test_the_report_counts_patents_by_group_a_number_once() -> None:
    rows = [
        aa.AfterAwardRow(
            proposal_id=str(i),
            groups={"income": "LIC"},
            used=True,
            produced_results=True,
            outputs={"patent": 1},
            result_dois={"patent": ("CN112345678A",)},
        )  # fmt: skip
        for i in (1, 2)
    ]
    got = {r.group: r for r in aa.results_by_kind(rows, "income")}
    assert got["LIC"].patents == 1 and got["all"].patents == 1  # one patent of two awards


BIB = """@patent{p1,
  title = {A regolith sieve},
  year = {2028},
  number = {CN 112345678 A},
  orcid = {0000-0002-1825-0097},
  author = {Otieno, Amina and Co, Investigator}
}
"""
RIS = "TY  - PAT\nTI  - A regolith sieve\nPY  - 2028\nIS  - EP3456789A1\nER  - \n"
CSL = [
    {
        "id": "s1",
        "type": "patent",
        "title": "A regolith sieve",
        "number": "US 10,123,456 B2",
        "issued": {"date-parts": [[2028, 3]]},
        "author": [{"given": "Amina", "family": "Otieno", "ORCID": f"https://orcid.org/{ORCID}"}],
    }
]


def test_patents_and_orcids_are_read_from_each_format() -> None:
    (b,) = importers.parse("bibtex", BIB)
    assert (b["kind"], b["number"], b["orcids"]) == ("patent", "CN 112345678 A", [ORCID])
    (r,) = importers.parse("ris", RIS)
    assert (r["kind"], r["number"]) == ("patent", "EP3456789A1")
    (c,) = importers.parse("csl-json", json.dumps(CSL))
    assert (c["kind"], c["number"]) == ("patent", "US 10,123,456 B2")
    assert c["orcids"] == [f"https://orcid.org/{ORCID}"]


def test_authors_orcids_are_validated_and_stored_canonical(db: Session) -> None:
    call, props = awarded_samples_call(db, ["KEN"])
    year = rq.awarded_on(call).year + 1
    paper = {"title": "Ages of grains", "year": year}
    with pytest.raises(DomainError, match="check digit"):
        res.add_output(db, props[0], {**paper, "orcids": [ORCID_BAD]}, actor_id=None)
    bad = json.dumps([{**CSL[0], "author": [{"family": "X", "ORCID": ORCID_BAD}]}])
    with pytest.raises(DomainError, match="check digit"):
        res.import_outputs(db, props[0], "refs.json", bad, actor_id=None)
    assert stored(db) == 0
    o = res.add_output(
        db, props[0], {**paper, "orcids": [f"https://orcid.org/{ORCID}", ORCID]}, actor_id=None
    )
    assert o.orcids == [ORCID]  # canonical, once


def test_the_award_page_links_an_orcid_to_the_team_only(web: Web, aw: Awarded) -> None:
    with web.factory() as s:
        coi = s.scalar(select(User).where(User.email == aw.emails["coi"]))
        other = s.scalar(select(User).where(User.email == aw.emails["other"]))
        assert coi is not None and other is not None
        coi.orcid = ORCID
        other.orcid = "0000-0001-5109-3700"  # valid; not on the award's team
        s.commit()
    client, tok = session_client(web, aw.emails["pi"])
    r = client.post(
        f"/awards/{aw.awarded}/outputs",
        data={"csrf_token": tok, "kind": "publication", "title": "Ages of grains",
              "year": "2028", "orcids": f"{ORCID} 0000-0001-5109-3700"},
    )  # fmt: skip
    assert r.status_code == 303, r.text[:800]
    page = client.get(f"/awards/{aw.awarded}").text
    assert ORCID in page and "Co Investigator" in page  # a team member, linked
    assert "Other Applicant" not in page  # an account off the team is not named
    r = client.post(
        f"/awards/{aw.awarded}/outputs",
        data={"csrf_token": tok, "kind": "publication", "title": "Bad iD", "year": "2028",
              "orcids": ORCID_BAD},
    )  # fmt: skip
    assert r.status_code == 400 and ORCID_BAD in r.text  # the message names it (in French)
    anon = web.client()
    for path in (f"/calls/{aw.slug}/after-award", f"/calls/{aw.slug}/figures"):
        text = anon.get(path).text
        assert ORCID not in text and "Co Investigator" not in text


def test_the_api_takes_a_patent_and_refuses_a_bad_orcid(web: Web, aw: Awarded) -> None:
    h = api_bearer(web, aw.emails["pi"])
    c = web.client()
    url = f"/api/v1/awards/{aw.awarded}/outputs"
    patent = {"kind": "patent", "title": "Sieve", "year": 2028, "number": "WO 2028/123456 A1"}
    for bad in ({**patent, "number": ""}, {**patent, "orcids": [ORCID_BAD]},
                {**patent, "number": "ZZ123456"}):  # fmt: skip
        r = c.post(url, json=bad, headers=h)
        assert r.status_code == 400, r.text
    with web.factory() as s:
        assert stored(s) == 0
    r = c.post(url, json={**patent, "orcids": [ORCID]}, headers=h)
    assert r.status_code == 201, r.text
    assert (r.json()["number"], r.json()["orcids"]) == ("WO2028123456A1", [ORCID])
    got = c.get(f"/api/v1/awards/{aw.awarded}", headers=h).json()
    assert got["summary"]["patents"] == 1 and got["outputs"][0]["kind"] == "patent"


def test_results_by_kind_over_thousands_of_awards_match_a_count_made_apart() -> None:
    """2,000 awards over three groupings, up to six results each (a fifth of them patents),
    one DOI or number in ten shared with the award before, some results without either:
    every group's count of each kind is the count made here, each identifier once."""
    import random

    rng = random.Random(11)
    kinds = ("publication", "dataset", "software", "patent")
    rows, truth = [], []
    for i in range(2000):
        groups = {"income_group": rng.choice(["low", "lower-middle", "high"]),
                  "un_region": rng.choice(["Africa", "Asia", "Europe", "Americas"]),
                  "ldc": rng.choice(["LDC", "non-LDC"])}  # fmt: skip
        outputs: dict[str, int] = {}
        ids: dict[str, list[str]] = {}
        for j in range(rng.randrange(7)):
            kind = kinds[rng.randrange(4)] if j % 5 else "patent"
            outputs[kind] = outputs.get(kind, 0) + 1
            owner = i - 1 if i and rng.random() < 0.1 else i
            if rng.random() < 0.9:
                ident = f"CN{owner:07d}{j}A" if kind == "patent" else f"10.5555/{owner}.{j}"
                ids.setdefault(kind, []).append(ident)
                truth.append((groups, kind, ident))
            else:
                truth.append((groups, kind, None))
        rows.append(
            aa.AfterAwardRow(
                proposal_id=str(i),
                groups=groups,
                produced_results=bool(outputs),
                outputs=outputs,
                result_dois={k: tuple(sorted(v)) for k, v in ids.items()},
            )  # fmt: skip
        )
    for by in ("income_group", "un_region", "ldc"):
        for got in aa.results_by_kind(rows, by):
            mine = [t for t in truth if got.group in ("all", t[0][by])]
            for kind, name in (("publication", "publications"), ("dataset", "datasets"),
                               ("software", "software"), ("patent", "patents")):  # fmt: skip
                named = {t[2] for t in mine if t[1] == kind and t[2]}
                bare = sum(1 for t in mine if t[1] == kind and not t[2])
                assert getattr(got, name) == len(named) + bare, (by, got.group, kind)


def test_hostile_identifiers_are_refused_with_the_reason() -> None:
    from opencall.results.schemas import validate_output

    item = {**CSL[0], "author": [{"family": "X", "ORCID": {"id": ORCID}}]}
    with pytest.raises(DomainError, match="ORCID is not text"):
        importers.parse("csl-json", json.dumps([item]))
    patent = {"kind": "patent", "title": "Sieve", "year": 2028, "number": "CN112345678A"}
    for bad, reason in (
        ({**patent, "orcids": [ORCID] * 501}, "orcids"),
        ({**patent, "number": "CN" + "1" * 200}, "number"),
        ({**patent, "number": "CN1234\x005678A"}, "control"),
        ({**patent, "orcids": ["0000-0002-1825-0097\u202e"]}, "not of the form"),
    ):
        with pytest.raises(DomainError, match=reason):
            validate_output(bad)
