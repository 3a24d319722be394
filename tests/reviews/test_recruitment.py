"""Recruiting reviewers: invitations to review a call with answers, the pool,
declared loads honoured by the assignment, expertise profiles read by affinity,
co-authorship conflicts from publication lists."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.cycle.services import transition_call
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.people import services as people_services
from opencall.people.models import ReviewerPublication
from opencall.proposals import services as prop_services
from opencall.reviews import queries as rq
from opencall.reviews import recruitment
from opencall.reviews import services as rv
from opencall.reviews.services import affinity as rv_affinity
from tests import factories as F

BIB = """
@article{q2025,
  author = {Quispe-Tupac, Ximena and Lindqvist, Sven},
  title = {{Timing} of millisecond pulsars with a single dish},
  year = {2025}, doi = {https://doi.org/10.1234/PULSAR.2025.1},
  abstract = {We time pulsars.}
}
@article{old,
  author = {Adebayo-Kim, Oluwaseun and Lindqvist, Sven},
  title = {An old paper on HI in galaxies}, year = {2001}
}
"""
ORCID = {
    "group": [
        {
            "work-summary": [
                {
                    "title": {"title": {"value": "Fast radio bursts from magnetars"}},
                    "publication-date": {"year": {"value": "2024"}},
                    "external-ids": {
                        "external-id": [
                            {"external-id-type": "doi", "external-id-value": "10.5555/FRB.1"}
                        ]
                    },
                }
            ]
        }
    ]
}
CSL = [
    {
        "title": "Neutral hydrogen in the Local Group",
        "DOI": "10.7777/hi.2",
        "issued": {"date-parts": [[2023, 5]]},
        "author": [{"family": "Lindqvist", "given": "Sven"}, {"family": "Okafor", "given": "Ada"}],
    }
]


def _call_in_review(db: Session, n: int = 3):  # noqa: ANN202
    call = F.fast_call(db)
    team = [
        ("Ximena Quispe-Tupac", "Zanzibar Radio Institute", "TZA"),
        ("Oluwaseun Adebayo-Kim", "Quetzal Observatory", "GTM"),
        ("Mei Chen", "Yunnan Observatories", "CHN"),
    ]
    props = []
    for name, inst, iso3 in team[:n]:
        pi = F.user(db, name=name, institution=inst, country=iso3)
        p = F.full_proposal(db, call, pi)
        prop_services.submit(db, p, now=F.NOW)
        props.append(p)
    prop_services.close_call(db, call, reason="test", now=F.NOW + dt.timedelta(days=60))
    transition_call(db, call, "review")
    return call, props


def _accept(db: Session, call, email: str, **kw):  # noqa: ANN001, ANN003, ANN202
    made = recruitment.invite(db, call, [email])
    user = F.user(db, email=email)
    return user, recruitment.respond(db, user, made[0][1], accept=True, **kw)


def test_invite_answer_and_pool(db: Session) -> None:
    call, _ = _call_in_review(db, 1)
    pool_member = F.user(db, email="pool@uni.example", name="Pool Member")
    people_services.grant_role(db, pool_member.id, "reviewer", provider_id=call.provider_id)
    pool = db.execute(recruitment.pool_query(call)).tuples()
    assert [u.id for u, _ in pool] == [pool_member.id]
    made = recruitment.invite(
        db, call, ["Pool@Uni.example", "new@uni.example", "new@uni.example", " "], actor_id=None
    )
    assert [i.email for i, _ in made] == ["pool@uni.example", "new@uni.example"]
    # the pool member accepts with a load and an availability
    inv = recruitment.respond(
        db, pool_member, made[0][1], accept=True, max_load=4, availability="June only"
    )
    assert inv.status == "accepted" and inv.max_load == 4 and inv.availability == "June only"
    assert rq.declared_max_loads(db, call) == {pool_member.id: 4}
    # the newcomer registers with that address and declines with a reason
    newcomer = F.user(db, email="new@uni.example")
    inv2 = recruitment.respond(db, newcomer, made[1][1], accept=False, reason="on leave")
    assert inv2.status == "declined" and inv2.reason == "on leave"
    assert newcomer.id not in {r.id for r in rq.reviewers_of_call(db, call)}
    # ... then changes their mind: accepting grants the role on this call only
    recruitment.respond(db, newcomer, made[1][1], accept=True)
    assert newcomer.id in {r.id for r in rq.reviewers_of_call(db, call)}
    actions = [e.action for e in db.scalars(select(auditlog.AuditEvent))]
    assert actions.count("review.invited") == 2
    assert "review.invitation_declined" in actions and "review.invitation_accepted" in actions
    # inviting an address that accepted does nothing; a pending one is replaced
    assert recruitment.invite(db, call, ["pool@uni.example"]) == []


def test_answers_are_checked_and_refusals_change_nothing(db: Session) -> None:
    call, _ = _call_in_review(db, 1)
    ((inv, raw),) = recruitment.invite(db, call, ["a@uni.example"])
    intruder = F.user(db, email="b@uni.example")
    invited = F.user(db, email="a@uni.example")
    before = F.table_counts(db)
    with pytest.raises(DomainError, match="another e-mail address"):
        recruitment.respond(db, intruder, raw, accept=True)
    with pytest.raises(DomainError, match="between 1 and 100"):
        recruitment.respond(db, invited, raw, accept=True, max_load=0)
    with pytest.raises(DomainError, match="Invalid e-mail"):
        recruitment.invite(db, call, ["ok@uni.example", "not an address"])
    with pytest.raises(DomainError, match="Unknown role"):
        recruitment.invite(db, call, ["ok@uni.example"], role="emperor")
    assert F.table_counts(db) == before
    assert inv.status == "invited"
    # a new invitation replaces the old link; a withdrawn one cannot be answered
    ((inv2, raw2),) = recruitment.invite(db, call, ["a@uni.example"])
    with pytest.raises(DomainError, match="invalid, was withdrawn"):
        recruitment.respond(db, invited, raw, accept=True)
    recruitment.withdraw(db, inv2)
    with pytest.raises(DomainError, match="invalid, was withdrawn"):
        recruitment.respond(db, invited, raw2, accept=True)
    ((_inv3, raw3),) = recruitment.invite(db, call, ["a@uni.example"])
    late = utcnow() + recruitment.INVITE_TTL + dt.timedelta(minutes=1)
    with pytest.raises(DomainError, match="expired"):
        recruitment.respond(db, invited, raw3, accept=True, now=late)


def test_the_assignment_honours_declared_loads(db: Session) -> None:
    call, props = _call_in_review(db, 3)
    light, _ = _accept(db, call, "light@uni.example", max_load=1)
    heavy, _ = _accept(db, call, "heavy@uni.example")
    third, _ = _accept(db, call, "third@uni.example", max_load=2)
    problem, _p, reviewers, params = rv.build_assignment_problem(db, call)
    loads = dict(zip([r.id for r in reviewers], problem.max_load, strict=True))
    assert loads[light.id] == 1 and loads[third.id] == 2 and loads[heavy.id] == 10
    assert params["declared_max_loads"] == {str(light.id): 1, str(third.id): 2}
    rv.compute_conflicts(db, call)
    rv.run_affinity(db, call)
    call.review_settings = {**call.review_settings, "reviewers_per_proposal": 1}
    rv.run_assignment(db, call)
    per = {}
    for a in rq.assignments_of_call(db, call):
        per[a.reviewer_id] = per.get(a.reviewer_id, 0) + 1
    assert per.get(light.id, 0) <= 1 and per.get(third.id, 0) <= 2 and sum(per.values()) == 3


def test_publications_import_and_bad_files(db: Session) -> None:
    u = F.user(db)
    assert people_services.import_publications(db, u, BIB.encode()) == 2
    assert people_services.import_publications(db, u, json.dumps(ORCID).encode()) == 1
    assert people_services.import_publications(db, u, json.dumps(CSL).encode()) == 1
    # the same file again adds nothing (DOIs and titles are known)
    assert people_services.import_publications(db, u, BIB.encode()) == 0
    pubs = {p.title: p for p in db.scalars(select(ReviewerPublication))}
    t = pubs["Timing of millisecond pulsars with a single dish"]
    assert t.doi == "10.1234/pulsar.2025.1" and t.year == 2025 and t.authors[0].startswith("Quispe")
    assert pubs["Fast radio bursts from magnetars"].doi == "10.5555/frb.1"
    assert pubs["Neutral hydrogen in the Local Group"].authors == ["Lindqvist, Sven", "Okafor, Ada"]
    before = F.table_counts(db)
    for bad, msg in [
        (b"\xff\xfe garbage", "UTF-8"),
        (b"just some words", "Expected a BibTeX"),
        (b"{not json", "JSON file could not be read"),
        (b'{"x": 1}', "Expected an ORCID"),
        (b"@article{x, year={2020}}", "no publication with a title"),
    ]:
        with pytest.raises(DomainError, match=msg):
            people_services.import_publications(db, u, bad)
    with pytest.raises(DomainError, match="not a DOI"):
        people_services.add_publication(db, u, title="X", doi="nonsense")
    with pytest.raises(DomainError, match="already on your profile"):
        people_services.add_publication(db, u, title="Again", doi="doi:10.5555/FRB.1")
    assert F.table_counts(db) == before


def test_affinity_reads_the_profile_and_coauthors_are_conflicts(db: Session) -> None:
    call, props = _call_in_review(db, 3)
    r1, _ = _accept(db, call, "r1@uni.example")
    r2, _ = _accept(db, call, "r2@uni.example")
    people_services.update_expertise(
        db, r1, keywords="pulsar timing, magnetars", statement="I time pulsars."
    )
    people_services.import_publications(db, r1, BIB.encode())
    (text,) = rv_affinity._reviewer_texts(db, [r1], call)  # noqa: SLF001
    assert "magnetars" in text and "millisecond pulsars with a single dish" in text
    rv.compute_conflicts(db, call)
    pairs = rq.conflict_pairs(db, call)
    by_pi = {next(m.name for m in p.members if m.role == "pi"): p for p in props}
    # co-author in 2025 (recent): conflict; the 2001 co-author is too old to count
    assert (by_pi["Ximena Quispe-Tupac"].id, r1.id) in pairs
    assert (by_pi["Oluwaseun Adebayo-Kim"].id, r1.id) not in pairs
    assert not any(r == r2.id for _p, r in pairs)


def test_a_hand_assignment_honours_the_declared_load(db: Session) -> None:
    """A reviewer who accepted at most one proposal: the chair's second pair by hand is
    refused, as the automatic assignment never gives it (the call's own maximum is 10)."""
    call, props = _call_in_review(db, 3)
    light, _ = _accept(db, call, "light@uni.example", max_load=1)
    rv.add_assignment(db, call, props[0], light)
    before = F.table_counts(db)
    with pytest.raises(DomainError, match="maximum load of 1"):
        rv.add_assignment(db, call, props[1], light)
    assert F.table_counts(db) == before
