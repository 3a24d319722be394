"""The schedule's week view says its week's Monday as the reader's language writes it
(dates17), not ISO; the links to the weeks around it keep ISO."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from opencall.inputs import local_date
from opencall.web.security import LANG_COOKIE
from tests.web.conftest import Web, World

pytestmark = pytest.mark.filterwarnings("ignore")


def test_the_week_heading_in_the_readers_language(web: Web, world: World) -> None:
    manager = web.login(world.emails["manager"])
    manager.cookies.set(LANG_COOKIE, "fr")
    url = f"/manage/calls/{world.slugs['other_call']}/schedule"
    page = manager.get(url, params={"week": "2027-03-03"}).text
    (heading,) = re.findall(r"<h2>([^<]*\(UTC\))</h2>", page)
    assert local_date(dt.date(2027, 3, 1), "fr") in heading, heading  # its Monday
    assert "2027-03-01" not in heading
    assert 'href="?week=2027-02-22"' in page  # the links keep ISO
