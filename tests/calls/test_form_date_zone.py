"""The new-call page reads its dates on the call's clock (its time zone, UTC when empty).
A date it cannot read was answered "Enter a date and time (YYYY-MM-DD HH:MM, UTC)" even
when the form named another zone, which told the manager to type UTC; the error now names
the clock the date is read on, in the reader's language, and nothing is made."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from opencall.calls.models import Call
from opencall.people import services as people_services
from tests import factories as F
from tests.web.conftest import Web, session_cookie

EXPECTED = {
    (
        "en",
        "Europe/Berlin",
    ): "Enter a date and time (YYYY-MM-DD HH:MM) on the clock of Europe/Berlin.",
    (
        "fr",
        "Europe/Berlin",
    ): "Saisissez une date et une heure (AAAA-MM-JJ HH:MM) à l’heure de Europe/Berlin.",
    ("en", ""): "Enter a date and time (YYYY-MM-DD HH:MM, UTC).",
}


@pytest.mark.parametrize(("lang", "zone"), list(EXPECTED))
def test_a_bad_date_names_the_clock_it_is_read_on(web: Web, lang: str, zone: str) -> None:
    email = f"office-{lang}-{zone.replace('/', '-') or 'utc'}@zone.example"
    with web.factory() as s:
        fac = F.fast_facility(s)
        office = F.user(s, email=email)
        people_services.grant_role(s, office.id, "provider_admin", provider_id=fac.provider_id)
        facility_id = fac.id
        s.commit()
    c = web.client(lang)
    token = "zone-csrf"
    c.cookies.set("oc_session", session_cookie(web, email, token))
    form = {
        "csrf_token": token,
        "facility_id": str(facility_id),
        "slug": "zoned",
        "code": "ZN",
        "title": "Zoned call",
        "cycle": "2027",
        "opens_at": "2027-01-01 00:00",
        "closes_at": "31/12/2027 17:00",
        "time_zone": zone,
        "anonymity": "single",
        "review_mode": "panel",
        "award_mode": "whole",
    }
    r = c.post("/manage/calls/new", data=form)
    assert r.status_code == 400, r.text[:500]
    assert EXPECTED[(lang, zone)] in r.text
    if zone:
        assert "HH:MM, UTC)" not in r.text
    with web.factory() as s:
        assert s.scalar(select(func.count(Call.id))) == 0
