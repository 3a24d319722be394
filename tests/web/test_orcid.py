"""ORCID iD on a person's account: the format and the ISO 7064 mod 11-2 check digit
validated (a bad one refused with a clear error, nothing changed), saved in its
canonical form, shown on the account page and in ``/api/v1/me`` to the person only."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from opencall.errors import DomainError
from opencall.people import domain as pd
from opencall.people import services as people_services
from opencall.people.models import User
from tests.web.conftest import Web, World, csrf
from tests.web.test_forms import refused


def _check_digit(base: str) -> str:
    """ISO 7064 mod 11-2 of 15 digits, written here apart from the product."""
    total = 0
    for ch in base:
        total = (total + int(ch)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)


@pytest.mark.parametrize(
    "raw",
    [
        "0000-0002-1825-0097",
        "https://orcid.org/0000-0002-1825-0097",
        " http://orcid.org/0000-0002-1825-0097 ",
        "orcid.org/0000-0002-1825-0097",
        "0000000218250097",
    ],
)
def test_an_orcid_is_read_in_its_usual_forms(raw: str) -> None:
    assert pd.orcid_id(raw) == "0000-0002-1825-0097"


def test_the_check_digit_x_and_the_independent_rule_agree() -> None:
    assert pd.orcid_id("0000-0002-1694-233x") == "0000-0002-1694-233X"
    for base in ("000000021825009", "000000015109370", "000000021694233", "123456789012345"):
        good = base + _check_digit(base)
        assert pd.orcid_id(good) == "-".join(good[i : i + 4] for i in range(0, 16, 4))
        for wrong in "0123456789X":
            if wrong != good[-1]:
                with pytest.raises(DomainError):
                    pd.orcid_id(base + wrong)


@pytest.mark.parametrize(
    "bad", ["0000-0002-1825-0096", "0000-0002-1825", "abcd-0002-1825-0097", "0000-0002-1825-00977",
            "https://example.org/0000-0002-1825-0097", "0000-0002-1825-0X97"],
)  # fmt: skip
def test_a_bad_orcid_is_refused_with_a_clear_error(bad: str) -> None:
    with pytest.raises(DomainError) as e:
        pd.orcid_id(bad)
    assert e.value.field == "orcid"


def test_update_account_refuses_a_bad_orcid_and_changes_nothing(factory, world: World) -> None:  # type: ignore[no-untyped-def]
    with factory() as s:
        u = s.scalars(select(User).where(User.email == world.emails["other"])).one()
        with pytest.raises(DomainError):
            people_services.update_account(s, u, {"orcid": "0000-0002-1825-0096"})
        assert u.orcid is None
        people_services.update_account(s, u, {"orcid": "https://orcid.org/0000-0002-1825-0097"})
        assert u.orcid == "0000-0002-1825-0097"
        people_services.update_account(s, u, {"orcid": ""})  # taken away
        assert u.orcid is None
        s.rollback()


def test_account_page_and_api_show_the_orcid_to_the_person(web: Web, world: World) -> None:
    from tests.web.conftest import api_bearer

    c = web.login(world.emails["pi"], "fr")
    assert 'name="orcid"' in c.get("/account").text
    tok = csrf(c, "/account")

    def post(orcid: str):  # type: ignore[no-untyped-def]
        return lambda: c.post(
            "/account", data={"csrf_token": tok, "name": "Ximena", "orcid": orcid}
        )

    refused(web, None, post("0000-0002-1825-0096"), 400, "Identifiant ORCID")
    r = post("https://orcid.org/0000-0002-1825-0097")()
    assert r.status_code == 303, html.unescape(r.text)[:2000]
    assert 'value="0000-0002-1825-0097"' in c.get("/account").text
    me = web.client().get("/api/v1/me", headers=api_bearer(web, world.emails["pi"], ("read",)))
    assert me.status_code == 200 and me.json()["orcid"] == "0000-0002-1825-0097"
