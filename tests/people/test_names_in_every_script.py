"""Names and titles in any script are kept as typed (Arabic, Bengali with its joiners,
Amharic, Chinese) but in one Unicode form (NFC: an accent typed as a combining mark is
the same name as the precomposed letter), and without the invisible characters that
reorder or split what follows them: bidi embeddings, overrides and isolates (U+202A-E,
U+2066-9, "Trojan Source") and zero-width spaces, word joiners and byte-order marks.
A name made only of such characters is no name."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall.errors import DomainError
from opencall.people import services as people_services
from opencall.people.models import Institution, User
from opencall.proposals import services as prop_services
from opencall.proposals.models import TeamMember
from tests import factories as F

KEPT = [
    "محمد عبد الله",  # Arabic
    "রবীন্দ্রনাথ ঠাকুর",  # Bengali
    "র‍্যাব রহমান",  # Bengali with a zero-width joiner (ya-phala), which it needs
    "ሀይሌ ገብረሥላሴ",  # Amharic
    "王小明",  # Chinese
    "Ngũgĩ wa Thiong'o",
]


@pytest.mark.parametrize("name", KEPT)
def test_names_in_every_script_are_kept(db: Session, name: str) -> None:
    u = people_services.register_user(
        db, email="n@example.org", name=name, password="a long password 42"
    )
    assert u.name == name


def test_hidden_controls_are_removed_and_forms_unified(db: Session) -> None:
    u = people_services.register_user(
        db,
        email="rlo@example.org",
        name="Ali \u202eTCEJER\u202c Hassan\u200b\ufeff",
        password="a long password 42",
        institution="Universite\u0301 de Kinshasa",
        country_iso3="COD",
    )
    assert u.name == "Ali TCEJER Hassan"
    assert u.institution is not None and u.institution.name == "Université de Kinshasa"
    people_services.update_account(
        db,
        u,
        {
            "name": "Jose\u0301 \u2067Nu\u0301n\u0303ez\u2069",
            "country_iso3": "COD",
            "institution": "Université de Kinshasa",
        },
    )
    assert u.name == "José Núñez"
    # the decomposed and the precomposed institution are one row
    assert db.scalar(select(func.count(Institution.id))) == 1
    # the name is found by what a person types
    assert db.scalar(select(User.id).where(User.name == "José Núñez")) == u.id


@pytest.mark.parametrize("blank", ["\u202e\u202c", "\u200b\u2066\u2069", "\ufeff"])
def test_a_name_of_hidden_controls_only_is_refused(db: Session, blank: str) -> None:
    with pytest.raises(DomainError) as e:
        people_services.register_user(
            db, email="b@example.org", name=blank, password="a long password 42"
        )
    assert e.value.field == "name"
    assert db.scalar(select(func.count(User.id))) == 0


def test_proposal_title_and_invited_names(db: Session) -> None:
    call = F.fast_call(db)
    pi = F.user(db, name="PI", email="pi@example.org")
    p = prop_services.create_proposal(
        db, call, pi, title="Pulsars \u202egnimit\u202c from Dhaka\u2060", now=F.NOW
    )
    assert p.title == "Pulsars gnimit from Dhaka"
    prop_services.invite_member(
        db,
        p,
        {
            "email": "coi@example.org",
            "name": "\u202bفاطمة الزهراء\u202c",
            "institution": "جامعة القاهرة\u200b",
            "country_iso3": "EGY",
        },
        now=F.NOW,
    )
    m = db.scalars(select(TeamMember).where(TeamMember.email == "coi@example.org")).one()
    assert m.name == "فاطمة الزهراء"
    assert m.institution_name == "جامعة القاهرة"
