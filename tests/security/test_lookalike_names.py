"""A team member's name that passes for a teammate's (mend11b item 3). The proposal page
shows each member's name, institution, country, role and status, never the e-mail: a
co-investigator invited as "Jаne Doe" (a Cyrillic "а"), "Ja\u200bne Doe" (a zero-width
space) or "Ｊａｎｅ Doe" (fullwidth letters) beside the PI "Jane Doe" of the same
institution was a second row indistinguishable from the PI's. Names (registration,
account, team invitation) now refuse invisible characters and words mixing Latin,
Cyrillic or Greek letters, and a team refuses a name that only such look-alike
characters or compatibility forms tell apart from a member's; two people who really
share a name (two Wei Zhangs) may still be on one team."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall.errors import DomainError
from opencall.people.domain import invisible_in_name, name_skeleton, word_mixes_scripts
from opencall.proposals import services as ps
from opencall.proposals.models import TeamMember
from tests import factories as f
from tests.web.conftest import Web, World, api_bearer, invite_by_api, invite_on_site

PI = "Jane Doe"


def _invite(name: str, email: str = "co@uni.example") -> dict[str, str]:
    return {"email": email, "name": name, "institution": "Uni", "country_iso3": "KEN"}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("J\u0430ne Doe", "alphabets"),  # Cyrillic a
        ("Jane D\u03bfe", "alphabets"),  # Greek omicron
        ("Jane Doe\u200d", "invisible"),  # zero-width joiner after a Latin letter
        ("Jane Do\u00ade", "invisible"),  # soft hyphen
        ("Jane Doe\u200f", "invisible"),  # right-to-left mark
        ("\uff2aane Doe", "looks like"),  # fullwidth J: NFKC is the PI's name
        ("\u0408ane Doe", "alphabets"),  # Cyrillic J
        ("JANE DOE", "looks like"),  # case alone
    ],
)
def test_a_lookalike_of_a_teammate_is_refused_and_nothing_changes(
    db: Session, name: str, message: str
) -> None:
    call = f.fast_call(db)
    pi = f.user(db, name=PI, country="KEN", institution="Uni")
    p = f.full_proposal(db, call, pi)
    assert [m.name for m in p.members] == [PI]
    before = f.table_counts(db)
    with pytest.raises(DomainError) as err:
        ps.invite_member(db, p, _invite(name), now=f.NOW)
    assert message in err.value.message, err.value.message
    assert err.value.field == "name"
    assert f.table_counts(db) == before and [m.name for m in p.members] == [PI]


def test_hidden_characters_are_dropped_when_stored(db: Session) -> None:
    """The zero-width space, word joiner and byte-order mark are dropped from every name
    as it is stored (``inputs.one_line``): such a name is the PI's name, typed the same
    way, as a namesake's is, and shows nothing hidden."""
    call = f.fast_call(db)
    pi = f.user(db, name=PI, country="KEN", institution="Uni")
    p = f.full_proposal(db, call, pi)
    for i, name in enumerate(("Ja\u200bne Doe", "Jane\u2060 Doe", "\ufeffJane Doe")):
        m = ps.invite_member(db, p, _invite(name, f"z{i}@uni.example"), now=f.NOW)
        assert m.name == PI


def test_real_names_pass_and_namesakes_may_share_a_team(db: Session) -> None:
    call = f.fast_call(db)
    pi = f.user(db, name="Wei Zhang", country="CHN", institution="Uni")
    p = f.full_proposal(db, call, pi)
    names = [
        "Wei Zhang",  # a namesake, typed the same: allowed (they differ by e-mail)
        "Анна Петрова",  # Cyrillic
        "Αλέξης Παπαδόπουλος",  # Greek
        "José Núñez-O'Brien",
        "محمد بن سلمان",
        "علي\u200f (Ali)",  # a right-to-left mark after an Arabic letter
        "मोहन\u200dलाल",  # a joiner inside Devanagari shapes the letters
        "فرزانه\u200cنژاد",  # a non-joiner in a Persian name
        "张伟",
    ]
    for i, name in enumerate(names):
        m = ps.invite_member(db, p, _invite(name, f"m{i}@uni.example"), now=f.NOW)
        assert m.name == name


def test_the_rules() -> None:
    assert invisible_in_name("Ja\u200bne") == "U+200B"
    assert invisible_in_name("فرزانه\u200cنژاد") is None
    assert invisible_in_name("Jane\u200c") == "U+200C"
    assert word_mixes_scripts("J\u0430ne Doe") == "J\u0430ne"
    assert word_mixes_scripts("Анна Doe") is None  # one alphabet a word
    assert name_skeleton("\uff2aane  D\u043ee") == name_skeleton("jane doe")
    assert name_skeleton("Jose") != name_skeleton("José")
    assert name_skeleton("Рорсу") == name_skeleton("popcy")  # one alphabet, drawn alike


SQLITE = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the web layer's answer


@SQLITE
def test_the_proposal_page_and_api_refuse_a_lookalike(web: Web, world: World) -> None:
    pid = world.ids["proposal"]
    with web.factory() as s:
        pi_name = s.scalar(
            select(TeamMember.name).where(TeamMember.proposal_id == pid, TeamMember.role == "pi")
        )
        before = s.scalar(select(func.count(TeamMember.id)))
    assert pi_name
    fake = "\uff21" + pi_name[1:] if pi_name[0] == "A" else pi_name.upper()
    c = web.login(world.emails["pi"], lang="fr")
    r = invite_on_site(c, pid, "target@example.net", fake)
    assert r.status_code == 400, r.status_code
    assert "ressemble à celui de" in html.unescape(r.text)
    mixed = pi_name.replace("a", "\u0430", 1) if "a" in pi_name else pi_name + " J\u0430n"
    r = invite_by_api(web, api_bearer(web, world.emails["pi"]), pid, "t@example.net", mixed)
    assert r.status_code == 400, r.text
    assert r.json()["detail"].startswith("name: A name may not mix letters"), r.text
    with web.factory() as s:
        assert s.scalar(select(func.count(TeamMember.id))) == before
