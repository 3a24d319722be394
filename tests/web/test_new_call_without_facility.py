"""trialop22, an operator's first day on a fresh install: the site administrator creates a
provider and finds "New call" on /manage; the link answered 404 ("Not found") while the
provider had no facility. It now says what to do first, linking the provider's page."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from opencall.facilities import services as fac_services
from tests import factories as F
from tests.web.conftest import Web


def test_new_call_before_any_facility_says_to_add_one(
    web: Web, factory: sessionmaker[Session]
) -> None:
    with factory() as s:
        admin = F.user(s, email="admin@site.example")
        admin.is_site_admin = True
        fac_services.create_provider(s, name="Lake Observatory", slug="lake", country_iso3="KEN")
        s.commit()
    c = web.login("admin@site.example")
    home = c.get("/manage")
    assert 'href="/manage/calls/new"' in home.text
    r = c.get("/manage/calls/new")
    assert r.status_code == 200, r.status_code
    assert "Add a facility" in r.text and 'href="/manage/providers/lake"' in r.text
    # an account that may create no call still gets 404
    with factory() as s:
        F.user(s, email="nobody@site.example")
        s.commit()
    assert web.login("nobody@site.example").get("/manage/calls/new").status_code == 404
