"""An institution's name that passes for another, to slip past a conflict of interest
(trialcrowd13). A reviewer and an applicant of one university have a conflict, found by
the name key of their institutions (``people.domain.institution_key``). An applicant who
wanted a colleague among their reviewers (or a reviewer who wanted their colleagues'
proposals) typed the university's name with one Cyrillic letter ("University of Nаirobi")
or an invisible soft hyphen or joiner ("Nai\u00adrobi"): the page showed the chair the same
name, the key differed ("university nаirobi", "university nai robi"), and no conflict was
recorded. Now such a name is refused where it is typed (registration, account, team
invitation), and the key reads look-alike letters and invisible characters of names
stored before as the letters they pass for, so the conflict is found."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from opencall.errors import DomainError
from opencall.people import services as people
from opencall.people.domain import institution_key
from opencall.proposals import services as ps
from opencall.reviews.domain import PersonFacts, TeamFacts, conflict_sources
from tests import factories as f

REAL = "University of Nairobi"
DISGUISED = [
    "University of N\u0430irobi",  # Cyrillic a
    "Univ\u0435rsity of Nairobi",  # Cyrillic e
    "University \u03bff Nairobi",  # Greek omicron: "of" is a filler word, still refused
    "University of Nai\u00adrobi",  # soft hyphen
    "University of Nai\u200drobi",  # zero-width joiner between Latin letters
    "University of Nairobi \u0441\u0430\u0440\u0435",  # a word all of Cyrillic look-alikes
]


@pytest.mark.parametrize("name", DISGUISED)
def test_a_disguised_name_is_found_in_conflict_with_the_real_one(name: str) -> None:
    reviewer = PersonFacts(
        user_id=1, email="r@uonbi.example", institution_key=institution_key(REAL)
    )
    team = TeamFacts(
        user_ids=frozenset({2}),
        emails=frozenset({"a@uonbi.example"}),
        institution_keys=frozenset({institution_key(name)}),
        rors=frozenset(),
    )
    if name.endswith("\u0441\u0430\u0440\u0435"):  # read as the Latin "cape"
        assert institution_key(name) == institution_key(REAL + " cape")
        return
    found = conflict_sources(reviewer, team, [], coauthor_years=3, year=2026)
    assert "institution" in found, (name, institution_key(name))


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Московский государственный университет", "московскии государственныи университет"),
        ("МГУ Moscow State University", "мгу moscow state university"),
        (
            "\u062f\u0627\u0646\u0634\u06af\u0627\u0647\u200c\u062a\u0647\u0631\u0627\u0646",
            "دانشگاه تهران",
        ),
        ("Ελληνικό Ανοικτό Πανεπιστήμιο", "ελληνικο ανοικτο πανεπιστημιο"),
        ("Univ. of São Paulo", "university sao paulo"),
    ],
)
def test_names_in_one_alphabet_keep_their_keys(name: str, key: str) -> None:
    assert institution_key(name) == key


@pytest.mark.parametrize("name", DISGUISED)
def test_a_disguised_name_is_refused_and_nothing_changes(db: Session, name: str) -> None:
    user = f.user(db, country="KEN", institution="Kenyatta University")
    before = f.table_counts(db)
    with pytest.raises(DomainError) as err:
        people.update_account(
            db, user, {"name": user.name, "institution": name, "country_iso3": "KEN"}
        )
    assert err.value.field == "institution", err.value.message
    assert "institution" in err.value.message.lower(), err.value.message
    db.expire_all()
    assert f.table_counts(db) == before and user.institution.name == "Kenyatta University"


def test_registration_and_team_invitations_refuse_it_too(db: Session) -> None:
    before = f.table_counts(db)
    with pytest.raises(DomainError) as err:
        f.user(db, country="KEN", institution=DISGUISED[0])
    assert err.value.field == "institution"
    assert f.table_counts(db) == before
    call = f.fast_call(db)
    p = f.full_proposal(db, call, f.user(db, country="KEN", institution=REAL))
    before = f.table_counts(db)
    invite = {"email": "co@uonbi.example", "name": "Amina Otieno", "institution": DISGUISED[3]}
    with pytest.raises(DomainError) as err:
        ps.invite_member(db, p, {**invite, "country_iso3": "KEN"}, now=f.NOW)
    assert err.value.field == "institution"
    assert f.table_counts(db) == before


def test_registration_refuses_it_alike_whether_the_address_has_an_account(db: Session) -> None:
    """The registration form answers an address that has an account as a new one (the
    owner is mailed instead): every input must be judged before the address is looked
    at, or a refusal of the institution tells that the address has no account."""
    known = f.user(db, country="KEN", institution=REAL).email
    for email in (known, "nobody@uonbi.example"):
        with pytest.raises(DomainError) as err:
            people.start_registration(
                db,
                email=email,
                name="Amina Otieno",
                password="a long enough password",
                institution=DISGUISED[0],
                country_iso3="KEN",
            )
        assert err.value.field == "institution", (email, err.value.message)
