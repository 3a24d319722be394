"""Registering with an address that has an account answers like a new registration
(the form does not tell who has an account); the owner is told by e-mail."""

from sqlalchemy import func, select

from opencall.people.models import User
from tests.web.conftest import Web, World, csrf


def test_existing_address_is_not_revealed(web: Web, world: World) -> None:
    c = web.client("fr")
    tok = csrf(c, "/register")
    data = {
        "csrf_token": tok,
        "name": "Someone Else",
        "email": world.emails["pi"],
        "password": "another long password",
        "password2": "another long password",
        "language": "fr",
    }
    with web.factory() as s:
        n = s.scalar(select(func.count(User.id)))
    r = c.post("/register", data=data)
    fresh = c.post("/register", data={**data, "email": "brand-new@example.org"})
    assert r.status_code == fresh.status_code == 303
    assert r.headers["location"] == fresh.headers["location"]
    with web.factory() as s:
        assert s.scalar(select(func.count(User.id))) == n + 1  # only the new address
    mails = [m for m in web.mails() if f"To: {world.emails['pi']}" in m]
    assert any("/forgot" in m for m in mails)
