"""A week asked of the schedule page at the ends of the calendar (trialcrowd16). The page
read ``?week=`` as any ISO date and computed the weeks before and after it: ``0001-01-01``
(no week before it) and ``9999-12-31`` (none after) raised OverflowError, a 500 for a
link anyone can type. Now a week outside the years 1000 to 9000 is read as no week, as an
unreadable one was already: the page shows the schedule's first week."""

from __future__ import annotations

import pytest

from tests.web.conftest import Web, World

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the page's reading
def test_a_week_at_the_ends_of_the_calendar_is_no_error(web: Web, world: World) -> None:
    """Before the fix the first of these answered 500 (OverflowError: date value out of
    range)."""
    manager = web.login(world.emails["manager"])
    url = f"/manage/calls/{world.slugs['other_call']}/schedule"
    plain = manager.get(url)
    assert plain.status_code == 200
    for week in ("0001-01-01", "0001-01-05", "9999-12-31", "0999-12-31", "9001-01-01"):
        r = manager.get(url, params={"week": week})
        assert r.status_code == 200, (week, r.status_code)
        assert week not in r.text
