"""A resource's calendar says its period as the reader's language writes it (dates17);
the iCalendar export keeps ISO (tests/web/test_week_heading_day.py: the week view)."""

from __future__ import annotations

from opencall.facilities.models import CapacityPool
from opencall.inputs import local_date
from opencall.web.security import LANG_COOKIE
from tests.authz.test_workspace_matrix import session_client
from tests.scheduling.conftest import SlotWorld
from tests.web.conftest import Web


def test_a_calendars_period_in_the_readers_language(web: Web, stored: SlotWorld) -> None:
    office, _ = session_client(web, stored.emails["manager"])
    office.cookies.set(LANG_COOKIE, "fr")
    with web.factory() as s:
        pool = s.get(CapacityPool, stored.pools["b"])
        assert pool is not None and pool.period_start and pool.period_end
        first, last = pool.period_start, pool.period_end
    base = f"/manage/calls/{stored.slug}/resources/{stored.pools['b']}"
    page = office.get(f"{base}/calendar").text
    assert f"{local_date(first, 'fr')} – {local_date(last, 'fr')}" in page, page
