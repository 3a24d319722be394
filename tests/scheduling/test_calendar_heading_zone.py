"""A resource calendar's slot table names the zone its times are written in (trialfac19).

Before, its heading said "Slots (UTC)" whatever the reader's zone: an observatory's office
in India, whose pages are written in Asia/Kolkata (the country's one zone), read "Slots
(UTC)" above a table of "Oct 1, 2027, 6:30 PM (India Time, UTC+05:30)"."""

from __future__ import annotations

import pytest

from opencall.people.models import User
from opencall.web.security import LANG_COOKIE
from tests.authz.test_workspace_matrix import session_client
from tests.scheduling.conftest import SlotWorld
from tests.web.conftest import Web

HEADINGS = {
    "en": ("Slots (UTC)", "Slots (times in Asia/Kolkata)"),
    "fr": ("Créneaux (UTC)", "Créneaux (heures en Asia/Kolkata)"),
    "es": ("Turnos (UTC)", "Turnos (horas en Asia/Kolkata)"),
    "zh": ("时段（UTC）", "时段（时间为 Asia/Kolkata）"),
}


@pytest.mark.parametrize("lang", sorted(HEADINGS))
def test_the_slot_tables_heading_names_the_readers_zone(
    web: Web, stored: SlotWorld, lang: str
) -> None:
    utc_heading, zone_heading = HEADINGS[lang]
    office, _ = session_client(web, stored.emails["manager"])
    office.cookies.set(LANG_COOKIE, lang)
    url = f"/manage/calls/{stored.slug}/resources/{stored.pools['b']}/calendar"
    with web.factory() as s:
        user = s.query(User).filter_by(email=stored.emails["manager"]).one()
        user.time_zone, user.country_iso3 = None, None
        s.commit()
    page = office.get(url).text
    assert utc_heading in page  # no zone: UTC, and said so
    with web.factory() as s:
        s.query(User).filter_by(email=stored.emails["manager"]).one().time_zone = "Asia/Kolkata"
        s.commit()
    page = office.get(url).text
    assert zone_heading in page and utc_heading not in page, page
